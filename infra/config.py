"""The stack's configuration: one typed, validated place.

Every key the program reads is declared once in ``SETTINGS`` (type, default, description and its
constraint as data). ``Pulumi.yaml`` declares the same keys for the CLI; a test keeps the two in
sync. Defaults come from the deployment notes (0.5 vCPU / 1 GB, port 3000, 7-day logs, rolling
100/200/120 s).

Bad values are collected and raised together as one ``ConfigError`` before any resource is
created, each message naming the key, the value it got, what is allowed and the fix. Values the
policy pack would reject at preview (log retention, rolling thresholds, HTTPS in production) are
rejected here already, with the thresholds of the pack's own config file.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from infra.config_keys import configured_keys, unknown_key_problems

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

# The policy pack's config file, as CI passes it (`--policy-pack-config`); its thresholds bind the
# program too, so a value the pack would reject at preview is refused before anything is planned.
POLICY_CONFIG_FILE = "policies/policy-config.example.json"
# deploymentStrategy -> ECS's deploymentConfiguration.strategy.
ECS_STRATEGIES = {"rolling": "ROLLING", "blue-green": "BLUE_GREEN", "canary": "CANARY", "linear": "LINEAR"}
STRATEGIES = tuple(ECS_STRATEGIES)
# Keys that only mean something for some strategies.
STRATEGY_KEYS = {
    "bakeMinutes": ("blue-green", "canary", "linear"),
    "testListenerPort": ("blue-green", "canary", "linear"),
    "testListenerCidr": ("blue-green", "canary", "linear"),
    "canaryPercent": ("canary",),
    "canaryIntervalMinutes": ("canary",),
    "linearStepPercent": ("linear",),
    "linearIntervalMinutes": ("linear",),
}
# Rollback goes back to an earlier image that ECR still holds: the current one, the previous one and
# one more (for when the previous release was itself rolled back).
MIN_ECR_KEEP_IMAGES = 3


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
    choices: tuple = ()  # allowed values, when only some are
    minimum: int | None = None
    maximum: int | None = None
    shape: str | None = None  # a string's form: a key of SHAPES


# Shapes of string values: name -> (pattern or None for a checker in ``shape_problem``, what is
# expected). An empty string is accepted where a shape's name starts with "optional".
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
SHAPES: dict[str, tuple[re.Pattern[str] | None, str]] = {
    "cidr": (None, "an IPv4 CIDR block with a prefix length from /16 to /20, such as 10.0.0.0/16"),
    "relative-path": (None, "a path relative to the Pulumi project directory, inside it"),
    "optional-ipv4-cidr": (None, "empty (nobody) or an IPv4 CIDR block such as 203.0.113.0/24"),
    # Safe inside the container's health-check shell command: no quotes, spaces, `$` or backslashes.
    "url-path": (re.compile(r"^/[A-Za-z0-9._~%!*+,;=:@/-]*(\?[A-Za-z0-9._~%!*+,;=:@/&-]*)?$"),
                 "an URL path starting with '/' (letters, digits and - . _ ~ % ! * + , ; = : @ / ? &)"),
    "optional-acm-arn": (re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$"),
                         "empty or an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)"),
    "optional-digest-ref": (re.compile(r"^[a-z0-9.-]+(?::\d+)?/[a-z0-9._/-]+@sha256:[0-9a-f]{64}$"),
                            "empty or an image reference pinned by digest: <registry>/<repository>@sha256:<64 hex>"),
    "optional-iam-policy-arn": (re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:policy/([\w+=,.@-]+/)*[\w+=,.@-]+$", re.ASCII),
                                "empty (the bootstrap's <project>-workload-boundary) or an IAM policy ARN "
                                "(arn:aws:iam::<account>:policy/<path>/<name>)"),
    "optional-email": (re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), "empty or an e-mail address"),
    "optional-domain": (re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})+$"),
                        "empty or a lower-case DNS name such as api.example.com"),
    "optional-hosted-zone": (re.compile(rf"^(Z[A-Z0-9]{{1,32}}|external|(?=.{{1,253}}$){_LABEL}(\.{_LABEL})+)$"),
                             "empty (the zone of domainName's parent), a Route 53 hosted zone ID (Z...), a "
                             "zone name, or 'external' (DNS managed outside Route 53)"),
}


def shape_problem(shape: str, value: str) -> str | None:
    """What is expected of ``value``, or None when it has the shape."""
    pattern, expected = SHAPES[shape]
    if shape.startswith("optional") and value == "":
        return None
    if shape == "cidr":
        try:
            network = ipaddress.ip_network(value)
        except ValueError:
            return expected
        return None if network.version == 4 and 16 <= network.prefixlen <= 20 else expected
    if shape == "relative-path":
        path = Path(value)
        return expected if not value or path.is_absolute() or ".." in path.parts else None
    if shape == "optional-ipv4-cidr":
        try:
            return None if ipaddress.ip_network(value).version == 4 else expected
        except ValueError:
            return expected
    return None if pattern.match(value) else expected


def value_problem(setting: Setting, value: Any) -> str | None:
    """What is expected of a parsed value of ``setting``, or None when it is allowed."""
    if setting.choices and value not in setting.choices:
        return "one of " + ", ".join(repr(c) for c in setting.choices)
    if setting.minimum is not None and not setting.minimum <= value <= setting.maximum:
        return f"an integer from {setting.minimum} to {setting.maximum}"
    if setting.shape:
        return shape_problem(setting.shape, value)
    return None


SETTINGS: tuple[Setting, ...] = (
    Setting("cpu", "integer", 512, "Fargate task CPU units (256, 512, 1024, 2048, 4096, 8192, 16384).",
            choices=tuple(FARGATE_TASK_SIZES)),
    Setting("memory", "integer", 1024, "Fargate task memory in MiB; must be valid for the CPU size.",
            minimum=512, maximum=122880),
    Setting("desiredCount", "integer", 1, "Tasks the service runs (the autoscaler's minimum when enabled).",
            minimum=1, maximum=100),
    Setting("containerPort", "integer", 3000, "Port the application listens on (PORT in the container).",
            minimum=1024, maximum=65535),
    Setting("healthCheckPath", "string", "/api/health",
            "HTTP path the load balancer and the container health check probe (an URL path, no quotes or spaces).",
            shape="url-path"),
    Setting("logRetentionDays", "integer", 7,
            "CloudWatch Logs retention in days; must equal the policy pack's log-retention.retentionDays.",
            choices=LOG_RETENTION_DAYS),
    Setting("natMode", "string", "single",
            "Outbound internet for tasks: 'single' NAT gateway, one 'per-az', or 'none' (tasks in public "
            "subnets with a public IP, reachable only from the load balancer).",
            choices=("none", "single", "per-az")),
    Setting("azCount", "integer", 2, "Availability zones to spread subnets over (the ALB needs two).",
            minimum=2, maximum=6),
    Setting("vpcCidr", "string", "10.0.0.0/16", "VPC CIDR block (/16 to /20).", shape="cidr"),
    Setting("domainName", "string", "",
            "DNS name of the API (api.example.com): ACM certificate validated in Route 53, HTTPS with TLS 1.3, "
            "HTTP redirects with 301, alias A/AAAA records to the load balancer.",
            shape="optional-domain"),
    Setting("hostedZone", "string", "",
            "Route 53 hosted zone for domainName: a zone ID, a zone name, empty for the zone of domainName's "
            "parent, or 'external' when DNS is managed elsewhere (needs certificateArn).",
            shape="optional-hosted-zone"),
    Setting("certificateArn", "string", "",
            "Existing ACM certificate ARN for domainName, instead of requesting one.",
            shape="optional-acm-arn"),
    Setting("allowPlainHttp", "boolean", False,
            "Serve plain HTTP on the load balancer's DNS name, without domain or certificate (unprotected "
            "stacks only, e.g. staging)."),
    Setting("deploymentMinimumHealthyPercent", "integer", 100,
            "Rolling deploys: share of desired tasks kept running (100 keeps old tasks until new are healthy).",
            minimum=0, maximum=100),
    Setting("deploymentMaximumPercent", "integer", 200,
            "Rolling deploys: upper limit of running tasks during a deploy (200 starts new before stopping old).",
            minimum=100, maximum=400),
    Setting("deploymentStrategy", "string", "rolling",
            "How ECS replaces tasks: 'rolling' (100/200), or with a second target group 'blue-green' (all traffic "
            "at once), 'canary' (canaryPercent first) or 'linear' (linearStepPercent per step), each baked "
            "bakeMinutes before the old tasks stop; alarms roll back during the shift and the bake.",
            choices=STRATEGIES),
    Setting("bakeMinutes", "integer", 10,
            "Blue/green, canary, linear: minutes the new version serves all traffic while the old tasks wait, "
            "ready for an instant rollback.", minimum=0, maximum=1440),
    Setting("canaryPercent", "integer", 10, "Canary: share of production traffic the new version takes first.",
            minimum=1, maximum=99),
    Setting("canaryIntervalMinutes", "integer", 5, "Canary: minutes before the rest of the traffic follows.",
            minimum=0, maximum=1440),
    Setting("linearStepPercent", "integer", 25, "Linear: share of traffic moved to the new version per step.",
            minimum=3, maximum=100),
    Setting("linearIntervalMinutes", "integer", 5, "Linear: minutes between steps.", minimum=0, maximum=1440),
    Setting("testListenerPort", "integer", 8443,
            "Blue/green, canary, linear: load balancer port that reaches the new version before production "
            "traffic does.", minimum=1, maximum=65535),
    Setting("testListenerCidr", "string", "",
            "Who may reach the test listener (an IPv4 CIDR block); empty: nobody from outside the VPC.",
            shape="optional-ipv4-cidr"),
    Setting("healthCheckGracePeriodSeconds", "integer", 120,
            "Seconds ECS ignores load balancer health checks after a task starts.", minimum=0, maximum=7200),
    Setting("healthCheckIntervalSeconds", "integer", 10, "Target group health check interval.",
            minimum=5, maximum=300),
    Setting("healthyThresholdCount", "integer", 2, "Consecutive passing checks before a target takes traffic.",
            minimum=2, maximum=10),
    Setting("unhealthyThresholdCount", "integer", 3, "Consecutive failing checks before a target is unhealthy.",
            minimum=2, maximum=10),
    Setting("deregistrationDelaySeconds", "integer", 15,
            "Seconds the load balancer drains an old task before ECS stops it.", minimum=0, maximum=3600),
    Setting("capacityProvider", "string", "FARGATE", "Capacity provider: 'FARGATE' or 'FARGATE_SPOT'.",
            choices=("FARGATE", "FARGATE_SPOT")),
    Setting("cpuArchitecture", "string", "x86_64", "Task CPU architecture: 'x86_64' or 'arm64'.",
            choices=("x86_64", "arm64")),
    Setting("imageContext", "string", "app", "Docker build context, relative to the project directory.",
            shape="relative-path"),
    Setting("dockerfile", "string", "Dockerfile", "Dockerfile path, relative to the project directory.",
            shape="relative-path"),
    Setting("imageOverride", "string", "",
            "Image pinned by digest (<repository>@sha256:<digest>) that replaces the built image (nothing is "
            "built); set by `ops rollback`.",
            shape="optional-digest-ref"),
    Setting("ecrKeepImages", "integer", 10,
            f"Images the ECR lifecycle policy keeps (at least {MIN_ECR_KEEP_IMAGES}): rollback reaches back "
            "ecrKeepImages - 1 releases.",
            minimum=MIN_ECR_KEEP_IMAGES, maximum=1000),
    Setting("secretsMode", "string", "managed",
            "'managed': secret values come from `pulumi config set --secret`; 'external': only the secret "
            "containers are created and values are populated out of band.",
            choices=("managed", "external")),
    Setting("protect", "boolean", False,
            "Production safety: protect stateful resources, ALB deletion protection, no ECR force-delete, "
            "HTTPS required."),
    Setting("autoscalingMaxCount", "integer", 2, "Autoscaling maximum tasks (minimum is desiredCount).",
            minimum=1, maximum=100),
    Setting("autoscalingCpuTargetPercent", "integer", 60, "Target average CPU utilisation for scaling.",
            minimum=10, maximum=90),
    Setting("autoscalingRequestsPerTarget", "integer", 500,
            "Target ALB requests per task per minute for scaling.", minimum=10, maximum=100000),
    Setting("alarmEmail", "string", "", "E-mail address subscribed to the alarm topic (empty: none).",
            shape="optional-email"),
    Setting("permissionsBoundaryArn", "string", "",
            "Permissions boundary put on every IAM role of the stack (empty: the bootstrap's "
            "arn:aws:iam::<account>:policy/<project>/<project>-workload-boundary). The bootstrap's CI deploy role "
            "creates roles only with that one: set another only where that role does not deploy the stack.",
            shape="optional-iam-policy-arn"),
    Setting("costLogGbPerMonth", "integer", 5, "Cost estimate: GB of logs ingested per month.",
            minimum=0, maximum=100000),
    Setting("costNatGbPerMonth", "integer", 20, "Cost estimate: GB processed by NAT gateways per month.",
            minimum=0, maximum=1000000),
    Setting("costAlbLcu", "integer", 1, "Cost estimate: average ALB load balancer capacity units.",
            minimum=0, maximum=10000),
    Setting("costDeploysPerMonth", "integer", 20,
            "Cost estimate: releases per month (blue/green, canary and linear run two task sets during each).",
            minimum=0, maximum=10000),
)

SETTINGS_BY_KEY = {s.key: s for s in SETTINGS}
SECRET_CONFIG_KEYS = tuple(config_key for _env, config_key in SECRET_SPECS.values())


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
    domain_name: str
    hosted_zone: str
    certificate_arn: str
    allow_plain_http: bool
    deployment_strategy: str
    bake_minutes: int
    canary_percent: int
    canary_interval_minutes: int
    linear_step_percent: int
    linear_interval_minutes: int
    test_listener_port: int
    test_listener_cidr: str
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
    permissions_boundary_arn: str
    cost_log_gb_per_month: int
    cost_nat_gb_per_month: int
    cost_alb_lcu: int
    cost_deploys_per_month: int
    # Managed secret values, wrapped as Pulumi secrets; empty in external mode.
    secret_values: Mapping[str, pulumi.Output[str]] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        """Physical-name prefix shared by the stack's resources."""
        return f"{self.project}-{self.stack}"

    @property
    def role_path(self) -> str:
        """IAM path of the stack's roles: the CI deploy role (bootstrap/) manages only roles under it."""
        return f"/{self.project}/"

    @property
    def tags(self) -> dict[str, str]:
        return {"project": self.project, "environment": self.stack, "managed-by": "pulumi"}

    @property
    def docker_platform(self) -> str:
        return "linux/arm64" if self.cpu_architecture == "arm64" else "linux/amd64"

    @property
    def ecs_cpu_architecture(self) -> str:
        return "ARM64" if self.cpu_architecture == "arm64" else "X86_64"

    @property
    def shifts_traffic(self) -> bool:
        """Blue/green, canary and linear move traffic between two target groups; rolling has one."""
        return self.deployment_strategy != "rolling"

    @property
    def zone_name(self) -> str:
        """The hosted zone to look up when ``hostedZone`` is not an ID: given, or domainName's parent."""
        if self.hosted_zone:
            return self.hosted_zone
        labels = self.domain_name.split(".")
        return ".".join(labels[1:]) if len(labels) > 2 else self.domain_name


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def parse_value(setting: Setting, raw: str) -> tuple[Any, str | None]:
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


