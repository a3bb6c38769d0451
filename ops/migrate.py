"""`python -m ops migrate -s STACK`: database migrations once per release as a one-off Fargate task (the
migration task definition: the image's `prisma migrate deploy`), `migrate status` and `migrate resolve`
as the same task with its command overridden. What Prisma prints is explained by ops.prisma, as on the
local path (ops.migrate_local)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import botocore.exceptions

from ops.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Aws,
    OpsError,
    Printer,
    StackOutputs,
    poll_delay,
    second_ctrl_c_interrupts,
    waiter_config,
)
from ops.preflight import Check, format_checks, secret_checks
from ops.prisma import (
    MigrationStatus,
    Problem,
    Where,
    checked_name,
    clean,
    failure_message,
    hidden,
    parse_status,
    report_status,
    stack_where,
)

POLL_SECONDS = 6
STATUS_COMMAND = ["npx", "prisma", "migrate", "status"]


@dataclass
class MigrationResult:
    task_arn: str
    exit_code: int | None
    stopped_reason: str
    log_lines: int
    lines: list[str] = field(default_factory=list)
    where: Where | None = None


def start_task(aws: Aws, outputs: StackOutputs, task_definition: str, command: list[str] | None = None) -> str:
    try:
        response = _run_task(aws, outputs, task_definition, command)
    except botocore.exceptions.ClientError as exc:
        raise OpsError(f"the migration task did not start: {exc}") from exc
    if response.get("failures") or not response.get("tasks"):
        reasons = "; ".join(f"{f.get('arn', '')} {f.get('reason')}: {f.get('detail', '')}".strip()
                            for f in response.get("failures", []))
        raise OpsError(f"the migration task did not start: {reasons or 'no task returned'}")
    return response["tasks"][0]["taskArn"]


def _run_task(aws: Aws, outputs: StackOutputs, task_definition: str, command: list[str] | None = None) -> dict:
    extra = {}
    if command:  # same image, secrets and network; another Prisma command
        extra["overrides"] = {"containerOverrides": [{"name": outputs["migrationContainerName"], "command": command}]}
    return aws.ecs.run_task(
        cluster=outputs["clusterName"],
        taskDefinition=task_definition,
        count=1,
        # On-demand capacity: a Spot interruption must not cut a migration in half.
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": outputs["taskSubnetIds"],
            "securityGroups": [outputs["taskSecurityGroupId"]],
            "assignPublicIp": "ENABLED" if outputs.get("taskAssignPublicIp") else "DISABLED",
        }},
        startedBy="ops-migrate",
        **extra,
    )


class LogFollower:
    """New lines of one task's log stream, fetched with the filter_log_events paginator."""

    def __init__(self, aws: Aws, group: str, stream: str):
        self.aws, self.group, self.stream = aws, group, stream
        self.seen: set[str] = set()
        self.lines: list[str] = []
        self.start_time = 0

    def new_lines(self) -> list[str]:
        paginator = self.aws.logs.get_paginator("filter_log_events")
        lines = []
        try:
            for page in paginator.paginate(logGroupName=self.group, logStreamNames=[self.stream],
                                           startTime=self.start_time):
                for event in page.get("events", []):
                    if event["eventId"] in self.seen:
                        continue
                    self.seen.add(event["eventId"])
                    self.start_time = max(self.start_time, event["timestamp"])
                    lines.append(event["message"].rstrip("\n"))
        except botocore.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":  # the stream appears once it logs
                raise
        self.lines += lines
        return lines


class TaskTimeout(Exception):
    pass


def wait_for_task(aws: Aws, cluster: str, task_arn: str, timeout: float, follower: LogFollower,
                  printer: Printer, poll_seconds: float = POLL_SECONDS) -> dict:
    """Wait with the `tasks_stopped` waiter in the background; meanwhile show progress and stream logs."""
    outcome: dict = {}
    wake = threading.Event()

    def wait():
        try:
            aws.ecs.get_waiter("tasks_stopped").wait(
                cluster=cluster, tasks=[task_arn],
                WaiterConfig=waiter_config(timeout, poll_seconds),
            )
        except botocore.exceptions.WaiterError as exc:
            outcome["error"] = exc
        except Exception as exc:  # noqa: BLE001 - raised again below, in the command's thread, for ops/errors
            outcome["failure"] = exc
        finally:
            wake.set()

    # Python raises KeyboardInterrupt wherever the main thread is, often inside a boto3 call on the client
    # (shared with the waiter thread) that the StopTask must use next, cutting that request in half: the
    # first Ctrl-C is taken between calls instead.
    with second_ctrl_c_interrupts(on_first=wake.set) as interrupted:
        waiter = threading.Thread(target=wait, daemon=True)
        waiter.start()
        started, last_status = time.monotonic(), None
        while waiter.is_alive():
            wake.wait(poll_delay(poll_seconds))
            if interrupted.is_set():
                raise KeyboardInterrupt
            task = aws.ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0]
            if task["lastStatus"] != last_status:
                last_status = task["lastStatus"]
                printer(f"[{int(time.monotonic() - started):>4}s] task {last_status}")
            show_logs(follower.new_lines(), printer)
    show_logs(follower.new_lines(), printer)
    if "failure" in outcome:  # the waiter's own call failed (network, credentials): never a thread's traceback
        raise outcome["failure"]
    if "error" in outcome:
        raise TaskTimeout(str(outcome["error"]))
    task = aws.ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0]
    # The waiter may see the task stop between this loop's last poll and its check of the waiter.
    if task["lastStatus"] != last_status:
        printer(f"[{int(time.monotonic() - started):>4}s] task {task['lastStatus']}")
    return task


