"""Progressive delivery: ECS's own blue/green, canary and linear deployments, one config key away, with
everything ECS needs in the graph (second target group, listener rules, test listener, traffic-shift
role) and the circuit breaker and alarms still rolling back."""

from __future__ import annotations

import copy
import json
import typing

import pulumi_aws as aws
import pytest

from infra.config import ConfigError
from offline.rollout import Rollout, alternatives, rollout_of
from offline.runtime import evaluate_stack

SERVICE = "aws:ecs/service:Service"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
RULE = "aws:lb/listenerRule:ListenerRule"
LISTENER = "aws:lb/listener:Listener"
SHIFTING = ["blue-green", "canary", "linear"]


@pytest.fixture(scope="module")
def by_strategy(variant) -> dict:
    return {strategy: variant("prod", deploymentStrategy=strategy) for strategy in SHIFTING}


def test_rolling_stays_the_default_with_one_target_group(prod):
    service = prod.one(SERVICE).inputs
    assert service["deploymentConfiguration"] == {"strategy": "ROLLING"}
    assert "advancedConfiguration" not in service["loadBalancers"][0]
    assert len(prod.of_type(TARGET_GROUP)) == 1 and not prod.of_type(RULE)
    assert {p.name for p in prod.of_type("aws:appautoscaling/policy:Policy")} == {"cpu", "requests"}


