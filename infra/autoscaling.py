"""Application Auto Scaling for the ECS service: target tracking on CPU and on ALB requests per task."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

SCALE_OUT_COOLDOWN_SECONDS = 60
# Longer than scale-out so a short dip does not remove capacity that a burst will need again.
SCALE_IN_COOLDOWN_SECONDS = 300


@dataclass
class AutoscalingArgs:
    cluster_name: pulumi.Input[str]
    service_name: pulumi.Input[str]
    min_count: int
    max_count: int
    cpu_target_percent: int
    requests_per_target: int
    load_balancer_arn_suffix: pulumi.Input[str]
    # Requests-per-target tracking needs the one target group that serves; None when traffic moves
    # between two (blue/green, canary, linear): CPU tracking alone then.
    target_group_arn_suffix: pulumi.Input[str] | None
    tags: dict[str, str]


class Autoscaling(pulumi.ComponentResource):
    def __init__(self, name: str, args: AutoscalingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("truecaller:infra:Autoscaling", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.target = aws.appautoscaling.Target(
            "service",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", args.cluster_name, "/", args.service_name),
            min_capacity=args.min_count,
            max_capacity=args.max_count,
            tags=args.tags,
            opts=child,
        )

        def tracking(logical: str, target_value: int, predefined: dict) -> aws.appautoscaling.Policy:
            return aws.appautoscaling.Policy(
                logical,
                policy_type="TargetTrackingScaling",
                service_namespace=self.target.service_namespace,
                scalable_dimension=self.target.scalable_dimension,
                resource_id=self.target.resource_id,
                target_tracking_scaling_policy_configuration={
                    "target_value": target_value,
                    "scale_in_cooldown": SCALE_IN_COOLDOWN_SECONDS,
                    "scale_out_cooldown": SCALE_OUT_COOLDOWN_SECONDS,
                    "predefined_metric_specification": predefined,
                },
                opts=child,
            )

        self.cpu_policy = tracking(
            "cpu", args.cpu_target_percent, {"predefined_metric_type": "ECSServiceAverageCPUUtilization"}
        )
        self.requests_policy = None if args.target_group_arn_suffix is None else tracking(
            "requests",
            args.requests_per_target,
            {
                "predefined_metric_type": "ALBRequestCountPerTarget",
                "resource_label": pulumi.Output.concat(
                    args.load_balancer_arn_suffix, "/", args.target_group_arn_suffix
                ),
            },
        )

        self.register_outputs({"resourceId": self.target.resource_id})
