"""Amazon ECS: what a service runs, how it rolls out, and what its containers are given."""

from __future__ import annotations

import re

from pulumi_policy import PolicyConfigSchema, Severity

from guardrails.common import (
    config_value,
    containers,
    number,
    of_type,
    related,
    resource_policy,
    short_urn,
    stack_policy,
)
from guardrails.migrations import find_migration

SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"

FARGATE_TASK_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

_SECRET_NAME = re.compile(
    r"(SECRET|PASSWORD|PASSWD|PASSPHRASE|TOKEN|PRIVATE_KEY|API_KEY|ACCESS_KEY|CREDENTIALS?|DATABASE_URL|"
    r"REDIS_URL|MONGO(DB)?_URI|CONNECTION_STRING|DSN)$",
    re.I,
)
_SECRET_VALUE = [
    (re.compile(r"^[a-z][a-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@", re.I), "a connection string with a password"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r'"private_key"\s*:'), "service-account JSON"),
    (re.compile(r"^eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+$"), "a JWT"),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), "an AWS access key"),
]


def service_task_definitions(service, resources):
    """The task definitions a service runs: by property dependency (works in previews), else by ARN."""
    found = related(service, "taskDefinition", TASK_DEFINITION)
    if found:
        return found
    arn = service.props.get("taskDefinition")
    return [t for t in of_type(resources, TASK_DEFINITION) if arn and t.props.get("arn") == arn]


def _no_migrations_at_start(args, report_violation):
    services = of_type(args.resources, SERVICE)
    for service in services:
        for task in service_task_definitions(service, args.resources):
            for container in containers(task.props):
                for field in ("entryPoint", "command"):
                    reason = find_migration(container.get(field))
                    if reason:
                        report_violation(
                            f"Service {short_urn(service.urn)} runs task definition {short_urn(task.urn)} whose "
                            f"container '{container.get('name')}' {field} runs database migrations: {reason}. "
                            "Migrations must run once per release as a separate one-off task (run by no "
                            "service), never at container start.",
                            task.urn,
                        )


no_migrations_at_start = stack_policy(
    "ecs-no-migrations-at-start",
    (
        "Containers of a task definition that an ECS service runs must not run database migrations in "
        "`command` or `entryPoint` (every container restart and every parallel task would migrate). "
        "Fix: start only the application and run migrations once as a dedicated task definition that no "
        "service uses (`python -m ops migrate`)."
    ),
    _no_migrations_at_start,
    severity=Severity.CRITICAL,
)


def _no_plaintext_secrets(args, report_violation):
    for container in containers(args.props):
        for entry in container.get("environment") or []:
            name, value = str(entry.get("name", "")), str(entry.get("value", ""))
            why = "its name looks like a credential" if _SECRET_NAME.search(name) else None
            for pattern, kind in _SECRET_VALUE:
                if pattern.search(value):
                    why = f"its value looks like {kind}"
            if why:
                report_violation(
                    f"Container '{container.get('name')}' has environment variable {name} in plain text ({why}). "
                    "Move it to `secrets` with `valueFrom` pointing at a Secrets Manager secret."
                )


no_plaintext_secrets = resource_policy(
    "ecs-no-plaintext-secrets",
    "Task definition `environment` entries must not carry credentials (connection strings with passwords, "
    "*_SECRET, *_PASSWORD, *_TOKEN, private keys, JWT secrets, service-account JSON): anyone who can describe "
    "the task definition reads them. Fix: move them to `secrets` (`valueFrom` a Secrets Manager ARN).",
    [TASK_DEFINITION],
    _no_plaintext_secrets,
    severity=Severity.CRITICAL,
)


def _fargate_task_size(args, report_violation):
    if "FARGATE" not in (args.props.get("requiresCompatibilities") or []):
        return
    cpu, memory = number(args.props.get("cpu")), number(args.props.get("memory"))
    if cpu is None or memory is None:
        report_violation("Fargate task definitions need task-level `cpu` and `memory`.")
        return
    allowed = FARGATE_TASK_SIZES.get(int(cpu))
    if allowed is None:
        report_violation(f"cpu = {int(cpu)} is not a Fargate size: use one of {sorted(FARGATE_TASK_SIZES)}.")
    elif int(memory) not in allowed:
        report_violation(
            f"memory = {int(memory)} MiB is not valid with cpu = {int(cpu)} on Fargate: use one of "
            f"{', '.join(map(str, allowed))}."
        )


