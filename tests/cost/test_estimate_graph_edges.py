"""The estimator over graph shapes the kit's own stacks never have, in process (so `make mutate` sees it): several
services and clusters, internal and internet-facing load balancers, services whose task definition cannot be found.

Prices are policies/costing/prices.json's us-east-1 figures (its `sources` name the AWS pricing pages): Fargate x86
on-demand $0.04048 per vCPU-hour and $0.004445 per GB-hour, ALB $0.0225 per hour and $0.008 per LCU-hour, public
IPv4 $0.005 per address-hour, CloudWatch custom metrics $0.30 per metric-month, Logs ingestion $0.50 per GB.
Container Insights metric counts and event sizes are those tests/policies/test_rules.py works out from the
CloudWatch User Guide: 12 metrics per cluster, 15 per service, 10 per task family; performance events of 371 B
(cluster), 541 B (service), 1,303 B (task) and 645 B (container) a minute. 730 hours = 43,800 minutes a month.
"""

from __future__ import annotations

import json

import pytest

from costing.estimator import CostResource, estimate, region_prices  # isort: skip

SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
CLUSTER = "aws:ecs/cluster:Cluster"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"


def resource(type_: str, name: str, props: dict, deps: dict | None = None) -> CostResource:
    return CostResource(f"urn:{type_}::{name}", type_, name, props, deps or {})


def task(name: str, family: str | None = None, cpu="256", memory="512") -> CostResource:
    return resource(TASK_DEFINITION, name, {"family": family or name, "cpu": cpu, "memory": memory,
                                            "containerDefinitions": json.dumps([{"name": "app"}])})


def service(name: str, task_definition: CostResource, desired=1, **props) -> CostResource:
    return resource(SERVICE, name, {"desiredCount": desired, **props}, {"taskDefinition": [task_definition.urn]})


def cluster(name: str, insights: str | None) -> CostResource:
    settings = [{"name": "containerInsights", "value": insights}] if insights else []
    return resource(CLUSTER, name, {"name": name, "arn": f"arn:aws:ecs:us-east-1:111122223333:cluster/{name}",
                                    "settings": settings})


def line(result, prefix: str):
    (found,) = [item for item in result.lines if item.item.startswith(prefix)]
    return found


# ----------------------------------------------------------------------------- public addresses and load balancers


def test_public_addresses_of_every_public_service_eip_and_internet_facing_alb():
    web, worker = task("web"), task("worker")
    public = {"networkConfiguration": {"assignPublicIp": True, "subnets": ["subnet-a", "subnet-b"]}}
    stack = [
        web, worker,
        service("web", web, desired=2, **public),
        service("worker", worker, desired=1, **public),
        resource("aws:ec2/eip:Eip", "nat", {"domain": "vpc"}),
        # loadBalancerType defaults to application.
        resource(LOAD_BALANCER, "public", {"subnets": ["subnet-a", "subnet-b"]}),
        resource(LOAD_BALANCER, "internal", {"loadBalancerType": "application", "internal": True,
                                             "subnets": ["subnet-c", "subnet-d", "subnet-e"]}),
        resource(LOAD_BALANCER, "nlb", {"loadBalancerType": "network", "subnets": ["subnet-a"]}),
    ]
    result = estimate(stack, "us-east-1")
    # Two ALBs (the NLB is not priced as one): 2 x 730 h = 1,460 ALB-hours and, at 1 LCU each, 1,460 LCU-hours.
    alb = line(result, "ALB (")
    assert (alb.item, alb.quantity, alb.unit, alb.unit_price) == ("ALB (2)", 1460, "hour", 0.0225)
    lcu = line(result, "ALB capacity units")
    assert (lcu.quantity, lcu.unit_price) == (1460, 0.008)
    # 1 EIP + the internet-facing ALB's 2 subnets (the internal one has no public address) + 2 + 1 tasks with public
    # IPs = 6 addresses x 730 h = 4,380 address-hours x $0.005 = $21.90.
    ips = line(result, "Public IPv4")
    assert (ips.item, ips.quantity, ips.unit, ips.unit_price) == (
        "Public IPv4 (1 EIP, 2 ALB, 3 task)", 4380, "IP-hour", 0.005)
    assert ips.monthly == pytest.approx(21.90)


# ----------------------------------------------------------------------------- which task definition a service runs