def show_logs(lines: list[str], printer: Printer) -> None:
    for line in lines:
        if not hidden(line):
            printer(f"  | {clean(line)}")


def stop_task(aws: Aws, cluster: str, task_arn: str, reason: str, printer: Printer) -> str:
    """Stop the one-off task this command started; returns what to tell the user."""
    task_id = task_arn.rsplit("/", 1)[-1]
    try:
        aws.ecs.stop_task(cluster=cluster, task=task_arn, reason=reason)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        return (f"could NOT stop migration task {task_id} ({exc}); stop it yourself: "
                f"aws ecs stop-task --cluster {cluster} --task {task_arn}")
    message = (f"stopped migration task {task_id} ({reason}). If it was applying a migration, PostgreSQL rolls "
               "that migration back and Prisma records it as failed: check with --status before the next run")
    printer(message)
    return message


def run_migration(aws: Aws, outputs: StackOutputs, stack: str, printer: Printer, timeout: float = 900,
                  task_definition: str | None = None, poll_seconds: float = POLL_SECONDS,
                  command: list[str] | None = None) -> MigrationResult:
    """Run the migration task definition once (by default `prisma migrate deploy`; `command` overrides it)
    and wait for it. Ctrl-C or the timeout stop the task before returning."""
    checks = secret_checks(aws, outputs, stack)
    if not all(c.ok for c in checks):
        raise OpsError("not starting the migration: the secrets check failed\n" + format_checks(checks))
    task_definition = task_definition or outputs["migrationTaskDefinitionArn"]
    cluster = outputs["clusterName"]
    task_arn = start_task(aws, outputs, task_definition, command)
    task_id = task_arn.rsplit("/", 1)[-1]
    stream = f"{outputs['migrationLogStreamPrefix']}/{outputs['migrationContainerName']}/{task_id}"
    follower = LogFollower(aws, outputs["logGroupName"], stream)
    try:
        printer(f"started migration task {task_id} ({task_definition.rsplit('/', 1)[-1]}"
                + (f": {' '.join(command)}" if command else "") + ")")
        task = wait_for_task(aws, cluster, task_arn, timeout, follower, printer, poll_seconds)
    except KeyboardInterrupt:
        stop_task(aws, cluster, task_arn, "interrupted (Ctrl-C) in ops migrate", printer)
        raise
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
        # Not stopped: the task may be applying a migration, and AWS could not be asked anyway.
        printer(f"lost track of migration task {task_id}, which may still be running: "
                f"aws ecs describe-tasks --cluster {cluster} --tasks {task_arn} (stop it with aws ecs stop-task "
                f"--cluster {cluster} --task {task_arn}), then ops migrate --status")
        raise
    except TaskTimeout as exc:
        stopped = stop_task(aws, cluster, task_arn, f"ops migrate timed out after {timeout:g}s", lambda _: None)
        raise OpsError(f"the migration task {task_id} did not stop within {timeout:g}s ({exc}); {stopped}") from exc
    container = next((c for c in task.get("containers", []) if c.get("name") == outputs["migrationContainerName"]),
                     (task.get("containers") or [{}])[0])
    return MigrationResult(task_arn, container.get("exitCode"), task.get("stoppedReason", ""), len(follower.seen),
                           follower.lines, stack_where_for(stack, outputs))


def stack_where_for(stack: str, outputs: StackOutputs) -> Where:
    secret = (outputs.get("secretNames") or {}).get("database-url", "")
    subnets = ", ".join(outputs.get("taskSubnetIds") or [])
    network = (f"the task (subnets {subnets}, security group {outputs.get('taskSecurityGroupId')}, public IP "
               f"{'yes' if outputs.get('taskAssignPublicIp') else 'no: through the NAT gateway'}) must reach the "
               "database: the provider's IP allow-list and the URL's host and port") if subnets else ""
    return stack_where(stack, secret, network)


