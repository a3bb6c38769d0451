"""The deployment notes' release sequence in one command:

preflight -> `up` of the image and the migration task definition only (on a stack's first release:
of everything but the service) -> migrate with the new image -> full `up` -> wait until the service
is stable and the health URL answers.

A failed step stops the sequence; until the full `up`, the running service is untouched.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable

import botocore.exceptions

from ops import deployments
from ops.common import EXIT_GONE, Aws, OpsError, Printer, StackOutputs, waiter_config
from ops.errors import Step, enter_step
from ops.migrate import check_before_release, describe_result, run_migration
from ops.preflight import check_identity, format_checks, secret_checks

IMAGE = "docker:index/image:Image"
# The first release creates everything but the service (and its dependents: autoscaling) before migrating.
FIRST_RELEASE_EXCLUDE = "**aws:ecs/service:Service::service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"


def release_targets(adapter, outputs: StackOutputs) -> tuple[list[str], Callable[[], str]]:
    """What the first `up` touches: the image (a pattern: the program declares it only when it builds one,
    not with imageOverride or when ECR already holds the content) and the migration task definition; and
    a reader of the latter's new ARN."""
    family = outputs["migrationTaskDefinitionFamily"]

    def migration(resources):
        return next((r for r in resources if r.type == TASK_DEFINITION and r.inputs.get("family") == family), None)

    task = migration(adapter.resources())
    if task is None:
        raise OpsError("the stack's state has no migration task definition; run a full `pulumi up` first")
    stack_prefix = task.urn.split("::", 2)[:2]  # urn:pulumi:<stack>, <project>
    image = "::".join(stack_prefix) + f"::**{IMAGE}::image"
    return [image, task.urn], lambda: migration(adapter.resources()).outputs["arn"]


def warn_about_a_pin(adapter, stack: str, printer: Printer) -> None:
    pinned = adapter.get_config("imageOverride")
    if pinned:
        printer(f"NOTE: the stack pins imageOverride = {pinned} (a rollback): this deploy keeps that image and "
                f"builds nothing. Release the pin with `pulumi config rm imageOverride -s {stack}` (and commit "
                f"Pulumi.{stack}.yaml) to deploy new code.")


def wait_until_healthy(aws: Aws, outputs: StackOutputs, timeout: int, printer: Printer, poll: float = 5.0,
                       http_get: Callable[[str], int] | None = None) -> None:
    printer("waiting for the service to be stable (ECS services_stable waiter)")
    try:
        aws.ecs.get_waiter("services_stable").wait(
            cluster=outputs["clusterName"], services=[outputs["serviceName"]],
            WaiterConfig=waiter_config(timeout, poll),
        )
    except botocore.exceptions.WaiterError as exc:
        response = exc.last_response or {}
        if "Error" in response:  # an AWS error (access, throttling, a deleted cluster), not slowness
            raise
        if response.get("failures") or any(s.get("status") != "ACTIVE" for s in response.get("services", [])):
            reason = "; ".join(f.get("reason", "") for f in response.get("failures", [])) or \
                     ", ".join(s.get("status", "") for s in response.get("services", []))
            raise OpsError(f"ECS service {outputs['serviceName']} is gone ({reason}) while waiting for it to be "
                           "stable", EXIT_GONE) from exc
        raise OpsError(f"the service did not become stable within {timeout}s ({exc}); the circuit breaker rolls "
                       "back a failing deployment: see `python -m ops status`") from exc

    def default_get(url: str) -> int:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as exc:  # a 5xx is an answer, not a network failure
            return exc.code

    http_get = http_get or default_get
    url, deadline, last = outputs["healthUrl"], time.monotonic() + timeout, ""
    while True:
        try:
            status = http_get(url)
            if status == 200:
                printer(f"{url} answers 200")
                return
            last = f"HTTP {status}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        if time.monotonic() > deadline:
            raise OpsError(f"{url} did not answer 200 within {timeout}s (last: {last})")
        time.sleep(poll)


