"""Every bad configuration value gets an error naming the key, the value and what is allowed,
raised before any resource exists. Each rule has its boundary cases written out here by hand."""

from __future__ import annotations

import json

import pytest

from infra.config import SECRET_SPECS, ConfigError, parse_config
from offline.runtime import StackFileError, evaluate_stack
from tests.conftest import ROOT

GOOD_SECRETS = {config_key: ("value", True) for _env, config_key in SECRET_SPECS.values()}
# The smallest valid configuration: every stack must say how it serves HTTP(S).
HTTPS = {"domainName": "api.example.com"}


def parse(raw: dict[str, str], secrets=GOOD_SECRETS, stack="prod", base=HTTPS, **kwargs):
    return parse_config({**base, **raw}, project="truecaller-backend", stack=stack, project_dir=ROOT,
                        secret_config=secrets, **kwargs)


def problems_of(raw: dict[str, str], **kwargs) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse(raw, **kwargs)
    return raised.value.problems


def test_defaults_are_the_deployment_notes_values():
    cfg = parse({})
    assert (cfg.cpu, cfg.memory, cfg.container_port, cfg.health_check_path) == (512, 1024, 3000, "/api/health")
    assert cfg.log_retention_days == 7
    assert (cfg.deployment_minimum_healthy_percent, cfg.deployment_maximum_percent) == (100, 200)
    assert cfg.health_check_grace_period_seconds == 120
    assert (cfg.nat_mode, cfg.az_count, cfg.capacity_provider, cfg.cpu_architecture) == (
        "single", 2, "FARGATE", "x86_64")
    assert (cfg.image_context, cfg.dockerfile, cfg.secrets_mode) == ("app", "Dockerfile", "managed")
    assert (cfg.ecr_keep_images, cfg.protect, cfg.allow_plain_http) == (10, False, False)
    assert set(cfg.secret_values) == {k for _, k in SECRET_SPECS.values()}


