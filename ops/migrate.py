"""Run the migration task definition once, as a one-off Fargate task, and report its outcome."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import botocore.exceptions

from ops.common import Aws, OpsError, Printer, StackOutputs, waiter_config
from ops.preflight import format_checks, secret_checks

POLL_SECONDS = 6


@dataclass
class MigrationResult:
    task_arn: str
    exit_code: int | None
    stopped_reason: str
    log_lines: int


def start_task(aws: Aws, outputs: StackOutputs, task_definition: str) -> str:
    try:
        response = _run_task(aws, outputs, task_definition)
    except botocore.exceptions.ClientError as exc:
        raise OpsError(f"the migration task did not start: {exc}") from exc
    if response.get("failures") or not response.get("tasks"):
        reasons = "; ".join(f"{f.get('arn', '')} {f.get('reason')}: {f.get('detail', '')}".strip()
                            for f in response.get("failures", []))
        raise OpsError(f"the migration task did not start: {reasons or 'no task returned'}")
    return response["tasks"][0]["taskArn"]


def _run_task(aws: Aws, outputs: StackOutputs, task_definition: str) -> dict:
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
    )


class LogFollower:
    """New lines of one task's log stream, fetched with the filter_log_events paginator."""

    def __init__(self, aws: Aws, group: str, stream: str):
        self.aws, self.group, self.stream = aws, group, stream
        self.seen: set[str] = set()
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
        return lines


def wait_for_task(aws: Aws, cluster: str, task_arn: str, timeout: int, follower: LogFollower,
                  printer: Printer, poll_seconds: float = POLL_SECONDS) -> dict:
    """Wait with the `tasks_stopped` waiter in the background; meanwhile show progress and stream logs."""
    outcome: dict = {}

    def wait():
        try:
            aws.ecs.get_waiter("tasks_stopped").wait(
                cluster=cluster, tasks=[task_arn],
                WaiterConfig=waiter_config(timeout, poll_seconds),
            )
        except botocore.exceptions.WaiterError as exc:
            outcome["error"] = exc

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    started, last_status = time.monotonic(), None
    while waiter.is_alive():
        waiter.join(max(poll_seconds, 0.05))
        task = aws.ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0]
        if task["lastStatus"] != last_status:
            last_status = task["lastStatus"]
            printer(f"[{int(time.monotonic() - started):>4}s] task {last_status}")
        for line in follower.new_lines():
            printer(f"  | {line}")
    for line in follower.new_lines():
        printer(f"  | {line}")
    if "error" in outcome:
        raise OpsError(f"the migration task {task_arn.rsplit('/', 1)[-1]} did not stop within {timeout}s "
                       f"({outcome['error']}); it is still running: check `python -m ops logs` and stop it with "
                       f"aws ecs stop-task --cluster {cluster} --task {task_arn}")
    return aws.ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0]


def run_migration(aws: Aws, outputs: StackOutputs, stack: str, printer: Printer, timeout: int = 900,
                  task_definition: str | None = None, poll_seconds: float = POLL_SECONDS) -> MigrationResult:
    checks = secret_checks(aws, outputs, stack)
    if not all(c.ok for c in checks):
        raise OpsError("not starting the migration: the secrets check failed\n" + format_checks(checks))
    task_definition = task_definition or outputs["migrationTaskDefinitionArn"]
    cluster = outputs["clusterName"]
    task_arn = start_task(aws, outputs, task_definition)
    task_id = task_arn.rsplit("/", 1)[-1]
    printer(f"started migration task {task_id} ({task_definition.rsplit('/', 1)[-1]})")
    stream = f"{outputs['migrationLogStreamPrefix']}/{outputs['migrationContainerName']}/{task_id}"
    follower = LogFollower(aws, outputs["logGroupName"], stream)
    task = wait_for_task(aws, cluster, task_arn, timeout, follower, printer, poll_seconds)
    container = next((c for c in task.get("containers", []) if c.get("name") == outputs["migrationContainerName"]),
                     (task.get("containers") or [{}])[0])
    return MigrationResult(task_arn, container.get("exitCode"), task.get("stoppedReason", ""), len(follower.seen))


def describe_result(result: MigrationResult) -> tuple[int, str]:
    """Exit code and message: the container's own exit code, or 1 when it never ran."""
    task_id = result.task_arn.rsplit("/", 1)[-1]
    if result.exit_code is None:
        return 1, f"migration task {task_id} stopped before its container ran: {result.stopped_reason}"
    if result.exit_code != 0:
        return result.exit_code, (f"migration failed with exit code {result.exit_code} ({result.stopped_reason}); "
                                  "the running service is untouched")
    return 0, f"migration task {task_id} succeeded ({result.log_lines} log lines)"
