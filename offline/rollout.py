"""Worst-case time for one task replacement in a rolling deploy, from the planned settings.

With minimumHealthyPercent 100 / maximumPercent 200, ECS starts the new task first and stops an old
one only after the new one is healthy behind the load balancer:

    to traffic = interval + (healthy_threshold - 1) x interval + timeout
                 (the first probe can come up to one interval after registration; the target turns
                  healthy after `healthy_threshold` consecutive passes, the last answering within `timeout`)
    drain      = deregistration_delay
                 (in-flight requests finish; then ECS sends SIGTERM, and SIGKILL after stopTimeout)
    one task   = start + to traffic + drain, where start (image pull + boot) is bounded by the
                 health check grace period the service allows a slow start.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from offline.runtime import PlannedStack

TRAFFIC_TARGET_SECONDS = 60
DRAIN_TARGET_SECONDS = 30


@dataclass(frozen=True)
class Rollout:
    interval: int
    timeout: int
    healthy_threshold: int
    deregistration_delay: int
    grace_period: int

    @property
    def to_traffic(self) -> int:
        return self.interval + (self.healthy_threshold - 1) * self.interval + self.timeout

    @property
    def drain(self) -> int:
        return self.deregistration_delay

    @property
    def one_task(self) -> int:
        return self.grace_period + self.to_traffic + self.drain

    def to_dict(self) -> dict:
        return {**asdict(self), "toTrafficSeconds": self.to_traffic, "drainSeconds": self.drain,
                "oneTaskWorstCaseSeconds": self.one_task}


AWS_DEFAULTS = Rollout(interval=30, timeout=5, healthy_threshold=5, deregistration_delay=300, grace_period=0)


def rollout_of(planned: PlannedStack) -> Rollout:
    target_group = planned.one("aws:lb/targetGroup:TargetGroup").inputs
    check = target_group["healthCheck"]
    service = planned.one("aws:ecs/service:Service").inputs
    return Rollout(
        interval=int(check["interval"]),
        timeout=int(check["timeout"]),
        healthy_threshold=int(check["healthyThreshold"]),
        deregistration_delay=int(target_group["deregistrationDelay"]),
        grace_period=int(service.get("healthCheckGracePeriodSeconds") or 0),
    )


def format_rollout(r: Rollout) -> str:
    ok = "meets" if r.to_traffic <= TRAFFIC_TARGET_SECONDS and r.drain <= DRAIN_TARGET_SECONDS else "MISSES"
    return "\n".join([
        "Rollout of one task (worst case)",
        f"  to traffic after RUNNING = interval + (healthy - 1) x interval + timeout"
        f" = {r.interval} + {r.healthy_threshold - 1} x {r.interval} + {r.timeout} = {r.to_traffic} s"
        f" (target <= {TRAFFIC_TARGET_SECONDS} s)",
        f"  old task drained         = deregistration delay = {r.drain} s (target <= {DRAIN_TARGET_SECONDS} s)",
        f"  one replacement          = start (<= grace {r.grace_period} s) + {r.to_traffic} + {r.drain}"
        f" = {r.one_task} s; {ok} the targets",
        f"  (AWS defaults: {AWS_DEFAULTS.to_traffic} s to traffic, {AWS_DEFAULTS.drain} s drain)",
    ])
