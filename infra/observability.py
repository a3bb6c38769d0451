"""Alarms with an SNS topic, and one CloudWatch dashboard per stack.

Created before the service: the error-rate alarms are also the service's deployment alarms, so a
release that breaks the service is rolled back by ECS even when its health checks pass.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

PERIOD_SECONDS = 60
ERROR_RATE_PERCENT = 5
P95_LATENCY_SECONDS = 1.0
UTILISATION_PERCENT = 85


@dataclass
class ObservabilityArgs:
    name: str  # also the ECS cluster and service name
    region: pulumi.Input[str]
    load_balancer_arn_suffix: pulumi.Input[str]
    # One target group (rolling) or two (blue/green, canary, linear: traffic moves between them).
    target_group_arn_suffixes: list[pulumi.Input[str]]
    alarm_email: str
    tags: dict[str, str]


def _metric_query(query_id: str, namespace: str, metric_name: str, dimensions: dict, stat: str) -> dict:
    return {
        "id": query_id,
        "return_data": False,
        "metric": {
            "namespace": namespace,
            "metric_name": metric_name,
            "dimensions": dimensions,
            "period": PERIOD_SECONDS,
            "stat": stat,
        },
    }


def _rate_queries(numerator: str, denominator: str, dimensions: dict) -> list[dict]:
    """errors / requests * 100 over one period; no traffic counts as 0 %, not as missing data."""
    def metric(query_id: str, metric_name: str) -> dict:
        return _metric_query(query_id, "AWS/ApplicationELB", metric_name, dimensions, "Sum")

    return [
        metric("errors", numerator),
        metric("requests", denominator),
        {
            "id": "rate",
            "expression": "IF(requests > 0, 100 * errors / requests, 0)",
            "label": f"{numerator} per request (%)",
            "return_data": True,
        },
    ]


def dashboard_body(
    name: str, region: str, lb: str, target_groups: list[str], alarm_arns: list[str]
) -> str:
    ecs = {"ClusterName": name, "ServiceName": name}

    def widget(title: str, metrics: list, x: int, y: int, stat: str = "Sum", **extra) -> dict:
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": region,
                "view": "timeSeries",
                "stat": stat,
                "period": PERIOD_SECONDS,
                "metrics": metrics,
                **extra,
            },
        }

    alb = ["AWS/ApplicationELB"]
    widgets = [
        widget("Requests", [[*alb, "RequestCount", "LoadBalancer", lb]], 0, 0),
        widget(
            "Target response time (s)",
            [
                [*alb, "TargetResponseTime", "LoadBalancer", lb, {"stat": "p50"}],
                [*alb, "TargetResponseTime", "LoadBalancer", lb, {"stat": "p95"}],
                [*alb, "TargetResponseTime", "LoadBalancer", lb, {"stat": "p99"}],
            ],
            12,
            0,
            stat="p95",
        ),
        widget(
            "5xx responses",
            [
                [*alb, "HTTPCode_ELB_5XX_Count", "LoadBalancer", lb],
                [*alb, "HTTPCode_Target_5XX_Count", "LoadBalancer", lb],
            ],
            0,
            6,
        ),
        widget(
            "Healthy / unhealthy targets",
            [[*alb, metric, "TargetGroup", tg, "LoadBalancer", lb]
             for tg in target_groups for metric in ("HealthyHostCount", "UnHealthyHostCount")],
            12,
            6,
            stat="Maximum",
        ),
        widget(
            "CPU and memory (%)",
            [
                ["AWS/ECS", "CPUUtilization", "ClusterName", ecs["ClusterName"], "ServiceName", ecs["ServiceName"]],
                ["AWS/ECS", "MemoryUtilization", "ClusterName", ecs["ClusterName"], "ServiceName", ecs["ServiceName"]],
            ],
            0,
            12,
            stat="Average",
        ),
        widget(
            "Tasks and deployments",
            [
                [
                    "ECS/ContainerInsights", metric, "ClusterName", ecs["ClusterName"],
                    "ServiceName", ecs["ServiceName"],
                ]
                for metric in ("RunningTaskCount", "DesiredTaskCount", "PendingTaskCount", "DeploymentCount")
            ],
            12,
            12,
            stat="Maximum",
        ),
        {
            "type": "alarm",
            "x": 0,
            "y": 18,
            "width": 24,
            "height": 4,
            "properties": {"title": "Alarms", "alarms": sorted(alarm_arns)},
        },
    ]
    return json.dumps({"widgets": widgets})


class AlarmBuilder:
    """One method per alarm family; every alarm notifies the topic and carries the stack's tags."""

    def __init__(self, args: ObservabilityArgs, topic: aws.sns.Topic, parent: pulumi.Resource):
        self.args = args
        self.actions = {"alarm_actions": [topic.arn], "ok_actions": [topic.arn]}
        # Alarm names are unique per account and region: a replacement deletes the old alarm first.
        self.opts = pulumi.ResourceOptions(parent=parent, delete_before_replace=True)
        self.lb_dims = {"LoadBalancer": args.load_balancer_arn_suffix}
        self.ecs_dims = {"ClusterName": args.name, "ServiceName": args.name}

    def _alarm(self, logical: str, description: str, **kwargs) -> aws.cloudwatch.MetricAlarm:
        return aws.cloudwatch.MetricAlarm(
            logical,
            name=f"{self.args.name}-{logical}",
            alarm_description=description,
            tags=self.args.tags,
            opts=self.opts,
            **self.actions,
            **kwargs,
        )

    def error_rate(self, logical: str, source: str, errors_metric: str, dimensions: dict) -> aws.cloudwatch.MetricAlarm:
        return self._alarm(
            logical,
            f"{source} 5xx above {ERROR_RATE_PERCENT}% of requests for 3 minutes",
            comparison_operator="GreaterThanThreshold",
            threshold=ERROR_RATE_PERCENT,
            evaluation_periods=3,
            datapoints_to_alarm=3,
            treat_missing_data="notBreaching",
            metric_queries=_rate_queries(errors_metric, "RequestCount", dimensions),
        )

    def unhealthy_hosts(self) -> aws.cloudwatch.MetricAlarm:
        """Summed over the target groups: during a traffic shift the new tasks sit in the other one."""
        per_group = [
            _metric_query(f"unhealthy{i}", "AWS/ApplicationELB", "UnHealthyHostCount",
                          {"LoadBalancer": self.args.load_balancer_arn_suffix, "TargetGroup": suffix}, "Maximum")
            for i, suffix in enumerate(self.args.target_group_arn_suffixes)
        ]
        return self._alarm(
            "unhealthy-hosts",
            "At least one target failed its health checks for 2 minutes",
            evaluation_periods=2,
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            treat_missing_data="notBreaching",
            metric_queries=[*per_group, {"id": "unhealthy", "expression": "SUM(METRICS())",
                                         "label": "Unhealthy targets", "return_data": True}],
        )

    def p95_latency(self) -> aws.cloudwatch.MetricAlarm:
        return self._alarm(
            "p95-latency",
            f"p95 target response time above {P95_LATENCY_SECONDS}s for 5 minutes",
            namespace="AWS/ApplicationELB",
            metric_name="TargetResponseTime",
            dimensions=self.lb_dims,
            extended_statistic="p95",
            period=PERIOD_SECONDS,
            evaluation_periods=5,
            comparison_operator="GreaterThanThreshold",
            threshold=P95_LATENCY_SECONDS,
            treat_missing_data="notBreaching",
        )

    def utilisation(self, logical: str, resource: str, metric_name: str) -> aws.cloudwatch.MetricAlarm:
        return self._alarm(
            logical,
            f"Service {resource} above {UTILISATION_PERCENT}% for 5 minutes",
            namespace="AWS/ECS",
            metric_name=metric_name,
            dimensions=self.ecs_dims,
            statistic="Average",
            period=PERIOD_SECONDS,
            evaluation_periods=5,
            comparison_operator="GreaterThanThreshold",
            threshold=UTILISATION_PERCENT,
            treat_missing_data="missing",
        )

    def tasks_below_desired(self) -> aws.cloudwatch.MetricAlarm:
        def insights(query_id: str, metric_name: str) -> dict:
            return _metric_query(query_id, "ECS/ContainerInsights", metric_name, self.ecs_dims, "Average")

        return self._alarm(
            "tasks-below-desired",
            "Fewer tasks running than desired for 5 minutes (crash loop, Spot interruption, capacity)",
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            evaluation_periods=5,
            # Container Insights reports no datapoint while a deployment replaces tasks or the autoscaler
            # scales in; a gap is not a missing task. A crash loop reports running < desired.
            treat_missing_data="notBreaching",
            metric_queries=[
                insights("running", "RunningTaskCount"),
                insights("desired", "DesiredTaskCount"),
                {"id": "missing", "expression": "desired - running", "label": "Tasks missing", "return_data": True},
            ],
        )


