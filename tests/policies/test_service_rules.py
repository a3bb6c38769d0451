"""Load balancer, registry, scaling and alarm policies edge by edge, with their messages (in process, for
`make mutate`); the real stacks and their broken variants drive the same policies over gRPC elsewhere."""

from __future__ import annotations

import pytest
from google.protobuf import struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel

from tests.policies.harness import resource_violations, stack_findings, stack_resource, stack_violations

from guardrails import cloudwatch, ecr, elb, engine, scaling  # isort: skip

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

# ----------------------------------------------------------------------------- target groups


@pytest.mark.parametrize(("props", "messages"), [
    ({"targetType": "lambda"}, []),
    ({"targetType": "ip"}, ["The target group relies on default health checks; declare health_check explicitly "
                            "(enabled, path, matcher, interval, thresholds)."]),
    ({"healthCheck": {"enabled": True, "path": "/h", "matcher": "200"}}, []),
    ({"healthCheck": {"enabled": False, "path": "/h", "matcher": "200"}},
     ["The target group's health check is disabled: unhealthy tasks would keep receiving traffic."]),
    ({"healthCheck": {"path": "/h"}}, ["The health check has no matcher: set the expected status codes (\"200\")."]),
    ({"healthCheck": {"matcher": "200"}},
     ["The health check has no path: set the application's health endpoint (/api/health)."]),
    ({"healthCheck": {"protocol": "TCP"}}, []),
    ({"protocol": "TCP", "healthCheck": {"enabled": True}}, []),
    ({"protocol": "https", "healthCheck": {"enabled": True}},
     ["The health check has no path: set the application's health endpoint (/api/health).",
      "The health check has no matcher: set the expected status codes (\"200\")."]),
    ({"protocol": "TCP", "healthCheck": {"protocol": "HTTP", "matcher": "200"}},
     ["The health check has no path: set the application's health endpoint (/api/health)."]),
])
def test_target_group_health_checks(props, messages):
    assert resource_violations(elb.target_group_health_check, elb.TARGET_GROUP, props) == messages


# ----------------------------------------------------------------------------- load balancers


GOOD_ALB = {"dropInvalidHeaderFields": True, "enableDeletionProtection": True}


@pytest.mark.parametrize(("stack", "props", "config", "messages"), [
    ("prod", GOOD_ALB, None, []),
    ("prod", {**GOOD_ALB, "loadBalancerType": "network", "dropInvalidHeaderFields": False}, None, []),
    ("prod", {**GOOD_ALB, "dropInvalidHeaderFields": False}, None,
     ["drop_invalid_header_fields is off: malformed headers reach the application (request smuggling). Set it to "
      "true."]),
    ("production", {"dropInvalidHeaderFields": True}, None,
     ["Stack 'production' is production: enable_deletion_protection must be true."]),
    ("staging", {"dropInvalidHeaderFields": True}, None, []),
    ("live", {"dropInvalidHeaderFields": True}, {"productionStacks": ["live"]},
     ["Stack 'live' is production: enable_deletion_protection must be true."]),
    ("prod", {"dropInvalidHeaderFields": True}, {"productionStacks": ["live"]}, []),
    ("", {"dropInvalidHeaderFields": True}, {"productionStacks": [""]},
     ["Stack '' is production: enable_deletion_protection must be true."]),
])
def test_alb_hardening_rules(monkeypatch, stack, props, config, messages):
    monkeypatch.setenv("PULUMI_STACK", stack)
    assert resource_violations(elb.alb_hardening, elb.LOAD_BALANCER, props, config) == messages


def test_alb_hardening_without_a_stack_name(monkeypatch):
    monkeypatch.delenv("PULUMI_STACK", raising=False)
    assert resource_violations(elb.alb_hardening, elb.LOAD_BALANCER, {"dropInvalidHeaderFields": True},
                               {"productionStacks": [""]}) == [
        "Stack '' is production: enable_deletion_protection must be true."]


REDIRECT = [{"type": "redirect", "redirect": {"protocol": "HTTPS"}}]


