"""The pack spoken to over the Pulumi analyzer protocol, started the way the CLI starts it."""

from __future__ import annotations

import json
import subprocess
import sys

import grpc
import pytest
from google.protobuf import empty_pb2, json_format
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from offline.policy_client import (
    PACK_DIR,
    PolicyConfigError,
    analyze,
    policy_config_problems,
    policy_config_request,
    policy_defaults,
    to_struct,
)

from guardrails import all_policies  # isort: skip

SECRET_SIG = "4dabf18193072939515e22adb298388d"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's sentinel for values unknown during preview
EXAMPLE_CONFIG = PACK_DIR / "policy-config.example.json"
ROOT = PACK_DIR.parent




def secret(value):
    return {SECRET_SIG: "1b47061264138c4ac30d75fd1eb44270", "value": value}


def analyze_one(stub, resource_type, props, name="r"):
    urn = f"urn:pulumi:s::p::{resource_type}::{name}"
    request = analyzer_pb2.AnalyzeRequest(type=resource_type, name=name, urn=urn, properties=to_struct(props))
    return list(stub.Analyze(request).diagnostics)


def test_main_py_prints_its_port_like_the_cli_expects():
    process = subprocess.Popen([sys.executable, "__main__.py"], cwd=PACK_DIR, stdout=subprocess.PIPE, text=True)
    try:
        port = process.stdout.readline().strip()
        assert port.isdigit()
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        info = analyzer_pb2_grpc.AnalyzerStub(channel).GetAnalyzerInfo(empty_pb2.Empty())
        assert info.name == "truecaller-guardrails"
        channel.close()
    finally:
        process.kill()
        process.communicate()


def test_the_pack_starts_without_the_shell_parser_and_loads_it_for_a_script():
    """bashlex builds its parser tables when imported (~0.2 s of CPU per pack start); most runs meet no script."""
    program = ("import sys; from guardrails import all_policies, engine, shell; engine.install(); all_policies(); "
               "before = 'bashlex' in sys.modules; words = shell.simple_commands('npx prisma migrate deploy && x'); "
               "print(before, 'bashlex' in sys.modules, words)")
    done = subprocess.run([sys.executable, "-c", program], cwd=PACK_DIR, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False True [['npx', 'prisma', 'migrate', 'deploy'], ['x']]"


def test_analyzer_info_lists_every_policy_with_description_and_schema(stub):
    info = stub.GetAnalyzerInfo(empty_pb2.Empty())
    by_name = {p.name: p for p in info.policies}
    assert sorted(by_name) == sorted(p.name for p in all_policies())
    for policy in info.policies:
        assert "Fix:" in policy.description, policy.name
    assert by_name["log-retention"].enforcementLevel == analyzer_pb2.MANDATORY
    assert by_name["required-tags"].enforcementLevel == analyzer_pb2.ADVISORY
    schema = json_format.MessageToDict(by_name["log-retention"].configSchema.properties)
    assert schema["retentionDays"]["default"] == 7


def test_configure_applies_a_policy_config_file(stub, tmp_path):
    names = [p.name for p in stub.GetAnalyzerInfo(empty_pb2.Empty()).policies]
    config = json.loads(EXAMPLE_CONFIG.read_text())
    config["log-retention"] = {"enforcementLevel": "advisory", "retentionDays": 14}
    config["required-tags"] = "disabled"
    stub.Configure(policy_config_request(config, names))
    try:
        (diagnostic,) = [d for d in analyze_one(stub, "aws:cloudwatch/logGroup:LogGroup",
                                               {"retentionInDays": 7, "tags": {}}) if d.policyName != "required-tags"]
        assert diagnostic.policyName == "log-retention" and diagnostic.enforcementLevel == analyzer_pb2.ADVISORY
        assert "exactly 14" in diagnostic.message
        mutable = analyze_one(stub, "aws:ecr/repository:Repository", {
            "imageTagMutability": "MUTABLE", "imageScanningConfiguration": {"scanOnPush": True}})
        assert [(d.policyName, d.enforcementLevel) for d in mutable] == [("ecr-immutable-tags", analyzer_pb2.MANDATORY)]
    finally:
        stub.Configure(analyzer_pb2.ConfigureAnalyzerRequest())


def test_an_entry_without_a_level_keeps_the_policys_own_level_as_the_cli_reconciles_it(stub):
    """The CLI (ReconcilePolicyPackConfig) starts every policy from its own level and schema defaults;
    a config entry that sets only a threshold must not turn a mandatory policy advisory."""
    info = stub.GetAnalyzerInfo(empty_pb2.Empty())
    names = [p.name for p in info.policies]
    request = policy_config_request({"log-retention": {"retentionDays": 14}}, names, policy_defaults(info))
    assert set(request.policyConfig) == set(names)  # every policy, with its own level and defaults
    assert json_format.MessageToDict(request.policyConfig["secret-recovery-window"].properties) == {"minimumDays": 7}
    stub.Configure(request)
    try:
        (diagnostic,) = [d for d in analyze_one(stub, "aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": 7})
                         if d.policyName == "log-retention"]
        assert diagnostic.enforcementLevel == analyzer_pb2.MANDATORY and "exactly 14" in diagnostic.message
    finally:
        stub.Configure(analyzer_pb2.ConfigureAnalyzerRequest())


