"""The Pulumi program under the mock runtime, with the stacks' real config files: every resource
the deployment notes call for exists with the notes' settings."""

from __future__ import annotations

import gc
import json
import re

import pulumi
import pytest
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime.proto import source_pb2

from infra.config import SECRET_SPECS
from offline.runtime import SECRET_PLACEHOLDER, evaluate_stack
from tests.conftest import app_task, by_id, containers, migration_task

DIGEST_REF = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")
CERT = "arn:aws:acm:eu-central-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"

SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG = "aws:ec2/securityGroup:SecurityGroup"


def subnets(plan, tier: str):
    """The tier's subnets in zone order (public-0, public-1, ...)."""
    found = [s for s in plan.of_type("aws:ec2/subnet:Subnet") if s.inputs["tags"]["tier"] == tier]
    return sorted(found, key=lambda s: s.name)


def test_every_log_group_keeps_logs_seven_days(stack_plan):
    groups = stack_plan.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert [g.inputs["name"] for g in groups] == [f"/ecs/truecaller-backend-{stack_plan.stack}"]
    assert all(g.inputs["retentionInDays"] == 7 for g in groups)


def test_service_rolls_out_with_zero_downtime_and_rolls_back(stack_plan):
    service = stack_plan.one("aws:ecs/service:Service")
    i = service.inputs
    assert i["deploymentMinimumHealthyPercent"] == 100
    assert i["deploymentMaximumPercent"] == 200
    assert i["healthCheckGracePeriodSeconds"] == 120
    assert i["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert i["waitForSteadyState"] is True
    assert i["name"] == i["cluster"].rsplit("/", 1)[-1] == f"truecaller-backend-{stack_plan.stack}"
    # The autoscaler owns the running count after the first `up`.
    assert service.ignore_changes == ["desiredCount"]


def test_service_waits_for_listener_capacity_providers_and_secret_values(stack_plan):
    service = stack_plan.one("aws:ecs/service:Service")
    # The listener that forwards to the target group: HTTPS with a domain, HTTP otherwise.
    listener = stack_plan.one("aws:lb/listener:Listener", "https" if stack_plan.stack == "prod" else "http")
    capacity = stack_plan.one("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders")
    versions = stack_plan.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert {listener.urn, capacity.urn, *(v.urn for v in versions)} <= set(service.dependencies)


def test_service_is_behind_the_target_group_on_the_container_port(stack_plan):
    service = stack_plan.one("aws:ecs/service:Service")
    target_group = stack_plan.one("aws:lb/targetGroup:TargetGroup")
    assert service.inputs["loadBalancers"] == [
        {"targetGroupArn": target_group.outputs["arn"], "containerName": "app", "containerPort": 3000}
    ]
    assert service.inputs["taskDefinition"] == app_task(stack_plan).outputs["arn"]


def test_task_definitions_run_the_pushed_image_by_digest(stack_plan):
    image = stack_plan.one("docker:index/image:Image")
    for task in (app_task(stack_plan), migration_task(stack_plan)):
        (container,) = containers(task)
        assert DIGEST_REF.match(container["image"]), container["image"]
        assert container["image"] == image.outputs["repoDigest"]
    assert stack_plan.outputs["image"] == image.outputs["repoDigest"]


def test_image_override_pins_both_task_definitions():
    pinned = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/truecaller-backend-prod@sha256:" + "ab" * 32
    plan = evaluate_stack("prod", config_overrides={"imageOverride": pinned})
    assert [c["image"] for t in (app_task(plan), migration_task(plan)) for c in containers(t)] == [pinned, pinned]
    assert plan.outputs["imageDigest"] == "sha256:" + "ab" * 32


def test_image_is_built_from_the_dockerfile_for_the_configured_platform(prod, staging):
    for plan, platform in ((prod, "linux/amd64"), (staging, "linux/arm64")):
        image = plan.one("docker:index/image:Image")
        assert image.inputs["build"] == {"context": "app", "dockerfile": "Dockerfile", "platform": platform}
        repository_url = plan.one("aws:ecr/repository:Repository").outputs["repositoryUrl"]
        assert image.inputs["imageName"].startswith(repository_url + ":src-")
        assert image.inputs["registry"]["value"]["server"] == repository_url  # credentials stay secret-wrapped
    arch = {p.stack: app_task(p).inputs["runtimePlatform"]["cpuArchitecture"] for p in (prod, staging)}
    assert arch == {"prod": "X86_64", "staging": "ARM64"}


def test_containers_get_secrets_only_through_value_from(stack_plan):
    secrets = {s.name: s.outputs["arn"] for s in stack_plan.of_type("aws:secretsmanager/secret:Secret")}
    expected = sorted(({"name": env, "valueFrom": secrets[key]} for key, (env, _) in SECRET_SPECS.items()),
                      key=lambda s: s["name"])
    for task in (app_task(stack_plan), migration_task(stack_plan)):
        (container,) = containers(task)
        assert sorted(container["secrets"], key=lambda s: s["name"]) == expected
        env_names = {e["name"] for e in container["environment"]}
        assert env_names.isdisjoint(env for env, _ in SECRET_SPECS.values())
        assert SECRET_PLACEHOLDER not in task.inputs["containerDefinitions"]


def test_app_container_contract(stack_plan):
    (container,) = containers(app_task(stack_plan))
    assert container["name"] == "app"
    assert "command" not in container and "entryPoint" not in container  # the image's CMD starts the app
    assert container["portMappings"] == [{"containerPort": 3000, "hostPort": 3000, "protocol": "tcp"}]
    assert {"name": "PORT", "value": "3000"} in container["environment"]
    assert container["logConfiguration"]["options"] == {
        "awslogs-group": f"/ecs/truecaller-backend-{stack_plan.stack}",
        "awslogs-region": "eu-central-1",
        "awslogs-stream-prefix": "app",
    }
    assert container["healthCheck"]["command"] == [
        "CMD", "node", "-e",
        'fetch("http://127.0.0.1:3000/api/health").then(r=>process.exit(r.ok?0:1),()=>process.exit(1))']


def test_migration_task_runs_prisma_once_and_no_service_uses_it(stack_plan):
    task = migration_task(stack_plan)
    (container,) = containers(task)
    assert container["command"] == ["npx", "prisma", "migrate", "deploy"]
    assert container["logConfiguration"]["options"]["awslogs-stream-prefix"] == "migrate"
    assert task.inputs["family"] == f"truecaller-backend-{stack_plan.stack}-migrate"
    used = {s.inputs["taskDefinition"] for s in stack_plan.of_type("aws:ecs/service:Service")}
    assert task.outputs["arn"] not in used
    assert stack_plan.outputs["migrationTaskDefinitionArn"] == task.outputs["arn"]


def _policy(plan, role_name: str) -> dict:
    role = plan.one("aws:iam/role:Role", role_name)
    policies = [p for p in plan.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.id]
    return {s["Sid"]: s for p in policies for s in json.loads(p.inputs["policy"])["Statement"]}


def test_execution_role_reads_exactly_this_stacks_secrets_image_and_logs(stack_plan):
    statements = _policy(stack_plan, "execution")
    secret_arns = sorted(s.outputs["arn"] for s in stack_plan.of_type("aws:secretsmanager/secret:Secret"))
    repository = stack_plan.one("aws:ecr/repository:Repository")
    log_group = stack_plan.one("aws:cloudwatch/logGroup:LogGroup")
    assert statements["ReadSecrets"]["Action"] == "secretsmanager:GetSecretValue"
    assert statements["ReadSecrets"]["Resource"] == secret_arns and len(secret_arns) == 4
    assert statements["PullImage"]["Resource"] == repository.outputs["arn"]
    assert statements["WriteLogs"]["Resource"] == log_group.outputs["arn"] + ":log-stream:*"
    wildcard = [sid for sid, s in statements.items() if s["Resource"] == "*"]
    assert wildcard == ["EcrLogin"] and statements["EcrLogin"]["Action"] == "ecr:GetAuthorizationToken"
    assert all("*" not in json.dumps(s["Action"]) for s in statements.values())


def test_task_role_is_separate_and_has_no_permissions(stack_plan):
    task = app_task(stack_plan)
    assert task.inputs["taskRoleArn"] != task.inputs["executionRoleArn"]
    assert _policy(stack_plan, "task") == {}


def test_only_the_load_balancer_reaches_the_tasks(stack_plan):
    alb_sg = stack_plan.one(SG, "alb")
    task_sg = stack_plan.one(SG, "tasks")
    rules = stack_plan.of_type(SG_INGRESS)
    task_rules = [r.inputs for r in rules if r.inputs["securityGroupId"] == task_sg.id]
    assert task_rules == [
        {
            "securityGroupId": task_sg.id,
            "referencedSecurityGroupId": alb_sg.id,
            "ipProtocol": "tcp",
            "fromPort": 3000,
            "toPort": 3000,
            "description": "Container port from the load balancer only",
            "tags": {"project": "truecaller-backend", "environment": stack_plan.stack, "managed-by": "pulumi"},
        }
    ]
    alb_rules = sorted((r.inputs["fromPort"], r.inputs.get("cidrIpv4") or r.inputs.get("cidrIpv6"))
                       for r in rules if r.inputs["securityGroupId"] == alb_sg.id)
    web_ports = [80, 443] if stack_plan.stack == "prod" else [80]  # prod serves HTTPS, staging plain HTTP
    assert alb_rules == [(port, cidr) for port in web_ports for cidr in ("0.0.0.0/0", "::/0")]
    assert len(rules) == 1 + len(alb_rules)
    service = stack_plan.one("aws:ecs/service:Service")
    assert service.inputs["networkConfiguration"]["securityGroups"] == [task_sg.id]


@pytest.mark.parametrize(("nat_mode", "nat_count"), [("none", 0), ("single", 1), ("per-az", 2)])
def test_nat_gateways_follow_nat_mode(variant, nat_mode, nat_count):
    plan = variant("prod", natMode=nat_mode)
    assert len(plan.of_type("aws:ec2/natGateway:NatGateway")) == nat_count
    assert len(plan.of_type("aws:ec2/eip:Eip")) == nat_count
    private = subnets(plan, "private")
    public = subnets(plan, "public")
    network = plan.one("aws:ecs/service:Service").inputs["networkConfiguration"]
    if nat_mode == "none":
        assert private == [] and plan.outputs["privateSubnetIds"] == []
        assert network["subnets"] == [s.id for s in public] and network["assignPublicIp"] is True
    else:
        assert network["subnets"] == [s.id for s in private] and network["assignPublicIp"] is False
        nat_routes = [r for r in plan.of_type("aws:ec2/route:Route") if "natGatewayId" in r.inputs]
        assert len(nat_routes) == 2 and len({r.inputs["natGatewayId"] for r in nat_routes}) == nat_count
    assert plan.outputs["taskSubnetIds"] == network["subnets"]


def test_subnets_span_distinct_zones_and_do_not_overlap(prod):
    subnets = prod.of_type("aws:ec2/subnet:Subnet")
    assert len(subnets) == 4
    cidrs = [s.inputs["cidrBlock"] for s in subnets]
    assert len(set(cidrs)) == 4
    for tier in ("public", "private"):
        zones = [s.inputs["availabilityZone"] for s in subnets if s.inputs["tags"]["tier"] == tier]
        assert sorted(zones) == ["eu-central-1a", "eu-central-1b"]
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in subnets)
    vpc = prod.one("aws:ec2/vpc:Vpc")
    assert vpc.inputs["enableDnsHostnames"] is True


