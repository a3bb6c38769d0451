"""The stack's configuration: one typed, validated place.

Every key the program reads is declared once in ``SETTINGS`` (type, default, description,
validation). ``Pulumi.yaml`` declares the same keys for the CLI; a test keeps the two in sync.
Defaults come from the deployment notes (0.5 vCPU / 1 GB, port 3000, 7-day logs, rolling
100/200/120 s).

Bad values are collected and raised together as one ``ConfigError`` before any resource is
created, each message naming the key, the value it got and what is allowed.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

PROJECT_NAME = "truecaller-backend"

# Secret key -> (environment variable in the container, stack config key for managed values).
SECRET_SPECS: dict[str, tuple[str, str]] = {
    "database-url": ("DATABASE_URL", "databaseUrl"),
    "redis-url": ("REDIS_URL", "redisUrl"),
    "jwt-secret": ("JWT_SECRET", "jwtSecret"),
    "firebase-credentials": ("FIREBASE_CREDENTIALS", "firebaseCredentials"),
}

# Fargate's supported task sizes: CPU units -> allowed memory (MiB).
FARGATE_TASK_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

# The only values CloudWatch Logs accepts for retentionInDays (0 = never expire is refused here).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)

_ACM_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$")
_DIGEST_REF = re.compile(r"^[a-z0-9.-]+(?::\d+)?/[a-z0-9._/-]+@sha256:[0-9a-f]{64}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ConfigError(pulumi.RunError):
    """Invalid stack configuration. RunError makes the CLI print the message without a trace."""

    def __init__(self, problems: list[str], stack: str):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"Invalid configuration for stack '{stack}' ({len(problems)} problem"
            f"{'s' if len(problems) != 1 else ''}); nothing was created:\n{lines}"
        )


@dataclass(frozen=True)
class Setting:
    key: str
    type: str  # "integer" | "string" | "boolean", as Pulumi.yaml declares it
    default: Any
    description: str
    check: Callable[[Any], str | None] | None = None  # returns what is allowed, or None if ok


def _one_of(*allowed: Any) -> Callable[[Any], str | None]:
    return lambda v: None if v in allowed else "one of " + ", ".join(repr(a) for a in allowed)


def _between(low: int, high: int) -> Callable[[int], str | None]:
    return lambda v: None if low <= v <= high else f"an integer from {low} to {high}"


def _optional(pattern: re.Pattern[str], shape: str) -> Callable[[str], str | None]:
    return lambda v: None if v == "" or pattern.match(v) else f"empty or {shape}"


def _cidr(value: str) -> str | None:
    try:
        net = ipaddress.ip_network(value)
    except ValueError:
        return "an IPv4 CIDR block such as 10.0.0.0/16"
    if net.version != 4 or not 16 <= net.prefixlen <= 20:
        return "an IPv4 CIDR block with a prefix length from /16 to /20"
    return None


def _relative_path(value: str) -> str | None:
    if not value or Path(value).is_absolute() or ".." in Path(value).parts:
        return "a path relative to the Pulumi project directory, inside it"
    return None


SETTINGS: tuple[Setting, ...] = (
    Setting("cpu", "integer", 512, "Fargate task CPU units (256, 512, 1024, 2048, 4096, 8192, 16384).",
            _one_of(*FARGATE_TASK_SIZES)),
    Setting("memory", "integer", 1024, "Fargate task memory in MiB; must be valid for the CPU size.",
            _between(512, 122880)),
    Setting("desiredCount", "integer", 1, "Tasks the service runs (the autoscaler's minimum when enabled).",
            _between(1, 100)),
    Setting("containerPort", "integer", 3000, "Port the application listens on (PORT in the container).",
            _between(1024, 65535)),
    Setting("healthCheckPath", "string", "/api/health", "HTTP path the load balancer probes.",
            lambda v: None if v.startswith("/") and " " not in v else "a path starting with '/'"),
    Setting("logRetentionDays", "integer", 7, "CloudWatch Logs retention in days (never 'never expire').",
            _one_of(*LOG_RETENTION_DAYS)),
    Setting("natMode", "string", "single",
            "Outbound internet for tasks: 'single' NAT gateway, one 'per-az', or 'none' (tasks in public "
            "subnets with a public IP, reachable only from the load balancer).",
            _one_of("none", "single", "per-az")),
    Setting("azCount", "integer", 2, "Availability zones to spread subnets over (the ALB needs two).",
            _between(2, 6)),
    Setting("vpcCidr", "string", "10.0.0.0/16", "VPC CIDR block (/16 to /20).", _cidr),
    Setting("certificateArn", "string", "",
            "ACM certificate ARN; when set, HTTP redirects to an HTTPS listener.",
            _optional(_ACM_ARN, "an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)")),
    Setting("deploymentMinimumHealthyPercent", "integer", 100,
            "Rolling deploys: share of desired tasks kept running (100 keeps old tasks until new are healthy).",
            _between(0, 100)),
    Setting("deploymentMaximumPercent", "integer", 200,
            "Rolling deploys: upper limit of running tasks during a deploy (200 starts new before stopping old).",
            _between(100, 400)),
    Setting("healthCheckGracePeriodSeconds", "integer", 120,
            "Seconds ECS ignores load balancer health checks after a task starts.", _between(0, 7200)),
    Setting("healthCheckIntervalSeconds", "integer", 10, "Target group health check interval.",
            _between(5, 300)),
    Setting("healthyThresholdCount", "integer", 2, "Consecutive passing checks before a target takes traffic.",
            _between(2, 10)),
    Setting("unhealthyThresholdCount", "integer", 3, "Consecutive failing checks before a target is unhealthy.",
            _between(2, 10)),
    Setting("deregistrationDelaySeconds", "integer", 15,
            "Seconds the load balancer drains an old task before ECS stops it.", _between(0, 3600)),
    Setting("capacityProvider", "string", "FARGATE", "Capacity provider: 'FARGATE' or 'FARGATE_SPOT'.",
            _one_of("FARGATE", "FARGATE_SPOT")),
    Setting("cpuArchitecture", "string", "x86_64", "Task CPU architecture: 'x86_64' or 'arm64'.",
            _one_of("x86_64", "arm64")),
    Setting("imageContext", "string", "app", "Docker build context, relative to the project directory.",
            _relative_path),
    Setting("dockerfile", "string", "Dockerfile", "Dockerfile path, relative to the project directory.",
            _relative_path),
    Setting("imageOverride", "string", "",
            "Image pinned by digest (<repository>@sha256:<digest>) that replaces the built image; "
            "set by rollbacks.",
            _optional(_DIGEST_REF, "an image reference pinned by digest: <registry>/<repository>@sha256:<64 hex>")),
    Setting("ecrKeepImages", "integer", 10, "Images the ECR lifecycle policy keeps.", _between(1, 1000)),
    Setting("secretsMode", "string", "managed",
            "'managed': secret values come from `pulumi config set --secret`; 'external': only the secret "
            "containers are created and values are populated out of band.",
            _one_of("managed", "external")),
    Setting("protect", "boolean", False,
            "Production safety: protect stateful resources, ALB deletion protection, no ECR force-delete."),
    Setting("autoscalingMaxCount", "integer", 2, "Autoscaling maximum tasks (minimum is desiredCount).",
            _between(1, 100)),
    Setting("autoscalingCpuTargetPercent", "integer", 60, "Target average CPU utilisation for scaling.",
            _between(10, 90)),
    Setting("autoscalingRequestsPerTarget", "integer", 500,
            "Target ALB requests per task per minute for scaling.", _between(10, 100000)),
    Setting("alarmEmail", "string", "", "E-mail address subscribed to the alarm topic (empty: none).",
            _optional(_EMAIL, "an e-mail address")),
    Setting("costLogGbPerMonth", "integer", 5, "Cost estimate: GB of logs ingested per month.",
            _between(0, 100000)),
    Setting("costNatGbPerMonth", "integer", 20, "Cost estimate: GB processed by NAT gateways per month.",
            _between(0, 1000000)),
    Setting("costAlbLcu", "integer", 1, "Cost estimate: average ALB load balancer capacity units.",
            _between(0, 10000)),
)

SETTINGS_BY_KEY = {s.key: s for s in SETTINGS}


@dataclass(frozen=True)
class AppConfig:
    project: str
    stack: str
    cpu: int
    memory: int
    desired_count: int
    container_port: int
    health_check_path: str
    log_retention_days: int
    nat_mode: str
    az_count: int
    vpc_cidr: str
    certificate_arn: str
    deployment_minimum_healthy_percent: int
    deployment_maximum_percent: int
    health_check_grace_period_seconds: int
    health_check_interval_seconds: int
    healthy_threshold_count: int
    unhealthy_threshold_count: int
    deregistration_delay_seconds: int
    capacity_provider: str
    cpu_architecture: str
    image_context: str
    dockerfile: str
    image_override: str
    ecr_keep_images: int
    secrets_mode: str
    protect: bool
    autoscaling_max_count: int
    autoscaling_cpu_target_percent: int
    autoscaling_requests_per_target: int
    alarm_email: str
    cost_log_gb_per_month: int
    cost_nat_gb_per_month: int
    cost_alb_lcu: int
    # Managed secret values, wrapped as Pulumi secrets; empty in external mode.
    secret_values: Mapping[str, pulumi.Output[str]] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        """Physical-name prefix shared by the stack's resources."""
        return f"{self.project}-{self.stack}"

    @property
    def tags(self) -> dict[str, str]:
        return {"project": self.project, "environment": self.stack, "managed-by": "pulumi"}

    @property
    def https(self) -> bool:
        return bool(self.certificate_arn)

    @property
    def docker_platform(self) -> str:
        return "linux/arm64" if self.cpu_architecture == "arm64" else "linux/amd64"

    @property
    def ecs_cpu_architecture(self) -> str:
        return "ARM64" if self.cpu_architecture == "arm64" else "X86_64"


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def _parse(setting: Setting, raw: str) -> tuple[Any, str | None]:
    """Parse a CLI config string (the CLI passes every value as a string)."""
    if setting.type == "integer":
        if re.fullmatch(r"-?\d+", raw.strip()):
            return int(raw), None
        return None, "an integer"
    if setting.type == "boolean":
        if raw in ("true", "false"):
            return raw == "true", None
        return None, "true or false"
    return raw, None


