"""Every bad configuration value gets an error naming the key, the value and what is allowed,
raised before any resource exists."""

from __future__ import annotations

import pytest

from infra.config import SECRET_SPECS, ConfigError, parse_config
from offline.runtime import StackFileError, evaluate_stack
from tests.conftest import ROOT

GOOD_SECRETS = {config_key: ("value", True) for _env, config_key in SECRET_SPECS.values()}


def parse(raw: dict[str, str], secrets=GOOD_SECRETS):
    return parse_config(raw, project="truecaller-backend", stack="prod", project_dir=ROOT, secret_config=secrets)


def test_defaults_are_the_deployment_notes_values():
    cfg = parse({})
    assert (cfg.cpu, cfg.memory, cfg.container_port, cfg.health_check_path) == (512, 1024, 3000, "/api/health")
    assert cfg.log_retention_days == 7
    assert (cfg.deployment_minimum_healthy_percent, cfg.deployment_maximum_percent) == (100, 200)
    assert cfg.health_check_grace_period_seconds == 120
    assert (cfg.nat_mode, cfg.az_count, cfg.capacity_provider, cfg.cpu_architecture) == (
        "single", 2, "FARGATE", "x86_64")
    assert (cfg.image_context, cfg.dockerfile, cfg.secrets_mode) == ("app", "Dockerfile", "managed")
    assert set(cfg.secret_values) == {k for _, k in SECRET_SPECS.values()}


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("cpu", "300", "one of 256, 512, 1024"),
        ("cpu", "half", "an integer"),
        ("logRetentionDays", "0", "one of 1, 3, 5, 7"),
        ("logRetentionDays", "10", "one of 1, 3, 5, 7"),
        ("natMode", "two", "one of 'none', 'single', 'per-az'"),
        ("azCount", "1", "an integer from 2 to 6"),
        ("desiredCount", "0", "an integer from 1 to 100"),
        ("containerPort", "80", "an integer from 1024 to 65535"),
        ("healthCheckPath", "api/health", "a path starting with '/'"),
        ("capacityProvider", "SPOT", "one of 'FARGATE', 'FARGATE_SPOT'"),
        ("cpuArchitecture", "arm", "one of 'x86_64', 'arm64'"),
        ("secretsMode", "vault", "one of 'managed', 'external'"),
        ("vpcCidr", "10.0.0.0/8", "prefix length from /16 to /20"),
        ("vpcCidr", "ten", "an IPv4 CIDR block"),
        ("certificateArn", "arn:aws:iam::123456789012:server-certificate/x", "an ACM certificate ARN"),
        ("imageOverride", "registry.example.com/app:latest", "pinned by digest"),
        ("alarmEmail", "ops-at-example", "an e-mail address"),
        ("protect", "yes", "true or false"),
        ("deploymentMinimumHealthyPercent", "150", "an integer from 0 to 100"),
        ("imageContext", "/abs/app", "relative to the Pulumi project directory"),
        ("dockerfile", "../Dockerfile", "relative to the Pulumi project directory"),
    ],
)
def test_bad_value_names_key_value_and_what_is_allowed(key, value, allowed):
    with pytest.raises(ConfigError) as raised:
        parse({key: value})
    (problem,) = raised.value.problems
    assert problem.startswith(f"truecaller-backend:{key} = {value!r} is invalid: expected ")
    assert allowed in problem
    assert f"pulumi config set {key} " in problem


def test_memory_must_fit_the_cpu_size():
    with pytest.raises(ConfigError, match=r"memory = 512 is not a valid Fargate size for cpu = 512: expected one of "
                                          r"1024, 2048, 3072, 4096"):
        parse({"memory": "512"})


def test_rolling_maximum_must_exceed_minimum():
    with pytest.raises(ConfigError, match="deploymentMaximumPercent = 100 must be greater than"):
        parse({"deploymentMaximumPercent": "100"})


def test_autoscaling_maximum_must_not_be_below_desired_count():
    with pytest.raises(ConfigError, match="autoscalingMaxCount = 1 is below desiredCount = 2"):
        parse({"desiredCount": "2", "autoscalingMaxCount": "1"})


def test_missing_build_paths_are_named():
    with pytest.raises(ConfigError, match=r"imageContext = 'nowhere' does not exist"):
        parse({"imageContext": "nowhere"})


def test_all_problems_are_reported_at_once():
    with pytest.raises(ConfigError) as raised:
        parse({"cpu": "3", "natMode": "x", "logRetentionDays": "0"})
    assert len(raised.value.problems) == 3
    assert "(3 problems); nothing was created" in str(raised.value)


def test_missing_managed_secret_names_the_exact_command():
    secrets = dict(GOOD_SECRETS, jwtSecret=(None, False))
    with pytest.raises(ConfigError) as raised:
        parse({}, secrets)
    (problem,) = raised.value.problems
    assert "pulumi config set --secret jwtSecret '<value>' -s prod" in problem
    assert "secretsMode external" in problem


@pytest.mark.parametrize("blank", ["", "   "])
def test_empty_managed_secret_is_refused(blank):
    with pytest.raises(ConfigError, match="redisUrl is empty.*ResourceInitializationError"):
        parse({}, dict(GOOD_SECRETS, redisUrl=(blank, True)))


def test_plaintext_managed_secret_is_refused_without_echoing_it():
    with pytest.raises(ConfigError) as raised:
        parse({}, dict(GOOD_SECRETS, databaseUrl=("postgresql://u:hunter2@db/app", False)))
    assert "stored in plain text in Pulumi.prod.yaml" in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_external_mode_needs_no_secret_values():
    cfg = parse({"secretsMode": "external"}, secrets={})
    assert cfg.secret_values == {}


def test_stack_file_values_are_type_checked_like_the_cli():
    with pytest.raises(StackFileError, match="configuration key 'desiredCount' must be of type 'integer'"):
        evaluate_stack("prod", config_overrides={"desiredCount": "two"})


def test_unknown_stack_names_the_file_and_the_fix():
    with pytest.raises(StackFileError, match=r"Pulumi.qa.yaml does not exist. Fix: pulumi stack init qa"):
        evaluate_stack("qa")
