"""What a blue/green, canary or linear release adds to the monthly estimate, in process (so `make mutate` sees it).

ECS's native traffic-shifting deployments run the new (green) task set beside the old (blue) one while traffic
moves and during the bake: the estimator prices that second task set for each release. Durations come from the ECS
API Reference (DeploymentConfiguration, CanaryConfiguration, LinearConfiguration, including their documented
defaults) and the CloudFormation guide's count of linear steps; prices from policies/costing/prices.json's us-east-1
Fargate figures, which its `sources` re-checked against the AWS Fargate pricing page: x86 on-demand $0.04048 per
vCPU-hour and $0.004445 per GB-hour, ARM on-demand $0.03238 and $0.00356. Every expected figure is worked out by
hand in a comment, never by the estimator's own helpers.
"""

from __future__ import annotations

import re

import botocore.session
import pytest

from tests.policies.harness import stack_resource, stack_violations

from costing import estimator  # isort: skip
from costing.estimator import Assumptions, CostResource, estimate, traffic_shift_minutes  # isort: skip
from costing.policy import budget_policy  # isort: skip

SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
X86_VCPU_HOUR, X86_GB_HOUR = 0.04048, 0.004445  # us-east-1 Fargate, Linux x86, on-demand
ARM_VCPU_HOUR, ARM_GB_HOUR = 0.03238, 0.00356  # us-east-1 Fargate, Linux ARM, on-demand


