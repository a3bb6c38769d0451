"""The planned resources, translated to the AWS API calls the provider makes, pass botocore's own
service models (the same models the AWS CLI and SDKs validate against)."""

from __future__ import annotations

import json

import botocore.session
import pytest
from botocore.validate import ParamValidator

from tests.conftest import app_task, migration_task

SESSION = botocore.session.get_session()


def validate(service: str, operation: str, params: dict) -> str:
    """Validation report for ``params`` ('' when valid)."""
    model = SESSION.get_service_model(service).operation_model(operation).input_shape
    return ParamValidator().validate(params, model).generate_report()


def _int(value):
    return int(value) if isinstance(value, float) else value


def register_task_definition(task) -> dict:
    i = task.inputs
    return {
        "family": i["family"],
        "taskRoleArn": i["taskRoleArn"],
        "executionRoleArn": i["executionRoleArn"],
        "networkMode": i["networkMode"],
        "containerDefinitions": json.loads(i["containerDefinitions"]),
        "requiresCompatibilities": i["requiresCompatibilities"],
        "cpu": i["cpu"],
        "memory": i["memory"],
        "runtimePlatform": i["runtimePlatform"],
    }


def create_service(service) -> dict:
    i = service.inputs
    network = i["networkConfiguration"]
    params = {
        "cluster": i["cluster"],
        "serviceName": i["name"],
        "taskDefinition": i["taskDefinition"],
        "loadBalancers": [{k: _int(v) for k, v in lb.items()} for lb in i["loadBalancers"]],
        "desiredCount": _int(i["desiredCount"]),
        "capacityProviderStrategy": [{k: _int(v) for k, v in s.items()} for s in i["capacityProviderStrategies"]],
        "platformVersion": i["platformVersion"],
        "deploymentConfiguration": {
            "maximumPercent": _int(i["deploymentMaximumPercent"]),
            "minimumHealthyPercent": _int(i["deploymentMinimumHealthyPercent"]),
            "deploymentCircuitBreaker": i["deploymentCircuitBreaker"],
            "alarms": {
                "alarmNames": i["alarms"]["alarmNames"],
                "enable": i["alarms"]["enable"],
                "rollback": i["alarms"]["rollback"],
            },
        },
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": network["subnets"],
                "securityGroups": network["securityGroups"],
                "assignPublicIp": "ENABLED" if network["assignPublicIp"] else "DISABLED",
            }
        },
        "healthCheckGracePeriodSeconds": _int(i["healthCheckGracePeriodSeconds"]),
        "enableECSManagedTags": i["enableEcsManagedTags"],
        "propagateTags": i["propagateTags"],
        "tags": [{"key": k, "value": v} for k, v in i["tags"].items()],
    }
    return params


def create_target_group(target_group) -> dict:
    i = target_group.inputs
    hc = i["healthCheck"]
    return {
        # The program sets no name: Pulumi auto-names it "<logical>-<7 random characters>".
        "Name": f"{target_group.name}-a1b2c3d",
        "Protocol": i["protocol"],
        "Port": _int(i["port"]),
        "VpcId": i["vpcId"],
        "HealthCheckProtocol": hc["protocol"],
        "HealthCheckPort": hc["port"],
        "HealthCheckEnabled": hc["enabled"],
        "HealthCheckPath": hc["path"],
        "HealthCheckIntervalSeconds": _int(hc["interval"]),
        "HealthCheckTimeoutSeconds": _int(hc["timeout"]),
        "HealthyThresholdCount": _int(hc["healthyThreshold"]),
        "UnhealthyThresholdCount": _int(hc["unhealthyThreshold"]),
        "Matcher": {"HttpCode": hc["matcher"]},
        "TargetType": i["targetType"],
    }


def test_task_definitions_are_valid_register_task_definition_requests(stack_plan):
    for task in (app_task(stack_plan), migration_task(stack_plan)):
        assert validate("ecs", "RegisterTaskDefinition", register_task_definition(task)) == ""


