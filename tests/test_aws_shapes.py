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
        "Name": target_group.outputs["name"],
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
    params = create_target_group(stack_plan.one("aws:lb/targetGroup:TargetGroup"))
    assert validate("elbv2", "CreateTargetGroup", params) == ""
    assert len(params["Name"]) <= 32


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