# --------------------------------------------------------------------------- rules across keys


def task_size_problems(values: Mapping[str, Any], project: str, stack: str) -> list[str]:
    allowed_memory = FARGATE_TASK_SIZES.get(values["cpu"])  # None: an unknown cpu, reported on its own
    if allowed_memory is not None and values["memory"] not in allowed_memory:
        return [
            f"{project}:memory = {values['memory']} is not a valid Fargate size for cpu = {values['cpu']}: "
            f"expected one of {', '.join(map(str, allowed_memory))}. Fix: pulumi config set memory <MiB> -s {stack}"
        ]
    return []


def capacity_problems(values: Mapping[str, Any], project: str, stack: str) -> list[str]:
    problems = []
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
    return problems


def build_path_problems(values: Mapping[str, Any], project: str, stack: str, project_dir: Path) -> list[str]:
    if values["imageOverride"]:
        return []  # nothing is built
    return [
        f"{project}:{key} = {values[key]!r} does not exist in {project_dir}. "
        f"Fix: pulumi config set {key} <path> -s {stack}"
        for key in ("imageContext", "dockerfile")
        if shape_problem("relative-path", values[key]) is None and not (project_dir / values[key]).exists()
    ]


def https_problems(values: Mapping[str, Any], project: str, stack: str) -> list[str]:
    """Production serves HTTPS on its own domain; plain HTTP only by explicit choice, outside production."""
    domain, certificate = values["domainName"], values["certificateArn"]
    plain, protected = values["allowPlainHttp"], values["protect"]
    if plain and protected:
        return [f"{project}:allowPlainHttp = true on a protected stack: production serves HTTPS only. "
                f"Fix: pulumi config set domainName <api.example.com> -s {stack} && "
                f"pulumi config rm allowPlainHttp -s {stack}"]
    if plain and (domain or certificate):
        return [f"{project}:allowPlainHttp = true contradicts domainName/certificateArn, which serve HTTPS. "
                f"Fix: pulumi config rm allowPlainHttp -s {stack}"]
    if certificate and not domain:
        return [f"{project}:certificateArn is set without {project}:domainName: the URL and health checks must "
                f"use the name the certificate covers. Fix: pulumi config set domainName <name> -s {stack}"]
    if values["hostedZone"] == "external" and not certificate:
        return [f"{project}:hostedZone = 'external' needs {project}:certificateArn: without a Route 53 zone the "
                f"certificate cannot be validated here. Fix: pulumi config set certificateArn <arn> -s {stack}"]
    if values["hostedZone"] and not domain:
        return [f"{project}:hostedZone is set without {project}:domainName. "
                f"Fix: pulumi config set domainName <name> -s {stack}"]
    if not (domain or certificate or plain):
        fix = (f"pulumi config set domainName <api.example.com> -s {stack}" if protected else
               f"pulumi config set domainName <name> -s {stack} (or pulumi config set allowPlainHttp true -s {stack})")
        which = "a protected stack" if protected else "this stack"
        return [f"{which} has neither {project}:domainName nor {project}:certificateArn: the API would be served "
                f"over plain HTTP. Fix: {fix}"]
    return []


