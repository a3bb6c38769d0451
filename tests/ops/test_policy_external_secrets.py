"""The pack's secrets-have-values policy verifying external secrets with boto3 (moto server over HTTP)."""

from __future__ import annotations

import json

from tests.ops.conftest import NAME, STACK
from tests.policies.conftest import PACK_DIR  # noqa: F401  (puts the pack's packages on sys.path)
from tests.policies.harness import stack_resource, stack_violations

from guardrails import secretsmanager  # isort: skip


def external_stack(world, key: str):
    name = f"truecaller-backend/{STACK}/{key}"
    arn = world.secret_arns[key]
    secret = stack_resource(secretsmanager.SECRET, key, {"name": name, "arn": arn,
                                                         "tags": {"secret-source": "external"}})
    container = {"name": "app", "image": "x@sha256:" + "a" * 64, "secrets": [{"name": "S", "valueFrom": arn}]}
    task = stack_resource(secretsmanager.TASK_DEFINITION, NAME, {"containerDefinitions": json.dumps([container])},
                          {"containerDefinitions": [secret]})
    return [secret, task]


def test_external_secret_with_a_value_passes(world):
    resources = external_stack(world, "jwt-secret")
    assert stack_violations(secretsmanager.referenced_secrets_have_values, resources,
                            {"verifyExternalWithAws": True}) == []


def test_blank_external_secret_is_caught_when_verification_is_on(world):
    world.client("secretsmanager").put_secret_value(SecretId=f"truecaller-backend/{STACK}/jwt-secret",
                                                    SecretString="  ")
    resources = external_stack(world, "jwt-secret")
    (message,) = stack_violations(secretsmanager.referenced_secrets_have_values, resources,
                                  {"verifyExternalWithAws": True})
    assert "its current value is empty" in message and "jwt-secret-value" not in message
    assert stack_violations(secretsmanager.referenced_secrets_have_values, resources) == []  # verification off


def test_missing_external_secret_is_caught(world):
    resources = external_stack(world, "redis-url")
    world.client("secretsmanager").delete_secret(SecretId=f"truecaller-backend/{STACK}/redis-url",
                                                 ForceDeleteWithoutRecovery=True)
    (message,) = stack_violations(secretsmanager.referenced_secrets_have_values, resources,
                                  {"verifyExternalWithAws": True})
    assert "ResourceNotFoundException" in message


def test_external_binary_secret_has_a_value(world):
    secrets = world.client("secretsmanager")
    secrets.delete_secret(SecretId=f"truecaller-backend/{STACK}/firebase-credentials", ForceDeleteWithoutRecovery=True)
    world.secret_arns["firebase-credentials"] = secrets.create_secret(
        Name=f"truecaller-backend/{STACK}/firebase-credentials", SecretBinary=b"\x00\x01key")["ARN"]
    resources = external_stack(world, "firebase-credentials")
    assert stack_violations(secretsmanager.referenced_secrets_have_values, resources,
                            {"verifyExternalWithAws": True}) == []
