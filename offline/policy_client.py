"""Run the policy pack over a planned stack exactly as the Pulumi CLI does.

The CLI's Python language host starts a pack as ``python -u -m pulumi.policy <engine> <pack dir>``
with the pack folder as working directory and the stack's project, name and config in the
environment; the pack prints its gRPC port and serves the Analyzer protocol. This client does the
same, then sends ``GetAnalyzerInfo``, ``ConfigureStack``, ``Configure`` (the policy-pack config
file, as ``--policy-pack-config`` would), one ``Analyze`` per resource (its inputs) and one
``AnalyzeStack`` (every resource's state).
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import jsonschema
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from offline.runtime import PROJECT_DIR, PlannedStack
from offline.violations import violation_detail

PACK_DIR = PROJECT_DIR / "policies"
LEVELS = {"advisory": analyzer_pb2.ADVISORY, "mandatory": analyzer_pb2.MANDATORY,
          "disabled": analyzer_pb2.DISABLED, "remediate": analyzer_pb2.REMEDIATE}
LEVEL_NAMES = {v: k for k, v in LEVELS.items()}


@dataclass
class PolicyReport:
    policies: list[str]  # every policy in the pack, as GetAnalyzerInfo lists them
    diagnostics: list[Diagnostic]

    @property
    def mandatory(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == "mandatory"]


class PolicyConfigError(ValueError):
    """The policy-pack config names a policy the pack lacks, a level that does not exist, or a property
    its policy's configSchema rejects: the CLI refuses such a config before it analyzes anything."""


@dataclass(frozen=True)
class Diagnostic:
    policy: str
    level: str  # advisory | mandatory | remediate
    message: str  # as the pack sends it: the policy's description, then what this resource does wrong
    urn: str
    description: str

    @property
    def detail(self) -> str:
        return violation_detail(self.message, self.description)


def to_struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    json_format.ParseDict(json.loads(json.dumps(value, default=str)), struct)
    return struct


def policy_defaults(info) -> dict[str, tuple[int, dict[str, Any]]]:
    """Each policy's own enforcement level and config-schema defaults, from GetAnalyzerInfo."""
    defaults = {}
    for policy in info.policies:
        schema = json_format.MessageToDict(policy.configSchema.properties) if policy.HasField("configSchema") else {}
        defaults[policy.name] = (policy.enforcementLevel,
                                 {key: spec["default"] for key, spec in schema.items() if "default" in spec})
    return defaults


def policy_config_request(config: Mapping[str, Any], policy_names: list[str],
                          defaults: Mapping[str, tuple[int, dict[str, Any]]] | None = None,
                          ) -> analyzer_pb2.ConfigureAnalyzerRequest:
    """The CLI's --policy-pack-config format ({"all": level, "<policy>": level | {"enforcementLevel": ...,
    "<property>": ...}}) reconciled as the CLI does (ReconcilePolicyPackConfig): every policy starts from its
    own level and its schema's defaults, "all" sets every level, a policy's entry sets its level only when it
    names one and its properties over the defaults. Without ``defaults`` only the configured policies are
    sent, and one without a level keeps the mandatory default of this pack."""
    if not isinstance(config, Mapping):
        raise PolicyConfigError(f"{json.dumps(config)[:60]} is not a JSON object of policy names")
    unknown = unknown_policy_problems(config, policy_names)
    if unknown:
        raise PolicyConfigError("; ".join(unknown))
    levels: dict[str, int] = {name: level for name, (level, _props) in (defaults or {}).items()}
    properties: dict[str, dict[str, Any]] = {name: dict(props) for name, (_level, props) in (defaults or {}).items()}
    every = config.get("all")
    if every is not None:
        if every not in LEVELS:
            raise PolicyConfigError(f"policy config 'all': enforcement level {every!r} is not one of {sorted(LEVELS)}")
        levels.update({name: LEVELS[every] for name in policy_names})
    for name in policy_names:
        value = config.get(name)
        if value is None:
            continue
        if not isinstance(value, (str, Mapping)):
            raise PolicyConfigError(f"policy config for {name!r}: {value!r} is not an enforcement level or an object")
        level = value if isinstance(value, str) else value.get("enforcementLevel")
        if level is not None and level not in LEVELS:
            raise PolicyConfigError(
                f"policy config for {name!r}: enforcement level {level!r} is not one of {sorted(LEVELS)}")
        if level is not None:
            levels[name] = LEVELS[level]
        levels.setdefault(name, analyzer_pb2.MANDATORY)
        if isinstance(value, Mapping):
            properties.setdefault(name, {}).update({k: v for k, v in value.items() if k != "enforcementLevel"})
    entries = {name: analyzer_pb2.PolicyConfig(enforcementLevel=level, properties=to_struct(properties.get(name, {})))
               for name, level in levels.items()}
    return analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=entries)