def listeners(*specs, balancers=("alb",)):
    lbs = {name: stack_resource(elb.LOAD_BALANCER, name, {"arn": f"arn:{name}"}) for name in balancers}
    made = []
    for name, protocol, actions, owner, by_arn in specs:
        deps = {} if by_arn else {"loadBalancerArn": [lbs[owner]]}
        made.append(stack_resource(elb.LISTENER, name, {"protocol": protocol, "defaultActions": actions,
                                                        "loadBalancerArn": f"arn:{owner}"}, deps))
    return list(lbs.values()) + made


@pytest.mark.parametrize(("resources", "messages"), [
    (listeners(("http", "HTTP", [{"type": "forward"}], "alb", False)), []),
    (listeners(("https", "HTTPS", [], "alb", False), ("http", "HTTP", REDIRECT, "alb", False)), []),
    (listeners(("https", "https", [], "alb", False), ("http", "http", [{"type": "forward"}], "alb", False)),
     ["alb has an HTTPS listener but HTTP listener http does not redirect to HTTPS."]),
    (listeners(("https", "HTTPS", [], "alb", True), ("http", "HTTP", [{"type": "forward"}], "alb", True)),
     ["arn:alb has an HTTPS listener but HTTP listener http does not redirect to HTTPS."]),
    (listeners(("https", "HTTPS", [], "a", False), ("http", "HTTP", [{"type": "forward"}], "b", False),
               balancers=("a", "b")), []),
    (listeners(("https", "HTTPS", [], "alb", False),
               ("http", "HTTP", [{"type": "redirect", "redirect": {"protocol": "HTTP"}}], "alb", False)),
     ["alb has an HTTPS listener but HTTP listener http does not redirect to HTTPS."]),
    (listeners(("https", "HTTPS", [], "alb", False),
               ("http", "HTTP", [{"type": "fixed-response", "redirect": {"protocol": "HTTPS"}}], "alb", False)),
     ["alb has an HTTPS listener but HTTP listener http does not redirect to HTTPS."]),
    (listeners(("https", "HTTPS", [], "alb", False), ("http", "HTTP", [{"type": "redirect"}], "alb", False)),
     ["alb has an HTTPS listener but HTTP listener http does not redirect to HTTPS."]),
    ([*listeners(("http", "HTTP", [{"type": "forward"}], "alb", False)), stack_resource(elb.CERTIFICATE, "c", {})],
     ["The stack has an ACM certificate but no HTTPS listener: serve HTTPS with it."]),
    ([*listeners(("https", "HTTPS", [], "alb", False)), stack_resource(elb.CERTIFICATE, "c", {})], []),
    ([stack_resource(elb.LISTENER, "bare", {})], []),
])
def test_https_when_certificate_rules(resources, messages):
    assert stack_violations(elb.https_when_certificate, resources) == messages


def test_https_violation_points_at_the_listener():
    found = []
    resources = listeners(("https", "HTTPS", [], "alb", False), ("http", "HTTP", [], "alb", False))
    from pulumi_policy.policy import StackValidationArgs

    elb.https_when_certificate.validate(StackValidationArgs(resources, {}), lambda m, urn=None: found.append(urn))
    assert found == [resources[-1].urn]


# ----------------------------------------------------------------------------- ECR


@pytest.mark.parametrize(("props", "scan", "immutable"), [
    ({"imageScanningConfiguration": {"scanOnPush": True}, "imageTagMutability": "IMMUTABLE"}, [], []),
    ({}, ["Images are not scanned on push: set image_scanning_configuration.scan_on_push = true."],
     ["Tags are mutable: a pushed tag can be overwritten. Set image_tag_mutability = IMMUTABLE."]),
    ({"imageScanningConfiguration": {"scanOnPush": False}, "imageTagMutability": "MUTABLE"},
     ["Images are not scanned on push: set image_scanning_configuration.scan_on_push = true."],
     ["Tags are mutable: a pushed tag can be overwritten. Set image_tag_mutability = IMMUTABLE."]),
    ({"imageScanningConfiguration": {"scanOnPush": True}, "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION"}, [], []),
])
def test_repository_rules(props, scan, immutable):
    assert resource_violations(ecr.scan_on_push, ecr.REPOSITORY, props) == scan
    assert resource_violations(ecr.immutable_tags, ecr.REPOSITORY, props) == immutable