def first_release_foundations(adapter, aws: Aws, stack: str, printer: Printer, step, refresh: str):
    """A stack's first release: everything but the service (and what depends on it), so the migrations
    run before any task serves the new code, as for every later release; then the secrets check."""
    step("2/5 pulumi up: everything but the service (the stack's first release)",
         "no service runs yet; network, load balancer, registry and image, secrets, cluster and the migration "
         "task definition may exist",
         f"{refresh}, then rerun `python -m ops deploy -s {stack}`")
    adapter.up(exclude=[FIRST_RELEASE_EXCLUDE], exclude_dependents=True)
    outputs = StackOutputs(adapter.outputs(), f"stack {stack}'s outputs")
    checks = secret_checks(aws, outputs, stack)
    printer(format_checks(checks))
    if not all(c.ok for c in checks):
        raise OpsError("the secrets are not ready (secretsMode external: populate them with `aws secretsmanager "
                       "put-secret-value`); no service runs yet: fix them and rerun the deploy")
    return outputs, lambda: outputs["migrationTaskDefinitionArn"]


def deploy(adapter, aws: Aws, stack: str, printer: Printer, *, migrate_timeout: int = 900, health_timeout: int = 600,
           poll: float = 5.0, http_get: Callable[[str], int] | None = None) -> None:
    def step(title: str, state: str, fix: str):
        printer(f"==> {title}")
        number, name = title.split(":")[0].split(" ", 1)
        enter_step(Step(f"{number} ({name})", state, fix))

    refresh = (f"`pulumi refresh -s {stack}` in a terminal (it clears operations an interruption left pending; "
               f"`pulumi cancel -s {stack}` first if Pulumi reports the stack locked or an update in progress)")
    step("1/5 preflight: credentials and secrets", "nothing was changed",
         f"fix the cause and rerun `python -m ops deploy -s {stack}`")
    existing = adapter.outputs()
    warn_about_a_pin(adapter, stack, printer)
    checks = [check_identity(aws)]
    if checks[0].ok and existing:
        checks += secret_checks(aws, StackOutputs(existing, f"stack {stack}'s outputs"), stack)
    printer(format_checks(checks))
    if not all(c.ok for c in checks):
        raise OpsError("preflight failed; nothing was changed")

    if existing:
        step("2/5 pulumi up: the image and the migration task definition only",
             "the running service is untouched; the stack's image and migration task definition may be updated",
             f"{refresh}, then rerun `python -m ops deploy -s {stack}`")
        outputs = StackOutputs(existing, f"stack {stack}'s outputs")
        targets, new_migration_arn = release_targets(adapter, outputs)
        adapter.up(targets)
    else:
        outputs, new_migration_arn = first_release_foundations(adapter, aws, stack, printer, step, refresh)

    step("3/5 migrate with the new image",
         "the service is untouched and runs the previous image; the migration task may have applied some or all "
         "migrations (its log lines are above)",
         f"fix the cause, then rerun `python -m ops deploy -s {stack}` (`prisma migrate deploy` skips the "
         "migrations already applied)")
    migration_task = new_migration_arn()
    check_before_release(aws, outputs, stack, printer, migration_task, migrate_timeout, poll)
    result = run_migration(aws, outputs, stack, printer, migrate_timeout, task_definition=migration_task,
                           poll_seconds=poll)
    code, message = describe_result(result)
    printer(message)
    if code != 0:
        headline, _, cause = message.partition("\n")  # the cause: what Prisma's output means, and the fix
        raise OpsError(f"{headline}; stopping before the service rollout" + (f"\n{cause}" if cause else ""))

    step("4/5 pulumi up: the service rolls out the new image",
         "the migrations are applied; the stack may be mid-update; the service keeps its previous deployment "
         "unless ECS had started the new one, which the circuit breaker rolls back if its tasks fail",
         f"`python -m ops status -s {stack}` shows which deployment runs; {refresh}; then rerun "
         f"`python -m ops deploy -s {stack}` or `python -m ops rollback -s {stack}`")
    with deployments.watched(aws, outputs, printer, poll=max(poll, 1.0)) as followed:
        adapter.up()
    deployments.outcome(followed[0] if followed else None)

    step("5/5 wait for a stable service and a healthy endpoint",
         "the new release is rolled out in the stack; ECS finishes (or rolls back) the deployment on its own",
         f"follow it with `python -m ops status -s {stack} --watch`; `python -m ops rollback -s {stack}` if it "
         "stays unhealthy")
    wait_until_healthy(aws, StackOutputs(adapter.outputs(), f"stack {stack}'s outputs"), health_timeout, printer,
                       poll, http_get)
    enter_step(None)
    printer(f"deployed {stack}")