# (key, value, what the message must say is allowed) — one row per rule, boundaries included.
BAD_VALUES = [
    ("cpu", "300", "one of 256, 512, 1024, 2048, 4096, 8192, 16384"),
    ("cpu", "half", "an integer"),
    ("memory", "511", "an integer from 512 to 122880"),
    ("memory", "122881", "an integer from 512 to 122880"),
    ("desiredCount", "0", "an integer from 1 to 100"),
    ("desiredCount", "101", "an integer from 1 to 100"),
    ("containerPort", "1023", "an integer from 1024 to 65535"),
    ("containerPort", "65536", "an integer from 1024 to 65535"),
    ("healthCheckPath", "api/health", "an URL path starting with '/'"),
    ("healthCheckPath", "/api/health'); process.exit(0); ('", "an URL path starting with '/'"),
    ("healthCheckPath", "/api/$(reboot)", "an URL path starting with '/'"),
    ("healthCheckPath", "/api health", "an URL path starting with '/'"),
    ("healthCheckPath", '/a"b', "an URL path starting with '/'"),
    ("logRetentionDays", "0", "one of 1, 3, 5, 7, 14"),
    ("logRetentionDays", "10", "one of 1, 3, 5, 7, 14"),
    ("natMode", "two", "one of 'none', 'single', 'per-az'"),
    ("azCount", "1", "an integer from 2 to 6"),
    ("azCount", "7", "an integer from 2 to 6"),
    ("vpcCidr", "10.0.0.0/15", "prefix length from /16 to /20"),
    ("vpcCidr", "10.0.0.0/21", "prefix length from /16 to /20"),
    ("vpcCidr", "fd00::/48", "prefix length from /16 to /20"),
    ("vpcCidr", "ten", "an IPv4 CIDR block"),
    ("domainName", "API.example.com", "a lower-case DNS name"),
    ("domainName", "localhost", "a lower-case DNS name"),
    ("domainName", "-api.example.com", "a lower-case DNS name"),
    ("domainName", "api-.example.com", "a lower-case DNS name"),
    ("domainName", "https://api.example.com", "a lower-case DNS name"),
    ("hostedZone", "not a zone", "a Route 53 hosted zone ID"),
    ("certificateArn", "arn:aws:iam::123456789012:server-certificate/x", "an ACM certificate ARN"),
    ("deploymentMinimumHealthyPercent", "-1", "an integer from 0 to 100"),
    ("deploymentMinimumHealthyPercent", "101", "an integer from 0 to 100"),
    ("deploymentMaximumPercent", "99", "an integer from 100 to 400"),
    ("deploymentMaximumPercent", "401", "an integer from 100 to 400"),
    ("healthCheckGracePeriodSeconds", "7201", "an integer from 0 to 7200"),
    ("healthCheckIntervalSeconds", "4", "an integer from 5 to 300"),
    ("healthCheckIntervalSeconds", "301", "an integer from 5 to 300"),
    ("healthyThresholdCount", "1", "an integer from 2 to 10"),
    ("healthyThresholdCount", "11", "an integer from 2 to 10"),
    ("unhealthyThresholdCount", "1", "an integer from 2 to 10"),
    ("unhealthyThresholdCount", "11", "an integer from 2 to 10"),
    ("deregistrationDelaySeconds", "-1", "an integer from 0 to 3600"),
    ("deregistrationDelaySeconds", "3601", "an integer from 0 to 3600"),
    ("capacityProvider", "SPOT", "one of 'FARGATE', 'FARGATE_SPOT'"),
    ("cpuArchitecture", "arm", "one of 'x86_64', 'arm64'"),
    ("imageContext", "/abs/app", "relative to the Pulumi project directory"),
    ("imageContext", "", "relative to the Pulumi project directory"),
    ("dockerfile", "../Dockerfile", "relative to the Pulumi project directory"),
    ("imageOverride", "registry.example.com/app:latest", "pinned by digest"),
    ("imageOverride", "registry.example.com/app@sha256:abc", "pinned by digest"),
    ("ecrKeepImages", "2", "an integer from 3 to 1000"),
    ("ecrKeepImages", "1001", "an integer from 3 to 1000"),
    ("secretsMode", "vault", "one of 'managed', 'external'"),
    ("protect", "yes", "true or false"),
    ("allowPlainHttp", "1", "true or false"),
    ("autoscalingMaxCount", "0", "an integer from 1 to 100"),
    ("autoscalingMaxCount", "101", "an integer from 1 to 100"),
    ("autoscalingCpuTargetPercent", "9", "an integer from 10 to 90"),
    ("autoscalingCpuTargetPercent", "91", "an integer from 10 to 90"),
    ("autoscalingRequestsPerTarget", "9", "an integer from 10 to 100000"),
    ("autoscalingRequestsPerTarget", "100001", "an integer from 10 to 100000"),
    ("alarmEmail", "ops-at-example", "an e-mail address"),
    ("costLogGbPerMonth", "-1", "an integer from 0 to 100000"),
    ("costNatGbPerMonth", "1000001", "an integer from 0 to 1000000"),
    ("costAlbLcu", "10001", "an integer from 0 to 10000"),
]


@pytest.mark.parametrize(("key", "value", "allowed"), BAD_VALUES)
def test_bad_value_names_key_value_and_what_is_allowed(key, value, allowed):
    (problem,) = problems_of({key: value})
    assert problem.startswith(f"truecaller-backend:{key} = {value!r} is invalid: expected ")
    assert allowed in problem
    assert f"pulumi config set {key} <value> -s prod" in problem


