"""Autoscaling, alarms, deployment alarms and the dashboard, per stack (issue 6)."""

from __future__ import annotations

import json

import pytest

from offline.runtime import evaluate_stack
from tests.test_aws_shapes import _int, validate

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def alarms(plan) -> dict[str, dict]:
    return {a.name: a.inputs for a in plan.of_type(ALARM)}


def suffixes(plan) -> tuple[str, str]:
    lb = plan.one("aws:lb/loadBalancer:LoadBalancer").outputs["arnSuffix"]
    tg = plan.one("aws:lb/targetGroup:TargetGroup").outputs["arnSuffix"]
    return lb, tg


@pytest.mark.parametrize(("stack", "low", "high"), [("prod", 2, 10), ("staging", 1, 2)])
def test_scaling_target_matches_config(planned, stack, low, high):
    plan = planned[stack]
    target = plan.one("aws:appautoscaling/target:Target")
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (low, high)
    assert target.inputs["resourceId"] == f"service/truecaller-backend-{stack}/truecaller-backend-{stack}"
    assert target.inputs["scalableDimension"] == "ecs:service:DesiredCount"
    service = plan.one("aws:ecs/service:Service")
    assert service.inputs["desiredCount"] == low and "desiredCount" in service.ignore_changes


def test_scaling_policies_track_cpu_and_requests_of_this_stacks_target_group(stack_plan):
    lb, tg = suffixes(stack_plan)
    policies = {p.name: p.inputs for p in stack_plan.of_type("aws:appautoscaling/policy:Policy")}
    assert set(policies) == {"cpu", "requests"}
    cpu = policies["cpu"]["targetTrackingScalingPolicyConfiguration"]
    requests = policies["requests"]["targetTrackingScalingPolicyConfiguration"]
    assert cpu["predefinedMetricSpecification"] == {"predefinedMetricType": "ECSServiceAverageCPUUtilization"}
    assert cpu["targetValue"] == 60
    assert requests["predefinedMetricSpecification"] == {
        "predefinedMetricType": "ALBRequestCountPerTarget",
        "resourceLabel": f"{lb}/{tg}",
    }
    for config in (cpu, requests):
        assert config["scaleInCooldown"] > config["scaleOutCooldown"]
    for policy in policies.values():
        params = {
            "PolicyName": "p",
            "ServiceNamespace": policy["serviceNamespace"],
            "ResourceId": policy["resourceId"],
            "ScalableDimension": policy["scalableDimension"],
            "PolicyType": policy["policyType"],
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": policy["targetTrackingScalingPolicyConfiguration"]["targetValue"],
                "PredefinedMetricSpecification": {
                    k[0].upper() + k[1:]: v
                    for k, v in policy["targetTrackingScalingPolicyConfiguration"][
                        "predefinedMetricSpecification"].items()
                },
                "ScaleInCooldown": _int(policy["targetTrackingScalingPolicyConfiguration"]["scaleInCooldown"]),
                "ScaleOutCooldown": _int(policy["targetTrackingScalingPolicyConfiguration"]["scaleOutCooldown"]),
            },
        }
        assert validate("application-autoscaling", "PutScalingPolicy", params) == ""


def test_every_alarm_watches_this_stacks_resources(stack_plan):
    lb, tg = suffixes(stack_plan)
    name = f"truecaller-backend-{stack_plan.stack}"
    found = alarms(stack_plan)
    assert set(found) == {
        "alb-5xx-rate", "target-5xx-rate", "unhealthy-hosts", "p95-latency", "cpu-high", "memory-high",
        "tasks-below-desired",
    }

    def metrics(alarm):
        if "metricQueries" in alarm:
            return [q["metric"] for q in alarm["metricQueries"] if "metric" in q]
        return [{"metricName": alarm["metricName"], "namespace": alarm["namespace"],
                 "dimensions": alarm["dimensions"]}]

    ecs = {"ClusterName": name, "ServiceName": name}
    expected = {
        "alb-5xx-rate": ({"HTTPCode_ELB_5XX_Count", "RequestCount"}, {"LoadBalancer": lb}, 5),
        # Per load balancer: under blue/green the traffic moves between two target groups.
        "target-5xx-rate": ({"HTTPCode_Target_5XX_Count", "RequestCount"}, {"LoadBalancer": lb}, 5),
        "unhealthy-hosts": ({"UnHealthyHostCount"}, {"LoadBalancer": lb, "TargetGroup": tg}, 0),
        "p95-latency": ({"TargetResponseTime"}, {"LoadBalancer": lb}, 1),
        "cpu-high": ({"CPUUtilization"}, ecs, 85),
        "memory-high": ({"MemoryUtilization"}, ecs, 85),
        "tasks-below-desired": ({"RunningTaskCount", "DesiredTaskCount"}, ecs, 0),
    }
    for alarm_name, (metric_names, dimensions, threshold) in expected.items():
        alarm = found[alarm_name]
        assert {m["metricName"] for m in metrics(alarm)} == metric_names, alarm_name
        assert all(m["dimensions"] == dimensions for m in metrics(alarm)), alarm_name
        assert alarm["threshold"] == threshold, alarm_name
        assert alarm["name"] == f"{name}-{alarm_name}"
    assert found["p95-latency"]["extendedStatistic"] == "p95"