def test_a_service_of_unknown_size_does_not_hide_the_next_one():
    web = task("web")
    unknown = resource(SERVICE, "jobs", {"desiredCount": 1, "taskDefinition": "jobs:3"})  # no such task definition
    result = estimate([web, unknown, service("web", web, desired=2)], "us-east-1")
    assert result.unknown == ["Fargate for jobs: task size or desired count not known until deployment"]
    # web: 2 tasks x 0.25 vCPU x 730 h = 365 vCPU-hours.
    assert line(result, "Fargate vCPU").quantity == 365


def test_a_service_without_a_task_definition_reference_is_not_matched_to_a_stray_one():
    stray = resource(TASK_DEFINITION, "migrate", {"family": "migrate", "cpu": "256", "memory": "512"})  # no arn yet
    for props in ({"desiredCount": 1}, {"desiredCount": 1, "taskDefinition": None}):
        result = estimate([stray, resource(SERVICE, "web", props)], "us-east-1")
        assert result.lines == []
        assert result.unknown == ["Fargate for web: task size or desired count not known until deployment"]


def test_a_family_reference_without_task_definitions_in_the_stack_is_unknown():
    result = estimate([resource(SERVICE, "web", {"desiredCount": 1, "taskDefinition": "web:7"})], "us-east-1")
    assert result.lines == [] and len(result.unknown) == 1


# ----------------------------------------------------------------------------- Container Insights across clusters


@pytest.mark.parametrize("other", ["enhanced", "disabled", None])
def test_insights_of_one_cluster_whatever_the_cluster_before_it(other):
    web = task("web")
    stack = [cluster("batch", other), cluster("web", "enabled"), web,
             service("web", web, cluster="arn:aws:ecs:us-east-1:111122223333:cluster/web")]
    result = estimate(stack, "us-east-1")
    metrics = line(result, "Container Insights metrics")
    # 12 (cluster) + 15 (service) + 10 (family) = 37 metrics x $0.30.
    assert (metrics.item, metrics.quantity, metrics.unit, metrics.unit_price) == (
        "Container Insights metrics (37)", 37, "metric-month", 0.30)
    events = line(result, "Container Insights performance events")
    # (371 + 541 + 1,303 + 645) B/min = 2,860 B/min x 43,800 min = 0.125268 GB at $0.50.
    assert (events.quantity, events.unit, events.unit_price) == (pytest.approx(0.125268), "GB", 0.50)
    enhanced = ["Container Insights with enhanced observability on batch (priced per observation, not modelled)"]
    assert result.unknown == (enhanced if other == "enhanced" else [])


def test_insights_of_two_clusters_add_up():
    api, jobs = task("api"), task("jobs")
    stack = [cluster("api", "enabled"), cluster("jobs", "enabled"), api, jobs,
             service("api", api, cluster="api"), service("jobs", jobs, cluster="jobs")]
    result = estimate(stack, "us-east-1")
    assert line(result, "Container Insights metrics").quantity == 74  # 2 x (12 + 15 + 10)
    # 2 x 2,860 B/min x 43,800 min = 0.250536 GB.
    assert line(result, "Container Insights performance events").quantity == pytest.approx(0.250536)


@pytest.mark.parametrize(("families", "metrics"), [
    (("api", "api"), 52),  # two revisions of one family: 12 + 2 x 15 + 10
    (("api", "worker"), 62),  # 12 + 2 x 15 + 2 x 10
])
def test_insights_count_task_families_not_task_definitions(families, metrics):
    first, second = task("first", families[0]), task("second", families[1])
    stack = [cluster("main", "enabled"), first, second, service("a", first), service("b", second)]
    assert line(estimate(stack, "us-east-1"), "Container Insights metrics").quantity == metrics


# ----------------------------------------------------------------------------- alarms and price tables


def test_target_tracking_alarms_are_priced_per_alarm_metric_month():
    policy = resource("aws:appautoscaling/policy:Policy", "cpu", {"policyType": "TargetTrackingScaling"})
    alarms = line(estimate([policy], "us-east-1"), "Target tracking alarms")
    assert (alarms.quantity, alarms.unit, alarms.unit_price) == (2, "alarm-metric-month", 0.10)  # AlarmHigh, AlarmLow


def test_the_fallback_table_has_every_item_any_region_lists():
    prices = {"regions": {"a": {"fargate": {"vcpuHour": 0.04}}, "b": {"fargate": {"vcpuHour": 0.05}, "nat": 0.06}}}
    table, note = region_prices("c", prices)
    assert table == {"fargate": {"vcpuHour": 0.05}, "nat": 0.06}
    assert "priced at the highest listed price of each item" in note