def strategy_problems(values: Mapping[str, Any], project: str, stack: str) -> list[str]:
    """A strategy setting changed for a strategy that does not use it is a mistake, not a no-op. (The CLI
    hands the program the declared defaults too, so "changed" means "not its default".)"""
    strategy = values["deploymentStrategy"]
    problems = []
    for key in STRATEGY_KEYS:
        if values[key] != SETTINGS_BY_KEY[key].default and strategy not in STRATEGY_KEYS[key]:
            used_by = " or ".join(f"'{s}'" for s in STRATEGY_KEYS[key])
            problems.append(
                f"{project}:{key} = {values[key]!r} but deploymentStrategy is '{strategy}', which does not use it "
                f"({used_by} does). Fix: pulumi config rm {key} -s {stack}, or pulumi config set "
                f"deploymentStrategy {STRATEGY_KEYS[key][0]} -s {stack}"
            )
    if strategy != "rolling" and values["testListenerPort"] in (80, 443):
        problems.append(
            f"{project}:testListenerPort = {values['testListenerPort']} is a production listener's port. "
            f"Fix: pulumi config set testListenerPort 8443 -s {stack}"
        )
    return problems


def load_policy_config(project_dir: Path) -> tuple[dict[str, Any], list[str]]:
    """The policy pack's config file (thresholds and levels), or the problems reading it."""
    path = project_dir / POLICY_CONFIG_FILE
    if not path.exists():
        return {}, []
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return {}, [f"{POLICY_CONFIG_FILE} cannot be read as JSON ({exc}). Fix: correct the file"]
    if not isinstance(document, dict):
        return {}, [f"{POLICY_CONFIG_FILE} must hold a JSON object of policy settings. Fix: correct the file"]
    return document, []


