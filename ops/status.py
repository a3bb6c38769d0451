"""Service status: counts, deployments and their rollout state, recent events, target health."""

from __future__ import annotations

from typing import Any

from ops.common import EXIT_GONE, Aws, OpsError, StackOutputs, table


def collect_status(aws: Aws, outputs: StackOutputs, events: int = 5) -> dict[str, Any]:
    cluster, name = outputs["clusterName"], outputs["serviceName"]
    services = aws.ecs.describe_services(cluster=cluster, services=[name])["services"]
    # A deleted service is MISSING (in `failures`) or, for a while after the deletion, INACTIVE.
    if not services or services[0]["status"] == "INACTIVE":
        state = "is INACTIVE (deleted)" if services else "does not exist"
        raise OpsError(f"ECS service {name} {state} in cluster {cluster}", EXIT_GONE)
    service = services[0]
    health = aws.elbv2.describe_target_health(TargetGroupArn=outputs["targetGroupArn"])["TargetHealthDescriptions"]
    return {
        "service": name,
        "status": service["status"],
        "running": service["runningCount"],
        "pending": service["pendingCount"],
        "desired": service["desiredCount"],
        "taskDefinition": service["taskDefinition"].rsplit("/", 1)[-1],
        "deployments": [
            {
                "status": d["status"],
                "rolloutState": d.get("rolloutState", ""),
                "taskDefinition": d["taskDefinition"].rsplit("/", 1)[-1],
                "running": d.get("runningCount", 0),
                "pending": d.get("pendingCount", 0),
                "desired": d.get("desiredCount", 0),
                "failedTasks": d.get("failedTasks", 0),
            }
            for d in service.get("deployments", [])
        ],
        "events": [{"at": str(e["createdAt"]), "message": e["message"]} for e in service.get("events", [])[:events]],
        "targets": [{"id": t["Target"]["Id"], "port": t["Target"].get("Port"), "state": t["TargetHealth"]["State"],
                     "reason": t["TargetHealth"].get("Reason", "")} for t in health],
    }


def format_status(status: dict[str, Any]) -> str:
    lines = [f"{status['service']} ({status['status']}): running {status['running']}, pending {status['pending']}, "
             f"desired {status['desired']} — {status['taskDefinition']}", ""]
    lines.append(table(("deployment", "rollout", "task definition", "running", "pending", "desired", "failed"),
                       [(d["status"], d["rolloutState"], d["taskDefinition"], d["running"], d["pending"], d["desired"],
                         d["failedTasks"]) for d in status["deployments"]]))
    lines += ["", table(("target", "port", "health", "reason"),
                        [(t["id"], t["port"], t["state"], t["reason"]) for t in status["targets"]]) if status["targets"]
              else "no targets registered"]
    if status["events"]:
        lines += ["", "recent events:"] + [f"  {e['at']}  {e['message']}" for e in status["events"]]
    return "\n".join(lines)