@pytest.mark.parametrize(("strategy", "expected"), [
    ("blue-green", {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": "10"}),
    ("canary", {"strategy": "CANARY", "bakeTimeInMinutes": "10",
                "canaryConfiguration": {"canaryPercent": 10, "canaryBakeTimeInMinutes": "5"}}),
    ("linear", {"strategy": "LINEAR", "bakeTimeInMinutes": "10",
                "linearConfiguration": {"stepPercent": 25, "stepBakeTimeInMinutes": "5"}}),
])
def test_the_service_deploys_with_the_configured_strategy(by_strategy, strategy, expected):
    service = by_strategy[strategy].one(SERVICE).inputs
    assert service["deploymentConfiguration"] == expected
    # Alarms and the circuit breaker still roll back a bad release, during the shift and the bake.
    assert service["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert service["alarms"]["rollback"] is True and len(service["alarms"]["alarmNames"]) == 2


def _hint(cls, field: str):
    return typing.get_type_hints(cls.__init__)[field]


def test_the_strategy_fields_have_the_types_of_the_pulumi_aws_schema(by_strategy):
    # The SDK's argument classes are generated from the provider schema: bake times are strings,
    # percentages numbers. The mock runtime checks none of this.
    assert "str" in str(_hint(aws.ecs.ServiceDeploymentConfigurationArgs, "bake_time_in_minutes"))
    assert "float" in str(_hint(aws.ecs.ServiceDeploymentConfigurationCanaryConfigurationArgs, "canary_percent"))
    assert "str" in str(_hint(aws.ecs.ServiceDeploymentConfigurationCanaryConfigurationArgs,
                              "canary_bake_time_in_minutes"))
    assert "float" in str(_hint(aws.ecs.ServiceDeploymentConfigurationLinearConfigurationArgs, "step_percent"))
    canary = by_strategy["canary"].one(SERVICE).inputs["deploymentConfiguration"]
    linear = by_strategy["linear"].one(SERVICE).inputs["deploymentConfiguration"]
    assert isinstance(canary["bakeTimeInMinutes"], str)
    assert isinstance(canary["canaryConfiguration"]["canaryBakeTimeInMinutes"], str)
    assert isinstance(canary["canaryConfiguration"]["canaryPercent"], float)
    assert isinstance(linear["linearConfiguration"]["stepPercent"], float)
    assert isinstance(linear["linearConfiguration"]["stepBakeTimeInMinutes"], str)


@pytest.mark.parametrize("strategy", SHIFTING)
def test_ecs_gets_two_target_groups_listener_rules_and_the_traffic_shift_role(by_strategy, strategy):
    plan = by_strategy[strategy]
    service = plan.one(SERVICE)
    (balancer,) = service.inputs["loadBalancers"]
    advanced = balancer["advancedConfiguration"]
    primary, alternate = plan.one(TARGET_GROUP, "app"), plan.one(TARGET_GROUP, "app-alternate")
    assert balancer["targetGroupArn"] == primary.outputs["arn"]
    assert advanced["alternateTargetGroupArn"] == alternate.outputs["arn"]
    assert alternate.inputs["targetType"] == "ip"  # required for Fargate
    assert alternate.inputs["healthCheck"] == primary.inputs["healthCheck"]

    production, test = plan.one(RULE, "production"), plan.one(RULE, "test")
    assert advanced["productionListenerRule"] == production.outputs["arn"]
    assert advanced["testListenerRule"] == test.outputs["arn"]
    https = plan.one(LISTENER, "https")
    assert production.inputs["listenerArn"] == https.outputs["arn"]
    test_listener = plan.one(LISTENER, "test")
    assert test.inputs["listenerArn"] == test_listener.outputs["arn"]
    assert (test_listener.inputs["port"], test_listener.inputs["protocol"]) == (8443, "HTTPS")
    for rule in (production, test):
        assert rule.inputs["conditions"] == [{"pathPattern": {"values": ["/*"]}}]
        weights = {g["arn"]: g["weight"] for g in rule.inputs["actions"][0]["forward"]["targetGroups"]}
        assert weights == {primary.outputs["arn"]: 100, alternate.outputs["arn"]: 0}
        assert rule.ignore_changes == ["actions"]  # ECS moves the weights; `up` must not move them back
        assert rule.urn in service.dependencies

    role = plan.one("aws:iam/role:Role", "traffic-shift")
    assert advanced["roleArn"] == role.outputs["arn"]
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "ecs.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    policy = plan.one("aws:iam/rolePolicy:RolePolicy", "traffic-shift")
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert statements["RegisterTasks"]["Resource"] == sorted([primary.outputs["arn"], alternate.outputs["arn"]])
    assert set(statements["ShiftTraffic"]["Resource"]) == {
        https.outputs["arn"], test_listener.outputs["arn"], production.outputs["arn"], test.outputs["arn"]}
    assert statements["ShiftTraffic"]["Action"] == ["elasticloadbalancing:ModifyListener",
                                                    "elasticloadbalancing:ModifyRule"]
    assert statements["ReadLoadBalancer"]["Resource"] == "*"
    assert all(a.startswith("elasticloadbalancing:Describe") for a in statements["ReadLoadBalancer"]["Action"])


def test_the_test_listener_is_closed_to_the_internet_unless_a_cidr_is_given(by_strategy):
    def test_port_rules(plan):
        return [r.inputs for r in plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
                if r.inputs["fromPort"] == 8443]

    assert test_port_rules(by_strategy["blue-green"]) == []
    opened = evaluate_stack("prod", config_overrides={"deploymentStrategy": "blue-green",
                                                      "testListenerCidr": "203.0.113.0/24"})
    (rule,) = test_port_rules(opened)
    assert rule["cidrIpv4"] == "203.0.113.0/24" and rule["toPort"] == 8443


def test_observability_follows_traffic_across_both_target_groups(by_strategy):
    plan = by_strategy["blue-green"]
    suffixes = {t.outputs["arnSuffix"] for t in plan.of_type(TARGET_GROUP)}
    unhealthy = plan.one("aws:cloudwatch/metricAlarm:MetricAlarm", "unhealthy-hosts").inputs
    groups = {q["metric"]["dimensions"]["TargetGroup"] for q in unhealthy["metricQueries"] if "metric" in q}
    assert groups == suffixes and unhealthy["metricQueries"][-1]["expression"] == "SUM(METRICS())"
    target_5xx = plan.one("aws:cloudwatch/metricAlarm:MetricAlarm", "target-5xx-rate").inputs
    assert all("TargetGroup" not in q["metric"]["dimensions"] for q in target_5xx["metricQueries"] if "metric" in q)
    # Requests per target would follow one group while traffic sits in the other: CPU tracking only.
    assert {p.name for p in plan.of_type("aws:appautoscaling/policy:Policy")} == {"cpu"}


@pytest.mark.parametrize(("overrides", "fragment"), [
    ({"canaryPercent": 20}, "canaryPercent = 20 but deploymentStrategy is 'rolling'"),
    ({"deploymentStrategy": "linear", "canaryPercent": 20}, "deploymentStrategy is 'linear'"),
    ({"bakeMinutes": 30}, "bakeMinutes = 30 but deploymentStrategy is 'rolling'"),
    ({"deploymentStrategy": "blue-green", "testListenerPort": 443}, "testListenerPort = 443 is a production"),
    ({"deploymentStrategy": "canary", "canaryPercent": 100}, "canaryPercent = '100' is invalid"),
    ({"deploymentStrategy": "linear", "linearStepPercent": 2}, "linearStepPercent = '2' is invalid"),
    ({"deploymentStrategy": "canary", "bakeMinutes": 1441}, "bakeMinutes = '1441' is invalid"),
    ({"deploymentStrategy": "green"}, "deploymentStrategy = 'green' is invalid"),
    ({"deploymentStrategy": "blue-green", "testListenerCidr": "everyone"}, "testListenerCidr = 'everyone'"),
])
def test_bad_strategy_settings_name_the_key_and_the_fix(overrides, fragment):
    with pytest.raises(ConfigError) as raised:
        evaluate_stack("prod", config_overrides=overrides)
    assert any(fragment in p for p in raised.value.problems), raised.value.problems
    assert "Fix: pulumi config" in str(raised.value)


# Hand-computed from prod's settings: grace 120 s, health check every 10 s, 2 passes, 5 s timeout (to
# traffic 25 s), 15 s drain, bake 10 min, canary 10 % for 5 min, linear 25 % every 5 min (4 steps).
TIMELINES = {
    "rolling": (145, 100, 145, 160),
    "blue-green": (145, 100, 145, 760),
    "canary": (145, 10, 445, 1060),
    "linear": (145, 25, 1045, 1660),
}


@pytest.mark.parametrize("strategy", list(TIMELINES))
def test_the_release_timeline_of_each_strategy(prod, by_strategy, strategy):
    plan = prod if strategy == "rolling" else by_strategy[strategy]
    timeline = rollout_of(plan)
    assert timeline.strategy == strategy
    assert (timeline.first_request, timeline.first_share, timeline.all_requests, timeline.old_tasks_gone) == \
        TIMELINES[strategy]


def test_the_plan_compares_every_strategy_from_the_same_settings(prod):
    options = {r.strategy: r for r in alternatives(prod)}
    assert list(options) == ["rolling", "blue-green", "canary", "linear"]
    assert {s: (r.first_request, r.first_share, r.all_requests, r.old_tasks_gone)
            for s, r in options.items()} == TIMELINES


@pytest.mark.parametrize(("strategy", "settings", "expected"), [
    # ECS's defaults (API Reference: CanaryConfiguration, LinearConfiguration): 5 % for 10 minutes;
    # 10 % steps 6 minutes apart, so 9 waits before the last step. The first request: 145 s (TIMELINES).
    ("canary", "canaryConfiguration", (145, 5, 145 + 10 * 60)),
    ("linear", "linearConfiguration", (145, 10, 145 + 9 * 6 * 60)),
])
def test_a_graph_that_leaves_the_shift_settings_out_gets_ecs_defaults(by_strategy, strategy, settings, expected):
    plan = copy.deepcopy(by_strategy[strategy])
    del plan.one(SERVICE).inputs["deploymentConfiguration"][settings]  # a hand-made or imported service
    timeline = rollout_of(plan)
    assert (timeline.first_request, timeline.first_share, timeline.all_requests) == expected


def test_a_fractional_canary_share_is_kept(by_strategy):
    plan = copy.deepcopy(by_strategy["canary"])
    plan.one(SERVICE).inputs["deploymentConfiguration"]["canaryConfiguration"]["canaryPercent"] = 2.5  # 0.1 steps
    assert rollout_of(plan).first_share == 2.5


def test_a_linear_step_that_does_not_divide_100_takes_one_more_step():
    linear = Rollout(interval=10, timeout=5, healthy_threshold=2, deregistration_delay=15, grace_period=0,
                     strategy="linear", bake_minutes=0, linear_step_percent=30, linear_interval_minutes=1)
    assert linear.all_requests == 25 + 3 * 60  # 30, 60, 90, 100 %


# What each strategy adds to the monthly estimate, computed by hand from prod (2 tasks of 0.5 vCPU /
# 1 GB) and 20 releases a month: the second task set runs for the shift and the bake of each release.
#   blue-green: 10 min bake                 -> 2 x 10/60 x 20 =  6.667 task-hours
#   canary:     5 min canary + 10 min bake  -> 2 x 15/60 x 20 = 10.0
#   linear:     3 more steps x 5 + 10 bake  -> 2 x 25/60 x 20 = 16.667
EXTRA_TASK_HOURS = {"blue-green": 20 / 3, "canary": 10.0, "linear": 50 / 3}


@pytest.mark.parametrize("strategy", SHIFTING)
def test_the_estimate_prices_the_second_task_set_and_names_the_second_target_group(by_strategy, strategy):
    from offline.cost import estimate_planned

    lines = {line.item: line for line in estimate_planned(by_strategy[strategy]).lines}
    vcpu = next(line for item, line in lines.items() if item.startswith(f"Fargate vCPU ({strategy}: second task set"))
    memory = next(line for item, line in lines.items() if item.startswith(f"Fargate memory ({strategy}: second"))
    assert vcpu.quantity == pytest.approx(EXTRA_TASK_HOURS[strategy] * 0.5)
    assert memory.quantity == pytest.approx(EXTRA_TASK_HOURS[strategy] * 1.0)
    assert vcpu.unit_price == 0.04656 and memory.unit_price == 0.00511  # eu-central-1 x86 on-demand
    (target_group,) = [line for item, line in lines.items() if item.startswith("Second target group")]
    assert target_group.monthly == 0


def test_rolling_adds_nothing_and_releases_per_month_scale_the_extra(prod):
    from offline.cost import estimate_planned

    assert not [line for line in estimate_planned(prod).lines if "second task set" in line.item]
    fewer = evaluate_stack("prod", config_overrides={"deploymentStrategy": "canary", "costDeploysPerMonth": 5})
    (vcpu,) = [line for line in estimate_planned(fewer).lines if line.item.startswith("Fargate vCPU (canary")]
    assert vcpu.quantity == pytest.approx(2 * 15 / 60 * 5 * 0.5)
