"""AWS Secrets Manager: secrets exist with a value before tasks need them, and survive mistakes."""

from __future__ import annotations

import re

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, Severity

from guardrails.common import config_value, containers, number, of_type, related, resource_policy, stack_policy

SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
PARAMETER = "aws:ssm/parameter:Parameter"
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
            "Fix: set the value (pulumi config set --secret <key>: the CLI asks for it without echoing it)."
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
    if response.get("SecretBinary"):
        return None  # a version holds a string or a binary value, never both
    value = response.get("SecretString")
    return None if value and value.strip() else "its current value is empty"


def secret_reference(value_from: str) -> str:
    """The secret or parameter a ``valueFrom`` names, without the JSON key, version stage and version id that
    ECS allows after a Secrets Manager ARN: ``arn:aws:secretsmanager:<region>:<account>:secret:<name>``
    followed by ``:<json-key>:<version-stage>:<version-id>``."""
    value_from = value_from.strip()
    if value_from.startswith("arn:") and value_from.split(":")[2:3] == ["secretsmanager"]:
        return ":".join(value_from.split(":")[:7])
    return value_from


def _keys(resource, *props: str) -> set[str]:
    """The known, non-empty string values of ``props`` (what a reference may use to name ``resource``)."""
    return {value for value in (resource.props.get(prop) for prop in props) if isinstance(value, str) and value}


def _names_secret(reference: str, name: str | None) -> bool:
    """A Secrets Manager ARN ends in ``secret:<name>-<6 random characters>``."""
    tail = reference.partition(":secret:")[2]  # "" when the reference is no Secrets Manager ARN
    return bool(name) and (tail == name or (tail.startswith(name + "-") and len(tail) == len(name) + 7))


class _Secrets:
    """The stack's secrets and parameters, findable by anything that names them."""

    def __init__(self, resources):
        self.secrets = of_type(resources, SECRET)
        self.by_key = {key: secret for secret in self.secrets for key in _keys(secret, "arn", "id", "name")}
        self.parameters = {key for p in of_type(resources, PARAMETER) for key in _keys(p, "arn", "name")}
        self.with_value: set[str] = set()
        for version in of_type(resources, SECRET_VERSION):
            # A URN names its resource type: the secrets among secretId's dependencies need no type filter.
            self.with_value |= {r.urn for r in related(version, "secretId")}
            secret_id = version.props.get("secretId")
            target = self.find(secret_id) if isinstance(secret_id, str) else None
            if target is not None:
                self.with_value.add(target.urn)

    def find(self, reference: str):
        reference = secret_reference(reference)
        if reference in self.by_key:
            return self.by_key[reference]
        return next((s for s in self.secrets if _names_secret(reference, s.props.get("name"))), None)

    def is_parameter(self, reference: str) -> bool:
        """A parameter of the stack, named by name or by ARN. The ARN of ``/app/x`` ends in ``:parameter/app/x``,
        the ARN of a name without a leading slash (``x``) in ``:parameter/x``."""
        path = reference.partition(":parameter/")[2]  # "" when the reference is no parameter ARN
        return reference in self.parameters or path in self.parameters or f"/{path}" in self.parameters


def _referenced_secrets_have_values(args, report_violation):
    stack = _Secrets(args.resources)
    external_patterns = [re.compile(p) for p in config_value(args, "externalSecretPatterns", [])]
    verify = config_value(args, "verifyExternalWithAws", False)
    for task in of_type(args.resources, TASK_DEFINITION):
        referenced = {s.urn: s for s in related(task, "containerDefinitions", SECRET)}
        unmanaged = set()
        for container in containers(task.props):
            for entry in container.get("secrets") or []:
                value_from = str(entry.get("valueFrom") or "")
                secret = stack.find(value_from)
                if secret is not None:
                    referenced[secret.urn] = secret
                elif value_from and not stack.is_parameter(value_from):
                    unmanaged.add(secret_reference(value_from))
        for secret in referenced.values():
            name = secret.props.get("name") or secret.name
            external = (secret.props.get("tags") or {}).get(EXTERNAL_TAG) == "external"
            if secret.urn in stack.with_value:
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
        for reference in sorted(unmanaged):
            if any(p.search(reference) for p in external_patterns):
                continue
            report_violation(
                f"Task definition {task.name} reads {reference}, a secret this stack does not manage. Fix: add its "
                "ARN pattern to this policy's externalSecretPatterns so the choice is explicit.",
                task.urn,
            )


referenced_secrets_have_values = stack_policy(
    "secrets-have-values",
    "Every secret a task definition references (by ARN, with or without a JSON key, or by name) has a value in the "
    "stack, or is declared external (tag "
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


def recovery_window_problem(days: float | None, wanted: int) -> str | None:
    """The message for a recovery window shorter than ``wanted`` days (None: the provider's default, 30)."""
    days = 30 if days is None else days
    if days == 0:
        return (f"recoveryWindowInDays is 0: a deleted secret is gone immediately. Use at least {wanted} days "
                "(30 recommended).")
    if days < wanted:
        return f"recoveryWindowInDays is {days:g}; use at least {wanted} days."
    return None


def _minimum_window(args, report_violation):
    problem = recovery_window_problem(number(args.props.get("recoveryWindowInDays")),
                                      config_value(args, "minimumDays", 7))
    if problem:
        report_violation(problem)


def _recommended_window(args, report_violation):
    problem = recovery_window_problem(number(args.props.get("recoveryWindowInDays")),
                                      config_value(args, "minimumDays", 30))
    if problem:
        report_violation(problem)


recovery_window_minimum = resource_policy(
    "secret-recovery-window",
    "Secrets keep a recovery window of at least 7 days so an accidental delete or destroy can be undone "
    "(restore-secret). Fix: recovery_window_in_days >= 7.",
    [SECRET],
    _minimum_window,
    config_schema=PolicyConfigSchema(properties={"minimumDays": {"type": "integer", "default": 7, "minimum": 7}}),
)

recovery_window_recommended = resource_policy(
    "secret-recovery-window-recommended",
    "Secrets keep the 30-day recovery window the deployment notes rely on. Fix: recovery_window_in_days = 30.",
    [SECRET],
    _recommended_window,
    level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    config_schema=PolicyConfigSchema(properties={"minimumDays": {"type": "integer", "default": 30}}),
)

POLICIES = [version_not_empty, referenced_secrets_have_values, recovery_window_minimum, recovery_window_recommended]
