"""Container definitions (the JSON ECS expects) shared by the service and the migration task."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

APP_CONTAINER = "app"
MIGRATION_CONTAINER = "migrate"
APP_LOG_PREFIX = "app"
MIGRATION_LOG_PREFIX = "migrate"
MIGRATION_COMMAND = ["npx", "prisma", "migrate", "deploy"]
STOP_TIMEOUT_SECONDS = 30  # ECS sends SIGTERM, then SIGKILL after this


@dataclass
class ContainerSpec:
    image: pulumi.Input[str]
    region: pulumi.Input[str]
    log_group_name: pulumi.Input[str]
    secret_arns: Mapping[str, pulumi.Input[str]]  # secret key -> ARN
    secret_env_names: Mapping[str, str]  # secret key -> environment variable
    container_port: int
    health_check_path: str
    start_period_seconds: int


def _definition(
    name: str,
    image: str,
    region: str,
    log_group: str,
    log_prefix: str,
    secrets: list[dict[str, str]],
    environment: list[dict[str, str]],
    extra: dict,
) -> dict:
    return {
        "name": name,
        "image": image,
        "essential": True,
        "environment": environment,
        # Values are resolved by the ECS agent at start: they never appear in the task definition.
        "secrets": secrets,
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group,
                "awslogs-region": region,
                "awslogs-stream-prefix": log_prefix,
            },
        },
        "stopTimeout": STOP_TIMEOUT_SECONDS,
        **extra,
    }


def _render(spec: ContainerSpec, build) -> pulumi.Output[str]:
    keys = sorted(spec.secret_arns)
    return pulumi.Output.all(
        spec.image, spec.region, spec.log_group_name, *(spec.secret_arns[k] for k in keys)
    ).apply(
        lambda v: json.dumps(
            [
                build(
                    image=v[0],
                    region=v[1],
                    log_group=v[2],
                    secrets=[
                        {"name": spec.secret_env_names[k], "valueFrom": arn} for k, arn in zip(keys, v[3:], strict=True)
                    ],
                )
            ]
        )
    )


def app_container_definitions(spec: ContainerSpec) -> pulumi.Output[str]:
    health_url = f"http://127.0.0.1:{spec.container_port}{spec.health_check_path}"
    # Exec form, no shell: the path reaches node as one argument and the URL as a JS string literal.
    script = f"fetch({json.dumps(health_url)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
    probe = ["CMD", "node", "-e", script]
    return _render(
        spec,
        lambda image, region, log_group, secrets: _definition(
            APP_CONTAINER,
            image,
            region,
            log_group,
            APP_LOG_PREFIX,
            secrets,
            environment=[
                {"name": "NODE_ENV", "value": "production"},
                {"name": "PORT", "value": str(spec.container_port)},
            ],
            extra={
                "portMappings": [
                    {"containerPort": spec.container_port, "hostPort": spec.container_port, "protocol": "tcp"}
                ],
                "healthCheck": {
                    "command": probe,
                    "interval": 15,
                    "timeout": 5,
                    "retries": 3,
                    "startPeriod": spec.start_period_seconds,
                },
            },
        ),
    )


def migration_container_definitions(spec: ContainerSpec) -> pulumi.Output[str]:
    return _render(
        spec,
        lambda image, region, log_group, secrets: _definition(
            MIGRATION_CONTAINER,
            image,
            region,
            log_group,
            MIGRATION_LOG_PREFIX,
            secrets,
            environment=[{"name": "NODE_ENV", "value": "production"}],
            extra={"command": MIGRATION_COMMAND},
        ),
    )


@dataclass
class TaskSize:
    cpu: int
    memory: int
    cpu_architecture: str  # ECS value: X86_64 | ARM64


def fargate_task_definition(
    logical_name: str,
    family: str,
    size: TaskSize,
    execution_role_arn: pulumi.Input[str],
    task_role_arn: pulumi.Input[str],
    container_definitions: pulumi.Input[str],
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> aws.ecs.TaskDefinition:
    """An awsvpc Fargate task definition; the service's and the migration task's differ only in
    family and containers.

    Every change registers a new revision; ``skip_destroy`` keeps the superseded one ACTIVE instead of
    deregistering it, so `ops rollback` (and ECS's own rollback) can return to it: an INACTIVE revision
    can neither run tasks nor be the target of UpdateService.
    """
    return aws.ecs.TaskDefinition(
        logical_name,
        family=family,
        requires_compatibilities=["FARGATE"],
        network_mode="awsvpc",
        cpu=str(size.cpu),
        memory=str(size.memory),
        runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": size.cpu_architecture},
        execution_role_arn=execution_role_arn,
        task_role_arn=task_role_arn,
        container_definitions=container_definitions,
        skip_destroy=True,
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