def describe_result(result: MigrationResult) -> tuple[int, str]:
    """Exit code and message: the container's own exit code, or 1 when it never ran; a failure is
    explained from the task's log lines (ops.prisma)."""
    task_id = result.task_arn.rsplit("/", 1)[-1]
    if result.exit_code is None:
        return 1, f"migration task {task_id} stopped before its container ran: {result.stopped_reason}"
    if result.exit_code != 0:
        cause = failure_message("\n".join(result.lines), result.where or stack_where("<stack>")) \
            if result.lines else "the task printed no log lines"
        return result.exit_code, (f"migration failed with exit code {result.exit_code} ({result.stopped_reason}); "
                                  f"the running service is untouched\n{cause}")
    return 0, f"migration task {task_id} succeeded ({result.log_lines} log lines)"


# ----------------------------------------------------------------------------- status before a release


def stack_status(aws: Aws, outputs: StackOutputs, stack: str, printer: Printer, timeout: float = 900,
                 task_definition: str | None = None, poll_seconds: float = POLL_SECONDS) -> MigrationStatus:
    """`prisma migrate status` as a one-off task with the stack's secrets (the migration task definition,
    its command overridden)."""
    result = run_migration(aws, outputs, stack, printer, timeout, task_definition, poll_seconds, STATUS_COMMAND)
    if result.exit_code is None:
        return MigrationStatus(problem=Problem("task-not-run", f"the status task never ran: {result.stopped_reason}",
                                               [f"python -m ops status -s {stack}; python -m ops logs -s {stack}"]))
    return parse_status("\n".join(result.lines), result.exit_code, result.where or stack_where(stack))


def status_check(aws: Aws, outputs: StackOutputs, stack: str, printer: Printer = lambda _: None,
                 timeout: float = 900, poll_seconds: float = POLL_SECONDS) -> Check:
    """The migration status as a preflight check: FAIL on a failed migration or when it cannot be read."""
    status = stack_status(aws, outputs, stack, printer, timeout, poll_seconds=poll_seconds)
    fix = "; ".join(status.problem.fix) if status.problem else ""
    return Check("migrations", not status.failed and status.problem is None, status.summary(), fix)


def check_before_release(aws: Aws, outputs: StackOutputs, stack: str, printer: Printer, task_definition: str,
                         timeout: float = 900, poll_seconds: float = POLL_SECONDS) -> None:
    """Before `migrate deploy` in a release: show what it will apply; a failed migration stops the
    release with its recovery steps. A status that cannot be read only warns (the deploy step that
    follows is the authority)."""
    status = stack_status(aws, outputs, stack, printer, timeout, task_definition, poll_seconds)
    if status.failed and status.problem:
        raise OpsError("a failed migration blocks this release: " + status.problem.render())
    if status.problem:
        printer(f"migration status: could not be read ({status.problem.summary}); migrating anyway")
    else:
        printer(f"migration status: {status.summary()}")


def resolve_on_stack(aws: Aws, outputs: StackOutputs, stack: str, printer: Printer, flag: str, name: str,
                     timeout: float, poll_seconds: float) -> int:
    command = ["npx", "prisma", "migrate", "resolve", flag, checked_name(name)]
    result = run_migration(aws, outputs, stack, printer, timeout, poll_seconds=poll_seconds, command=command)
    if result.exit_code == 0:
        printer(f"migration {name} marked as {flag.lstrip('-').replace('-', ' ')}; next: python -m ops migrate "
                f"-s {stack}")
        return EXIT_OK
    _, message = describe_result(result)
    printer(message)
    return EXIT_FAILED


def run_on_stack(aws: Aws, outputs: StackOutputs, args, printer: Printer) -> int:
    if args.check or args.schema or args.database_url:
        raise OpsError("--database-url, --check and --schema work on a database this machine reaches, without -s; "
                       "-s STACK migrates through the stack's one-off task", EXIT_USAGE)
    if args.status:
        status = stack_status(aws, outputs, args.stack, printer, args.timeout, poll_seconds=args.poll_seconds)
        return report_status(status, printer)
    if args.resolve_applied or args.resolve_rolled_back:
        flag, name = (("--applied", args.resolve_applied) if args.resolve_applied
                      else ("--rolled-back", args.resolve_rolled_back))
        return resolve_on_stack(aws, outputs, args.stack, printer, flag, name, args.timeout, args.poll_seconds)
    result = run_migration(aws, outputs, args.stack, printer, args.timeout, poll_seconds=args.poll_seconds)
    code, message = describe_result(result)
    printer(message)
    return code