def test_ecr_repository_scans_keeps_recent_images_and_force_deletes_only_outside_prod(prod, staging):
    for plan, force_delete, keep in ((prod, False, 10), (staging, True, 5)):
        repo = plan.one("aws:ecr/repository:Repository")
        assert repo.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
        assert repo.inputs["imageTagMutability"] == "IMMUTABLE"
        assert repo.inputs["forceDelete"] is force_delete
        rule = json.loads(plan.one("aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs["policy"])["rules"][0]
        assert rule["selection"]["countType"] == "imageCountMoreThan"
        assert rule["selection"]["countNumber"] == keep


def test_secrets_are_named_per_stack_with_recovery_window_and_protected_in_prod(prod, staging):
    for plan, protected in ((prod, True), (staging, False)):
        secrets = plan.of_type("aws:secretsmanager/secret:Secret")
        assert sorted(s.inputs["name"] for s in secrets) == sorted(
            f"truecaller-backend/{plan.stack}/{key}" for key in SECRET_SPECS
        )
        assert all(s.inputs["recoveryWindowInDays"] == 30 for s in secrets)
        assert all(s.protect is protected for s in secrets)


def test_managed_secret_values_are_secret_versions_never_plaintext(stack_plan):
    versions = stack_plan.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert len(versions) == 4
    for version in versions:
        value = version.inputs["secretString"]
        assert isinstance(value, dict) and value["value"] == SECRET_PLACEHOLDER  # wrapped as a secret
        secret = by_id(stack_plan, "aws:secretsmanager/secret:Secret", version.inputs["secretId"])
        assert secret.name == version.name


def test_external_secrets_mode_creates_only_the_containers():
    plan = evaluate_stack("prod", config_overrides={"secretsMode": "external"})
    assert plan.of_type("aws:secretsmanager/secretVersion:SecretVersion") == []
    assert len(plan.of_type("aws:secretsmanager/secret:Secret")) == 4
    assert plan.notes == []  # nothing to set with `pulumi config set --secret`
    (container,) = containers(app_task(plan))
    assert len(container["secrets"]) == 4


def test_missing_managed_secrets_are_reported_with_the_command_to_set_them(prod):
    assert prod.placeholder_secrets == ["databaseUrl", "redisUrl", "jwtSecret", "firebaseCredentials"]
    assert any("pulumi config set --secret jwtSecret -s prod (the CLI asks" in note for note in prod.notes)


def test_target_group_has_an_explicit_fast_health_check(stack_plan):
    tg = stack_plan.one("aws:lb/targetGroup:TargetGroup")
    assert tg.inputs["targetType"] == "ip" and tg.inputs["port"] == 3000
    assert tg.inputs["healthCheck"] == {
        "enabled": True,
        "path": "/api/health",
        "protocol": "HTTP",
        "port": "traffic-port",
        "matcher": "200",
        "interval": 10,
        "timeout": 5,
        "healthyThreshold": 2,
        "unhealthyThreshold": 3,
    }
    assert tg.inputs["deregistrationDelay"] == 15


def test_staging_serves_plain_http_only_by_explicit_choice(staging):
    assert staging.config["truecaller-backend:allowPlainHttp"] == "true"
    (listener,) = staging.of_type("aws:lb/listener:Listener")
    assert listener.inputs["port"] == 80 and listener.inputs["defaultActions"][0]["type"] == "forward"
    assert not staging.of_type("aws:acm/certificate:Certificate")
    assert staging.outputs["url"] == "http://" + staging.outputs["albDnsName"]


def test_prod_serves_https_on_its_domain_with_a_dns_validated_certificate(prod):
    certificate = prod.one("aws:acm/certificate:Certificate")
    assert certificate.inputs["domainName"] == "api.example.com" and certificate.inputs["validationMethod"] == "DNS"
    (option,) = certificate.outputs["domainValidationOptions"]
    validation_record = prod.one("aws:route53/record:Record", "certificate-validation")
    assert validation_record.inputs["zoneId"] == "Z0EXAMPLE00000000000"  # example.com, domainName's parent
    assert (validation_record.inputs["name"], validation_record.inputs["type"], validation_record.inputs["records"]) \
        == (option["resourceRecordName"], "CNAME", [option["resourceRecordValue"]])
    validation = prod.one("aws:acm/certificateValidation:CertificateValidation")
    assert validation.inputs["certificateArn"] == certificate.outputs["arn"]
    assert validation.inputs["validationRecordFqdns"] == [validation_record.outputs["fqdn"]]

    listeners = {listener.inputs["port"]: listener for listener in prod.of_type("aws:lb/listener:Listener")}
    https = listeners[443]
    assert https.inputs["protocol"] == "HTTPS" and https.inputs["certificateArn"] == certificate.outputs["arn"]
    assert validation.urn in https.dependencies  # the listener waits for the issued certificate
    assert https.inputs["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
    assert https.inputs["defaultActions"][0]["type"] == "forward"
    assert listeners[80].inputs["defaultActions"] == [
        {"type": "redirect", "redirect": {"port": "443", "protocol": "HTTPS", "statusCode": "HTTP_301"}}]
    ports = sorted(r.inputs["fromPort"] for r in prod.of_type(SG_INGRESS) if "cidrIpv4" in r.inputs)
    assert ports == [80, 443]
    assert https.urn in prod.one("aws:ecs/service:Service").dependencies
    assert (prod.outputs["url"], prod.outputs["healthUrl"]) == ("https://api.example.com",
                                                                "https://api.example.com/api/health")


def test_the_domain_points_at_the_dual_stack_load_balancer(prod):
    alb = prod.one("aws:lb/loadBalancer:LoadBalancer")
    assert alb.inputs["ipAddressType"] == "dualstack"
    records = {r.inputs["type"]: r.inputs for r in prod.of_type("aws:route53/record:Record")
               if r.name.startswith("alias-")}
    assert set(records) == {"A", "AAAA"}
    for record in records.values():
        assert (record["name"], record["zoneId"]) == ("api.example.com", "Z0EXAMPLE00000000000")
        assert record["aliases"] == [{"name": alb.outputs["dnsName"], "zoneId": alb.outputs["zoneId"],
                                      "evaluateTargetHealth": True}]
    for subnet in subnets(prod, "public"):
        assert subnet.inputs["ipv6CidrBlock"].endswith("/64")
    routes = {r.inputs.get("destinationIpv6CidrBlock") for r in prod.of_type("aws:ec2/route:Route")}
    assert "::/0" in routes


def test_an_existing_certificate_is_used_as_given():
    plan = evaluate_stack("prod", config_overrides={"certificateArn": CERT})
    assert not plan.of_type("aws:acm/certificate:Certificate")
    assert plan.one("aws:lb/listener:Listener", "https").inputs["certificateArn"] == CERT
    assert len(plan.of_type("aws:route53/record:Record")) == 2  # the alias records only


def test_dns_outside_route_53_gets_no_records():
    plan = evaluate_stack("prod", config_overrides={"certificateArn": CERT, "hostedZone": "external"})
    assert not plan.of_type("aws:route53/record:Record")
    assert plan.outputs["url"] == "https://api.example.com"


def test_a_zone_id_is_used_without_a_lookup():
    plan = evaluate_stack("prod", config_overrides={"hostedZone": "Z9OTHERZONE0000000000"}, hosted_zones={})
    assert {r.inputs["zoneId"] for r in plan.of_type("aws:route53/record:Record")} == {"Z9OTHERZONE0000000000"}


def test_a_domain_without_a_hosted_zone_fails_the_lookup_with_its_name():
    with pytest.raises(Exception, match="no matching Route 53 Hosted Zone found for 'example.com'"):
        evaluate_stack("prod", hosted_zones={})


def test_a_failed_program_reports_its_error_once(caplog):
    """The error is raised to the caller; the futures still holding it say nothing when collected (asyncio
    printed each as "Future exception was never retrieved", at the end of a test run)."""
    for _ in range(2):  # the second run lets go of what the first left behind
        with pytest.raises(Exception, match="no matching Route 53 Hosted Zone"):
            evaluate_stack("prod", hosted_zones={})
    gc.collect()
    assert [r.getMessage() for r in caplog.records if "never retrieved" in r.getMessage()] == []


def test_evaluations_skip_the_engines_source_positions_and_leave_the_sdk_as_it_was(monkeypatch):
    """Offline no engine shows source positions and no analyzer is sent them; walking the stack for each
    resource was a tenth of every evaluation."""
    walks = []

    def walk():
        walks.append(1)
        return source_pb2.StackTrace()

    monkeypatch.setattr(pulumi_resource, "_get_stack_trace", walk)
    assert evaluate_stack("staging").resources
    assert walks == []
    with pytest.raises(pulumi.RunError):
        evaluate_stack("prod", config_overrides={"cpu": 300})
    assert pulumi_resource._get_stack_trace is walk  # given back after a run, even one that failed


def test_load_balancer_is_hardened_and_protected_in_prod(prod, staging):
    for plan, protected in ((prod, True), (staging, False)):
        alb = plan.one("aws:lb/loadBalancer:LoadBalancer")
        assert alb.inputs["internal"] is False and alb.inputs["loadBalancerType"] == "application"
        assert alb.inputs["dropInvalidHeaderFields"] is True
        assert alb.inputs["enableDeletionProtection"] is protected
        assert alb.inputs["subnets"] == [s.id for s in subnets(plan, "public")]


def test_cluster_has_container_insights_and_the_configured_capacity_provider(prod, staging):
    for plan, provider in ((prod, "FARGATE"), (staging, "FARGATE_SPOT")):
        cluster = plan.one("aws:ecs/cluster:Cluster")
        assert {"name": "containerInsights", "value": "enabled"} in cluster.inputs["settings"]
        strategy = plan.one("aws:ecs/service:Service").inputs["capacityProviderStrategies"]
        assert strategy == [{"capacityProvider": provider, "weight": 1}]


def test_task_size_is_a_valid_fargate_pair_from_config():
    plan = evaluate_stack("prod", config_overrides={"cpu": 1024, "memory": 4096})
    for task in (app_task(plan), migration_task(plan)):
        assert (task.inputs["cpu"], task.inputs["memory"]) == ("1024", "4096")


def test_taggable_resources_carry_project_environment_and_managed_by(stack_plan):
    untaggable = {"Route", "RouteTableAssociation", "SecretVersion", "RolePolicy", "LifecyclePolicy",
                  "ClusterCapacityProviders", "Image", "Dashboard", "Policy", "TopicSubscription", "Record",
                  "CertificateValidation"}
    for r in stack_plan.resources:
        if r.custom and r.type.split(":")[-1] not in untaggable:
            tags = r.inputs.get("tags") or {}
            assert {k: tags.get(k) for k in ("project", "environment", "managed-by")} == {
                "project": "truecaller-backend", "environment": stack_plan.stack, "managed-by": "pulumi"
            }, r.urn


def test_exports_cover_the_operations_contract_and_hold_no_secret(stack_plan):
    expected = {
        "url", "healthUrl", "albDnsName", "ecrRepositoryUrl", "ecrRepositoryName", "image", "imageDigest",
        "clusterName", "serviceName", "containerName", "taskDefinitionArn", "taskDefinitionFamily",
        "migrationTaskDefinitionArn", "migrationTaskDefinitionFamily", "migrationContainerName", "taskSubnetIds",
        "privateSubnetIds", "taskAssignPublicIp", "taskSecurityGroupId", "logGroupName", "appLogStreamPrefix",
        "migrationLogStreamPrefix", "targetGroupArn", "secretNames", "secretArns", "secretsMode", "region",
        "protected", "dashboardUrl", "alarmTopicArn", "domainName", "targetGroupArns", "deploymentStrategy",
    }
    assert set(stack_plan.outputs) == expected
    assert all(v is not None for v in stack_plan.outputs.values())
    assert SECRET_PLACEHOLDER not in json.dumps(stack_plan.outputs)
    assert stack_plan.outputs["healthUrl"] == stack_plan.outputs["url"] + "/api/health"
    assert stack_plan.outputs["protected"] is (stack_plan.stack == "prod")


def test_config_error_stops_the_program_before_any_resource():
    with pytest.raises(Exception, match=r"truecaller-backend:cpu = '300' is invalid") as raised:
        evaluate_stack("prod", config_overrides={"cpu": 300})
    assert raised.value.registered_urns == []
