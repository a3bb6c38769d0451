"""The application's task definition and the Fargate service behind the load balancer, with the
deployment notes' zero-downtime rolling parameters and an automatic rollback."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from infra.containers import APP_CONTAINER, ContainerSpec, TaskSize, app_container_definitions, fargate_task_definition


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
            load_balancers=[
                {
                    "target_group_arn": args.target_group_arn,
                    "container_name": APP_CONTAINER,
                    "container_port": args.container_port,
                }
            ],
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