def test_lifecycle_policies_by_dependency_or_name():
    repo = stack_resource(ecr.REPOSITORY, "repo", {"name": "app"})
    other = stack_resource(ecr.REPOSITORY, "other", {"name": "other"})
    by_dependency = stack_resource(ecr.LIFECYCLE_POLICY, "p", {"repository": "x"}, {"repository": [repo]})
    by_name = stack_resource(ecr.LIFECYCLE_POLICY, "q", {"repository": "other"})
    assert stack_violations(ecr.lifecycle_policy, [repo, other, by_dependency, by_name]) == []
    assert stack_violations(ecr.lifecycle_policy, [repo, other, by_name]) == [
        "Repository repo has no lifecycle policy: old images accumulate and cost storage. Add an "
        "aws.ecr.LifecyclePolicy keeping the last N images."]
    assert stack_violations(ecr.lifecycle_policy, [repo, other, by_dependency]) == [
        "Repository other has no lifecycle policy: old images accumulate and cost storage. Add an "
        "aws.ecr.LifecyclePolicy keeping the last N images."]
    unnamed = stack_resource(ecr.REPOSITORY, "unnamed", {})
    assert stack_violations(ecr.lifecycle_policy, [unnamed, stack_resource(ecr.LIFECYCLE_POLICY, "z", {})])


# ----------------------------------------------------------------------------- scaling and alarms

SVC = "aws:ecs/service:Service"


def load_balanced(name="svc", **props):
    return stack_resource(SVC, name, {"name": name, "loadBalancers": [{}], **props})


@pytest.mark.parametrize("link", ["dependency", "resource-id"])
def test_autoscaling_target_found_by_dependency_or_resource_id(link):
    service = load_balanced()
    if link == "dependency":
        target = stack_resource(scaling.SCALABLE_TARGET, "t", {"resourceId": "x"}, {"resourceId": [service]})
    else:
        target = stack_resource(scaling.SCALABLE_TARGET, "t", {"resourceId": "service/c/svc"})
    policy = stack_resource(scaling.SCALING_POLICY, "p", {}, {"resourceId": [target]})
    assert stack_violations(scaling.service_autoscaling, [service, target, policy]) == []
    assert stack_violations(scaling.service_autoscaling, [service, target]) == [
        "Service svc has a scaling target but no scaling policy."]


def test_autoscaling_messages_and_scope():
    service = load_balanced()
    assert stack_violations(scaling.service_autoscaling, [service]) == [
        "Service svc has no Application Auto Scaling target: it cannot grow with traffic."]
    assert stack_violations(scaling.service_autoscaling, [stack_resource(SVC, "worker", {"name": "worker"})]) == []
    other_target = stack_resource(scaling.SCALABLE_TARGET, "t2", {"resourceId": "service/c/svc-2"})
    assert stack_violations(scaling.service_autoscaling, [service, other_target])
    unnamed = stack_resource(SVC, "svc", {"loadBalancers": [{}]})
    target = stack_resource(scaling.SCALABLE_TARGET, "t", {"resourceId": "service/c/svc"})
    policy_of_other = stack_resource(scaling.SCALING_POLICY, "p", {}, {"resourceId": [other_target]})
    assert stack_violations(scaling.service_autoscaling, [unnamed, target, other_target, policy_of_other]) == [
        "Service svc has a scaling target but no scaling policy."]


def test_autoscaling_target_named_by_the_services_name_property_not_its_resource_name():
    service = stack_resource(SVC, "svc", {"name": "api-prod", "loadBalancers": [{}]})
    target = stack_resource(scaling.SCALABLE_TARGET, "t", {"resourceId": "service/c/api-prod"})
    policy = stack_resource(scaling.SCALING_POLICY, "p", {}, {"resourceId": [target]})
    assert stack_violations(scaling.service_autoscaling, [service, target, policy]) == []
    by_resource_name = stack_resource(scaling.SCALABLE_TARGET, "t", {"resourceId": "service/c/svc"})
    assert stack_violations(scaling.service_autoscaling, [service, by_resource_name, policy]) == [
        "Service svc has no Application Auto Scaling target: it cannot grow with traffic."]