fargate_task_size = resource_policy(
    "ecs-fargate-task-size",
    "Fargate task definitions use a supported CPU/memory pair (for example 512 CPU with 1024-4096 MiB); "
    "others fail at registration. Fix: pick a memory size from the Fargate table for the CPU.",
    [TASK_DEFINITION],
    _fargate_task_size,
    severity=Severity.MEDIUM,
)


_DIGEST_IMAGE = re.compile(r"@sha256:[0-9a-f]{64}$")


def _images_pinned_by_digest(args, report_violation):
    for service in of_type(args.resources, SERVICE):
        for task in service_task_definitions(service, args.resources):
            for container in containers(task.props):
                image = str(container.get("image", ""))
                if not _DIGEST_IMAGE.search(image):
                    report_violation(
                        f"Container '{container.get('name')}' of {short_urn(task.urn)} (run by "
                        f"{short_urn(service.urn)}) uses image '{image}', a tag that can move. Reference the "
                        "pushed image by digest (<repository>@sha256:<digest>).",
                        task.urn,
                    )


images_pinned_by_digest = stack_policy(
    "ecs-images-pinned-by-digest",
    (
        "Task definitions run by services reference images by digest, never `:latest` or another tag: a tag "
        "can move, so a scale-out or a rollback would run untested bytes. Fix: use the registry's digest "
        "(`pulumi_docker.Image.repo_digest`)."
    ),
    _images_pinned_by_digest,
)


def _zero_downtime(args, report_violation):
    if not args.props.get("loadBalancers"):
        return
    minimum = config_value(args, "minimumHealthyPercent", 100)
    maximum = config_value(args, "maximumPercent", 200)
    grace = config_value(args, "healthCheckGracePeriodSeconds", 120)
    props = args.props
    actual_min = number(props.get("deploymentMinimumHealthyPercent"))
    actual_max = number(props.get("deploymentMaximumPercent"))
    actual_grace = number(props.get("healthCheckGracePeriodSeconds"))
    # ECS defaults when unset: 100 / 200 / 0.
    if (100 if actual_min is None else actual_min) < minimum:
        report_violation(f"deploymentMinimumHealthyPercent is {actual_min:g}; needs >= {minimum} so old tasks keep "
                         "serving until new ones are healthy.")
    if (200 if actual_max is None else actual_max) < maximum:
        report_violation(f"deploymentMaximumPercent is {actual_max:g}; needs >= {maximum} so new tasks start "
                         "before old ones stop.")
    if (actual_grace or 0) < grace:
        report_violation(f"healthCheckGracePeriodSeconds is {actual_grace or 0:g}; needs >= {grace} so slow starts "
                         "are not killed by load balancer health checks.")
    breaker = props.get("deploymentCircuitBreaker") or {}
    if not (breaker.get("enable") and breaker.get("rollback")):
        report_violation("deploymentCircuitBreaker must be {enable: true, rollback: true} so a failing deployment "
                         "rolls back to the last working one.")


zero_downtime_rolling = resource_policy(
    "ecs-zero-downtime-rolling",
    (
        "ECS services behind a load balancer roll out with minimumHealthyPercent >= 100, maximumPercent >= 200, "
        "a health check grace period >= 120 s and the deployment circuit breaker with rollback. Fix: set "
        "those on the service (thresholds are configurable)."
    ),
    [SERVICE],
    _zero_downtime,
    config_schema=PolicyConfigSchema(
        properties={
            "minimumHealthyPercent": {"type": "integer", "default": 100, "minimum": 0, "maximum": 100},
            "maximumPercent": {"type": "integer", "default": 200, "minimum": 100},
            "healthCheckGracePeriodSeconds": {"type": "integer", "default": 120, "minimum": 0},
        }
    ),
)

POLICIES = [no_migrations_at_start, no_plaintext_secrets, fargate_task_size, images_pinned_by_digest,
            zero_downtime_rolling]