def test_all_sets_every_level_and_an_entry_overrides_it(stub):
    info = stub.GetAnalyzerInfo(empty_pb2.Empty())
    names = [p.name for p in info.policies]
    request = policy_config_request({"all": "advisory", "log-retention": "mandatory"}, names, policy_defaults(info))
    levels = {name: entry.enforcementLevel for name, entry in request.policyConfig.items()}
    assert levels.pop("log-retention") == analyzer_pb2.MANDATORY
    assert set(levels.values()) == {analyzer_pb2.ADVISORY}


@pytest.mark.parametrize("config_file", [EXAMPLE_CONFIG, ROOT / "bootstrap" / "policy-config.json"],
                         ids=["pack-example", "bootstrap"])
def test_the_committed_policy_configs_are_valid_for_the_pack(stub, config_file):
    info = stub.GetAnalyzerInfo(empty_pb2.Empty())
    names = [p.name for p in info.policies]
    request = policy_config_request(json.loads(config_file.read_text()), names, policy_defaults(info))
    assert policy_config_problems(request, info) == []
    with pytest.raises(PolicyConfigError, match="no policy 'log-retentoin': did you mean 'log-retention'"):
        policy_config_request({"log-retentoin": "advisory"}, names)


def test_config_values_are_checked_against_each_policys_schema_as_the_cli_checks_them(stub):
    info = stub.GetAnalyzerInfo(empty_pb2.Empty())
    names = [p.name for p in info.policies]
    request = policy_config_request({"secret-recovery-window": {"minimumDays": 3},
                                     "log-retention": {"retentionDays": "seven"}}, names, policy_defaults(info))
    below_minimum, not_a_retention, not_an_integer = policy_config_problems(request, info)  # in the pack's order
    assert below_minimum == "secret-recovery-window.minimumDays: 3 is less than the minimum of 7"
    assert not_a_retention.startswith("log-retention.retentionDays: 'seven' is not one of [1, 3, 5, 7, 14, 30,")
    assert not_an_integer == "log-retention.retentionDays: 'seven' is not of type 'integer'"
    unlisted = policy_config_request({"log-retention": {"retentionDays": 10}}, names, policy_defaults(info))
    assert policy_config_problems(unlisted, info) == [
        "log-retention.retentionDays: 10 is not one of [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, "
        "731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]"]  # a whole number, as the user wrote it (not 10.0)


@pytest.mark.parametrize(("config", "named"), [
    ({"log-retention": "strict"}, "policy config for 'log-retention': enforcement level 'strict' is not one of"),
    ({"all": "loud"}, "policy config 'all': enforcement level 'loud' is not one of"),
    ({"log-retention": 7}, "policy config for 'log-retention': 7 is not an enforcement level or an object"),
    (["log-retention"], '["log-retention"] is not a JSON object of policy names'),
])
def test_a_malformed_policy_config_is_refused_with_what_is_wrong(stub, config, named):
    names = [p.name for p in stub.GetAnalyzerInfo(empty_pb2.Empty()).policies]
    with pytest.raises(PolicyConfigError) as refused:
        policy_config_request(config, names)
    assert str(refused.value).startswith(named)


def test_secret_wrapped_values_are_checked_without_being_echoed(stub):
    empty = analyze_one(stub, "aws:secretsmanager/secretVersion:SecretVersion", {"secretString": secret("  ")})
    assert [d.policyName for d in empty] == ["secret-value-not-empty"]
    assert analyze_one(stub, "aws:secretsmanager/secretVersion:SecretVersion",
                       {"secretString": secret("postgresql://u:pw-8d1@db/app")}) == []
    leaked = analyze_one(stub, "aws:ecs/taskDefinition:TaskDefinition", {
        "containerDefinitions": secret(json.dumps([{"name": "app", "environment": [
            {"name": "API_TOKEN", "value": "tok-93ac"}]}])), "requiresCompatibilities": ["FARGATE"],
        "cpu": "512", "memory": "1024", "tags": {"project": "p", "environment": "e", "managed-by": "pulumi"}})
    assert [d.policyName for d in leaked] == ["ecs-no-plaintext-secrets"]
    assert "tok-93ac" not in leaked[0].message


