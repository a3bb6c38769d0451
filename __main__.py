"""truecaller-backend on ECS Fargate, wired in the order of the deployment notes:
config -> network -> registry/image -> secrets -> domain -> load balancer (+ traffic shift for
blue/green, canary, linear) -> cluster -> migration task
-> observability (its error-rate alarms guard the service's deployments) -> service -> autoscaling
-> exports."""

import pulumi
import pulumi_aws as aws

from infra.autoscaling import Autoscaling, AutoscalingArgs
from infra.cluster import Cluster, ClusterArgs
from infra.config import load_config
from infra.containers import (
    APP_CONTAINER,
    APP_LOG_PREFIX,
    MIGRATION_CONTAINER,
    MIGRATION_LOG_PREFIX,
    ContainerSpec,
    TaskSize,
)
from infra.domain import Domain, DomainArgs
from infra.load_balancer import LoadBalancer, LoadBalancerArgs
from infra.migration import MigrationTask, MigrationTaskArgs
from infra.naming import permissions_boundary_arn
from infra.network import Network, NetworkArgs
from infra.observability import Observability, ObservabilityArgs
from infra.registry import Registry, RegistryArgs
from infra.secrets import Secrets, SecretsArgs
from infra.service import DeploymentStrategy, Service, ServiceArgs, TrafficShiftTargets
from infra.traffic_shift import TrafficShift, TrafficShiftArgs

cfg = load_config()  # validates everything before a single resource is registered
region = aws.get_region_output().region
identity = aws.get_caller_identity_output()
# Every role carries the workload boundary the bootstrap created in this account (the CI deploy role
# creates roles only with it); permissionsBoundaryArn names another one.
permissions_boundary = cfg.permissions_boundary_arn or identity.apply(
    lambda i: permissions_boundary_arn(i.arn.split(":")[1], i.account_id, cfg.project))

network = Network(
    "network",
    NetworkArgs(name=cfg.name, cidr_block=cfg.vpc_cidr, az_count=cfg.az_count, nat_mode=cfg.nat_mode, tags=cfg.tags),
)

registry = Registry(
    "registry",
    RegistryArgs(
        name=cfg.name,
        image_context=cfg.image_context,
        dockerfile=cfg.dockerfile,
        platform=cfg.docker_platform,
        keep_images=cfg.ecr_keep_images,
        force_delete=not cfg.protect,
        image_override=cfg.image_override,
        tags=cfg.tags,
    ),
)

secrets = Secrets(
    "secrets",
    SecretsArgs(
        project=cfg.project, stack=cfg.stack, managed_values=cfg.secret_values, protect=cfg.protect, tags=cfg.tags
    ),
)

# HTTPS needs a domain the certificate covers; unprotected stacks may opt out (allowPlainHttp).
domain = (
    Domain("domain", DomainArgs(domain_name=cfg.domain_name, zone=cfg.zone_name,
                                certificate_arn=cfg.certificate_arn, tags=cfg.tags))
    if cfg.domain_name else None
)

lb_args = LoadBalancerArgs(
    name=cfg.name,
    vpc_id=network.vpc_id,
    vpc_cidr=cfg.vpc_cidr,
    public_subnet_ids=network.public_subnet_ids,
    container_port=cfg.container_port,
    health_check_path=cfg.health_check_path,
    health_check_interval_seconds=cfg.health_check_interval_seconds,
    healthy_threshold_count=cfg.healthy_threshold_count,
    unhealthy_threshold_count=cfg.unhealthy_threshold_count,
    deregistration_delay_seconds=cfg.deregistration_delay_seconds,
    deletion_protection=cfg.protect,
    tags=cfg.tags,
    domain_name=cfg.domain_name,
    certificate_arn=domain.certificate_arn if domain else None,
    zone_id=domain.zone_id if domain else None,
)
load_balancer = LoadBalancer("load-balancer", lb_args)

# Blue/green, canary and linear: ECS moves traffic between two target groups itself.
traffic_shift = (
    TrafficShift(
        "traffic-shift",
        TrafficShiftArgs(
            name=cfg.name,
            load_balancer=lb_args,
            load_balancer_arn=load_balancer.arn,
            security_group_id=load_balancer.security_group_id,
            production_listener_arn=load_balancer.forwarding_listener.arn,
            primary_target_group_arn=load_balancer.target_group_arn,
            certificate_arn=lb_args.certificate_arn,
            test_port=cfg.test_listener_port,
            test_cidr=cfg.test_listener_cidr,
            account_id=identity.account_id,
            tags=cfg.tags,
            role_path=cfg.role_path,
            permissions_boundary=permissions_boundary,
        ),
    )
    if cfg.shifts_traffic else None
)
target_group_suffixes = [load_balancer.target_group_arn_suffix] + (
    [traffic_shift.alternate_target_group_arn_suffix] if traffic_shift else [])

cluster = Cluster(
    "cluster",
    ClusterArgs(
        name=cfg.name,
        vpc_id=network.vpc_id,
        container_port=cfg.container_port,
        load_balancer_security_group_id=load_balancer.security_group_id,
        repository_arn=registry.repository_arn,
        secret_arns=list(secrets.arns.values()),
        log_retention_days=cfg.log_retention_days,
        capacity_provider=cfg.capacity_provider,
        tags=cfg.tags,
        role_path=cfg.role_path,
        permissions_boundary=permissions_boundary,
    ),
)