class Observability(pulumi.ComponentResource):
    deployment_alarm_names: list[pulumi.Output[str]]
    dashboard_url: pulumi.Output[str]

    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("truecaller:infra:Observability", name, None, opts)
        named = pulumi.ResourceOptions(parent=self, delete_before_replace=True)

        self.topic = aws.sns.Topic("alarms", name=f"{args.name}-alarms", tags=args.tags, opts=named)
        if args.alarm_email:
            aws.sns.TopicSubscription(
                "alarm-email", topic=self.topic.arn, protocol="email", endpoint=args.alarm_email,
                opts=pulumi.ResourceOptions(parent=self),
            )

        build = AlarmBuilder(args, self.topic, parent=self)
        self.alb_5xx = build.error_rate("alb-5xx-rate", "Load balancer", "HTTPCode_ELB_5XX_Count", build.lb_dims)
        # Per load balancer, not per target group: blue/green moves the traffic between two groups.
        self.target_5xx = build.error_rate("target-5xx-rate", "Application", "HTTPCode_Target_5XX_Count",
                                           build.lb_dims)
        self.unhealthy_hosts = build.unhealthy_hosts()
        self.p95_latency = build.p95_latency()
        self.cpu = build.utilisation("cpu-high", "CPU", "CPUUtilization")
        self.memory = build.utilisation("memory-high", "memory", "MemoryUtilization")
        self.tasks_below_desired = build.tasks_below_desired()
        self.alarms = [
            self.alb_5xx, self.target_5xx, self.unhealthy_hosts, self.p95_latency,
            self.cpu, self.memory, self.tasks_below_desired,
        ]
        # A new deployment that raises the error rate is rolled back by ECS.
        self.deployment_alarm_names = [self.alb_5xx.name, self.target_5xx.name]

        self.dashboard = aws.cloudwatch.Dashboard(
            "dashboard",
            dashboard_name=args.name,
            dashboard_body=pulumi.Output.all(
                args.region, args.load_balancer_arn_suffix, pulumi.Output.all(*args.target_group_arn_suffixes),
                *(a.arn for a in self.alarms)
            ).apply(lambda v: dashboard_body(args.name, v[0], v[1], list(v[2]), list(v[3:]))),
            opts=named,
        )
        self.dashboard_url = pulumi.Output.from_input(args.region).apply(
            lambda region: f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
            f"#dashboards/dashboard/{args.name}"
        )
        self.topic_arn = self.topic.arn

        self.register_outputs({"dashboardUrl": self.dashboard_url, "topicArn": self.topic_arn})