def test_unknown_preview_values_are_reported_as_advisory_not_passed(stub):
    diagnostics = analyze_one(stub, "aws:cloudwatch/logGroup:LogGroup", {
        "retentionInDays": UNKNOWN, "tags": {"project": "p", "environment": "e", "managed-by": "pulumi"}})
    (diagnostic,) = diagnostics
    assert diagnostic.policyName == "log-retention"
    assert diagnostic.enforcementLevel == analyzer_pb2.ADVISORY
    assert "during preview" in diagnostic.message


def test_analyze_stack_reports_stack_policies_with_urns(prod, pack):
    broken = json.loads(prod.one("aws:ecs/taskDefinition:TaskDefinition", "app").inputs["containerDefinitions"])
    assert broken[0]["image"].count("@sha256:") == 1
    report = analyze(pack, prod)
    assert report.diagnostics == []
    app = prod.one("aws:ecs/taskDefinition:TaskDefinition", "app")
    service = prod.one("aws:ecs/service:Service")
    resources = [
        analyzer_pb2.AnalyzerResource(
            type=app.type, urn=app.urn, name=app.name,
            properties=to_struct({**app.outputs, "containerDefinitions": json.dumps(
                [{**broken[0], "command": ["sh", "-c", "npx prisma migrate deploy && node dist/src/main"]}])})),
        analyzer_pb2.AnalyzerResource(
            type=service.type, urn=service.urn, name=service.name, properties=to_struct(service.outputs),
            propertyDependencies={"taskDefinition": analyzer_pb2.AnalyzerPropertyDependencies(urns=[app.urn])}),
    ]
    response = pack.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources))
    by_policy = {d.policyName: d for d in response.diagnostics}
    assert by_policy["ecs-no-migrations-at-start"].urn == app.urn
    assert by_policy["ecs-no-migrations-at-start"].enforcementLevel == analyzer_pb2.MANDATORY


# ----------------------------------------------------------------------------- shared conversion = the SDK's answers


def _sdk_and_shared(config: dict):
    from pulumi_policy import EnforcementLevel
    from pulumi_policy import policy as sdk

    from guardrails import PACK_NAME
    from guardrails.engine import SharedConversionServicer

    servicers = [cls(PACK_NAME, "1.0.0", all_policies(), EnforcementLevel.MANDATORY)
                 for cls in (sdk._PolicyAnalyzerServicer, SharedConversionServicer)]
    names = [p.name for p in all_policies()]
    for servicer in servicers:
        servicer.Configure(policy_config_request(config, names), None)
    return servicers


@pytest.mark.parametrize("config", [
    {},
    {"log-retention": {"enforcementLevel": "remediate", "retentionDays": 14}, "required-tags": "disabled",
     "ecs-no-migrations-at-start": "advisory", "monthly-budget": {"enforcementLevel": "mandatory",
                                                                  "maxMonthlyUsd": 10}},
], ids=["defaults", "levels-and-thresholds"])
def test_shared_conversion_answers_exactly_as_the_sdk(prod, monkeypatch, config):
    """The pack's analyzer converts each request once; every answer must equal the SDK's own analyzer."""
    import copy

    from offline.policy_client import analyze_requests

    monkeypatch.setenv("PULUMI_PROJECT", "truecaller-backend")
    monkeypatch.setenv("PULUMI_STACK", "prod")
    broken = copy.deepcopy(prod)
    app = next(r for r in broken.resources if r.name == "app" and r.type.endswith("TaskDefinition"))
    definitions = json.loads(app.outputs["containerDefinitions"])
    definitions[0]["command"] = ["sh", "-c", "npx prisma migrate deploy && node dist/src/main"]
    app.outputs["containerDefinitions"] = json.dumps(definitions)
    requests, stack_request = analyze_requests(broken)
    requests.append(analyzer_pb2.AnalyzeRequest(type="aws:cloudwatch/logGroup:LogGroup", urn="urn:x", name="x",
                                                properties=to_struct({"retentionInDays": UNKNOWN, "tags": {}})))
    sdk_servicer, shared = _sdk_and_shared(config)
    for request in requests:
        assert shared.Analyze(request, None) == sdk_servicer.Analyze(request, None), request.urn
    assert shared.AnalyzeStack(stack_request, None) == sdk_servicer.AnalyzeStack(stack_request, None)
    assert shared.AnalyzeStack(stack_request, None).diagnostics  # the case is not trivially empty


def test_the_collector_is_paused_during_a_request_and_restored_after():
    import gc

    from guardrails.engine import collector_paused

    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
