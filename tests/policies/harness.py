"""Call policies directly, with the argument objects the analyzer would build."""

from __future__ import annotations

import json
from typing import Any

from pulumi_policy import PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions
from pulumi_policy.policy import ResourceValidationArgs, StackValidationArgs

from offline.runtime import PlannedStack


def options(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def resource_violations(policy, resource_type: str, props: dict, config: dict | None = None) -> list[str]:
    found: list[str] = []
    args = ResourceValidationArgs(resource_type, props, f"urn:pulumi:s::p::{resource_type}::r", "r", options(), None,
                                  config or {})
    policy.validate(args, lambda message, urn=None: found.append(message))
    return found


def stack_resource(resource_type: str, name: str, props: dict, deps: dict[str, list[PolicyResource]] | None = None):
    return PolicyResource(resource_type, props, f"urn:pulumi:s::p::{resource_type}::{name}", name, options(), None,
                          None, [r for v in (deps or {}).values() for r in v], deps or {})


def stack_violations(policy, resources: list[PolicyResource], config: dict | None = None) -> list[str]:
    found: list[str] = []
    policy.validate(StackValidationArgs(resources, config or {}), lambda message, urn=None: found.append(message))
    return found


def _unwrap(value: Any) -> Any:
    """Secrets as a policy sees them (the analyzer unwraps them)."""
    if isinstance(value, dict):
        if "4dabf18193072939515e22adb298388d" in value:
            return value["value"]
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


def policy_resources(planned: PlannedStack) -> list[PolicyResource]:
    """The planned stack as StackValidationArgs.resources (states, with property dependencies)."""
    custom = [r for r in planned.resources if r.custom]
    built = {r.urn: PolicyResource(r.type, _unwrap(json.loads(json.dumps(r.outputs))), r.urn, r.name,
                                   options(r.protect), None, None, [], {}) for r in custom}
    for r in custom:
        built[r.urn].property_dependencies = {k: [built[u] for u in v if u in built]
                                              for k, v in r.property_dependencies.items()}
        built[r.urn].dependencies = [built[u] for u in r.dependencies if u in built]
    return list(built.values())

