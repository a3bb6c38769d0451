"""The deployment notes' checklist (section 8) as code. Secret values are read to check they are
not empty and never printed."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import botocore.exceptions

from infra.config import SECRET_SPECS
from ops.common import Aws, StackOutputs, table

# Secret key -> the stack config key that holds its value in managed mode.
SECRET_CONFIG_KEYS = {key: config_key for key, (_env, config_key) in SECRET_SPECS.items()}


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _error_code(exc: botocore.exceptions.ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def check_identity(aws: Aws) -> Check:
    try:
        identity = aws.sts.get_caller_identity()
    except (botocore.exceptions.NoCredentialsError, botocore.exceptions.ClientError) as exc:
        return Check("AWS credentials", False, str(exc), "configure credentials (aws configure / AWS_PROFILE / OIDC)")
    return Check("AWS credentials", True, f"account {identity['Account']} as {identity['Arn'].rsplit('/', 1)[-1]}")


def check_secret(aws: Aws, key: str, name: str, stack: str) -> Check:
    config_key = SECRET_CONFIG_KEYS.get(key, key)
    fix = (f"pulumi config set --secret {config_key} -s {stack} (it asks for the value) && pulumi up -s {stack}  "
           f"(secretsMode external: aws secretsmanager put-secret-value --secret-id {name} --secret-string ...)")
    label = f"secret {name}"
    try:
        described = aws.secretsmanager.describe_secret(SecretId=name)
    except botocore.exceptions.ClientError as exc:
        if _error_code(exc) == "ResourceNotFoundException":
            return Check(label, False, "does not exist", f"pulumi up -s {stack} creates it; then {fix}")
        raise
    if described.get("DeletedDate"):
        return Check(label, False, "is scheduled for deletion",
                     f"aws secretsmanager restore-secret --secret-id {name}")
    current = [v for v, stages in (described.get("VersionIdsToStages") or {}).items() if "AWSCURRENT" in stages]
    if not current:
        return Check(label, False, "has no current version (never populated)", fix)
    try:
        value = aws.secretsmanager.get_secret_value(SecretId=name)
    except botocore.exceptions.ClientError as exc:
        return Check(label, False, f"cannot be read: {_error_code(exc)}", "grant secretsmanager:GetSecretValue")
    populated = bool((value.get("SecretString") or "").strip()) or bool(value.get("SecretBinary"))
    if not populated:
        return Check(label, False, "current value is empty (tasks fail with ResourceInitializationError)", fix)
    return Check(label, True, f"version {current[0][:8]}… has a value")


def secret_checks(aws: Aws, outputs: StackOutputs, stack: str) -> list[Check]:
    return [check_secret(aws, key, name, stack) for key, name in sorted(outputs["secretNames"].items())]


def check_image(aws: Aws, outputs: StackOutputs, image: str | None = None) -> Check:
    reference = image or outputs["image"]
    if "@sha256:" not in reference:
        return Check("image", False, f"{reference} is not pinned by digest", "deploy images by digest")
    digest = reference.split("@", 1)[1]
    repository = outputs["ecrRepositoryName"]
    try:
        aws.ecr.describe_images(repositoryName=repository, imageIds=[{"imageDigest": digest}])
    except botocore.exceptions.ClientError as exc:
        if _error_code(exc) in ("ImageNotFoundException", "RepositoryNotFoundException"):
            return Check("image", False, f"{digest[:19]}… is not in ECR repository {repository}",
                         "pulumi up builds and pushes the image (or pick an existing digest)")
        raise
    return Check("image", True, f"{repository}@{digest[:19]}… exists in ECR")


def check_service(aws: Aws, outputs: StackOutputs) -> list[Check]:
    cluster, service = outputs["clusterName"], outputs["serviceName"]
    clusters = aws.ecs.describe_clusters(clusters=[cluster])["clusters"]
    if not clusters or clusters[0]["status"] != "ACTIVE":
        return [Check("cluster", False, f"{cluster} does not exist", "pulumi up creates it")]
    checks = [Check("cluster", True, f"{cluster} is ACTIVE")]
    services = [s for s in aws.ecs.describe_services(cluster=cluster, services=[service])["services"]
                if s["status"] == "ACTIVE"]
    if not services:
        return checks + [Check("service", False, f"{service} does not exist", "pulumi up creates it")]
    s = services[0]
    checks.append(Check("service", True, f"{service}: {s['runningCount']}/{s['desiredCount']} running"))
    return checks


def check_targets(aws: Aws, outputs: StackOutputs) -> Check:
    try:
        health = aws.elbv2.describe_target_health(TargetGroupArn=outputs["targetGroupArn"])["TargetHealthDescriptions"]
    except botocore.exceptions.ClientError as exc:
        if _error_code(exc) != "TargetGroupNotFound":
            raise
        return Check("target health", False, f"target group {outputs['targetGroupArn'].rsplit(':', 1)[-1]} does "
                     "not exist", "pulumi refresh shows the drift; pulumi up recreates it")
    states = [t["TargetHealth"]["State"] for t in health]
    healthy = states.count("healthy")
    if not healthy:
        return Check("target health", False, f"no healthy target ({', '.join(states) or 'no targets'})",
                     "python -m ops status -s <stack>; python -m ops logs -s <stack> --since 30m")
    return Check("target health", True, f"{healthy}/{len(states)} targets healthy")


def run_preflight(aws: Aws, outputs: StackOutputs, stack: str, image: str | None = None) -> list[Check]:
    checks = [check_identity(aws)]
    if not checks[0].ok:
        return checks
    checks += secret_checks(aws, outputs, stack)
    checks.append(check_image(aws, outputs, image))
    checks += check_service(aws, outputs)
    if all(c.ok for c in checks if c.name == "service"):
        checks.append(check_targets(aws, outputs))
    return checks


def format_checks(checks: list[Check]) -> str:
    rows = [("PASS" if c.ok else "FAIL", c.name, c.detail) for c in checks]
    text = table(("", "check", "detail"), rows)
    fixes = [f"  {c.name}: {c.fix}" for c in checks if not c.ok and c.fix]
    return text + ("\n\nTo fix:\n" + "\n".join(fixes) if fixes else "")


def checks_json(checks: list[Check]) -> list[dict]:
    return [asdict(c) for c in checks]