def policy_setting(policy_config: Mapping[str, Any], policy: str, key: str, default: Any) -> Any:
    entry = policy_config.get(policy)
    return entry.get(key, default) if isinstance(entry, dict) else default


def policy_problems(values: Mapping[str, Any], project: str, stack: str, policy_config: Mapping[str, Any]) -> list[str]:
    """The mandatory policies' rules that map to a config key, with the pack's messages and thresholds."""
    problems = []
    retention = policy_setting(policy_config, "log-retention", "retentionDays", 7)
    if values["logRetentionDays"] != retention:
        problems.append(
            f"{project}:logRetentionDays = {values['logRetentionDays']}: log group keeps logs "
            f"{values['logRetentionDays']} days; the guideline is exactly {retention} (policy log-retention). "
            f"Fix: pulumi config set logRetentionDays {retention} -s {stack}, or change log-retention.retentionDays "
            f"in {POLICY_CONFIG_FILE}"
        )
    rolling = "ecs-zero-downtime-rolling"
    for key, threshold_key, default, why in (
        ("deploymentMinimumHealthyPercent", "minimumHealthyPercent", 100,
         "so old tasks keep serving until new ones are healthy"),
        ("deploymentMaximumPercent", "maximumPercent", 200, "so new tasks start before old ones stop"),
        ("healthCheckGracePeriodSeconds", "healthCheckGracePeriodSeconds", 120,
         "so slow starts are not killed by load balancer health checks"),
    ):
        needed = policy_setting(policy_config, rolling, threshold_key, default)
        if values[key] < needed:
            problems.append(
                f"{project}:{key} = {values[key]}: needs >= {needed} {why} (policy {rolling}). "
                f"Fix: pulumi config set {key} {needed} -s {stack}, or change {rolling}.{threshold_key} in "
                f"{POLICY_CONFIG_FILE}"
            )
    return problems


