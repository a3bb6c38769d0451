"""Follow an ECS service deployment through its phases (blue/green, canary and linear shift traffic and
bake; rolling replaces tasks), and stop one with ECS's own rollback.

ECS records every deployment (ListServiceDeployments / DescribeServiceDeployments): its status, its
lifecycle stage, how much production traffic the new revision takes, and why it rolled back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import botocore.exceptions

from ops.common import Aws, OpsError, Printer, StackOutputs

MOVING = ("PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS")
FINISHED = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
# ECS's lifecycle stages, in the words the README's timeline uses.
PHASES = {
    "RECONCILE_SERVICE": "preparing",
    "PRE_SCALE_UP": "starting the new tasks",
    "SCALE_UP": "starting the new tasks",
    "POST_SCALE_UP": "new tasks running",
    "TEST_TRAFFIC_SHIFT": "test traffic to the new version",
    "POST_TEST_TRAFFIC_SHIFT": "test traffic to the new version",
    "PRODUCTION_TRAFFIC_SHIFT": "shifting production traffic",
    "POST_PRODUCTION_TRAFFIC_SHIFT": "production traffic shifted",
    "BAKE_TIME": "bake: old tasks wait, ready for an instant rollback",
    "CLEAN_UP": "removing the old tasks",
}
# Stages in which stopping with ROLLBACK returns traffic to the old tasks, which are still running.
ROLLBACK_STAGES = ("TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT",
                   "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME")


@dataclass(frozen=True)
class Progress:
    arn: str
    status: str
    stage: str
    new_traffic_percent: float | None
    running: int
    requested: int
    reason: str
    triggered_alarms: tuple[str, ...]

    @classmethod
    def of(cls, deployment: dict) -> Progress:
        target = deployment.get("targetServiceRevision") or {}
        alarms = deployment.get("alarms") or {}
        rollback = deployment.get("rollback") or {}
        return cls(
            arn=deployment["serviceDeploymentArn"],
            status=deployment.get("status", ""),
            stage=deployment.get("lifecycleStage", ""),
            new_traffic_percent=target.get("requestedProductionTrafficWeight"),
            running=target.get("runningTaskCount", 0),
            requested=target.get("requestedTaskCount", 0),
            reason=rollback.get("reason") or deployment.get("statusReason", ""),
            triggered_alarms=tuple(alarms.get("triggeredAlarmNames") or ()),
        )

    def line(self) -> str:
        parts = [self.status, PHASES.get(self.stage, self.stage.lower() or "queued")]
        if self.new_traffic_percent is not None:
            parts.append(f"new version takes {self.new_traffic_percent:g} % of production traffic")
        parts.append(f"new tasks {self.running}/{self.requested}")
        if self.triggered_alarms:
            parts.append("alarms: " + ", ".join(self.triggered_alarms))
        return " · ".join(parts)


def deployments(aws: Aws, outputs: StackOutputs, statuses: tuple[str, ...] = MOVING + FINISHED,
                since: float | None = None) -> list[dict]:
    """The service's deployments with these statuses, newest first (created after ``since``, epoch seconds)."""
    query = {"cluster": outputs["clusterName"], "service": outputs["serviceName"], "status": list(statuses)}
    if since is not None:
        query["createdAt"] = {"after": since}
    briefs, token = [], None
    while True:
        page = aws.ecs.list_service_deployments(**query, **({"nextToken": token} if token else {}))
        briefs += page.get("serviceDeployments", [])
        token = page.get("nextToken")
        if not token:
            break
    if not briefs:
        return []
    arns = [b["serviceDeploymentArn"] for b in sorted(briefs, key=lambda b: b["createdAt"], reverse=True)]
    described = aws.ecs.describe_service_deployments(serviceDeploymentArns=arns[:20])["serviceDeployments"]
    order = {arn: i for i, arn in enumerate(arns)}
    return sorted(described, key=lambda d: order[d["serviceDeploymentArn"]])


def follow(aws: Aws, outputs: StackOutputs, printer: Printer, *, since: float, stop: threading.Event,
           poll: float = 10.0, clock: Callable[[], float] = time.monotonic) -> Progress | None:
    """Print every change of phase of the deployment started after ``since`` until it finishes; return
    its last progress. Once ``stop`` is set, a deployment still moving is followed to its end, and
    None is returned at once when none has started."""
    started, last_line, last = clock(), None, None
    while True:
        found = deployments(aws, outputs, since=since)
        if found:
            last = Progress.of(found[0])
            line = last.line()
            if line != last_line:
                printer(f"[{int(clock() - started):>5}s] {line}")
                last_line = line
            if last.status in FINISHED:
                return last
        if not stop.is_set():
            stop.wait(poll)
        elif last is None:
            return None
        else:
            time.sleep(poll)


def outcome(progress: Progress | None) -> None:
    """Raise unless the deployment succeeded, naming why ECS rolled it back."""
    if progress is None or progress.status == "SUCCESSFUL":
        return
    why = progress.reason or "no reason given"
    if progress.triggered_alarms:
        why += f" (alarms: {', '.join(progress.triggered_alarms)})"
    if progress.status == "ROLLBACK_SUCCESSFUL":
        raise OpsError(f"ECS rolled the deployment back: {why}; the previous version serves all traffic")
    raise OpsError(f"the deployment ended {progress.status}: {why}; see `python -m ops status`")


def source_image(aws: Aws, deployment: dict, container: str) -> str | None:
    """The image of the revision a deployment replaces (where ECS's own rollback returns to)."""
    sources = [s["arn"] for s in deployment.get("sourceServiceRevisions") or []]
    if not sources:
        return None
    revision = aws.ecs.describe_service_revisions(serviceRevisionArns=sources[:1])["serviceRevisions"][0]
    definition = aws.ecs.describe_task_definition(taskDefinition=revision["taskDefinition"])["taskDefinition"]
    return next((c["image"] for c in definition["containerDefinitions"] if c["name"] == container),
                definition["containerDefinitions"][0]["image"])


def stoppable(aws: Aws, outputs: StackOutputs) -> dict | None:
    """The deployment in progress whose traffic ECS can still move back (shifting or baking), if any."""
    for deployment in deployments(aws, outputs, statuses=("IN_PROGRESS",)):
        if deployment.get("lifecycleStage") in ROLLBACK_STAGES:
            return deployment
    return None


def stop_with_rollback(aws: Aws, deployment: dict) -> None:
    aws.ecs.stop_service_deployment(serviceDeploymentArn=deployment["serviceDeploymentArn"], stopType="ROLLBACK")


@contextmanager
def watched(aws: Aws, outputs: StackOutputs, printer: Printer, poll: float = 10.0) -> Iterator[list]:
    """Print the phases of the deployment that starts while the block runs (a `pulumi up` that rolls out a
    new revision); yields a list that holds the last progress afterwards. Without ECS's deployment history
    (an older partition, an emulator) it says so once and stays quiet."""
    since, stop, result = time.time() - 5, threading.Event(), []

    def run():
        try:
            result.append(follow(aws, outputs, printer, since=since, stop=stop, poll=poll))
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            printer(f"(no deployment phases: ECS's deployment history is not available here: {exc})")

    thread = threading.Thread(target=run, name="deployment-watch", daemon=True)
    thread.start()
    try:
        yield result
    finally:
        # A deployment still shifting or baking when the block ends is followed to its end.
        stop.set()
        thread.join()