# The other side of each boundary above: accepted.
GOOD_VALUES = [
    ("cpu", "256", "memory", "512"), ("cpu", "16384", "memory", "32768"),
    ("desiredCount", "1"), ("desiredCount", "10", "autoscalingMaxCount", "10"), ("desiredCount", "100",
                                                                                 "autoscalingMaxCount", "100"),
    ("containerPort", "1024"), ("containerPort", "65535"),
    ("healthCheckPath", "/"), ("healthCheckPath", "/health/ready?deep=1&x=%20"), ("healthCheckPath", "/~a_b.c-d"),
    ("logRetentionDays", "7"),
    ("natMode", "none"), ("natMode", "single"), ("natMode", "per-az"),
    ("azCount", "2"), ("azCount", "6"),
    ("vpcCidr", "10.0.0.0/16"), ("vpcCidr", "172.16.0.0/20"),
    ("domainName", "example.com"), ("domainName", "a.b-c.example.co.uk"),
    ("hostedZone", "Z0123456789ABCDEFGHIJ"), ("hostedZone", "example.com"),
    ("certificateArn", "arn:aws:acm:eu-central-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"),
    ("deploymentMinimumHealthyPercent", "100"), ("deploymentMaximumPercent", "400"),
    ("healthCheckGracePeriodSeconds", "7200"),
    ("healthCheckIntervalSeconds", "5"), ("healthCheckIntervalSeconds", "300"),
    ("healthyThresholdCount", "2"), ("healthyThresholdCount", "10"),
    ("unhealthyThresholdCount", "2"), ("unhealthyThresholdCount", "10"),
    ("deregistrationDelaySeconds", "0"), ("deregistrationDelaySeconds", "3600"),
    ("capacityProvider", "FARGATE_SPOT"), ("cpuArchitecture", "arm64"),
    ("imageContext", "app"), ("dockerfile", "Dockerfile"),
    ("imageOverride", "123456789012.dkr.ecr.eu-central-1.amazonaws.com/truecaller-backend-prod@sha256:" + "a" * 64),
    ("ecrKeepImages", "3"), ("ecrKeepImages", "1000"),
    ("secretsMode", "external"), ("protect", "true"), ("protect", "false"),
    ("autoscalingMaxCount", "100"), ("autoscalingCpuTargetPercent", "10"), ("autoscalingCpuTargetPercent", "90"),
    ("autoscalingRequestsPerTarget", "10"), ("autoscalingRequestsPerTarget", "100000"),
    ("alarmEmail", "ops@example.com"), ("alarmEmail", ""),
    ("costLogGbPerMonth", "0"), ("costNatGbPerMonth", "1000000"), ("costAlbLcu", "10000"),
]


@pytest.mark.parametrize("pairs", GOOD_VALUES, ids=lambda p: "=".join(p[:2]))
def test_boundary_values_are_accepted(pairs):
    raw = dict(zip(pairs[::2], pairs[1::2], strict=True))
    cfg = parse(raw)
    key = pairs[0]
    attribute = {"cpu": "cpu", "desiredCount": "desired_count"}.get(key)
    if attribute:
        assert getattr(cfg, attribute) == int(pairs[1])


@pytest.mark.parametrize(("cpu", "memory", "ok"), [
    ("512", "1024", True), ("512", "4096", True), ("512", "512", False), ("512", "5120", False),
    ("256", "2048", True), ("256", "3072", False), ("1024", "8192", True), ("1024", "9216", False),
])
def test_memory_must_fit_the_cpu_size(cpu, memory, ok):
    if ok:
        assert parse({"cpu": cpu, "memory": memory}).memory == int(memory)
    else:
        (problem,) = problems_of({"cpu": cpu, "memory": memory})
        assert problem.startswith(f"truecaller-backend:memory = {memory} is not a valid Fargate size for cpu = {cpu}")
        assert "pulumi config set memory <MiB> -s prod" in problem


def test_memory_is_not_checked_against_an_invalid_cpu():
    (problem,) = problems_of({"cpu": "300", "memory": "1024"})
    assert "cpu = '300' is invalid" in problem


def test_rolling_maximum_must_exceed_minimum():
    problems = problems_of({"deploymentMaximumPercent": "100"})
    assert any("deploymentMaximumPercent = 100 must be greater than deploymentMinimumHealthyPercent = 100" in p
               for p in problems), problems


@pytest.mark.parametrize(("desired", "maximum", "ok"), [("2", "2", True), ("2", "3", True), ("3", "2", False)])
def test_autoscaling_maximum_must_not_be_below_desired_count(desired, maximum, ok):
    raw = {"desiredCount": desired, "autoscalingMaxCount": maximum}
    if ok:
        assert parse(raw).autoscaling_max_count == int(maximum)
    else:
        (problem,) = problems_of(raw)
        assert f"autoscalingMaxCount = {maximum} is below desiredCount = {desired}" in problem


