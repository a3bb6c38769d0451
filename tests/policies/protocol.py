"""Drive the pack over the analyzer protocol with hand-made resources (as the CLI sends them)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pulumi.runtime.proto import analyzer_pb2

from offline.policy_client import LEVEL_NAMES, to_struct

PROJECT = "demo"
STACK = "prod"


def urn(resource_type: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::{resource_type}::{name}"


@dataclass
class R:
    """A resource of a hand-made stack: its type, name, properties and property dependencies (by name)."""

    type: str
    name: str
    props: dict
    deps: dict[str, list[str]] = field(default_factory=dict)

    @property
    def urn(self) -> str:
        return urn(self.type, self.name)


@dataclass(frozen=True)
class Found:
    policy: str
    level: str
    message: str
    urn: str


def _found(response) -> list[Found]:
    return [Found(d.policyName, LEVEL_NAMES.get(d.enforcementLevel, "advisory"), d.message, d.urn)
            for d in response.diagnostics]


def analyze(stub, resource: R) -> list[Found]:
    """One Analyze call: the resource's inputs."""
    return _found(stub.Analyze(analyzer_pb2.AnalyzeRequest(
        type=resource.type, urn=resource.urn, name=resource.name, properties=to_struct(resource.props))))


def analyze_stack(stub, resources: list[R]) -> list[Found]:
    """One AnalyzeStack call; dependencies are named by resource name and must be in ``resources``."""
    by_name = {r.name: r for r in resources}
    return _found(stub.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=[
        analyzer_pb2.AnalyzerResource(
            type=r.type, urn=r.urn, name=r.name, properties=to_struct(r.props),
            propertyDependencies={key: analyzer_pb2.AnalyzerPropertyDependencies(urns=[by_name[n].urn for n in names])
                                  for key, names in r.deps.items()},
        )
        for r in resources
    ])))


def of(found: list[Found], policy: str) -> list[Found]:
    return [f for f in found if f.policy == policy]