def test_service_is_a_valid_create_service_request(stack_plan):
    params = create_service(stack_plan.one("aws:ecs/service:Service"))
    assert validate("ecs", "CreateService", params) == ""


def test_target_group_is_a_valid_create_target_group_request(stack_plan):
    target_group = stack_plan.one("aws:lb/targetGroup:TargetGroup")
    assert "name" not in target_group.inputs and "namePrefix" not in target_group.inputs
    params = create_target_group(target_group)
    assert validate("elbv2", "CreateTargetGroup", params) == ""
    assert len(params["Name"]) <= 32  # the auto-name of the logical name fits the 32-character limit


def _actions(actions: list[dict]) -> list[dict]:
    converted = []
    for action in actions:
        if action["type"] == "redirect":
            r = action["redirect"]
            converted.append({"Type": "redirect", "RedirectConfig": {
                "Port": r["port"], "Protocol": r["protocol"], "StatusCode": r["statusCode"]}})
        else:
            converted.append({"Type": "forward", "TargetGroupArn": action["targetGroupArn"]})
    return converted


def test_load_balancer_listeners_and_certificate_are_valid_requests(prod):
    alb = prod.one("aws:lb/loadBalancer:LoadBalancer").inputs
    assert validate("elbv2", "CreateLoadBalancer", {
        "Name": "alb-a1b2c3d", "Subnets": alb["subnets"], "SecurityGroups": alb["securityGroups"],
        "Scheme": "internet-facing", "Type": alb["loadBalancerType"], "IpAddressType": alb["ipAddressType"],
    }) == ""
    for listener in prod.of_type("aws:lb/listener:Listener"):
        i = listener.inputs
        params = {"LoadBalancerArn": i["loadBalancerArn"], "Protocol": i["protocol"], "Port": _int(i["port"]),
                  "DefaultActions": _actions(i["defaultActions"])}
        if i["protocol"] == "HTTPS":
            params |= {"SslPolicy": i["sslPolicy"], "Certificates": [{"CertificateArn": i["certificateArn"]}]}
        assert validate("elbv2", "CreateListener", params) == "", listener.name
    certificate = prod.one("aws:acm/certificate:Certificate").inputs
    assert validate("acm", "RequestCertificate", {"DomainName": certificate["domainName"],
                                                  "ValidationMethod": certificate["validationMethod"]}) == ""


def test_domain_records_are_valid_route53_changes(prod):
    changes = []
    for record in prod.of_type("aws:route53/record:Record"):
        i = record.inputs
        rrset = {"Name": i["name"], "Type": i["type"]}
        if i.get("aliases"):
            (alias,) = i["aliases"]
            rrset["AliasTarget"] = {"HostedZoneId": alias["zoneId"], "DNSName": alias["name"],
                                    "EvaluateTargetHealth": alias["evaluateTargetHealth"]}
        else:
            rrset |= {"TTL": _int(i["ttl"]), "ResourceRecords": [{"Value": v} for v in i["records"]]}
        changes.append({"Action": "UPSERT", "ResourceRecordSet": rrset})
    zone = {r.inputs["zoneId"] for r in prod.of_type("aws:route53/record:Record")}
    assert len(changes) == 3 and len(zone) == 1
    assert validate("route53", "ChangeResourceRecordSets", {"HostedZoneId": zone.pop(),
                                                             "ChangeBatch": {"Changes": changes}}) == ""


@pytest.mark.parametrize(
    ("mutate", "complaint"),
    [
        (lambda p: p["containerDefinitions"][0].update(portMappings=[{"containerPort": "3000"}]), "containerPort"),
        (lambda p: p["containerDefinitions"][0]["secrets"].append({"name": "X"}), "valueFrom"),
        (lambda p: p["containerDefinitions"][0].update(healthCheck={"command": "curl"}), "command"),
    ],
)
def test_botocore_rejects_broken_container_definitions(prod, mutate, complaint):
    params = register_task_definition(app_task(prod))
    mutate(params)
    assert complaint in validate("ecs", "RegisterTaskDefinition", params)