def parse_config(
    raw: Mapping[str, str],
    *,
    project: str,
    stack: str,
    project_dir: Path,
    secret_config: Mapping[str, tuple[str | None, bool]] | None = None,
) -> AppConfig:
    """Validate raw config strings (keys without namespace) into an ``AppConfig``.

    ``secret_config`` maps each managed-secret config key to (value or None, stored-as-secret).
    Raises ``ConfigError`` listing every problem.
    """
    problems: list[str] = []
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        text = raw.get(setting.key)
        if text is None:
            values[setting.key] = setting.default
            continue
        value, expected = _parse(setting, text)
        if expected is None and setting.check is not None:
            expected = setting.check(value)
        if expected is not None:
            problems.append(
                f"{project}:{setting.key} = {text!r} is invalid: expected {expected}. "
                f"Fix: pulumi config set {setting.key} <value> -s {stack}"
            )
            value = setting.default
        values[setting.key] = value

    allowed_memory = FARGATE_TASK_SIZES.get(values["cpu"], ())
    if values["cpu"] in FARGATE_TASK_SIZES and values["memory"] not in allowed_memory:
        problems.append(
            f"{project}:memory = {values['memory']} is not a valid Fargate size for cpu = {values['cpu']}: "
            f"expected one of {', '.join(map(str, allowed_memory))}. Fix: pulumi config set memory <MiB> -s {stack}"
        )
    if values["deploymentMaximumPercent"] <= values["deploymentMinimumHealthyPercent"]:
        problems.append(
            f"{project}:deploymentMaximumPercent = {values['deploymentMaximumPercent']} must be greater than "
            f"deploymentMinimumHealthyPercent = {values['deploymentMinimumHealthyPercent']}, or a rolling "
            "deploy cannot start a new task."
        )
    if values["autoscalingMaxCount"] < values["desiredCount"]:
        problems.append(
            f"{project}:autoscalingMaxCount = {values['autoscalingMaxCount']} is below desiredCount = "
            f"{values['desiredCount']}: expected autoscalingMaxCount >= desiredCount. "
            f"Fix: pulumi config set autoscalingMaxCount <count> -s {stack}"
        )
    if values["capacityProvider"] == "FARGATE_SPOT" and values["desiredCount"] < 2 and values["protect"]:
        problems.append(
            f"{project}:capacityProvider = 'FARGATE_SPOT' with desiredCount < 2 on a protected stack: a Spot "
            "interruption would take the service down. Use FARGATE or desiredCount >= 2."
        )
    for key in ("imageContext", "dockerfile"):
        if SETTINGS_BY_KEY[key].check(values[key]) is None and not (project_dir / values[key]).exists():
            problems.append(
                f"{project}:{key} = {values[key]!r} does not exist in {project_dir}. "
                f"Fix: pulumi config set {key} <path> -s {stack}"
            )

    secret_values: dict[str, pulumi.Output[str]] = {}
    if values["secretsMode"] == "managed":
        for _name, (_env, config_key) in SECRET_SPECS.items():
            value, stored_as_secret = (secret_config or {}).get(config_key, (None, False))
            fix = f"pulumi config set --secret {config_key} '<value>' -s {stack}"
            if value is None:
                problems.append(
                    f"{project}:{config_key} is not set (secretsMode is 'managed'). Fix: {fix} "
                    f"(or pulumi config set secretsMode external -s {stack} and populate the secret out of band)"
                )
            elif not value.strip():
                problems.append(f"{project}:{config_key} is empty; an empty secret stops tasks from starting "
                                f"(ResourceInitializationError). Fix: {fix}")
            elif not stored_as_secret:
                problems.append(f"{project}:{config_key} is stored in plain text in Pulumi.{stack}.yaml. "
                                f"Fix: {fix}")
            else:
                secret_values[config_key] = pulumi.Output.secret(value)

    if problems:
        raise ConfigError(problems, stack)
    return AppConfig(
        project=project,
        stack=stack,
        secret_values=secret_values,
        **{_snake(key): value for key, value in values.items()},
    )


def load_config() -> AppConfig:
    """Read and validate the running stack's configuration (call before creating resources)."""
    from pulumi.runtime import config as runtime_config

    project, stack = pulumi.get_project(), pulumi.get_stack()
    raw = {s.key: runtime_config.get_config(f"{project}:{s.key}") for s in SETTINGS}
    secret_config = {}
    for _env, config_key in SECRET_SPECS.values():
        full_key = f"{project}:{config_key}"
        secret_config[config_key] = (runtime_config.get_config(full_key), runtime_config.is_config_secret(full_key))
    return parse_config(
        {k: v for k, v in raw.items() if v is not None},
        project=project,
        stack=stack,
        project_dir=Path.cwd(),
        secret_config=secret_config,
    )
