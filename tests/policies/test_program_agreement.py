"""The program's config checks and the pack's policies judge the same values the same way.

infra/config.py stops a bad value before any resource exists; the pack judges the resource the value
becomes. The pack is published on its own (its folder and virtualenv), so each rule exists twice: these
tests run both over a grid of values, with the default thresholds and with the pack's config changed,
and require the same verdict and the pack's wording in the program's message.
"""

from __future__ import annotations

import itertools

import pytest

from infra.config import FARGATE_TASK_SIZES, LOG_RETENTION_DAYS, SECRET_SPECS, ConfigError, parse_config
from tests.conftest import ROOT
from tests.policies.harness import resource_violations

from guardrails import cloudwatch, ecs  # isort: skip

SERVICE = "aws:ecs/service:Service"
SECRETS = {config_key: ("value", True) for _env, config_key in SECRET_SPECS.values()}


def program_problems(raw: dict[str, str], policy_config: dict | None = None) -> list[str]:
    try:
        parse_config({"domainName": "api.example.com", **raw}, project="truecaller-backend", stack="prod",
                     project_dir=ROOT, secret_config=SECRETS, policy_config=policy_config or {})
    except ConfigError as error:
        return error.problems
    return []


@pytest.mark.parametrize("wanted", [7, 30])
def test_log_retention(wanted):
    policy_config = {"log-retention": {"retentionDays": wanted}}
    for days in LOG_RETENTION_DAYS:
        pack = cloudwatch.retention_problem(days, wanted)
        program = [p for p in program_problems({"logRetentionDays": str(days)}, policy_config)
                   if "logRetentionDays" in p]
        assert bool(program) == bool(pack), (days, program, pack)
        if pack:
            sentence = pack.split(". ")[0].lower()  # "log group keeps logs 14 days; the guideline is exactly 7"
            assert sentence in program[0].lower(), (program[0], pack)


ROLLING = [  # program key, pack threshold, grid (inside the program's own valid range)
    ("deploymentMinimumHealthyPercent", "minimumHealthyPercent", (0, 50, 99, 100)),
    ("deploymentMaximumPercent", "maximumPercent", (150, 199, 200, 250)),
    ("healthCheckGracePeriodSeconds", "healthCheckGracePeriodSeconds", (0, 30, 119, 120, 300)),
]


@pytest.mark.parametrize("thresholds", [{}, {"minimumHealthyPercent": 50, "maximumPercent": 150,
                                             "healthCheckGracePeriodSeconds": 30}], ids=["defaults", "configured"])
@pytest.mark.parametrize(("key", "threshold", "grid"), ROLLING, ids=[row[0] for row in ROLLING])
def test_zero_downtime_rolling(key, threshold, grid, thresholds):
    passing = {"deploymentMinimumHealthyPercent": 100, "deploymentMaximumPercent": 200,
               "healthCheckGracePeriodSeconds": 300}
    for value in grid:
        props = {**passing, key: value, "loadBalancers": [{"containerPort": 3000}],
                 "deploymentCircuitBreaker": {"enable": True, "rollback": True}}
        pack = resource_violations(ecs.zero_downtime_rolling, SERVICE, props, thresholds)
        program = [p for p in program_problems({key: str(value)}, {"ecs-zero-downtime-rolling": thresholds})
                   if "ecs-zero-downtime-rolling" in p]
        assert bool(program) == bool(pack), (value, program, pack)
        if pack:
            (message,) = pack
            needs = message.split("; ", 1)[1].rstrip(".")  # "needs >= 100 so old tasks keep serving ..."
            assert needs in program[0], (program[0], message)


def test_fargate_task_sizes():
    memories = sorted({m for sizes in FARGATE_TASK_SIZES.values() for m in sizes} | {768, 1536, 3000})
    for cpu, memory in itertools.product(FARGATE_TASK_SIZES, memories):
        pack = ecs.fargate_size_problem(cpu, memory)
        program = [p for p in program_problems({"cpu": str(cpu), "memory": str(memory)}) if ":memory =" in p]
        assert bool(program) == bool(pack), (cpu, memory, program, pack)


def test_cost_assumption_defaults():
    """A stack without costLogGbPerMonth & co. is priced with the pack's own assumptions (the budget policy
    in CI) and with the program's declared defaults (make plan): the two must be the same usage."""
    from costing.estimator import Assumptions  # isort: skip

    from infra.config import SETTINGS_BY_KEY

    pairs = {"costLogGbPerMonth": "log_gb_per_month", "costNatGbPerMonth": "nat_gb_per_month",
             "costAlbLcu": "alb_lcu", "costDeploysPerMonth": "deploys_per_month"}
    assert sorted(pairs) == sorted(key for key in SETTINGS_BY_KEY if key.startswith("cost"))
    for key, field in pairs.items():
        assert SETTINGS_BY_KEY[key].default == getattr(Assumptions(), field), key