def service_stack(deployment: dict | None, desired=2, cpu="1024", memory="2048", arm=False) -> list[CostResource]:
    """A task definition and the service running it, linked by property dependency as Pulumi records it."""
    task = CostResource("urn:td", TASK_DEFINITION, "app", {
        "family": "app", "cpu": cpu, "memory": memory,
        **({"runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}} if arm else {})})
    props = {"desiredCount": desired, **({"deploymentConfiguration": deployment} if deployment is not None else {})}
    return [task, CostResource("urn:svc", SERVICE, "app", props, {"taskDefinition": ["urn:td"]})]


def rows(result) -> list[tuple[str, float, str, float]]:
    return [(line.item, pytest.approx(line.quantity), line.unit, line.unit_price) for line in result.lines]


# ----------------------------------------------------------------------------- how long both task sets run


@pytest.mark.parametrize(("deployment", "minutes"), [
    # Rolling replaces tasks in place: no second task set, whatever else is set.
    ({}, None),
    ({"strategy": None}, None),
    ({"strategy": "ROLLING", "bakeTimeInMinutes": "10"}, None),
    # Blue/green: everything moves at once, then both revisions run for bakeTimeInMinutes.
    ({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": "15"}, 15),
    ({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0}, 0),
    # The API requires a bake time for BLUE_GREEN; a graph without one has no bake to price.
    ({"strategy": "BLUE_GREEN"}, 0),
    # Canary: canaryBakeTimeInMinutes before the rest of the traffic follows, then the bake: 5 + 10.
    ({"strategy": "CANARY", "bakeTimeInMinutes": "10",
      "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": "5"}}, 15),
    # canaryBakeTimeInMinutes defaults to 10 (API Reference, CanaryConfiguration): 10 + 10.
    ({"strategy": "CANARY", "bakeTimeInMinutes": "10", "canaryConfiguration": {"canaryPercent": 5.0}}, 20),
    ({"strategy": "CANARY", "bakeTimeInMinutes": "10"}, 20),
    # 0 is a valid canary bake ("0 to 1440 minutes"), not a missing one: the bake alone.
    ({"strategy": "CANARY", "bakeTimeInMinutes": "10",
      "canaryConfiguration": {"canaryBakeTimeInMinutes": "0"}}, 10),
    # Linear 25 %: 25, 50, 75, 100 % -- a step bake after each of the first three steps, none after 100 %
    # (CloudFormation guide: 100 / 25 - 1 = 3 steps): 3 x 5 + 10.
    ({"strategy": "LINEAR", "bakeTimeInMinutes": "10",
      "linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": "5"}}, 25),
    # 11 % does not divide 100: floor(100 / 11) = 9 step bakes (the guide's own example): 9 x 2 + 0.
    ({"strategy": "LINEAR", "bakeTimeInMinutes": "0",
      "linearConfiguration": {"stepPercent": 11.0, "stepBakeTimeInMinutes": "2"}}, 18),
    # 50 %: one step bake: 7 + 3.
    ({"strategy": "LINEAR", "bakeTimeInMinutes": 3,
      "linearConfiguration": {"stepPercent": 50, "stepBakeTimeInMinutes": 7}}, 10),
    # 100 % in one step: only the bake.
    ({"strategy": "LINEAR", "bakeTimeInMinutes": "10",
      "linearConfiguration": {"stepPercent": 100.0, "stepBakeTimeInMinutes": "5"}}, 10),
    # stepPercent defaults to 10.0 and stepBakeTimeInMinutes to 6 (API Reference, LinearConfiguration):
    # 100 / 10 - 1 = 9 step bakes x 6 + 10 = 64.
    ({"strategy": "LINEAR", "bakeTimeInMinutes": "10"}, 64),
    ({"strategy": "LINEAR", "bakeTimeInMinutes": "10", "linearConfiguration": {"stepPercent": 20.0}}, 34),  # 4 x 6
    ({"strategy": "LINEAR", "bakeTimeInMinutes": "10", "linearConfiguration": {"stepBakeTimeInMinutes": "1"}}, 19),
    ({"strategy": "LINEAR", "bakeTimeInMinutes": "10",
      "linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": "0"}}, 10),
])
def test_minutes_both_task_sets_run_per_release(deployment, minutes):
    assert traffic_shift_minutes(deployment) == minutes


# ----------------------------------------------------------------------------- the estimate's lines


def test_blue_green_prices_a_second_task_set_for_the_bake():
    result = estimate(service_stack({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": "15"}), "us-east-1")
    # 2 tasks of 1 vCPU / 2 GB all month: 2 x 1 x 730 = 1,460 vCPU-h, 2 x 2 x 730 = 2,920 GB-h.
    # Each of the 20 releases (the default) runs 2 more tasks for the 15-minute bake:
    # 2 x 15/60 h x 20 = 10 task-hours = 10 vCPU-h and 20 GB-h.
    assert rows(result) == [
        ("Fargate vCPU (x86_64, on-demand, 2 task(s))", 1460, "vCPU-hour", X86_VCPU_HOUR),
        ("Fargate memory (x86_64, on-demand, 2 task(s))", 2920, "GB-hour", X86_GB_HOUR),
        ("Fargate vCPU (blue-green: second task set 15 min x 20 releases, x86_64, on-demand, 2 task(s))", 10,
         "vCPU-hour", X86_VCPU_HOUR),
        ("Fargate memory (blue-green: second task set 15 min x 20 releases)", 20, "GB-hour", X86_GB_HOUR),
        ("Second target group (blue-green; no charge of its own, LCUs as before)", 1, "target group", 0.0),
    ]
    # 10 x $0.04048 + 20 x $0.004445 = $0.4048 + $0.0889 = $0.4937 on top of $59.1008 + $12.9794.
    assert result.total == pytest.approx(72.5739)
    assert result.unknown == []


def test_canary_on_arm_with_fewer_releases():
    result = estimate(service_stack({"strategy": "CANARY", "bakeTimeInMinutes": "10",
                                     "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": "5"}},
                                    desired=1, cpu="512", memory="1024", arm=True),
                      "us-east-1", Assumptions(deploys_per_month=4))
    # 1 task of 0.5 vCPU / 1 GB: 365 vCPU-h and 730 GB-h a month. Each of 4 releases runs a second task for
    # 5 + 10 = 15 minutes: 1 x 15/60 x 4 = 1 task-hour = 0.5 vCPU-h and 1 GB-h, at the ARM prices.
    assert rows(result)[2:] == [
        ("Fargate vCPU (canary: second task set 15 min x 4 releases, arm64, on-demand, 1 task(s))", 0.5, "vCPU-hour",
         ARM_VCPU_HOUR),
        ("Fargate memory (canary: second task set 15 min x 4 releases)", 1, "GB-hour", ARM_GB_HOUR),
        ("Second target group (canary; no charge of its own, LCUs as before)", 1, "target group", 0.0),
    ]
    # 365 x $0.03238 + 730 x $0.00356 + 0.5 x $0.03238 + 1 x $0.00356 = 11.8187 + 2.5988 + 0.01619 + 0.00356
    assert result.total == pytest.approx(14.43725)
    # The JSON document of `make plan` rounds each line to 4 decimals, the total to cents.
    document = result.to_dict()
    assert [line["monthly"] for line in document["lines"]] == [11.8187, 2.5988, 0.0162, 0.0036, 0.0]
    assert document["totalMonthlyUsd"] == 14.44


def test_linear_with_the_api_defaults():
    result = estimate(service_stack({"strategy": "LINEAR", "bakeTimeInMinutes": "10"}, desired=3, cpu="2048",
                                    memory="4096"), "us-east-1", Assumptions(deploys_per_month=10))
    # AWS's defaults, 10 % steps 6 minutes apart: 9 x 6 + 10 = 64 minutes per release. 3 tasks of 2 vCPU / 4 GB
    # x 64/60 h x 10 releases = 32 task-hours = 64 vCPU-h and 128 GB-h.
    assert rows(result)[2:] == [
        ("Fargate vCPU (linear: second task set 64 min x 10 releases, x86_64, on-demand, 3 task(s))", 64,
         "vCPU-hour", X86_VCPU_HOUR),
        ("Fargate memory (linear: second task set 64 min x 10 releases)", 128, "GB-hour", X86_GB_HOUR),
        ("Second target group (linear; no charge of its own, LCUs as before)", 1, "target group", 0.0),
    ]
    # 64 x $0.04048 + 128 x $0.004445 = $2.59072 + $0.56896 = $3.15968 a month for the releases.
    assert sum(line.monthly for line in result.lines[2:]) == pytest.approx(3.15968)


@pytest.mark.parametrize("deployment", [None, {}, {"strategy": "ROLLING", "maximumPercent": 200}])
def test_rolling_prices_only_the_running_tasks(deployment):
    result = estimate(service_stack(deployment), "us-east-1")
    assert [line.item for line in result.lines] == ["Fargate vCPU (x86_64, on-demand, 2 task(s))",
                                                    "Fargate memory (x86_64, on-demand, 2 task(s))"]


def test_a_service_of_unknown_size_prices_no_releases_either():
    stack = service_stack({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": "15"})
    stack[1] = CostResource("urn:svc", SERVICE, "app", {"deploymentConfiguration": {"strategy": "BLUE_GREEN"}},
                            {"taskDefinition": ["urn:td"]})  # desiredCount unknown at preview
    result = estimate(stack, "us-east-1")
    assert result.lines == []
    assert result.unknown == ["Fargate for app: task size or desired count not known until deployment"]


# ----------------------------------------------------------------------------- the budget policy sees it


def test_the_budget_policy_counts_the_release_overlap():
    task = stack_resource(TASK_DEFINITION, "app", {"family": "app", "cpu": "1024", "memory": "2048"})

    def service(deployment: dict):
        return stack_resource(SERVICE, "app", {"desiredCount": 2, "deploymentConfiguration": deployment},
                              {"taskDefinition": [task]})

    config = {"maxMonthlyUsd": 72.2, "region": "us-east-1", "deploysPerMonth": 20.0}
    # Rolling: $59.1008 + $12.9794 = $72.08, under the budget. Blue/green with a 15-minute bake adds $0.4937
    # (test_blue_green_prices_a_second_task_set_for_the_bake): $72.57, over it.
    assert stack_violations(budget_policy, [task, service({"strategy": "ROLLING"})], config) == []
    (message,) = stack_violations(budget_policy, [task, service({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": "15"})],
                                  config)
    assert message.startswith("Estimated $72.57/month exceeds the budget of $72.20/month.")
    assert "blue-green: second task set 15 min x 20 releases" in message


def test_the_ecs_defaults_are_the_ones_aws_documents():
    """The one copy of ECS's defaults (offline/rollout.py uses it too) against botocore's ECS model, whose
    member documentation ends "The default value is N."."""
    model = botocore.session.get_session().get_service_model("ecs")
    documented = {}
    for shape in ("CanaryConfiguration", "LinearConfiguration"):
        for name, member in model.shape_for(shape).members.items():
            documented[name] = float(re.search(r"The default value is ([0-9.]+?)\.?(?:</p>| )",
                                               member.documentation).group(1))
    assert documented == {"canaryPercent": estimator.CANARY_PERCENT,
                          "canaryBakeTimeInMinutes": estimator.CANARY_BAKE_MINUTES,
                          "stepPercent": estimator.LINEAR_STEP_PERCENT,
                          "stepBakeTimeInMinutes": estimator.LINEAR_STEP_MINUTES}
