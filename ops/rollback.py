"""Roll the service back to an earlier image: through Pulumi by default (state never drifts), or
straight through ECS with --now for emergencies.

Which revision is "the previous one that ran successfully": DescribeServices lists only the
deployments still in flight, and ListServiceDeployments (the history) is not emulated by moto 5.2.5,
which these commands are tested against. So the rule is the newest ACTIVE revision of the service's
task definition family that is older than the one running, runs a different image, and whose image
is still in ECR (the lifecycle policy may have expired it). Deregistered revisions are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import botocore.exceptions

from ops.common import EXIT_GONE, EXIT_USAGE, Aws, OpsError, Printer, StackOutputs

_REVISION = re.compile(r"task-definition/(?P<family>[^:]+):(?P<revision>\d+)$")


@dataclass(frozen=True)
class Revision:
    arn: str
    family: str
    number: int
    image: str


def parse_arn(arn: str) -> tuple[str, int]:
    match = _REVISION.search(arn)
    if not match:
        raise OpsError(f"{arn} is not a task definition revision ARN")
    return match.group("family"), int(match.group("revision"))


def describe(aws: Aws, arn: str, container: str) -> Revision:
    definition = aws.ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    image = next((c["image"] for c in definition["containerDefinitions"] if c["name"] == container),
                 definition["containerDefinitions"][0]["image"])
    return Revision(definition["taskDefinitionArn"], definition["family"], definition["revision"], image)


def current_revision(aws: Aws, outputs: StackOutputs) -> Revision:
    services = aws.ecs.describe_services(cluster=outputs["clusterName"], services=[outputs["serviceName"]])["services"]
    if not services or services[0]["status"] == "INACTIVE":  # deleted: MISSING, or INACTIVE for a while
        raise OpsError(f"ECS service {outputs['serviceName']} does not exist", EXIT_GONE)
    return describe(aws, services[0]["taskDefinition"], outputs["containerName"])


def image_exists(aws: Aws, outputs: StackOutputs, image: str) -> bool:
    if "@sha256:" not in image:
        return False
    try:
        aws.ecr.describe_images(repositoryName=outputs["ecrRepositoryName"],
                                imageIds=[{"imageDigest": image.split("@", 1)[1]}])
    except botocore.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] in ("ImageNotFoundException", "RepositoryNotFoundException"):
            return False
        raise
    return True


def choose_previous(aws: Aws, outputs: StackOutputs, current: Revision) -> Revision:
    paginator = aws.ecs.get_paginator("list_task_definitions")
    arns = [arn for page in paginator.paginate(familyPrefix=current.family, status="ACTIVE", sort="DESC")
            for arn in page["taskDefinitionArns"]]
    skipped = []
    for arn in arns:
        family, number = parse_arn(arn)
        if family != current.family or number >= current.number:  # familyPrefix also matches "<family>-migrate"
            continue
        candidate = describe(aws, arn, outputs["containerName"])
        if candidate.image == current.image:
            skipped.append(f"{number} (same image)")
        elif not image_exists(aws, outputs, candidate.image):
            skipped.append(f"{number} (image no longer in ECR)")
        else:
            return candidate
    raise OpsError(f"no earlier revision of {current.family} to roll back to (running {current.number}"
                   f"{'; skipped ' + ', '.join(skipped) if skipped else ''}); pass --to-digest")


def reconcile_command(stack: str, image: str) -> str:
    return f"pulumi config set imageOverride {image} -s {stack} && pulumi up -s {stack}"


def revision_for_image(aws: Aws, outputs: StackOutputs, current: Revision, image: str) -> str:
    """A revision that runs ``image``: an existing one, or a copy of the current one with the image replaced."""
    paginator = aws.ecs.get_paginator("list_task_definitions")
    for page in paginator.paginate(familyPrefix=current.family, status="ACTIVE", sort="DESC"):
        for arn in page["taskDefinitionArns"]:
            if parse_arn(arn)[0] == current.family and describe(aws, arn, outputs["containerName"]).image == image:
                return arn
    definition = aws.ecs.describe_task_definition(taskDefinition=current.arn)["taskDefinition"]
    containers = [{**c, "image": image} if c["name"] == outputs["containerName"] else c
                  for c in definition["containerDefinitions"]]
    keep = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "requiresCompatibilities", "cpu", "memory",
            "runtimePlatform", "volumes")
    registered = aws.ecs.register_task_definition(
        **{k: definition[k] for k in keep if definition.get(k)}, containerDefinitions=containers)
    return registered["taskDefinition"]["taskDefinitionArn"]


def rollback(aws: Aws, outputs: StackOutputs, stack: str, printer: Printer, adapter=None, to_digest: str | None = None,
             now: bool = False) -> str:
    current = current_revision(aws, outputs)
    if to_digest:
        digest = to_digest.split("@", 1)[-1]
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
            raise OpsError(f"--to-digest {to_digest!r}: expected sha256:<64 hex> or <repository>@sha256:<64 hex>",
                           EXIT_USAGE)
        image = f"{outputs['ecrRepositoryUrl']}@{digest}"
        if not image_exists(aws, outputs, image):
            raise OpsError(f"{digest} is not in ECR repository {outputs['ecrRepositoryName']}")
        target_arn = None
    else:
        target = choose_previous(aws, outputs, current)
        image, target_arn = target.image, target.arn
    printer(f"rolling back {outputs['serviceName']} from revision {current.number} "
            f"({current.image.split('@')[-1][:19]}…) to {image.split('@')[-1][:19]}…")
    if now:
        target_arn = target_arn or revision_for_image(aws, outputs, current, image)
        aws.ecs.update_service(cluster=outputs["clusterName"], service=outputs["serviceName"],
                               taskDefinition=target_arn)
        printer(f"ECS now rolls out {target_arn.rsplit('/', 1)[-1]}. Pulumi's state still names the old image: "
                f"reconcile with\n  {reconcile_command(stack, image)}")
    else:
        if adapter is None:
            raise OpsError("rolling back through Pulumi needs the Pulumi CLI (or use --now)", EXIT_USAGE)
        adapter.set_config("imageOverride", image)
        adapter.up()
        printer(f"stack {stack} now pins imageOverride={image}; remove it (pulumi config rm imageOverride) to "
                "return to building from source")
    return image
