"""Helpers shared by the policies: config with defaults, JSON props, resource lookups."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
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


def as_list(value: Any) -> list:
    """A field that holds one value or a list of them (as IAM documents allow wherever they allow a list)."""
    if value is None:
        return []
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else [value]


def json_document(value: Any) -> Any:
    """A JSON-string prop (container definitions, IAM policies) or an already-parsed value; None when the
    string is not JSON (AWS refuses such a resource anyway; the policy must not crash on it)."""
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else None
        except json.JSONDecodeError:
            return None
    return value


def containers(task_definition_props: Mapping[str, Any]) -> list[dict]:
    definitions = json_document(task_definition_props.get("containerDefinitions"))
    if not isinstance(definitions, Sequence) or isinstance(definitions, str):
        return []
    return [c for c in definitions if isinstance(c, Mapping)]


def of_type(resources: Iterable[PolicyResource], *types: str) -> list[PolicyResource]:
    """Resources of the given types, in stack order (through the stack's index: one pass per request)."""
    index = stack_index(resources)
    if len(types) == 1:
        return index.of_type(types[0])
    wanted = set(types)
    return [r for r in index.resources if r.resource_type in wanted]


TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"


class StackIndex:
    """The stack's resources grouped once per request, so stack policies do not rescan the list."""

    def __init__(self, resources: Iterable[PolicyResource]):
        self.resources = list(resources)
        self._by_type: dict[str, list[PolicyResource]] = {}
        for resource in self.resources:
            self._by_type.setdefault(resource.resource_type, []).append(resource)
        self._families: dict[str, list[PolicyResource]] | None = None

    def of_type(self, resource_type: str) -> list[PolicyResource]:
        return self._by_type.get(resource_type, [])

    def task_definitions_of_family(self, family: str) -> list[PolicyResource]:
        if self._families is None:
            self._families = {}
            for task in self.of_type(TASK_DEFINITION):
                self._families.setdefault(str(task.props.get("family") or ""), []).append(task)
        return self._families.get(family, [])


_last_index: list = [None, None]  # (the resources list, its index): every stack policy of a request shares it


def stack_index(resources: Iterable[PolicyResource]) -> StackIndex:
    if isinstance(resources, StackIndex):
        return resources
    if _last_index[0] is resources and len(_last_index[1].resources) == len(resources):
        return _last_index[1]
    index = StackIndex(resources)
    if isinstance(resources, list):
        _last_index[0], _last_index[1] = resources, index
    return index


def task_definition_family(reference: str) -> str:
    """The family a service's ``taskDefinition`` names: an ARN, ``family:revision`` or ``family``."""
    reference = reference.strip()
    if reference.startswith("arn:"):
        reference = reference.partition(":task-definition/")[2] or reference
    return reference.partition(":")[0]


def service_task_definitions(service: PolicyResource, resources: Iterable[PolicyResource]) -> list[PolicyResource]:
    """The stack's task definitions a service runs: by property dependency (known in previews), else by its
    ``taskDefinition`` reference (ARN, ``family:revision`` or family) matched on ARN or family."""
    found = related(service, "taskDefinition", TASK_DEFINITION)
    if found:
        return found
    reference = service.props.get("taskDefinition")
    if not isinstance(reference, str) or not reference:
        return []
    index = stack_index(resources)
    exact = [t for t in index.of_type(TASK_DEFINITION) if t.props.get("arn") == reference]
    return exact or index.task_definitions_of_family(task_definition_family(reference))


def related(resource: PolicyResource, prop: str, *types: str) -> list[PolicyResource]:
    """The resources a prop was computed from (known even in previews, when IDs are not)."""
    found = list((resource.property_dependencies or {}).get(prop, []))
    return [r for r in found if not types or r.resource_type in types]


def short_urn(urn: str) -> str:
    return urn.split("::")[-1]


class ForTypes:
    """A resource check that runs only for the given resource types (a class, not a closure, so that its
    behaviour is code run at validation time, where mutation testing can reach it)."""

    def __init__(self, types: frozenset[str], check: Callable[[Any, Callable], None]):
        self.types = types
        self.check = check

    def __call__(self, args, report_violation) -> None:
        if args.resource_type in self.types:
            self.check(args, report_violation)


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
    policy = ResourceValidationPolicy(
        name=name,
        description=description,
        enforcement_level=level,
        severity=severity,
        validate=ForTypes(wanted, check),
        config_schema=config_schema,
    )
    policy.resource_types = wanted  # lets the analyzer skip resources the policy never looks at
    return policy


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