@pytest.mark.parametrize(("protect", "desired", "ok"), [
    ("true", "1", False), ("true", "2", True), ("false", "1", True),
])
def test_spot_with_a_single_task_is_refused_on_a_protected_stack(protect, desired, ok):
    raw = {"capacityProvider": "FARGATE_SPOT", "protect": protect, "desiredCount": desired}
    if ok:
        assert parse(raw).capacity_provider == "FARGATE_SPOT"
    else:
        (problem,) = problems_of(raw)
        assert "FARGATE_SPOT' with desiredCount < 2 on a protected stack" in problem


def test_on_demand_with_a_single_task_is_fine_on_a_protected_stack():
    assert parse({"protect": "true", "desiredCount": "1"}).desired_count == 1


def test_missing_build_paths_are_named():
    problems = problems_of({"imageContext": "nowhere", "dockerfile": "missing.Dockerfile"})
    assert [p.split(" does not exist")[0] for p in problems] == [
        "truecaller-backend:imageContext = 'nowhere'", "truecaller-backend:dockerfile = 'missing.Dockerfile'"]
    assert "pulumi config set imageContext <path> -s prod" in problems[0]


def test_an_image_override_builds_nothing_so_build_paths_are_not_needed():
    digest_ref = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/x@sha256:" + "b" * 64
    assert parse({"imageOverride": digest_ref, "imageContext": "nowhere"}).image_context == "nowhere"


# --------------------------------------------------------------------------- HTTPS by domain


@pytest.mark.parametrize(("raw", "fragment"), [
    ({"protect": "true"}, "a protected stack has neither truecaller-backend:domainName nor "
                          "truecaller-backend:certificateArn"),
    ({"protect": "true"}, "Fix: pulumi config set domainName <api.example.com> -s prod"),
    ({}, "this stack has neither truecaller-backend:domainName nor truecaller-backend:certificateArn"),
    ({}, "(or pulumi config set allowPlainHttp true -s prod)"),
    ({"protect": "true", "allowPlainHttp": "true"}, "allowPlainHttp = true on a protected stack"),
    ({"allowPlainHttp": "true", "domainName": "api.example.com"}, "allowPlainHttp = true contradicts"),
    ({"certificateArn": "arn:aws:acm:eu-central-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"},
     "certificateArn is set without truecaller-backend:domainName"),
    ({"domainName": "api.example.com", "hostedZone": "external"}, "hostedZone = 'external' needs"),
    ({"hostedZone": "example.com", "allowPlainHttp": "true"}, "hostedZone is set without"),
])
def test_https_rules(raw, fragment):
    (problem,) = problems_of(raw, base={})
    assert fragment in problem


def test_plain_http_is_an_explicit_choice_of_an_unprotected_stack():
    cfg = parse({"allowPlainHttp": "true"}, base={})
    assert cfg.allow_plain_http and not cfg.domain_name


@pytest.mark.parametrize(("domain", "zone", "expected"), [
    ("api.example.com", "", "example.com"),
    ("example.com", "", "example.com"),
    ("a.b.example.com", "", "b.example.com"),
    ("api.example.com", "example.com", "example.com"),
    ("api.example.com", "Z0123456789ABCDEFGHIJ", "Z0123456789ABCDEFGHIJ"),
])
def test_the_hosted_zone_defaults_to_the_domains_parent(domain, zone, expected):
    assert parse({"domainName": domain, "hostedZone": zone}).zone_name == expected


def test_an_existing_certificate_with_external_dns_is_accepted():
    arn = "arn:aws:acm:eu-central-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
    cfg = parse({"protect": "true", "certificateArn": arn, "hostedZone": "external"})
    assert (cfg.certificate_arn, cfg.hosted_zone) == (arn, "external")


# --------------------------------------------------------------------------- agreement with the policy pack


def test_a_retention_the_log_retention_policy_rejects_is_rejected_here_with_its_message():
    (problem,) = problems_of({"logRetentionDays": "14"})
    assert "log group keeps logs 14 days; the guideline is exactly 7 (policy log-retention)" in problem
    assert "pulumi config set logRetentionDays 7 -s prod" in problem


