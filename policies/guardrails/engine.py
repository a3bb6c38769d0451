"""How the pack is evaluated: each request converted once and shared by every policy.

pulumi-policy's analyzer converts the whole request again for every policy: ``Analyze`` turns the
resource's protobuf properties into Python once per resource policy, ``AnalyzeStack`` rebuilds
every resource of the stack once per stack policy. With 25 policies that conversion, not the
policies, is most of the pack's time, and it grows with policies x resources. This servicer
overrides only those two calls: it converts once, gives every policy the same read-only
arguments, and otherwise keeps the SDK's semantics exactly (enforcement levels from the policy
config, ``remediate`` reported as mandatory, unknown preview values reported as advisory "can't
run during preview" notes, not-applicable policies, the order of diagnostics). Policies stay
ordinary ``ResourceValidationPolicy``/``StackValidationPolicy`` objects that a user sees, names,
configures and sets a level for. Policies must not modify the props they are given.

The collector is paused while a request is analysed: a stack of thousands of resources creates
millions of small objects that live exactly as long as the request, and Python's generational
collector would otherwise rescan all of them again and again (superlinear time for nothing).
"""

from __future__ import annotations

import asyncio
import gc
import threading
from contextlib import contextmanager
from inspect import isawaitable

from google.protobuf import json_format
from pulumi.runtime import proto
from pulumi_policy import policy as sdk
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

_gc_lock = threading.Lock()
_gc_state = {"requests": 0, "was_enabled": True}


@contextmanager
def collector_paused():
    """Pause the cyclic collector while any request is being analysed (gRPC serves from 4 threads)."""
    with _gc_lock:
        if _gc_state["requests"] == 0:
            _gc_state["was_enabled"] = gc.isenabled()
            gc.disable()
        _gc_state["requests"] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_state["requests"] -= 1
            if _gc_state["requests"] == 0 and _gc_state["was_enabled"]:
                gc.enable()


def _properties(struct) -> object:
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))


def _run(validation) -> None:
    """Run a policy's result the way the SDK does: awaitables on a fresh event loop."""
    if isawaitable(validation):
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(asyncio.Task(validation, loop=loop))
        finally:
            loop.close()


class SharedConversionServicer(sdk._PolicyAnalyzerServicer):
    """The SDK's analyzer with ``Analyze`` and ``AnalyzeStack`` converting each request once."""

    _runtime_configured = False

    @property
    def _policies(self) -> list[sdk.Policy]:
        return self._PolicyAnalyzerServicer__policies

    def _configure_runtime_settings(self):
        # The SDK re-reads the same environment on every request; the environment of a plugin process never changes.
        if not self._runtime_configured:
            super()._configure_runtime_settings()
            self._runtime_configured = True

    def _unknown(self, response, policy: sdk.Policy, error: UnknownValueError) -> None:
        name = self._PolicyAnalyzerServicer__policy_pack_name
        version = self._PolicyAnalyzerServicer__policy_pack_version
        response.diagnostics.append(proto.AnalyzeDiagnostic(
            policyName=policy.name,
            policyPackName=name,
            policyPackVersion=version,
            message=f"can't run policy '{policy.name}' from policy pack '{name}@v{version}' during preview: "
                    f"{error.message}",
            description=policy.description,
            enforcementLevel=self._map_enforcement_level(sdk.EnforcementLevel.ADVISORY),
        ))

    def _level(self, policy: sdk.Policy) -> sdk.EnforcementLevel:
        level = self._get_enforcement_level(policy)
        # Neither kind of policy is remediated here: the SDK reports "remediate" as mandatory.
        return sdk.EnforcementLevel.MANDATORY if level == sdk.EnforcementLevel.REMEDIATE else level

    def _evaluate(self, response, policy: sdk.Policy, make_args) -> None:
        report = self._create_report_violation(response, policy.name, policy.description, self._level(policy),
                                               policy.severity)
        try:
            _run(policy.validate(make_args(self._get_policy_config(policy.name)), report))
        except UnknownValueError as error:
            self._unknown(response, policy, error)
        except sdk._NotApplicableError as error:
            response.not_applicable.append(proto.PolicyNotApplicable(policy_name=policy.name,
                                                                      reason=error.reason or ""))

    def Analyze(self, request, _context):
        self._configure_runtime_settings()
        response = proto.AnalyzeResponse()
        stack_tags = self._PolicyAnalyzerServicer__stack_tags
        shared: list = []

        def make_args(config):
            if not shared:  # converted once, on the first policy that wants the resource
                shared.extend((_properties(request.properties), self._get_resource_options(request),
                               self._get_provider_resource(request)))
            props, opts, provider = shared
            return sdk.ResourceValidationArgs(request.type, props, request.urn, request.name, opts, provider, config,
                                              stack_tags)

        with collector_paused():
            for policy in self._policies:
                if (self._get_enforcement_level(policy) == sdk.EnforcementLevel.DISABLED
                        or not isinstance(policy, sdk.ResourceValidationPolicy)):
                    continue
                if not policy.has_validation():
                    response.not_applicable.append(proto.PolicyNotApplicable(
                        policy_name=policy.name, reason="Policy does not implement validate"))
                    continue
                types = getattr(policy, "resource_types", None)
                if types is not None and request.type not in types:
                    continue  # the policy's own check would return at once for this type
                self._evaluate(response, policy, make_args)
        return response

    def _stack_resources(self, request) -> list[sdk.PolicyResource]:
        converted = [(r, sdk.PolicyResource(r.type, _properties(r.properties), r.urn, r.name,
                                            self._get_resource_options(r), self._get_provider_resource(r), None,
                                            [], {}))
                     for r in request.resources]
        by_urn = {r.urn: resource for r, resource in converted}
        for r, resource in converted:  # links once every resource exists: a parent may come after its child
            if r.parent in by_urn:
                resource.parent = by_urn[r.parent]
            resource.dependencies.extend(by_urn[d] for d in r.dependencies if d in by_urn)
            for key, deps in r.propertyDependencies.items():
                resource.property_dependencies[key] = [by_urn[u] for u in deps.urns if u in by_urn]
        return [resource for _, resource in converted]

    def AnalyzeStack(self, request, _context):
        self._configure_runtime_settings()
        response = proto.AnalyzeResponse()
        stack_tags = self._PolicyAnalyzerServicer__stack_tags
        shared: list = []

        def make_args(config):
            if not shared:
                shared.append(self._stack_resources(request))
            return sdk.StackValidationArgs(shared[0], config, stack_tags)

        with collector_paused():
            for policy in self._policies:
                if (self._get_enforcement_level(policy) == sdk.EnforcementLevel.DISABLED
                        or not isinstance(policy, sdk.StackValidationPolicy)):
                    continue
                self._evaluate(response, policy, make_args)
        return response


def install() -> None:
    """Make ``pulumi_policy.PolicyPack`` serve with the shared-conversion servicer (call before building it)."""
    sdk._PolicyAnalyzerServicer = SharedConversionServicer