_STACK_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")


def stack_name_problems(project: str, stack: str) -> list[str]:
    """Physical names start with <project>-<stack>; ECR, load balancers and target groups accept only
    lower-case letters, digits and single hyphens inside the name."""
    if _STACK_NAME.match(stack) and "--" not in stack:
        return []
    suggestion = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", stack.lower())).strip("-") or "prod"
    return [f"stack name '{stack}' cannot be part of AWS resource names ({project}-{stack}): use lower-case letters, "
            f"digits and single hyphens. Fix: pulumi stack rename {suggestion}"]


def secret_problems(values: Mapping[str, Any], secret_config, project: str, stack: str):
    """Managed secret values: set, not blank, stored encrypted. Returns (problems, values as secrets)."""
    problems: list[str] = []
    secret_values: dict[str, pulumi.Output[str]] = {}
    if values["secretsMode"] != "managed":
        return problems, secret_values
    for config_key in SECRET_CONFIG_KEYS:
        value, stored_as_secret = (secret_config or {}).get(config_key, (None, False))
        fix = f"pulumi config set --secret {config_key} -s {stack}  (the CLI asks for the value without echoing it)"
        if value is None:
            problems.append(
                f"{project}:{config_key} is not set (secretsMode is 'managed'). Fix: {fix} "
                f"(or pulumi config set secretsMode external -s {stack} and populate the secret out of band)"
            )
        elif not value.strip():
            problems.append(f"{project}:{config_key} is empty; an empty secret stops tasks from starting "
                            f"(ResourceInitializationError). Fix: {fix}")
        elif not stored_as_secret:
            problems.append(f"{project}:{config_key} is stored in plain text in Pulumi.{stack}.yaml. Fix: {fix}")
        else:
            secret_values[config_key] = pulumi.Output.secret(value)
    return problems, secret_values