def test_autoscaling_target_without_a_known_resource_id_is_not_the_services():
    unknown = stack_resource(scaling.SCALABLE_TARGET, "t", {})  # resourceId not known in a preview, no dependency
    assert stack_violations(scaling.service_autoscaling, [load_balanced(), unknown]) == [
        "Service svc has no Application Auto Scaling target: it cannot grow with traffic."]


def test_autoscaling_blames_each_service():
    first, second = load_balanced("first"), load_balanced("second")
    target = stack_resource(scaling.SCALABLE_TARGET, "t", {"resourceId": "service/c/second"})
    assert stack_findings(scaling.service_autoscaling, [first, second]) == [
        ("Service first has no Application Auto Scaling target: it cannot grow with traffic.", "first"),
        ("Service second has no Application Auto Scaling target: it cannot grow with traffic.", "second")]
    assert stack_findings(scaling.service_autoscaling, [second, target]) == [
        ("Service second has a scaling target but no scaling policy.", "second")]


def test_error_alarms_blame_each_service():
    first, second = load_balanced("first"), load_balanced("second")
    assert stack_findings(scaling.service_error_alarms, [first, second]) == [
        ("No alarm watches the 5xx rate of first's load balancer.", "first"),
        ("No alarm watches the 5xx rate of second's load balancer.", "second")]
    assert stack_findings(scaling.service_error_alarms, [second, alarm("5xx", "HTTPCode_ELB_5XX_Count")]) == [
        ("Service second does not roll back on its error-rate alarms: set alarms={alarm_names: [...5xx alarms], "
         "enable: true, rollback: true}.", "second")]


def alarm(name, metric=None, queries=None):
    props = {"name": name}
    if metric:
        props["metricName"] = metric
    if queries:
        props["metricQueries"] = [{"id": f"q{i}", "metric": {"metricName": q}} if q else {"id": f"e{i}",
                                                                                          "expression": "x"}
                                  for i, q in enumerate(queries)]
    return stack_resource(scaling.METRIC_ALARM, name, props)


@pytest.mark.parametrize(("alarms", "deployment", "messages"), [
    ([alarm("5xx", "HTTPCode_ELB_5XX_Count")], {"alarmNames": ["5xx"], "enable": True, "rollback": True}, []),
    ([alarm("5xx", queries=[None, "HTTPCode_Target_5XX_Count"])],
     {"alarmNames": ["5xx"], "enable": True, "rollback": True}, []),
    ([alarm("cpu", "CPUUtilization")], {"alarmNames": ["cpu"], "enable": True, "rollback": True},
     ["No alarm watches the 5xx rate of svc's load balancer."]),
    ([alarm("5xx", "HTTPCode_ELB_5XX_Count")], {"alarmNames": ["5xx"], "enable": True, "rollback": False},
     ["Service svc does not roll back on its error-rate alarms: set alarms={alarm_names: [...5xx alarms], enable: "
      "true, rollback: true}."]),
    ([alarm("5xx", "HTTPCode_ELB_5XX_Count")], {"alarmNames": ["5xx"], "enable": False, "rollback": True},
     ["Service svc does not roll back on its error-rate alarms: set alarms={alarm_names: [...5xx alarms], enable: "
      "true, rollback: true}."]),
    ([alarm("5xx", "HTTPCode_ELB_5XX_Count"), alarm("cpu", "CPUUtilization")],
     {"alarmNames": ["cpu"], "enable": True, "rollback": True},
     ["Service svc does not roll back on its error-rate alarms: set alarms={alarm_names: [...5xx alarms], enable: "
      "true, rollback: true}."]),
])
def test_error_alarm_rules(alarms, deployment, messages):
    assert stack_violations(scaling.service_error_alarms, [load_balanced(alarms=deployment), *alarms]) == messages