def unknown_policy_problems(config: Mapping[str, Any], policy_names: list[str]) -> list[str]:
    """One problem per entry of the config that names no policy of the pack ("all" aside), with the closest."""
    problems = []
    for name in sorted(set(config) - set(policy_names) - {"all"}):
        close = difflib.get_close_matches(name, policy_names, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"the pack's policies are {', '.join(policy_names)}"
        problems.append(f"the pack has no policy {name!r}: {hint}")
    return problems


def policy_config_problems(request: analyzer_pb2.ConfigureAnalyzerRequest,
                           info: analyzer_pb2.AnalyzerInfo) -> list[str]:
    """Each policy's reconciled properties checked against its configSchema as a JSON Schema object, as the CLI
    does before Configure (ReconcilePolicyPackConfig, gojsonschema): a string where a number belongs, a value
    under a minimum, a missing required property."""
    problems = []
    for policy in info.policies:
        if not policy.HasField("configSchema"):
            continue
        properties_schema = _whole_numbers(json_format.MessageToDict(policy.configSchema.properties))
        schema: dict[str, Any] = {"type": "object", "properties": properties_schema}
        if policy.configSchema.required:
            schema["required"] = list(policy.configSchema.required)
        entry = request.policyConfig.get(policy.name)
        properties = _whole_numbers(json_format.MessageToDict(entry.properties)) if entry is not None else {}
        for error in sorted(jsonschema.Draft7Validator(schema).iter_errors(properties), key=lambda e: e.json_path):
            where = ".".join(str(part) for part in error.absolute_path)
            problems.append(f"{policy.name}{'.' + where if where else ''}: {error.message}")
    return problems


def _whole_numbers(value: Any) -> Any:
    """A protobuf Struct holds every number as a double: 7 comes back as 7.0. Messages name 7 as the user wrote it."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    return value


class PolicyPackServer:
    """The pack started as the CLI starts it; use as a context manager."""

    def __init__(self, planned: PlannedStack | None = None, pack_dir: Path = PACK_DIR, env: dict | None = None):
        self.pack_dir = pack_dir
        self.environment = dict(os.environ)
        if planned is not None:
            self.environment.update(
                PULUMI_PROJECT=planned.project,
                PULUMI_STACK=planned.stack,
                PULUMI_DRY_RUN="true" if planned.preview else "false",
                PULUMI_CONFIG=json.dumps({k: v for k, v in planned.config.items() if k not in planned.secret_keys}),
            )
        self.environment.update(env or {})
        self.process: subprocess.Popen | None = None
        self.channel: grpc.Channel | None = None

    def __enter__(self) -> analyzer_pb2_grpc.AnalyzerStub:
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(self.pack_dir)],
            cwd=self.pack_dir, env=self.environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        line = self.process.stdout.readline().strip()
        if not line.isdigit():
            self.process.kill()
            raise RuntimeError(f"policy pack did not print a port: {line!r}\n{self.process.stderr.read()}")
        self.channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        grpc.channel_ready_future(self.channel).result(timeout=15)
        return analyzer_pb2_grpc.AnalyzerStub(self.channel)

    def __exit__(self, *exc_info) -> None:
        if self.channel:
            self.channel.close()
        if self.process:
            self.process.kill()
            self.process.communicate()


def _diagnostics(response, descriptions: dict[str, str], resource_urn: str = "") -> list[Diagnostic]:
    """A resource policy's diagnostic names no URN (pulumi-policy leaves it empty): the engine reports it
    against the resource it analyzed, and so does this client."""
    return [
        Diagnostic(d.policyName, LEVEL_NAMES.get(d.enforcementLevel, "advisory"), d.message, d.urn or resource_urn,
                   descriptions.get(d.policyName, d.description))
        for d in response.diagnostics
    ]


def analyze_requests(planned: PlannedStack) -> tuple[list[analyzer_pb2.AnalyzeRequest],
                                                     analyzer_pb2.AnalyzeStackRequest]:
    """What the CLI sends: one AnalyzeRequest per custom resource (its inputs, exactly as the engine
    received them) and one AnalyzeStackRequest with every custom resource's state."""
    custom = [r for r in planned.resources if r.custom]
    custom_urns = {r.urn for r in custom}
    requests = [
        analyzer_pb2.AnalyzeRequest(
            type=r.type, urn=r.urn, name=r.name,
            properties=r.raw_inputs if r.raw_inputs is not None else to_struct(r.inputs),
            options=analyzer_pb2.AnalyzerResourceOptions(protect=r.protect),
        )
        for r in custom
    ]
    stack_resources = [
        analyzer_pb2.AnalyzerResource(
            type=r.type, urn=r.urn, name=r.name, properties=to_struct(r.outputs),
            options=analyzer_pb2.AnalyzerResourceOptions(protect=r.protect),
            parent=r.parent or "", dependencies=[d for d in r.dependencies if d in custom_urns],
            propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v)
                                  for k, v in r.property_dependencies.items() if v},
        )
        for r in custom
    ]
    return requests, analyzer_pb2.AnalyzeStackRequest(resources=stack_resources)