container = ContainerSpec(
    image=registry.image_ref,
    region=region,
    log_group_name=cluster.log_group_name,
    secret_arns=secrets.arns,
    secret_env_names=secrets.env_names,
    container_port=cfg.container_port,
    health_check_path=cfg.health_check_path,
    start_period_seconds=min(cfg.health_check_grace_period_seconds, 300),
)
task_size = TaskSize(cpu=cfg.cpu, memory=cfg.memory, cpu_architecture=cfg.ecs_cpu_architecture)

migration = MigrationTask(
    "migration",
    MigrationTaskArgs(
        family=f"{cfg.name}-migrate",
        size=task_size,
        execution_role_arn=cluster.execution_role.arn,
        task_role_arn=cluster.task_role.arn,
        container=container,
        tags=cfg.tags,
    ),
)

observability = Observability(
    "observability",
    ObservabilityArgs(
        name=cfg.name,
        region=region,
        load_balancer_arn_suffix=load_balancer.arn_suffix,
        target_group_arn_suffixes=target_group_suffixes,
        alarm_email=cfg.alarm_email,
        tags=cfg.tags,
    ),
)

service = Service(
    "service",
    ServiceArgs(
        name=cfg.name,
        cluster_arn=cluster.cluster_arn,
        size=task_size,
        capacity_provider=cfg.capacity_provider,
        desired_count=cfg.desired_count,
        execution_role_arn=cluster.execution_role.arn,
        task_role_arn=cluster.task_role.arn,
        container=container,
        subnet_ids=network.task_subnet_ids,
        assign_public_ip=network.tasks_need_public_ip,
        security_group_id=cluster.task_security_group_id,
        target_group_arn=load_balancer.target_group_arn,
        container_port=cfg.container_port,
        minimum_healthy_percent=cfg.deployment_minimum_healthy_percent,
        maximum_percent=cfg.deployment_maximum_percent,
        health_check_grace_period_seconds=cfg.health_check_grace_period_seconds,
        deployment_alarm_names=observability.deployment_alarm_names,
        tags=cfg.tags,
        strategy=DeploymentStrategy(
            kind=cfg.deployment_strategy, bake_minutes=cfg.bake_minutes, canary_percent=cfg.canary_percent,
            canary_interval_minutes=cfg.canary_interval_minutes, linear_step_percent=cfg.linear_step_percent,
            linear_interval_minutes=cfg.linear_interval_minutes,
        ),
        traffic_shift=TrafficShiftTargets(
            alternate_target_group_arn=traffic_shift.alternate_target_group_arn,
            production_listener_rule_arn=traffic_shift.production_rule_arn,
            test_listener_rule_arn=traffic_shift.test_rule_arn,
            role_arn=traffic_shift.role_arn,
        ) if traffic_shift else None,
        depends_on=[load_balancer.forwarding_listener, cluster.capacity_providers, *secrets.versions,
                    *([traffic_shift] if traffic_shift else [])],
    ),
)

Autoscaling(
    "autoscaling",
    AutoscalingArgs(
        cluster_name=cluster.cluster_name,
        service_name=service.service_name,
        min_count=cfg.desired_count,
        max_count=cfg.autoscaling_max_count,
        cpu_target_percent=cfg.autoscaling_cpu_target_percent,
        requests_per_target=cfg.autoscaling_requests_per_target,
        load_balancer_arn_suffix=load_balancer.arn_suffix,
        target_group_arn_suffix=None if traffic_shift else load_balancer.target_group_arn_suffix,
        tags=cfg.tags,
    ),
)

pulumi.export("url", load_balancer.url)
pulumi.export("healthUrl", load_balancer.url.apply(lambda url: url + cfg.health_check_path))
pulumi.export("albDnsName", load_balancer.dns_name)
pulumi.export("domainName", cfg.domain_name)
pulumi.export("ecrRepositoryUrl", registry.repository_url)
pulumi.export("ecrRepositoryName", registry.repository_name)
pulumi.export("image", registry.image_ref)
pulumi.export("imageDigest", registry.image_digest)
pulumi.export("clusterName", cluster.cluster_name)
pulumi.export("serviceName", service.service_name)
pulumi.export("containerName", APP_CONTAINER)
pulumi.export("taskDefinitionArn", service.task_definition_arn)
pulumi.export("taskDefinitionFamily", service.task_definition_family)
pulumi.export("migrationTaskDefinitionArn", migration.task_definition_arn)
pulumi.export("migrationTaskDefinitionFamily", migration.family)
pulumi.export("migrationContainerName", MIGRATION_CONTAINER)
pulumi.export("taskSubnetIds", network.task_subnet_ids)
pulumi.export("privateSubnetIds", network.private_subnet_ids)
pulumi.export("taskAssignPublicIp", network.tasks_need_public_ip)
pulumi.export("taskSecurityGroupId", cluster.task_security_group_id)
pulumi.export("logGroupName", cluster.log_group_name)
pulumi.export("appLogStreamPrefix", APP_LOG_PREFIX)
pulumi.export("migrationLogStreamPrefix", MIGRATION_LOG_PREFIX)
pulumi.export("targetGroupArn", load_balancer.target_group_arn)
pulumi.export("targetGroupArns", [load_balancer.target_group_arn]
              + ([traffic_shift.alternate_target_group_arn] if traffic_shift else []))
pulumi.export("deploymentStrategy", cfg.deployment_strategy)
pulumi.export("secretNames", secrets.names)
pulumi.export("secretArns", secrets.arns)
pulumi.export("secretsMode", cfg.secrets_mode)
pulumi.export("region", region)
pulumi.export("protected", cfg.protect)
pulumi.export("dashboardUrl", observability.dashboard_url)
pulumi.export("alarmTopicArn", observability.topic_arn)