def test_alarms_notify_the_stacks_topic(stack_plan):
    topic = stack_plan.one("aws:sns/topic:Topic")
    for name, alarm in alarms(stack_plan).items():
        assert alarm["alarmActions"] == [topic.outputs["arn"]], name
        assert alarm["okActions"] == [topic.outputs["arn"]], name
    assert stack_plan.of_type("aws:sns/topicSubscription:TopicSubscription") == []


def test_alarm_email_subscribes_to_the_topic():
    plan = evaluate_stack("prod", config_overrides={"alarmEmail": "oncall@example.com"})
    subscription = plan.one("aws:sns/topicSubscription:TopicSubscription")
    assert subscription.inputs["endpoint"] == "oncall@example.com" and subscription.inputs["protocol"] == "email"
    assert subscription.inputs["topic"] == plan.one("aws:sns/topic:Topic").outputs["arn"]


def test_alarms_are_valid_put_metric_alarm_requests(stack_plan):
    def upper(d):
        if isinstance(d, dict):
            return {k[0].upper() + k[1:]: upper(v) for k, v in d.items()}
        if isinstance(d, list):
            return [upper(x) for x in d]
        return _int(d)

    for name, alarm in alarms(stack_plan).items():
        params = {
            "AlarmName": alarm["name"],
            "AlarmActions": alarm["alarmActions"],
            "OKActions": alarm["okActions"],
            "EvaluationPeriods": _int(alarm["evaluationPeriods"]),
            "Threshold": alarm["threshold"],
            "ComparisonOperator": alarm["comparisonOperator"],
            "TreatMissingData": alarm["treatMissingData"],
        }
        if "metricQueries" in alarm:
            params["Metrics"] = [
                {
                    "Id": q["id"],
                    "ReturnData": q["returnData"],
                    **({"Expression": q["expression"], "Label": q["label"]} if "expression" in q else {}),
                    **({"MetricStat": {
                        "Metric": {
                            "Namespace": q["metric"]["namespace"],
                            "MetricName": q["metric"]["metricName"],
                            "Dimensions": [{"Name": k, "Value": v} for k, v in q["metric"]["dimensions"].items()],
                        },
                        "Period": _int(q["metric"]["period"]),
                        "Stat": q["metric"]["stat"],
                    }} if "metric" in q else {}),
                }
                for q in alarm["metricQueries"]
            ]
        else:
            params.update(
                Namespace=alarm["namespace"],
                MetricName=alarm["metricName"],
                Dimensions=[{"Name": k, "Value": v} for k, v in alarm["dimensions"].items()],
                Period=_int(alarm["period"]),
            )
            if "extendedStatistic" in alarm:
                params["ExtendedStatistic"] = alarm["extendedStatistic"]
            else:
                params["Statistic"] = alarm["statistic"]
        assert validate("cloudwatch", "PutMetricAlarm", params) == "", name


def test_service_rolls_back_on_the_error_rate_alarms_that_exist(stack_plan):
    deployment_alarms = stack_plan.one("aws:ecs/service:Service").inputs["alarms"]
    existing = {a["name"] for a in alarms(stack_plan).values()}
    assert deployment_alarms["enable"] is True and deployment_alarms["rollback"] is True
    assert set(deployment_alarms["alarmNames"]) <= existing
    name = f"truecaller-backend-{stack_plan.stack}"
    assert sorted(deployment_alarms["alarmNames"]) == [f"{name}-alb-5xx-rate", f"{name}-target-5xx-rate"]
    service = stack_plan.one("aws:ecs/service:Service")
    alarm_urns = {a.urn for a in stack_plan.of_type(ALARM) if a.inputs["name"] in deployment_alarms["alarmNames"]}
    assert alarm_urns <= set(service.dependencies)


def test_dashboard_is_valid_and_references_real_resources(stack_plan):
    dashboard = stack_plan.one("aws:cloudwatch/dashboard:Dashboard")
    body = dashboard.inputs["dashboardBody"]
    assert validate("cloudwatch", "PutDashboard",
                    {"DashboardName": dashboard.inputs["dashboardName"], "DashboardBody": body}) == ""
    widgets = json.loads(body)["widgets"]
    titles = " ".join(w["properties"]["title"] for w in widgets)
    for topic in ("Requests", "response time", "5xx", "Healthy", "CPU", "memory", "Tasks and deployments"):
        assert topic in titles
    lb, tg = suffixes(stack_plan)
    name = f"truecaller-backend-{stack_plan.stack}"
    referenced = {v for w in widgets if w["type"] == "metric" for m in w["properties"]["metrics"] for v in m
                  if isinstance(v, str)}
    assert {lb, tg, name} <= referenced
    assert not {v for v in referenced if v.startswith(("app/", "targetgroup/"))} - {lb, tg}
    alarm_widget = next(w for w in widgets if w["type"] == "alarm")
    assert sorted(alarm_widget["properties"]["alarms"]) == sorted(a.outputs["arn"] for a in stack_plan.of_type(ALARM))
    assert all(w["properties"]["region"] == "eu-central-1" for w in widgets if w["type"] == "metric")
    assert stack_plan.outputs["dashboardUrl"].endswith(f"#dashboards/dashboard/{name}")
