"""Amazon ECS: what a service runs, how it rolls out, and what its containers are given."""

from __future__ import annotations

import fnmatch
import os
import re

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, Severity

from guardrails.common import (
    TASK_DEFINITION,
    as_list,
    config_value,
    containers,
    json_document,
    number,
    of_type,
    related,
    resource_policy,
    service_task_definitions,
    short_urn,
    stack_policy,
)
from guardrails.credentials import credential_in
from guardrails.docker import IMAGE, image_build, start_problems
from guardrails.migrations import NO_FILES, Files
from guardrails.project import ProjectFileError

SERVICE = "aws:ecs/service:Service"


def _every(step: int, first: int, last: int) -> tuple[int, ...]:
    """first, first + step, ... up to last included."""
    return tuple(range(first, last + step, step))


def fargate_task_sizes() -> dict[int, tuple[int, ...]]:
    """Fargate's supported task sizes: CPU units -> memory (MiB). Kept equal to infra/config.py's table by a test
    (the pack is published on its own, so it cannot import the program)."""
    return {
        256: (512, 1024, 2048),
        512: _every(1024, 1024, 4096),
        1024: _every(1024, 2048, 8192),
        2048: _every(1024, 4096, 16384),
        4096: _every(1024, 8192, 30720),
        8192: _every(4096, 16384, 61440),
        16384: _every(8192, 32768, 122880),
    }


class _NoImageFiles(Files):
    """The image is built by this stack but its files cannot be read: package scripts cannot be verified."""

    strict = True


def _container_files(task, container: dict) -> tuple[Files, str | None]:
    """How to read the files of the image a container runs: the stack's image resource it was built from."""
    images = related(task, "containerDefinitions", IMAGE)
    image = container.get("image")
    matching = [i for i in images if image and image in (i.props.get("repoDigest"), i.props.get("imageName"))]
    chosen = matching or (images if len(images) == 1 else [])
    cwd = container.get("workingDirectory") or None
    if not chosen:
        return NO_FILES, cwd
    try:
        build = image_build(chosen[0].props)
    except ProjectFileError:
        return _NoImageFiles(), cwd
    files = build.files()
    return files, cwd or files.workdir


def container_start_problems(task, container: dict) -> list[tuple[str, str]]:
    """(field, message) for a container whose entryPoint/command runs migrations or cannot be checked."""
    files, cwd = _container_files(task, container)
    entry_point, command = container.get("entryPoint"), container.get("command")
    candidates = [(field, value) for field, value in (("entryPoint", entry_point), ("command", command)) if value]
    if entry_point and command:  # what Docker runs: the entry point with the command as its arguments
        candidates.append(("entryPoint + command", list(entry_point) + list(command)))
    for field, argv in candidates:
        problems = start_problems(list(argv), files, cwd, field)
        if problems:
            return [(field, problem) for problem in problems]
    return []


def _no_migrations_at_start(args, report_violation):
    for service in of_type(args.resources, SERVICE):
        for task in service_task_definitions(service, args.resources):
            for container in containers(task.props):
                for _field, problem in container_start_problems(task, container):
                    report_violation(
                        f"Service {short_urn(service.urn)} runs task definition {short_urn(task.urn)} whose "
                        f"container '{container.get('name')}' {problem} Migrations must run once per release as a "
                        "separate one-off task (run by no service), never at container start.",
                        task.urn,
                    )