def test_the_policy_config_file_is_the_documented_override():
    cfg = parse({"logRetentionDays": "14"}, policy_config={"log-retention": {"retentionDays": 14}})
    assert cfg.log_retention_days == 14
    (problem,) = problems_of({}, policy_config={"log-retention": {"retentionDays": 14}})
    assert "the guideline is exactly 14" in problem


@pytest.mark.parametrize(("key", "value", "threshold"), [
    ("deploymentMinimumHealthyPercent", "50", 100),
    ("deploymentMaximumPercent", "150", 200),
    ("healthCheckGracePeriodSeconds", "60", 120),
])
def test_rolling_values_the_zero_downtime_policy_rejects_are_rejected_here(key, value, threshold):
    problems = problems_of({key: value})
    assert any(f"{key} = {value}: needs >= {threshold}" in p and "ecs-zero-downtime-rolling" in p
               for p in problems), problems


def test_rolling_thresholds_follow_the_policy_config():
    policy_config = {"ecs-zero-downtime-rolling": {"minimumHealthyPercent": 50, "healthCheckGracePeriodSeconds": 30,
                                                   "maximumPercent": 150}}
    cfg = parse({"deploymentMinimumHealthyPercent": "50", "healthCheckGracePeriodSeconds": "30",
                 "deploymentMaximumPercent": "150"}, policy_config=policy_config)
    assert (cfg.deployment_minimum_healthy_percent, cfg.health_check_grace_period_seconds) == (50, 30)


