"""What every task of the stack runs on: ECS cluster, capacity providers, log group, the task
execution role (scoped to exactly this stack's image, secrets and log group), the task role and
the task security group."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.naming import name_prefix

# pulumi-aws appends a 26-character unique suffix to an IAM role's name_prefix (names max 64).
ROLE_PREFIX_MAX = 38

ECS_TASKS_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


def execution_policy(repository_arn: str, log_group_arn: str, secret_arns: list[str]) -> str:
    """Least privilege for the ECS agent: pull this image, write this log group, read these secrets."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                # AWS offers no resource-level scoping for this call.
                {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
                {
                    "Sid": "PullImage",
                    "Effect": "Allow",
                    "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                    "Resource": repository_arn,
                },
                {
                    "Sid": "WriteLogs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": f"{log_group_arn}:log-stream:*",
                },
                {
                    "Sid": "ReadSecrets",
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": sorted(secret_arns),
                },
            ],
        },
        sort_keys=False,
    )


@dataclass
class ClusterArgs:
    name: str
    vpc_id: pulumi.Input[str]
    container_port: int
    load_balancer_security_group_id: pulumi.Input[str]
    repository_arn: pulumi.Input[str]
    secret_arns: list[pulumi.Input[str]]
    log_retention_days: int
    capacity_provider: str
    tags: dict[str, str]
    # The deploy role (bootstrap/) may manage and pass only roles under this path, and creates them only
    # with this permissions boundary (the most any of them may ever do).
    role_path: str = "/"
    permissions_boundary: pulumi.Input[str] | None = None


class Cluster(pulumi.ComponentResource):
    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("truecaller:infra:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # Names AWS requires to be unique: a replacement deletes the old one first instead of colliding.
        named = pulumi.ResourceOptions(parent=self, delete_before_replace=True)

        self.cluster = aws.ecs.Cluster(
            "cluster",
            name=args.name,
            settings=[{"name": "containerInsights", "value": "enabled"}],
            tags=args.tags,
            opts=named,
        )
        self.capacity_providers = aws.ecs.ClusterCapacityProviders(
            "capacity",
            cluster_name=self.cluster.name,
            capacity_providers=["FARGATE", "FARGATE_SPOT"],
            default_capacity_provider_strategies=[{"capacity_provider": args.capacity_provider, "weight": 1}],
            opts=child,
        )
        self.log_group = aws.cloudwatch.LogGroup(
            "logs",
            name=f"/ecs/{args.name}",
            retention_in_days=args.log_retention_days,
            tags=args.tags,
            opts=named,
        )

        self.execution_role = aws.iam.Role(
            "execution",
            # The path (and a known prefix) let the deploy role's IAM permissions name exactly these roles.
            name_prefix=name_prefix(f"{args.name}-exec", ROLE_PREFIX_MAX),
            path=args.role_path,
            permissions_boundary=args.permissions_boundary,
            description=f"ECS agent for {args.name}: pull image, read secrets, write logs",
            assume_role_policy=ECS_TASKS_TRUST,
            tags=args.tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            "execution",
            role=self.execution_role.id,
            policy=pulumi.Output.all(args.repository_arn, self.log_group.arn, *args.secret_arns).apply(
                lambda values: execution_policy(values[0], values[1], list(values[2:]))
            ),
            opts=child,
        )
        # The application's own AWS identity; it needs no AWS API today, so it gets no policy.
        self.task_role = aws.iam.Role(
            "task",
            name_prefix=name_prefix(f"{args.name}-task", ROLE_PREFIX_MAX),
            path=args.role_path,
            permissions_boundary=args.permissions_boundary,
            description=f"Application identity for {args.name} (no permissions granted)",
            assume_role_policy=ECS_TASKS_TRUST,
            tags=args.tags,
            opts=child,
        )

        self.task_security_group = aws.ec2.SecurityGroup(
            "tasks",
            vpc_id=args.vpc_id,
            description=f"{args.name} tasks: only the load balancer may connect",
            tags={**args.tags, "Name": f"{args.name}-tasks"},
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            "tasks-from-alb",
            security_group_id=self.task_security_group.id,
            referenced_security_group_id=args.load_balancer_security_group_id,
            ip_protocol="tcp",
            from_port=args.container_port,
            to_port=args.container_port,
            description="Container port from the load balancer only",
            tags=args.tags,
            opts=child,
        )
        # Tasks reach the external database, Redis, ECR and Secrets Manager over the internet.
        aws.vpc.SecurityGroupEgressRule(
            "tasks-outbound",
            security_group_id=self.task_security_group.id,
            ip_protocol="-1",
            cidr_ipv4="0.0.0.0/0",
            description="Outbound to databases and AWS APIs",
            tags=args.tags,
            opts=child,
        )

        self.cluster_arn = self.cluster.arn
        self.cluster_name = self.cluster.name
        self.log_group_name = self.log_group.name
        self.task_security_group_id = self.task_security_group.id

        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "logGroupName": self.log_group_name,
                "taskSecurityGroupId": self.task_security_group_id,
            }
        )
