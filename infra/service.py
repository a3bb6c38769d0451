"""The application's task definition and the Fargate service behind the load balancer, with the
deployment notes' zero-downtime rolling parameters and an automatic rollback — or ECS's own blue/green,
canary or linear traffic shift with a bake time, rolled back by the same circuit breaker and alarms."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from infra.config import ECS_STRATEGIES
from infra.containers import APP_CONTAINER, ContainerSpec, TaskSize, app_container_definitions, fargate_task_definition


@dataclass
class DeploymentStrategy:
    kind: str = "rolling"  # rolling | blue-green | canary | linear
    bake_minutes: int = 0
    canary_percent: int = 0
    canary_interval_minutes: int = 0
    linear_step_percent: int = 0
    linear_interval_minutes: int = 0


def deployment_configuration(strategy: DeploymentStrategy) -> dict:
    """The service's deploymentConfiguration block (the schema types the bake times as strings)."""
    config: dict = {"strategy": ECS_STRATEGIES[strategy.kind]}
    if strategy.kind == "rolling":
        return config
    config["bake_time_in_minutes"] = str(strategy.bake_minutes)
    if strategy.kind == "canary":
        config["canary_configuration"] = {"canary_percent": float(strategy.canary_percent),
                                          "canary_bake_time_in_minutes": str(strategy.canary_interval_minutes)}
    if strategy.kind == "linear":
        config["linear_configuration"] = {"step_percent": float(strategy.linear_step_percent),
                                          "step_bake_time_in_minutes": str(strategy.linear_interval_minutes)}
    return config


@dataclass
class TrafficShiftTargets:
    """What ECS's advancedConfiguration names for blue/green, canary and linear deployments."""

    alternate_target_group_arn: pulumi.Input[str]
    production_listener_rule_arn: pulumi.Input[str]
    test_listener_rule_arn: pulumi.Input[str]
    role_arn: pulumi.Input[str]


@dataclass
class ServiceArgs:
    name: str
    cluster_arn: pulumi.Input[str]
    size: TaskSize
    capacity_provider: str
    desired_count: int
    execution_role_arn: pulumi.Input[str]
    task_role_arn: pulumi.Input[str]
    container: ContainerSpec
    subnet_ids: list[pulumi.Input[str]]
    assign_public_ip: bool
    security_group_id: pulumi.Input[str]
    target_group_arn: pulumi.Input[str]
    container_port: int
    minimum_healthy_percent: int
    maximum_percent: int
    health_check_grace_period_seconds: int
    deployment_alarm_names: list[pulumi.Input[str]]
    tags: dict[str, str]
    strategy: DeploymentStrategy = field(default_factory=DeploymentStrategy)
    traffic_shift: TrafficShiftTargets | None = None  # required by every strategy but rolling
    # Resources the service must wait for: the forwarding listener (ECS refuses a target group that
    # no load balancer uses yet), the cluster's capacity providers and the secret values.
    depends_on: list[pulumi.Resource] = field(default_factory=list)


class Service(pulumi.ComponentResource):
    task_definition_arn: pulumi.Output[str]
    service_name: pulumi.Output[str]

    def __init__(self, name: str, args: ServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("truecaller:infra:Service", name, None, opts)

        self.task_definition = fargate_task_definition(
            "app",
            family=args.name,
            size=args.size,
            execution_role_arn=args.execution_role_arn,
            task_role_arn=args.task_role_arn,
            container_definitions=app_container_definitions(args.container),
            tags=args.tags,
            parent=self,
        )

        load_balancer = {"target_group_arn": args.target_group_arn, "container_name": APP_CONTAINER,
                         "container_port": args.container_port}
        if args.traffic_shift is not None:
            shift = args.traffic_shift
            load_balancer["advanced_configuration"] = {
                "alternate_target_group_arn": shift.alternate_target_group_arn,
                "production_listener_rule": shift.production_listener_rule_arn,
                "test_listener_rule": shift.test_listener_rule_arn,
                "role_arn": shift.role_arn,
            }
        # ECS applies these only to tasks it starts: a change to them must start a deployment, or the
        # running tasks would keep the old placement until they happen to be replaced.
        placement = pulumi.Output.all(args.capacity_provider, args.assign_public_ip, *args.subnet_ids,
                                      args.security_group_id).apply(lambda v: ",".join(str(x) for x in v))
        self.service = aws.ecs.Service(
            "service",
            name=args.name,
            cluster=args.cluster_arn,
            task_definition=self.task_definition.arn,
            desired_count=args.desired_count,
            capacity_provider_strategies=[{"capacity_provider": args.capacity_provider, "weight": 1}],
            force_new_deployment=True,
            triggers={"placement": placement},
            platform_version="LATEST",
            network_configuration={
                "subnets": args.subnet_ids,
                "security_groups": [args.security_group_id],
                "assign_public_ip": args.assign_public_ip,
            },
            load_balancers=[load_balancer],
            deployment_configuration=deployment_configuration(args.strategy),
            deployment_minimum_healthy_percent=args.minimum_healthy_percent,
            deployment_maximum_percent=args.maximum_percent,
            health_check_grace_period_seconds=args.health_check_grace_period_seconds,
            deployment_circuit_breaker={"enable": True, "rollback": True},
            alarms={"alarm_names": args.deployment_alarm_names, "enable": True, "rollback": True}
            if args.deployment_alarm_names
            else None,
            # `pulumi up` returns only once the new tasks are healthy (or the circuit breaker rolled back).
            wait_for_steady_state=True,
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            tags=args.tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=args.depends_on,
                # A service name is unique in its cluster: a replacement must remove the old one first.
                delete_before_replace=True,
                # The autoscaler owns the running count; `up` must not reset it.
                ignore_changes=["desiredCount"],
            ),
        )

        self.task_definition_arn = self.task_definition.arn
        self.task_definition_family = self.task_definition.family
        self.service_name = self.service.name

        self.register_outputs({"serviceName": self.service_name, "taskDefinitionArn": self.task_definition_arn})
