"""Helpers shared by the policies: config with defaults, JSON props, resource lookups."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)

# The SDK does not apply a config schema's defaults; every policy passes its own.


def config_value(args: Any, key: str, default: Any) -> Any:
    value = args.get_config().get(key)
    if value is None:
        return default
    if isinstance(default, int) and not isinstance(default, bool) and isinstance(value, float):
        return int(value)  # config numbers arrive as floats
    return value


def number(value: Any) -> float | None:
    """Props arrive as floats or (for some inputs) strings."""
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def json_document(value: Any) -> Any:
    """A JSON-string prop (container definitions, IAM policies) or an already-parsed value."""
    if isinstance(value, str):
        return json.loads(value) if value.strip() else None
    return value


def containers(task_definition_props: Mapping[str, Any]) -> list[dict]:
    return json_document(task_definition_props.get("containerDefinitions")) or []


def of_type(resources: Iterable[PolicyResource], *types: str) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type in types]


def related(resource: PolicyResource, prop: str, *types: str) -> list[PolicyResource]:
    """The resources a prop was computed from (known even in previews, when IDs are not)."""
    found = list((resource.property_dependencies or {}).get(prop, []))
    return [r for r in found if not types or r.resource_type in types]


def short_urn(urn: str) -> str:
    return urn.split("::")[-1]


def resource_policy(
    name: str,
    description: str,
    types: Iterable[str],
    check: Callable[[Any, Callable], None],
    *,
    level: EnforcementLevel = EnforcementLevel.MANDATORY,
    severity: Severity = Severity.HIGH,
    config_schema: PolicyConfigSchema | None = None,
) -> ResourceValidationPolicy:
    """A resource policy whose check runs only for the given resource types."""
    wanted = frozenset(types)

    def validate(args, report_violation):
        if args.resource_type in wanted:
            check(args, report_violation)

    return ResourceValidationPolicy(
        name=name,
        description=description,
        enforcement_level=level,
        severity=severity,
        validate=validate,
        config_schema=config_schema,
    )


def stack_policy(
    name: str,
    description: str,
    check: Callable[[Any, Callable], None],
    *,
    level: EnforcementLevel = EnforcementLevel.MANDATORY,
    severity: Severity = Severity.HIGH,
    config_schema: PolicyConfigSchema | None = None,
) -> StackValidationPolicy:
    return StackValidationPolicy(
        name=name,
        description=description,
        enforcement_level=level,
        severity=severity,
        validate=check,
        config_schema=config_schema,
    )