no_migrations_at_start = stack_policy(
    "ecs-no-migrations-at-start",
    (
        "Containers of a task definition that an ECS service runs (referenced directly, by family, family:revision "
        "or ARN) must not run database migrations in `command` or `entryPoint`, however spelled: wrappers, shells "
        "and control flow, package runners, package.json scripts read from the image's build context (every "
        "container restart and every parallel task would migrate). "
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
            why = credential_in(name, value)
            if why:
                report_violation(
                    f"Container '{container.get('name')}' has environment variable {name} in plain text ({why}). "
                    "Move it to `secrets` with `valueFrom` pointing at a Secrets Manager secret."
                )


no_plaintext_secrets = resource_policy(
    "ecs-no-plaintext-secrets",
    "Task definition `environment` entries must not carry credentials: names that mark one (*_SECRET, *_PASSWORD, "
    "*_PASS, *_PASSWD, *_TOKEN, *_KEY, *_CREDENTIALS, connection strings such as DATABASE_URL) or values that are "
    "one (URLs with passwords, private keys, service-account JSON, JWTs, AWS keys); anyone who can describe the "
    "task definition reads them. Fix: move them to `secrets` (`valueFrom` a Secrets Manager ARN).",
    [TASK_DEFINITION],
    _no_plaintext_secrets,
    severity=Severity.CRITICAL,
)


def fargate_cpu_units(value) -> int | None:
    """Task CPU as ECS accepts it: CPU units (``512``) or vCPUs (``"0.5 vCPU"``, ``"1 vcpu"``)."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if text.endswith("vcpu"):
        amount = number(text[:-4].strip())
        return None if amount is None else int(round(amount * 1024))
    amount = number(text)
    return None if amount is None else int(amount)


def fargate_memory_mib(value) -> int | None:
    """Task memory as ECS accepts it: MiB (``1024``) or GB (``"2GB"``, ``"2 GB"``)."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if text.endswith("gb"):
        amount = number(text[:-2].strip())
        return None if amount is None else int(round(amount * 1024))
    amount = number(text)
    return None if amount is None else int(amount)


def fargate_size_problem(cpu: int, memory: int) -> str | None:
    """The message for an unsupported Fargate CPU/memory pair, or None. infra/config.py mirrors this rule."""
    sizes = fargate_task_sizes()
    allowed = sizes.get(cpu)
    if allowed is None:
        return f"cpu = {cpu} is not a Fargate size: use one of {sorted(sizes)}."
    if memory not in allowed:
        return (f"memory = {memory} MiB is not valid with cpu = {cpu} on Fargate: use one of "
                f"{', '.join(map(str, allowed))}.")
    return None


def _fargate_task_size(args, report_violation):
    if "FARGATE" not in (args.props.get("requiresCompatibilities") or []):
        return
    cpu, memory = fargate_cpu_units(args.props.get("cpu")), fargate_memory_mib(args.props.get("memory"))
    if cpu is None or memory is None:
        report_violation("Fargate task definitions need task-level `cpu` and `memory`.")
        return
    problem = fargate_size_problem(cpu, memory)
    if problem:
        report_violation(problem)


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


def _number_or(value, default: float) -> float:
    found = number(value)
    return default if found is None else found


def _zero_downtime(args, report_violation):
    if not args.props.get("loadBalancers"):
        return
    if (args.props.get("deploymentController") or {}).get("type", "ECS") != "ECS":
        return  # CodeDeploy and external controllers do not use the rolling-update settings
    minimum = config_value(args, "minimumHealthyPercent", 100)
    maximum = config_value(args, "maximumPercent", 200)
    grace = config_value(args, "healthCheckGracePeriodSeconds", 120)
    props = args.props
    # Unset, ECS uses 100 % (it meets every minimum the schema allows), 200 % and 0 s.
    actual_min = number(props.get("deploymentMinimumHealthyPercent"))
    actual_max = _number_or(props.get("deploymentMaximumPercent"), 200)
    actual_grace = _number_or(props.get("healthCheckGracePeriodSeconds"), 0)
    if actual_min is not None and actual_min < minimum:
        report_violation(f"deploymentMinimumHealthyPercent is {actual_min:g}; needs >= {minimum} so old tasks keep "
                         "serving until new ones are healthy.")
    if actual_max < maximum:
        report_violation(f"deploymentMaximumPercent is {actual_max:g}; needs >= {maximum} so new tasks start "
                         "before old ones stop.")
    if actual_grace < grace:
        report_violation(f"healthCheckGracePeriodSeconds is {actual_grace:g}; needs >= {grace} so slow starts "
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

TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
ROLE = "aws:iam/role:Role"


def traffic_shifting_strategies() -> tuple[str, ...]:
    """ECS deployment strategies that shift traffic between two target groups (the other one is ROLLING)."""
    return ("BLUE_GREEN", "CANARY", "LINEAR")


def _shifting_strategy(props) -> str | None:
    """The service's blue/green, canary or linear strategy; None when it rolls (ECS's default)."""
    strategy = (props.get("deploymentConfiguration") or {}).get("strategy")
    return strategy if strategy in traffic_shifting_strategies() else None


def _referenced(resources, resource_type: str, arn):
    """The stack's resource of ``resource_type`` whose ARN the service names; None when it names none of the
    stack. (In a preview an ARN not known yet stops the policy before: the engine reports it could not run.)"""
    if not arn:
        return None
    return next((r for r in of_type(resources, resource_type) if r.props.get("arn") == arn), None)


def _matches_assume_role(patterns) -> bool:
    """IAM matches action names case-insensitively, with * and ? wildcards ("sts:*", "*")."""
    return any(isinstance(p, str) and fnmatch.fnmatchcase("sts:assumerole", p.lower()) for p in as_list(patterns))


def _allows_ecs(statement) -> bool:
    if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
        return False
    principal = statement.get("Principal")
    services = principal.get("Service") if isinstance(principal, dict) else None
    if "ecs.amazonaws.com" not in as_list(services):
        return False
    if "NotAction" in statement:  # every action but those
        return not _matches_assume_role(statement["NotAction"])
    return _matches_assume_role(statement.get("Action"))


def _trusts_ecs(role) -> bool:
    """ecs.amazonaws.com may assume the role: a statement of its trust policy allows that service principal
    sts:AssumeRole."""
    document = json_document(role.props.get("assumeRolePolicy"))
    statements = document.get("Statement") if isinstance(document, dict) else None
    return any(_allows_ecs(statement) for statement in as_list(statements))


def _traffic_shift_complete(args, report_violation):
    for service in of_type(args.resources, SERVICE):
        strategy = _shifting_strategy(service.props)
        if strategy is None:
            continue
        name = short_urn(service.urn)
        bake = (service.props.get("deploymentConfiguration") or {}).get("bakeTimeInMinutes")
        if strategy == "BLUE_GREEN" and bake in (None, ""):
            report_violation(f"Service {name} deploys blue/green without deploymentConfiguration.bakeTimeInMinutes: "
                             "ECS requires it for BLUE_GREEN (the minutes both revisions run after the shift) and "
                             "rejects the service. Fix: bakeMinutes in the stack config (0 ends at once).", service.urn)
        balancers = service.props.get("loadBalancers") or []
        advanced = (balancers[0].get("advancedConfiguration") or {}) if balancers else {}
        if not advanced:
            report_violation(f"Service {name} deploys {strategy} without loadBalancers[0].advancedConfiguration: "
                             "ECS needs the alternate target group, the production listener rule and the role. "
                             "Fix: deploymentStrategy in the kit creates them (infra/traffic_shift.py).", service.urn)
            continue
        primary = _referenced(args.resources, TARGET_GROUP, balancers[0].get("targetGroupArn"))
        alternate = _referenced(args.resources, TARGET_GROUP, advanced.get("alternateTargetGroupArn"))
        if alternate is None or (primary is not None and alternate.urn == primary.urn):
            report_violation(f"Service {name} ({strategy}) has no second target group of its own: "
                             "alternateTargetGroupArn must name another target group of the stack.", service.urn)
        elif alternate.props.get("targetType") != "ip":
            report_violation(f"Service {name}: the alternate target group {short_urn(alternate.urn)} must have "
                             "target type 'ip' (Fargate tasks register by IP).", service.urn)
        for field, what in (("productionListenerRule", "production"), ("testListenerRule", "test")):
            if _referenced(args.resources, LISTENER_RULE, advanced.get(field)) is None:
                report_violation(f"Service {name} ({strategy}) names no {what} listener rule of the stack in "
                                 f"advancedConfiguration.{field}: ECS shifts traffic by its weights.", service.urn)
        role = _referenced(args.resources, ROLE, advanced.get("roleArn"))
        if role is None or not _trusts_ecs(role):
            report_violation(f"Service {name} ({strategy}) needs advancedConfiguration.roleArn: a role of the stack "
                             "that ecs.amazonaws.com may assume to move the listener rules' weights.", service.urn)


traffic_shift_complete = stack_policy(
    "ecs-traffic-shift-complete",
    "An ECS service that deploys blue/green, canary or linear has what ECS needs to shift traffic: an "
    "alternate IP target group besides its own, production and test listener rules, a role "
    "ecs.amazonaws.com may assume and, for blue/green, the bake time ECS requires. Fix: set "
    "deploymentStrategy and let the kit create them (infra/traffic_shift.py).",
    _traffic_shift_complete,
    severity=Severity.HIGH,
)


def _production_release_safety(args, report_violation):
    production = config_value(args, "productionStacks", ["prod", "production"])
    if os.environ.get("PULUMI_STACK", "") not in production:
        return
    for service in of_type(args.resources, SERVICE):
        if not service.props.get("loadBalancers"):
            continue
        deployment = service.props.get("deploymentConfiguration") or {}
        bake = number(deployment.get("bakeTimeInMinutes")) or 0
        alarms = service.props.get("alarms") or {}
        alarm_rollback = bool(alarms.get("enable") and alarms.get("rollback") and alarms.get("alarmNames"))
        if not (alarm_rollback or (_shifting_strategy(service.props) is not None and bake > 0)):
            report_violation(f"Production service {short_urn(service.urn)} neither bakes its releases nor rolls "
                             "back on alarms: a bad release stays until someone notices. Fix: alarms={alarm_names: "
                             "[5xx alarms], enable, rollback} or deploymentStrategy blue-green/canary/linear with "
                             "bakeMinutes > 0.", service.urn)


production_release_safety = stack_policy(
    "ecs-production-release-safety",
    "Production ECS services release with a safety net: deployment alarms that roll back, or a blue/green, canary "
    "or linear strategy with a bake time. Fix: the kit's 5xx deployment alarms (default), or deploymentStrategy "
    "with bakeMinutes.",
    _production_release_safety,
    level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    config_schema=PolicyConfigSchema(
        properties={"productionStacks": {"type": "array", "items": {"type": "string"},
                                         "default": ["prod", "production"]}}
    ),
)

POLICIES = [no_migrations_at_start, no_plaintext_secrets, fargate_task_size, images_pinned_by_digest,
            zero_downtime_rolling, traffic_shift_complete, production_release_safety]
