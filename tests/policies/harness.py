"""Call policies directly, with the argument objects the analyzer would build."""

from __future__ import annotations

from pulumi_policy import PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions
from pulumi_policy.policy import ResourceValidationArgs, StackValidationArgs


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


def stack_findings(policy, resources: list[PolicyResource], config: dict | None = None) -> list[tuple[str, str]]:
    """(message, name of the resource blamed) per violation; "" when the policy names no resource."""
    found: list[tuple[str, str]] = []
    policy.validate(StackValidationArgs(resources, config or {}),
                    lambda message, urn=None: found.append((message, urn.split("::")[-1] if urn else "")))
    return found