# --------------------------------------------------------------------------- entry points


def parse_config(
    raw: Mapping[str, str],
    *,
    project: str,
    stack: str,
    project_dir: Path,
    secret_config: Mapping[str, tuple[str | None, bool]] | None = None,
    unknown_keys: Iterable[str] = (),
    policy_config: Mapping[str, Any] | None = None,
) -> AppConfig:
    """Validate raw config strings (keys without namespace) into an ``AppConfig``.

    ``secret_config`` maps each managed-secret config key to (value or None, stored-as-secret);
    ``policy_config`` is the policy pack's config (read from ``POLICY_CONFIG_FILE`` when None).
    Raises ``ConfigError`` listing every problem.
    """
    problems = stack_name_problems(project, stack) + unknown_key_problems(
        unknown_keys, known=[*SETTINGS_BY_KEY, *SECRET_CONFIG_KEYS], secret=SECRET_CONFIG_KEYS, project=project,
        stack=stack)
    values: dict[str, Any] = {}
    invalid: set[str] = set()
    for setting in SETTINGS:
        text = raw.get(setting.key)
        if text is None:
            values[setting.key] = setting.default
            continue
        value, expected = parse_value(setting, text)
        if expected is None:
            expected = value_problem(setting, value)
        if expected is not None:
            problems.append(
                f"{project}:{setting.key} = {text!r} is invalid: expected {expected}. "
                f"Fix: pulumi config set {setting.key} <value> -s {stack}"
            )
            value = setting.default
            invalid.add(setting.key)
        values[setting.key] = value

    if policy_config is None:
        policy_config, unreadable = load_policy_config(project_dir)
        problems += unreadable
    problems += task_size_problems(values, project, stack)
    problems += capacity_problems(values, project, stack)
    problems += strategy_problems(values, project, stack)
    problems += build_path_problems(values, project, stack, project_dir)
    if not invalid & {"domainName", "hostedZone", "certificateArn", "allowPlainHttp", "protect"}:
        problems += https_problems(values, project, stack)  # a bad value was replaced by its default
    problems += policy_problems(values, project, stack, policy_config)
    more, secret_values = secret_problems(values, secret_config, project, stack)
    problems += more

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
    namespace = f"{project}:"
    raw = {s.key: runtime_config.get_config(namespace + s.key) for s in SETTINGS}
    secret_config = {}
    for config_key in SECRET_CONFIG_KEYS:
        full_key = namespace + config_key
        secret_config[config_key] = (runtime_config.get_config(full_key), runtime_config.is_config_secret(full_key))
    return parse_config(
        {k: v for k, v in raw.items() if v is not None},
        project=project,
        stack=stack,
        project_dir=Path.cwd(),
        secret_config=secret_config,
        unknown_keys=configured_keys(project),
    )