def test_the_committed_policy_config_file_is_the_one_read(tmp_path):
    for name in ("app", "Dockerfile"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "policy-config.example.json").write_text(json.dumps(
        {"log-retention": {"retentionDays": 30}}))
    cfg = parse_config({**HTTPS, "logRetentionDays": "30"}, project="truecaller-backend", stack="prod",
                       project_dir=tmp_path, secret_config=GOOD_SECRETS)
    assert cfg.log_retention_days == 30
    (tmp_path / "policies" / "policy-config.example.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"policy-config.example.json cannot be read as JSON"):
        parse_config(HTTPS, project="truecaller-backend", stack="prod", project_dir=tmp_path,
                     secret_config=GOOD_SECRETS)


# --------------------------------------------------------------------------- keys and stack names


@pytest.mark.parametrize(("key", "suggestion"), [
    ("desiredcount", "desiredCount"),
    ("desiredCuont", "desiredCount"),
    ("logRetention", "logRetentionDays"),
    ("domain", "domainName"),
])
def test_an_unknown_key_names_the_closest_valid_one(key, suggestion):
    (problem,) = problems_of({}, unknown_keys=[key])
    assert problem.startswith(f"truecaller-backend:{key} in Pulumi.prod.yaml is not a setting of this program: "
                              f"did you mean '{suggestion}'?")
    assert f"pulumi config rm {key} -s prod && pulumi config set {suggestion} <value> -s prod" in problem


def test_an_unknown_key_without_a_near_name_only_says_how_to_remove_it():
    (problem,) = problems_of({}, unknown_keys=["colour"])
    assert "did you mean" not in problem and problem.endswith("Fix: pulumi config rm colour -s prod")


@pytest.mark.parametrize(("key", "secret"), [("jwtSecrt", "jwtSecret"), ("DATABASEURL", "databaseUrl"),
                                           ("firebaseCredential", "firebaseCredentials")])
def test_a_mistyped_secret_key_is_moved_with_set_secret(key, secret):
    """Following the fix must not leave the secret in plain text in the committed stack file."""
    (problem,) = problems_of({}, stack="staging", unknown_keys=[key])
    assert problem == (f"truecaller-backend:{key} in Pulumi.staging.yaml is not a setting of this program: "
                       f"did you mean '{secret}'? Fix: pulumi config rm {key} -s staging && "
                       f"pulumi config set --secret {secret} -s staging")


def test_known_and_secret_keys_are_not_unknown():
    assert parse({}, unknown_keys=["desiredCount", "databaseUrl", "jwtSecret"]).desired_count == 1


def test_a_typo_in_a_real_stack_file_stops_the_program(tmp_path):
    for name in ("Pulumi.yaml", "__main__.py", "infra", "app", "Dockerfile", "policies"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "Pulumi.typo.yaml").write_text(
        "config:\n  aws:region: eu-central-1\n  truecaller-backend:allowPlainHttp: true\n"
        "  truecaller-backend:desiredCuont: 3\n")
    with pytest.raises(ConfigError, match="truecaller-backend:desiredCuont in Pulumi.typo.yaml is not a setting of "
                                          "this program: did you mean 'desiredCount'"):
        evaluate_stack("typo", project_dir=tmp_path)


@pytest.mark.parametrize(("stack", "ok"), [
    ("prod", True), ("staging-2", True), ("pr-123", True),
    ("Prod", False), ("feature_x", False), ("-prod", False), ("prod-", False), ("a--b", False), ("v1.2", False),
])
def test_stack_names_fit_aws_resource_names(stack, ok):
    if ok:
        assert parse({}, stack=stack).stack == stack
    else:
        (problem,) = problems_of({}, stack=stack)
        assert f"stack name '{stack}' cannot be part of AWS resource names" in problem
        assert "Fix: pulumi stack rename " in problem


def test_all_problems_are_reported_at_once():
    problems = problems_of({"cpu": "3", "natMode": "x", "logRetentionDays": "0"})
    assert len(problems) == 3
    with pytest.raises(ConfigError, match=r"\(3 problems\); nothing was created"):
        parse({"cpu": "3", "natMode": "x", "logRetentionDays": "0"})


def test_one_problem_is_reported_in_the_singular():
    with pytest.raises(ConfigError, match=r"\(1 problem\); nothing was created"):
        parse({"cpu": "3"})


# --------------------------------------------------------------------------- secrets


def test_missing_managed_secret_names_the_exact_command():
    (problem,) = problems_of({}, secrets=dict(GOOD_SECRETS, jwtSecret=(None, False)))
    assert "pulumi config set --secret jwtSecret -s prod  (the CLI asks for the value without echoing it)" in problem
    assert "secretsMode external" in problem


@pytest.mark.parametrize("blank", ["", "   "])
def test_empty_managed_secret_is_refused(blank):
    (problem,) = problems_of({}, secrets=dict(GOOD_SECRETS, redisUrl=(blank, True)))
    assert "redisUrl is empty" in problem and "ResourceInitializationError" in problem


def test_plaintext_managed_secret_is_refused_without_echoing_it():
    (problem,) = problems_of({}, secrets=dict(GOOD_SECRETS, databaseUrl=("postgresql://u:hunter2@db/app", False)))
    assert "stored in plain text in Pulumi.prod.yaml" in problem
    assert "hunter2" not in problem


def test_external_mode_needs_no_secret_values():
    cfg = parse({"secretsMode": "external"}, secrets={})
    assert cfg.secret_values == {}


def test_stack_file_values_are_type_checked_like_the_cli():
    with pytest.raises(StackFileError, match="configuration key 'desiredCount' must be of type 'integer'"):
        evaluate_stack("prod", config_overrides={"desiredCount": "two"})


def test_unknown_stack_names_the_file_and_the_fix():
    with pytest.raises(StackFileError, match=r"Pulumi.qa.yaml does not exist. Fix: pulumi stack init qa"):
        evaluate_stack("qa")


# --------------------------------------------------------------------------- exact messages and edges


def test_the_error_lists_each_problem_on_its_own_line():
    error = ConfigError(["first", "second"], "prod")
    assert str(error) == ("Invalid configuration for stack 'prod' (2 problems); nothing was created:\n"
                          "  - first\n  - second")
    assert str(ConfigError(["only"], "qa")).startswith("Invalid configuration for stack 'qa' (1 problem);")


def test_a_parsed_configuration_names_its_project_and_stack():
    cfg = parse({}, stack="staging")
    assert (cfg.project, cfg.stack) == ("truecaller-backend", "staging")


@pytest.mark.parametrize(("raw", "expected"), [
    ({"cpu": "1024", "memory": "1000"}, "truecaller-backend:memory = 1000 is not a valid Fargate size for cpu = "
     "1024: expected one of 2048, 3072, 4096, 5120, 6144, 7168, 8192. Fix: pulumi config set memory <MiB> -s prod"),
    ({"desiredCount": "two"}, "truecaller-backend:desiredCount = 'two' is invalid: expected an integer. "
     "Fix: pulumi config set desiredCount <value> -s prod"),
    ({"capacityProvider": "FARGATE_SPOT", "protect": "true"}, "truecaller-backend:capacityProvider = 'FARGATE_SPOT' "
     "with desiredCount < 2 on a protected stack"),
    ({"logRetentionDays": "30"}, "truecaller-backend:logRetentionDays = 30: log group keeps logs 30 days; "
     "the guideline is exactly 7 (policy log-retention). Fix: pulumi config set logRetentionDays 7 -s prod"),
])
def test_messages_name_the_project_key_and_stack(raw, expected):
    (problem,) = problems_of(raw)
    assert problem.startswith(expected), problem


def test_an_unknown_cpu_is_a_value_problem_not_a_size_problem():
    (problem,) = problems_of({"cpu": "300"})
    assert problem.startswith("truecaller-backend:cpu = '300' is invalid: expected one of 256, 512,")


@pytest.mark.parametrize(("key", "strategy", "used_by", "fix_strategy"), [
    ("canaryPercent", "blue-green", "'canary'", "canary"),
    ("linearStepPercent", "canary", "'linear'", "linear"),
    ("bakeMinutes", "rolling", "'blue-green' or 'canary' or 'linear'", "blue-green"),
])
def test_a_setting_of_another_strategy_is_refused_with_the_fix(key, strategy, used_by, fix_strategy):
    (problem,) = problems_of({key: "20", "deploymentStrategy": strategy})
    assert problem == (f"truecaller-backend:{key} = 20 but deploymentStrategy is '{strategy}', which does not use "
                       f"it ({used_by} does). Fix: pulumi config rm {key} -s prod, or pulumi config set "
                       f"deploymentStrategy {fix_strategy} -s prod")


def test_a_setting_of_the_chosen_strategy_is_accepted():
    cfg = parse({"deploymentStrategy": "canary", "canaryPercent": "20", "bakeMinutes": "15"})
    assert (cfg.canary_percent, cfg.bake_minutes) == (20, 15)


@pytest.mark.parametrize("port", [80, 443])
def test_the_test_listener_cannot_take_a_production_port(port):
    (problem,) = problems_of({"deploymentStrategy": "blue-green", "testListenerPort": str(port)})
    assert problem == (f"truecaller-backend:testListenerPort = {port} is a production listener's port. "
                       "Fix: pulumi config set testListenerPort 8443 -s prod")


@pytest.mark.parametrize("port", [81, 444, 8443])
def test_other_test_listener_ports_are_accepted(port):
    assert parse({"deploymentStrategy": "linear", "testListenerPort": str(port)}).test_listener_port == port


def test_a_rolling_stack_with_a_test_port_is_told_the_setting_is_unused_only():
    (problem,) = problems_of({"testListenerPort": "443"})
    assert "deploymentStrategy is 'rolling', which does not use it" in problem


@pytest.mark.parametrize(("cidr", "ok"), [("203.0.113.0/24", True), ("10.0.0.0/8", True), ("2001:db8::/32", False),
                                          ("::/0", False), ("not-a-cidr", False)])
def test_the_test_listener_cidr_is_an_ipv4_block(cidr, ok):
    raw = {"deploymentStrategy": "blue-green", "testListenerCidr": cidr}
    if ok:
        assert parse(raw).test_listener_cidr == cidr
    else:
        (problem,) = problems_of(raw)
        assert problem.startswith(f"truecaller-backend:testListenerCidr = '{cidr}' is invalid: expected empty "
                                  "(nobody) or an IPv4 CIDR block such as 203.0.113.0/24.")


@pytest.mark.parametrize(("key", "value"), [
    ("domainName", "not a domain"), ("hostedZone", "zone with spaces"), ("certificateArn", "arn:nope"),
    ("allowPlainHttp", "yes"), ("protect", "maybe"),
])
def test_an_invalid_https_setting_is_reported_alone(key, value):
    # The HTTPS rule would judge the default that replaced the bad value: one problem, the bad value's.
    (problem,) = problems_of({key: value}, base={})
    assert problem.startswith(f"truecaller-backend:{key} = '{value}' is invalid"), problem


@pytest.mark.parametrize(("stack", "suggestion"), [
    ("My_Stack", "my-stack"), ("prod--eu", "prod-eu"), ("-Staging-", "staging"), ("__", "prod"), ("Prod.EU", "prod-eu"),
])
def test_a_bad_stack_name_gets_a_usable_suggestion(stack, suggestion):
    problems = problems_of({}, stack=stack)
    assert problems[0] == (f"stack name '{stack}' cannot be part of AWS resource names (truecaller-backend-{stack}): "
                           f"use lower-case letters, digits and single hyphens. Fix: pulumi stack rename {suggestion}")


@pytest.mark.parametrize(("key", "message"), [
    ("CPU", "truecaller-backend:CPU in Pulumi.prod.yaml is not a setting of this program: did you mean 'cpu'? "
     "Fix: pulumi config rm CPU -s prod && pulumi config set cpu <value> -s prod"),
    ("zzz", "truecaller-backend:zzz in Pulumi.prod.yaml is not a setting of this program: "
     "Fix: pulumi config rm zzz -s prod"),
])
def test_unknown_keys_exact_messages(key, message):
    assert problems_of({}, unknown_keys=[key]) == [message]


def test_a_managed_secret_missing_from_the_stack_is_not_set():
    secrets = {k: v for k, v in GOOD_SECRETS.items() if k != "jwtSecret"}
    (problem,) = problems_of({}, secrets=secrets)
    assert problem.startswith("truecaller-backend:jwtSecret is not set (secretsMode is 'managed').")


def test_managed_secret_values_are_secret_outputs_of_the_configured_values():
    import asyncio

    previous = asyncio.get_event_loop_policy().get_event_loop()
    loop = asyncio.new_event_loop()  # Outputs are created on the current loop
    asyncio.set_event_loop(loop)
    try:
        secrets = {key: (f"value-of-{key}", True) for key in GOOD_SECRETS}
        cfg = parse({}, secrets=secrets)

        async def resolve(output):
            return await output.future(), await output.is_secret()

        for key, output in cfg.secret_values.items():
            assert loop.run_until_complete(resolve(output)) == (f"value-of-{key}", True)
    finally:
        asyncio.set_event_loop(previous)
        loop.close()


def test_load_config_reads_the_running_stack(monkeypatch):
    """What the program calls: keys, values and secret flags from Pulumi's runtime config."""
    import pulumi

    from infra.config import load_config
    from offline.runtime import _LOCK

    class NoResources(pulumi.runtime.Mocks):
        def new_resource(self, args):
            return args.name, args.inputs

        def call(self, args):
            return {}

    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    monkeypatch.chdir(ROOT)
    config = {f"truecaller-backend:{key}": value for key, (value, _secret) in GOOD_SECRETS.items()}
    config |= {"truecaller-backend:domainName": "api.example.org", "truecaller-backend:desiredCount": "2",
               "aws:region": "eu-west-1"}
    with _LOCK:
        pulumi.runtime.set_mocks(NoResources(), project="truecaller-backend", stack="qa", preview=True)
        pulumi.runtime.set_all_config(config, [f"truecaller-backend:{key}" for key in GOOD_SECRETS])
        cfg = load_config()
        assert (cfg.stack, cfg.domain_name, cfg.desired_count) == ("qa", "api.example.org", 2)
        assert set(cfg.secret_values) == set(GOOD_SECRETS)
        pulumi.runtime.set_all_config({**config, "truecaller-backend:desiredCont": "2"},
                                      [f"truecaller-backend:{key}" for key in GOOD_SECRETS if key != "jwtSecret"])
        with pytest.raises(ConfigError) as raised:
            load_config()
        pulumi.runtime.set_all_config({}, [])
    assert [p.split(":")[1].split(" ")[0] for p in raised.value.problems] == ["desiredCont", "jwtSecret"]