def test_alarm_metrics_and_unnamed_alarms():
    assert scaling._alarm_metrics(alarm("a", "M", queries=["N", None])) == {"M", "N"}
    assert scaling._alarm_metrics(stack_resource(scaling.METRIC_ALARM, "x", {})) == set()
    unnamed = stack_resource(scaling.METRIC_ALARM, "by-resource-name", {"metricName": "HTTPCode_Target_5XX_Count"})
    service = load_balanced(alarms={"alarmNames": ["by-resource-name"], "enable": True, "rollback": True})
    assert stack_violations(scaling.service_error_alarms, [service, unnamed]) == []


@pytest.mark.parametrize(("actions", "messages"), [
    (["arn:aws:sns:eu-central-1:1:t"], []),
    ([], ["The alarm notifies nobody: add an SNS topic to alarm_actions."]),
    (["arn:aws:automate:eu-central-1:ec2:stop"],
     ["The alarm's actions ['arn:aws:automate:eu-central-1:ec2:stop'] include no SNS topic; route alarms to the "
      "team's topic."]),
])
def test_alarm_actions(actions, messages):
    assert resource_violations(cloudwatch.alarm_actions_to_topic, cloudwatch.METRIC_ALARM,
                               {"alarmActions": actions}) == messages


# ----------------------------------------------------------------------------- engine: unknown values


def test_unknown_values_are_advisory_notes_with_the_sdks_wording():
    struct = struct_pb2.Struct()
    struct.update({"retentionInDays": UNKNOWN})
    servicer = engine.SharedConversionServicer("pack", "1.2.3", [cloudwatch.log_retention], EnforcementLevel.MANDATORY)
    response = servicer.Analyze(analyzer_pb2.AnalyzeRequest(type=cloudwatch.LOG_GROUP, urn="urn:x", name="x",
                                                            properties=struct), None)
    (diagnostic,) = response.diagnostics
    assert diagnostic.message == ("can't run policy 'log-retention' from policy pack 'pack@v1.2.3' during preview: "
                                  "string value at .retentionInDays can't be known during preview")
    assert (diagnostic.policyName, diagnostic.policyPackName, diagnostic.policyPackVersion, diagnostic.urn) == (
        "log-retention", "pack", "1.2.3", "")
    assert diagnostic.enforcementLevel == analyzer_pb2.ADVISORY
    assert diagnostic.description == cloudwatch.log_retention.description


def test_the_engine_gives_policies_everything_the_sdk_gives_them():
    from pulumi_policy import PolicyConfigSchema, ResourceValidationPolicy, Severity, StackValidationPolicy

    seen = {}

    def resource_check(args, report):
        seen["resource"] = args
        report("r")

    def stack_check(args, report):
        seen["stack"] = args
        report("s")

    skipped = engine.sdk.ResourceValidationPolicy(name="never", description="d", validate=lambda a, r: None)
    skipped.resource_types = frozenset({"other:type"})
    no_validate = ResourceValidationPolicy(name="remediation-only", description="d", remediate=lambda args: None)
    resource = ResourceValidationPolicy(name="res", description="d", validate=resource_check, severity=Severity.LOW,
                                        config_schema=PolicyConfigSchema(properties={"x": {"type": "number"}}))
    stack = StackValidationPolicy(name="stk", description="d", validate=stack_check, severity=Severity.CRITICAL)
    servicer = engine.SharedConversionServicer("pack", "1", [skipped, no_validate, resource, stack],
                                               EnforcementLevel.MANDATORY)
    properties = struct_pb2.Struct()
    properties.update({"x": 3})
    config = struct_pb2.Struct()
    config.update({"x": 2})
    servicer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig={
        "res": analyzer_pb2.PolicyConfig(enforcementLevel=analyzer_pb2.ADVISORY, properties=config)}), None)
    servicer.ConfigureStack(analyzer_pb2.AnalyzerStackConfigureRequest(stack="s", project="p", tags={"team": "x"}),
                            None)
    provider_props = struct_pb2.Struct()
    provider_props.update({"region": "eu-central-1"})
    response = servicer.Analyze(analyzer_pb2.AnalyzeRequest(
        type="t:y:Z", urn="urn:r", name="r", properties=properties,
        options=analyzer_pb2.AnalyzerResourceOptions(protect=True),
        provider=analyzer_pb2.AnalyzerProviderResource(type="pulumi:providers:aws", urn="urn:p", name="p",
                                                       properties=provider_props)), None)
    args = seen["resource"]
    assert (args.resource_type, args.urn, args.name, dict(args.props), args.opts.protect) == (
        "t:y:Z", "urn:r", "r", {"x": 3.0}, True)
    assert (args.provider.urn, args.provider.props["region"]) == ("urn:p", "eu-central-1")
    assert args.get_config() == {"x": 2.0} and dict(args.stack_tags) == {"team": "x"}
    assert [n.policy_name for n in response.not_applicable] == ["remediation-only"]
    (diagnostic,) = response.diagnostics
    assert (diagnostic.policyName, diagnostic.enforcementLevel, diagnostic.severity, diagnostic.urn) == (
        "res", analyzer_pb2.ADVISORY, analyzer_pb2.POLICY_SEVERITY_LOW, "")
    stack_response = servicer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=[
        analyzer_pb2.AnalyzerResource(type="t", urn="urn:a", name="a", properties=properties)]), None)
    assert [r.urn for r in seen["stack"].resources] == ["urn:a"] and dict(seen["stack"].stack_tags) == {"team": "x"}
    assert seen["stack"].get_config() == {}
    (diagnostic,) = stack_response.diagnostics
    assert (diagnostic.policyName, diagnostic.severity, diagnostic.message) == (
        "stk", analyzer_pb2.POLICY_SEVERITY_CRITICAL, "d\ns")


