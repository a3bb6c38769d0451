"""The deployment notes' release sequence in one command:

preflight -> `up` of the image and the migration task definition only -> migrate with the new image
-> full `up` -> wait until the service is stable and the health URL answers.

A failed step stops the sequence; until the full `up`, the running service is untouched.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable

import botocore.exceptions

from ops.common import Aws, OpsError, Printer, StackOutputs, waiter_config
from ops.migrate import check_before_release, describe_result, run_migration
from ops.preflight import check_identity, format_checks, secret_checks

IMAGE = "docker:index/image:Image"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"


def release_targets(adapter, outputs: StackOutputs) -> tuple[list[str], Callable[[], str]]:
    """URNs of the image and the migration task definition, and a reader of the latter's new ARN."""
    family = outputs["migrationTaskDefinitionFamily"]

    def migration(resources):
        return next((r for r in resources if r.type == TASK_DEFINITION and r.inputs.get("family") == family), None)

    resources = adapter.resources()
    image = next((r for r in resources if r.type == IMAGE), None)
    task = migration(resources)
    if image is None or task is None:
        raise OpsError(f"the stack's state has no {IMAGE if image is None else 'migration task definition'}; "
                       "run a full `pulumi up` first")
    return [image.urn, task.urn], lambda: migration(adapter.resources()).outputs["arn"]


def wait_until_healthy(aws: Aws, outputs: StackOutputs, timeout: int, printer: Printer, poll: float = 5.0,
                       http_get: Callable[[str], int] | None = None) -> None:
    printer("waiting for the service to be stable (ECS services_stable waiter)")
    try:
        aws.ecs.get_waiter("services_stable").wait(
            cluster=outputs["clusterName"], services=[outputs["serviceName"]],
            WaiterConfig=waiter_config(timeout, poll),
        )
    except botocore.exceptions.WaiterError as exc:
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


def deploy(adapter, aws: Aws, stack: str, printer: Printer, *, migrate_timeout: int = 900, health_timeout: int = 600,
           poll: float = 5.0, http_get: Callable[[str], int] | None = None) -> None:
    def step(title: str):
        printer(f"==> {title}")

    step("1/5 preflight: credentials and secrets")
    outputs = StackOutputs(adapter.outputs(), f"stack {stack}'s outputs")
    checks = [check_identity(aws)]
    if checks[0].ok:
        checks += secret_checks(aws, outputs, stack)
    printer(format_checks(checks))
    if not all(c.ok for c in checks):
        raise OpsError("preflight failed; nothing was changed")

    step("2/5 pulumi up: the image and the migration task definition only")
    targets, new_migration_arn = release_targets(adapter, outputs)
    adapter.up(targets)

    step("3/5 migrate with the new image")
    migration_task = new_migration_arn()
    check_before_release(aws, outputs, stack, printer, migration_task, migrate_timeout, poll)
    result = run_migration(aws, outputs, stack, printer, migrate_timeout, task_definition=migration_task,
                           poll_seconds=poll)
    code, message = describe_result(result)
    printer(message)
    if code != 0:
        headline, _, cause = message.partition("\n")  # the cause: what Prisma's output means, and the fix
        raise OpsError(f"{headline}; stopping before the service rollout" + (f"\n{cause}" if cause else ""))

    step("4/5 pulumi up: the service rolls out the new image")
    adapter.up()

    step("5/5 wait for a stable service and a healthy endpoint")
    wait_until_healthy(aws, StackOutputs(adapter.outputs(), f"stack {stack}'s outputs"), health_timeout, printer,
                       poll, http_get)
    printer(f"deployed {stack}")
