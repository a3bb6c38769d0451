"""How long a release takes, worst case, from the planned settings — per deployment strategy.

Every strategy starts the new tasks first; a new task takes traffic once its target group has seen
enough passing health checks:

    start      = image pull + boot, bounded by the health check grace period the service allows
    to traffic = interval + (healthy_threshold - 1) x interval + timeout
                 (the first probe can come up to one interval after registration; the target turns
                  healthy after `healthy_threshold` consecutive passes, the last answering within `timeout`)
    drain      = deregistration delay (in-flight requests finish; then SIGTERM, SIGKILL after stopTimeout)

    rolling (100/200)  first request = all requests = start + to traffic; old tasks gone = + drain
    blue-green         all traffic shifts at once when the new tasks are healthy; old tasks wait the
                       bake time, ready for an instant rollback, then drain
    canary             canaryPercent first; the rest after canaryIntervalMinutes; then the bake
    linear             linearStepPercent per step, linearIntervalMinutes apart; then the bake
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from offline.cost import ecs_traffic_shift_defaults
from offline.runtime import PlannedStack

TRAFFIC_TARGET_SECONDS = 60
DRAIN_TARGET_SECONDS = 30
STRATEGY_NAMES = {"ROLLING": "rolling", "BLUE_GREEN": "blue-green", "CANARY": "canary", "LINEAR": "linear"}


@dataclass(frozen=True)
class Rollout:
    interval: int
    timeout: int
    healthy_threshold: int
    deregistration_delay: int
    grace_period: int
    strategy: str = "rolling"
    bake_minutes: int = 0
    canary_percent: float = 0
    canary_interval_minutes: float = 0
    linear_step_percent: float = 0
    linear_interval_minutes: float = 0

    @property
    def to_traffic(self) -> int:
        return self.interval + (self.healthy_threshold - 1) * self.interval + self.timeout

    @property
    def drain(self) -> int:
        return self.deregistration_delay

    @property
    def one_task(self) -> int:
        return self.grace_period + self.to_traffic + self.drain

    @property
    def first_request(self) -> int:
        """Seconds from the deployment's start until the first user request reaches the new version."""
        return self.grace_period + self.to_traffic

    @property
    def first_share(self) -> float:
        return {"canary": self.canary_percent, "linear": self.linear_step_percent}.get(self.strategy, 100)

    @property
    def all_requests(self) -> int:
        """Seconds until every request reaches the new version."""
        if self.strategy == "canary":
            return self.first_request + 60 * self.canary_interval_minutes
        if self.strategy == "linear":
            steps = math.ceil(100 / self.linear_step_percent)
            return self.first_request + (steps - 1) * 60 * self.linear_interval_minutes
        return self.first_request

    @property
    def old_tasks_gone(self) -> int:
        bake = 0 if self.strategy == "rolling" else 60 * self.bake_minutes
        return self.all_requests + bake + self.drain

    def to_dict(self) -> dict:
        return {**asdict(self), "toTrafficSeconds": self.to_traffic, "drainSeconds": self.drain,
                "oneTaskWorstCaseSeconds": self.one_task, "firstRequestSeconds": self.first_request,
                "allRequestsSeconds": self.all_requests, "oldTasksGoneSeconds": self.old_tasks_gone}


AWS_DEFAULTS = Rollout(interval=30, timeout=5, healthy_threshold=5, deregistration_delay=300, grace_period=0)


def _int(value, default: int = 0) -> int:
    return default if value in (None, "") else int(float(value))


def _setting(configuration: dict, key: str, defaults: dict[str, float]) -> float:
    """ECS takes fractional percents (canaryPercent in 0.1 steps); whole numbers stay ints for display."""
    value = configuration.get(key)
    number = defaults[key] if value in (None, "") else float(value)
    return int(number) if number == int(number) else number