def configure(stub: analyzer_pb2_grpc.AnalyzerStub, planned: PlannedStack,
              config: Mapping[str, Any] | None = None) -> tuple[list[str], dict[str, str]]:
    """GetAnalyzerInfo, ConfigureStack and (with a policy-pack config) Configure, as the CLI does first."""
    info = stub.GetAnalyzerInfo(empty_pb2.Empty())
    names = [p.name for p in info.policies]
    stub.ConfigureStack(analyzer_pb2.AnalyzerStackConfigureRequest(stack=planned.stack, project=planned.project))
    if config:
        # A misspelt policy and a bad value of another are reported together: one round of fixes.
        unknown = unknown_policy_problems(config, names) if isinstance(config, Mapping) else []
        known = {k: v for k, v in config.items() if k in names or k == "all"} if unknown else config
        request = policy_config_request(known, names, policy_defaults(info))
        problems = unknown + policy_config_problems(request, info)
        if problems:
            raise PolicyConfigError("; ".join(problems))
        stub.Configure(request)
    return names, {p.name: p.description for p in info.policies}


def analyze(stub: analyzer_pb2_grpc.AnalyzerStub, planned: PlannedStack,
            config: Mapping[str, Any] | None = None) -> PolicyReport:
    names, descriptions = configure(stub, planned, config)
    requests, stack_request = analyze_requests(planned)
    found: list[Diagnostic] = []
    for request in requests:
        found += _diagnostics(stub.Analyze(request), descriptions, request.urn)
    found += _diagnostics(stub.AnalyzeStack(stack_request), descriptions)
    return PolicyReport(names, found)


def run_policy_pack(planned: PlannedStack, config: Mapping[str, Any] | Path | None = None,
                    pack_dir: Path = PACK_DIR) -> PolicyReport:
    if isinstance(config, Path):
        config = json.loads(config.read_text())
    with PolicyPackServer(planned, pack_dir) as stub:
        return analyze(stub, planned, config)


def format_report(report: PolicyReport) -> str:
    diagnostics = report.diagnostics
    by_policy: dict[str, list[Diagnostic]] = {}
    for d in diagnostics:
        by_policy.setdefault(d.policy, []).append(d)
    mandatory = sum(1 for d in diagnostics if d.level == "mandatory")
    advisory = len(diagnostics) - mandatory
    lines = [f"Policy pack: {mandatory} mandatory violation(s), {advisory} advisory"]
    for name in report.policies + sorted(set(by_policy) - set(report.policies)):
        found = by_policy.get(name, [])
        if not found:
            lines.append(f"  ok         {name}")
            continue
        lines.append(f"  {found[0].level.upper():<10} {name} ({len(found)})")
        lines.append(f"      {found[0].description}")
        for d in found:
            first, *rest = d.detail.splitlines()
            lines.append(f"      {d.urn.split('::')[-1] or 'stack'}: {first}")
            lines += [f"        {line}" for line in rest]
    return "\n".join(lines)
