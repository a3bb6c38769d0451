"""AWS Secrets Manager: secrets exist with a value before tasks need them, and survive mistakes."""

from __future__ import annotations

import re

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, Severity

from guardrails.common import config_value, containers, number, of_type, related, resource_policy, stack_policy

SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
EXTERNAL_TAG = "secret-source"


def _version_not_empty(args, report_violation):
    value = args.props.get("secretString")
    binary = args.props.get("secretBinary")
    if binary:
        return
    if value is None or not str(value).strip():
        report_violation(
            "The secret version's value is empty or blank; tasks fail to start with ResourceInitializationError. "
            "Fix: set the value (pulumi config set --secret <key> '<value>')."
        )


version_not_empty = resource_policy(
    "secret-value-not-empty",
    "A Secrets Manager secret version never has an empty or blank value: ECS cannot start tasks that "
    "reference it. Fix: provide the value before deploying.",
    [SECRET_VERSION],
    _version_not_empty,
    severity=Severity.CRITICAL,
)


def _aws_secret_is_populated(secret_id: str) -> str | None:
    """None when the secret's current value is non-empty; else why not. Never returns the value."""
    import boto3
    import botocore.exceptions

    try:
        response = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)
    except botocore.exceptions.NoCredentialsError:
        return "skip"
    except botocore.exceptions.ClientError as exc:
        return exc.response["Error"]["Code"]
    value = response.get("SecretString")
    if value is None and response.get("SecretBinary"):
        return None
    return None if value and value.strip() else "its current value is empty"


def _referenced_secrets_have_values(args, report_violation):
    secrets = of_type(args.resources, SECRET)
    versions = of_type(args.resources, SECRET_VERSION)
    with_value = {s.urn for v in versions for s in related(v, "secretId", SECRET)}
    with_value |= {s.urn for s in secrets for v in versions if s.props.get("arn") and
                   v.props.get("secretId") in (s.props.get("arn"), s.props.get("id"))}
    external_patterns = [re.compile(p) for p in config_value(args, "externalSecretPatterns", [])]
    verify = config_value(args, "verifyExternalWithAws", False)
    for task in of_type(args.resources, TASK_DEFINITION):
        referenced = {s.urn: s for s in related(task, "containerDefinitions", SECRET)}
        arns = {s.get("valueFrom") for c in containers(task.props) for s in c.get("secrets") or []}
        referenced.update({s.urn: s for s in secrets if s.props.get("arn") in arns})
        for secret in referenced.values():
            name = secret.props.get("name") or secret.name
            external = (secret.props.get("tags") or {}).get(EXTERNAL_TAG) == "external"
            if secret.urn in with_value:
                continue
            if not external:
                report_violation(
                    f"Task definition {task.name} reads secret {name}, which has no value in this stack. Fix: "
                    f"give it a secret version, or tag it {EXTERNAL_TAG}=external when it is populated out of band.",
                    secret.urn,
                )
            elif verify:
                problem = _aws_secret_is_populated(name)
                if problem not in (None, "skip"):
                    report_violation(f"External secret {name}: {problem}. Populate it before deploying.", secret.urn)
        unmanaged = {a for a in arns if a and a not in {s.props.get("arn") for s in secrets}}
        for arn in sorted(unmanaged):
            if any(p.search(arn) for p in external_patterns):
                continue
            report_violation(
                f"Task definition {task.name} reads {arn}, a secret this stack does not manage. Fix: add its "
                "ARN pattern to this policy's externalSecretPatterns so the choice is explicit.",
                task.urn,
            )


referenced_secrets_have_values = stack_policy(
    "secrets-have-values",
    "Every secret a task definition references has a value in the stack, or is declared external (tag "
    "secret-source=external, or an ARN pattern in externalSecretPatterns); with verifyExternalWithAws and AWS "
    "credentials, external secrets must have a non-empty current value. Fix: set the values before deploying.",
    _referenced_secrets_have_values,
    severity=Severity.CRITICAL,
    config_schema=PolicyConfigSchema(
        properties={
            "externalSecretPatterns": {"type": "array", "items": {"type": "string"}, "default": []},
            "verifyExternalWithAws": {"type": "boolean", "default": False},
        }
    ),
)


def _recovery_window(minimum: int):
    def check(args, report_violation):
        days = number(args.props.get("recoveryWindowInDays"))
        days = 30 if days is None else days  # the provider's default
        wanted = config_value(args, "minimumDays", minimum)
        if days == 0:
            report_violation("recoveryWindowInDays is 0: a deleted secret is gone immediately. "
                             f"Use at least {wanted} days (30 recommended).")
        elif days < wanted:
            report_violation(f"recoveryWindowInDays is {days:g}; use at least {wanted} days.")
    return check


recovery_window_minimum = resource_policy(
    "secret-recovery-window",
    "Secrets keep a recovery window of at least 7 days so an accidental delete or destroy can be undone "
    "(restore-secret). Fix: recovery_window_in_days >= 7.",
    [SECRET],
    _recovery_window(7),
    config_schema=PolicyConfigSchema(properties={"minimumDays": {"type": "integer", "default": 7, "minimum": 7}}),
)

recovery_window_recommended = resource_policy(
    "secret-recovery-window-recommended",
    "Secrets keep the 30-day recovery window the deployment notes rely on. Fix: recovery_window_in_days = 30.",
    [SECRET],
    _recovery_window(30),
    level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    config_schema=PolicyConfigSchema(properties={"minimumDays": {"type": "integer", "default": 30}}),
)

POLICIES = [version_not_empty, referenced_secrets_have_values, recovery_window_minimum, recovery_window_recommended]