def rollout_of(planned: PlannedStack) -> Rollout:
    """The release timeline of the stack's service, from its target group and deployment configuration."""
    service = planned.one("aws:ecs/service:Service").inputs
    serving = service["loadBalancers"][0]["targetGroupArn"]
    target_group = next(t for t in planned.of_type("aws:lb/targetGroup:TargetGroup") if t.outputs["arn"] == serving)
    check = target_group.inputs["healthCheck"]
    deployment = service.get("deploymentConfiguration") or {}
    canary = deployment.get("canaryConfiguration") or {}
    linear = deployment.get("linearConfiguration") or {}
    strategy = deployment.get("strategy", "ROLLING")
    # What ECS uses for a setting of the service's own strategy that the graph leaves out.
    ecs_default = ecs_traffic_shift_defaults()
    unused = dict.fromkeys(ecs_default, 0)
    canary_default = ecs_default if strategy == "CANARY" else unused
    linear_default = ecs_default if strategy == "LINEAR" else unused
    return Rollout(
        interval=int(check["interval"]),
        timeout=int(check["timeout"]),
        healthy_threshold=int(check["healthyThreshold"]),
        deregistration_delay=int(target_group.inputs["deregistrationDelay"]),
        grace_period=int(service.get("healthCheckGracePeriodSeconds") or 0),
        strategy=STRATEGY_NAMES[strategy],
        bake_minutes=_int(deployment.get("bakeTimeInMinutes")),
        canary_percent=_setting(canary, "canaryPercent", canary_default),
        canary_interval_minutes=_setting(canary, "canaryBakeTimeInMinutes", canary_default),
        linear_step_percent=_setting(linear, "stepPercent", linear_default),
        linear_interval_minutes=_setting(linear, "stepBakeTimeInMinutes", linear_default),
    )


def alternatives(planned: PlannedStack) -> list[Rollout]:
    """The stack's timeline under each strategy, with the strategy settings of its config."""
    active = rollout_of(planned)
    key = f"{planned.project}:"
    config = {name: _int(planned.config.get(key + name)) for name in (
        "bakeMinutes", "canaryPercent", "canaryIntervalMinutes", "linearStepPercent", "linearIntervalMinutes")}
    settings = {"bake_minutes": config["bakeMinutes"], "canary_percent": config["canaryPercent"],
                "canary_interval_minutes": config["canaryIntervalMinutes"],
                "linear_step_percent": config["linearStepPercent"],
                "linear_interval_minutes": config["linearIntervalMinutes"]}
    base = {k: getattr(active, k) for k in ("interval", "timeout", "healthy_threshold", "deregistration_delay",
                                            "grace_period")}
    return [active if name == active.strategy else Rollout(**base, strategy=name, **settings)
            for name in STRATEGY_NAMES.values()]


def _clock(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"


def format_rollout(r: Rollout, others: list[Rollout] | None = None) -> str:
    ok = "meets" if r.to_traffic <= TRAFFIC_TARGET_SECONDS and r.drain <= DRAIN_TARGET_SECONDS else "MISSES"
    lines = [
        f"Release timeline ({r.strategy}, worst case)",
        f"  to traffic after RUNNING = interval + (healthy - 1) x interval + timeout"
        f" = {r.interval} + {r.healthy_threshold - 1} x {r.interval} + {r.timeout} = {r.to_traffic} s"
        f" (target <= {TRAFFIC_TARGET_SECONDS} s)",
        f"  old task drained         = deregistration delay = {r.drain} s (target <= {DRAIN_TARGET_SECONDS} s)",
        f"  one replacement          = start (<= grace {r.grace_period} s) + {r.to_traffic} + {r.drain}"
        f" = {r.one_task} s; {ok} the targets",
        f"  (AWS defaults: {AWS_DEFAULTS.to_traffic} s to traffic, {AWS_DEFAULTS.drain} s drain)",
    ]
    rows = [("strategy", "first request (share)", "all requests", "old tasks gone")]
    for option in others or [r]:
        marker = " *" if option.strategy == r.strategy else ""
        rows.append((option.strategy + marker, f"{_clock(option.first_request)} ({option.first_share:g} %)",
                     _clock(option.all_requests), _clock(option.old_tasks_gone)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines.append("")
    lines += ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.append("  (* this stack; seconds from the start of a deployment, new tasks booting within the grace period)")
    return "\n".join(lines)