def test_not_applicable_without_a_reason():
    from pulumi_policy import StackValidationPolicy

    def decline(args, report):
        args.not_applicable()

    servicer = engine.SharedConversionServicer("pack", "1", [StackValidationPolicy(
        name="n", description="d", validate=decline)], EnforcementLevel.MANDATORY)
    (item,) = servicer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(), None).not_applicable
    assert (item.policy_name, item.reason) == ("n", "")


def test_live_prices_for_an_unlisted_region_are_cached_per_process(monkeypatch):
    from costing import estimator, live

    calls = []

    def fake_table(region, base, client=None):
        calls.append(region)
        return {**base, "publicIpv4Hour": 0.007}

    monkeypatch.setattr(live, "credentials_available", lambda: True)
    monkeypatch.setattr(live, "live_region_table", fake_table)
    monkeypatch.setattr(live, "_LIVE", {})
    prices = estimator.load_prices()
    first = live.prices_for_region("ap-south-2", prices)
    assert first["regions"]["ap-south-2"]["publicIpv4Hour"] == 0.007 and "ap-south-2" not in prices["regions"]
    assert first["regionNotes"]["ap-south-2"] == (
        "on-demand Fargate, NAT and ALB prices for ap-south-2 from the AWS Pricing API; the other items at the highest "
        "price the bundled table lists, so the figure is approximate")
    assert live.prices_for_region("ap-south-2", prices) is first and calls == ["ap-south-2"]
    with_client = live.prices_for_region("ap-south-2", prices, client=object())
    assert with_client is not first and calls == ["ap-south-2", "ap-south-2"]
    assert live.prices_for_region("ap-south-2", prices, use_api=False) is prices
    table, note = estimator.region_prices("ap-south-2", first)
    assert table["publicIpv4Hour"] == 0.007 and note.startswith("on-demand Fargate, NAT and ALB prices")


@pytest.mark.parametrize(("usage", "suffix", "matches"), [
    ("EUC1-Fargate-GB-Hours", "Fargate-GB-Hours", True), ("Fargate-GB-Hours", "Fargate-GB-Hours", True),
    ("EUC1-Fargate-ARM-GB-Hours", "Fargate-GB-Hours", False), ("EUC1Fargate-GB-Hours", "Fargate-GB-Hours", False),
])
def test_usage_type_suffixes(usage, suffix, matches):
    from costing import live

    assert live._matches(usage, suffix) is matches


def test_credentials_available_reads_botocores_chain(monkeypatch, tmp_path):
    from costing import live

    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    assert live.credentials_available() is True
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    # Unset, not empty: botocore asks the container endpoint whenever the variable exists (3 s of timeouts).
    for name in ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    assert live.credentials_available() is False
