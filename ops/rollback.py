"""Roll the service back to the previous working release: through Pulumi by default (state never
drifts), or straight through ECS with --now for emergencies.

Which release "worked": ECS's service-deployment history (ListServiceDeployments) records the
deployments that finished SUCCESSFUL and the task definition each one rolled out; the newest such
release that runs another image still in ECR is the target. Where that history is not available
(older partitions, emulators), the newest ACTIVE older revision of the task definition family with
another image still in ECR is taken instead — the program keeps superseded revisions ACTIVE
(skipDestroy), so they are there to return to.

During a blue/green, canary or linear deployment that is still shifting traffic or baking, the old
tasks are still running: the rollback is ECS's own (StopServiceDeployment with ROLLBACK), which moves
production traffic back at once instead of starting another deployment.

The rollback is recorded where the next `pulumi up` reads it: the stack's config pins
``imageOverride`` to the image rolled back to, in ``Pulumi.<stack>.yaml``. That file must be
committed, or a deploy from a clean checkout rolls forward again; in CI the command insists on
committing it itself (``--commit``).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import botocore.exceptions

from ops import deployments
from ops.common import EXIT_GONE, EXIT_USAGE, Aws, OpsError, Printer, StackOutputs

_REVISION = re.compile(r"task-definition/(?P<family>[^:]+):(?P<revision>\d+)$")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
HISTORY_BATCH = 20  # DescribeServiceRevisions accepts up to 20 ARNs per call


@dataclass(frozen=True)
class Revision:
    arn: str
    family: str
    number: int
    image: str
    active: bool = True


def parse_arn(arn: str) -> tuple[str, int]:
    match = _REVISION.search(arn)
    if not match:
        raise OpsError(f"{arn} is not a task definition revision ARN")
    return match.group("family"), int(match.group("revision"))


def describe(aws: Aws, arn: str, container: str) -> Revision:
    definition = aws.ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    image = next((c["image"] for c in definition["containerDefinitions"] if c["name"] == container),
                 definition["containerDefinitions"][0]["image"])
    return Revision(definition["taskDefinitionArn"], definition["family"], definition["revision"], image,
                    definition.get("status", "ACTIVE") == "ACTIVE")


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


def successful_releases(aws: Aws, outputs: StackOutputs) -> list[str] | None:
    """Task definitions of the service's SUCCESSFUL deployments, newest first; None without a history."""
    briefs, token = [], None
    try:
        while True:
            page = aws.ecs.list_service_deployments(
                cluster=outputs["clusterName"], service=outputs["serviceName"], status=["SUCCESSFUL"],
                **({"nextToken": token} if token else {}))
            briefs += page.get("serviceDeployments", [])
            token = page.get("nextToken")
            if not token:
                break
        briefs.sort(key=lambda b: b.get("finishedAt") or b.get("createdAt"), reverse=True)
        revision_arns = [b["targetServiceRevisionArn"] for b in briefs if b.get("targetServiceRevisionArn")]
        task_definitions: dict[str, str] = {}
        for start in range(0, len(revision_arns), HISTORY_BATCH):
            batch = revision_arns[start:start + HISTORY_BATCH]
            described = aws.ecs.describe_service_revisions(serviceRevisionArns=batch)
            task_definitions.update({r["serviceRevisionArn"]: r["taskDefinition"]
                                     for r in described.get("serviceRevisions", [])})
    except botocore.exceptions.ClientError:
        return None  # no deployment history here (an older region, an emulator): walk the revisions
    return [task_definitions[arn] for arn in revision_arns if arn in task_definitions]


def active_revisions(aws: Aws, family: str) -> list[str]:
    """The family's ACTIVE revisions, newest first."""
    paginator = aws.ecs.get_paginator("list_task_definitions")
    arns = [arn for page in paginator.paginate(familyPrefix=family, status="ACTIVE", sort="DESC")
            for arn in page["taskDefinitionArns"]
            if parse_arn(arn)[0] == family]  # familyPrefix also matches "<family>-migrate"
    return sorted(arns, key=lambda arn: parse_arn(arn)[1], reverse=True)  # not every emulator sorts


def choose_previous(aws: Aws, outputs: StackOutputs, current: Revision, printer: Printer) -> Revision:
    history = successful_releases(aws, outputs)
    if history is None:
        printer("ECS keeps no deployment history here: choosing among the family's ACTIVE older revisions")
        candidates = [arn for arn in active_revisions(aws, current.family) if parse_arn(arn)[1] < current.number]
    else:
        candidates = list(dict.fromkeys(history))
    skipped = []
    for arn in candidates:
        candidate = describe(aws, arn, outputs["containerName"])
        if candidate.image == current.image:
            skipped.append(f"{candidate.number} (same image)")
        elif not image_exists(aws, outputs, candidate.image):
            skipped.append(f"{candidate.number} (image no longer in ECR)")
        else:
            return candidate
    source = "successful deployment" if history is not None else "earlier ACTIVE revision"
    raise OpsError(f"no {source} of {current.family} to roll back to (running revision {current.number}"
                   f"{'; skipped ' + ', '.join(skipped) if skipped else ''}); pass --to-digest")


def revision_for_image(aws: Aws, outputs: StackOutputs, current: Revision, image: str) -> str:
    """An ACTIVE revision that runs ``image``: an existing one, or a copy of the running one with the image
    replaced (an INACTIVE revision can be neither run nor the target of UpdateService)."""
    for arn in active_revisions(aws, current.family):
        if describe(aws, arn, outputs["containerName"]).image == image:
            return arn
    definition = aws.ecs.describe_task_definition(taskDefinition=current.arn)["taskDefinition"]
    containers = [{**c, "image": image} if c["name"] == outputs["containerName"] else c
                  for c in definition["containerDefinitions"]]
    keep = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "requiresCompatibilities", "cpu", "memory",
            "runtimePlatform", "volumes")
    registered = aws.ecs.register_task_definition(
        **{k: definition[k] for k in keep if definition.get(k)}, containerDefinitions=containers)
    return registered["taskDefinition"]["taskDefinitionArn"]


# --------------------------------------------------------------------------- recording the pin


def running_in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("GITHUB_ACTIONS") == "true"


def _git(directory: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=directory, capture_output=True, text=True, check=False)


def check_can_commit(config_file: Path) -> None:
    """Before anything changes: the stack file must be inside a git work tree that git can commit in."""
    try:
        inside = _git(config_file.parent, "rev-parse", "--is-inside-work-tree")
    except FileNotFoundError as exc:
        raise OpsError("--commit needs git on the PATH; nothing was changed", EXIT_USAGE) from exc
    if inside.returncode != 0:
        raise OpsError(f"--commit: {config_file.parent} is not in a git work tree; nothing was changed", EXIT_USAGE)


def commit_pin(config_file: Path, stack: str, image: str) -> str:
    digest = image.split("@", 1)[-1]
    identity = []
    if not _git(config_file.parent, "config", "user.email").stdout.strip():  # CI runners have no identity
        identity = ["-c", "user.name=ops rollback", "-c", "user.email=ops-rollback@users.noreply.github.com"]
    add = _git(config_file.parent, "add", "--", config_file.name)
    message = (f"Roll back {stack} to {digest[:19]}…\n\nPins imageOverride={image} (python -m ops rollback); "
               "remove the pin with `pulumi config rm imageOverride` to release new code.")
    committed = _git(config_file.parent, *identity, "commit", "-m", message, "--", config_file.name)
    if add.returncode or committed.returncode:
        raise OpsError(f"the rollback is live, but recording it failed: {(add.stderr + committed.stderr).strip()}. "
                       f"Commit {config_file.name} yourself, or the next deploy rolls forward again")
    return _git(config_file.parent, "rev-parse", "--short", "HEAD").stdout.strip()


def record_pin(adapter, stack: str, image: str, printer: Printer, commit: bool) -> None:
    """Say where the pin lives (the stack's config file, read by the next `pulumi up`); commit it if asked."""
    config_file = Path(adapter.config_file)
    if commit:
        sha = commit_pin(config_file, stack, image)
        printer(f"recorded: commit {sha} pins imageOverride in {config_file.name}; push it (a pull request or the "
                "branch the deploy workflow builds) so every later deploy keeps this image")
    else:
        printer(f"{config_file} changed: imageOverride = {image}.\n"
                f"  Commit it now: git add {config_file.name} && git commit -m 'Roll back {stack}'\n"
                "  Until it is committed, a deploy from a clean checkout rolls forward again.\n"
                f"  Release the pin later with: pulumi config rm imageOverride -s {stack} (in a commit of its own)")


# --------------------------------------------------------------------------- the command


def target_image(aws: Aws, outputs: StackOutputs, current: Revision, to_digest: str | None,
                 printer: Printer) -> tuple[str, str | None]:
    """The image to roll back to, and the revision that ran it (None when chosen by digest)."""
    if not to_digest:
        target = choose_previous(aws, outputs, current, printer)
        return target.image, target.arn if target.active else None
    digest = to_digest.split("@", 1)[-1]
    if not _DIGEST.fullmatch(digest):
        raise OpsError(f"--to-digest {to_digest!r}: expected sha256:<64 hex> or <repository>@sha256:<64 hex>",
                       EXIT_USAGE)
    image = f"{outputs['ecrRepositoryUrl']}@{digest}"
    if not image_exists(aws, outputs, image):
        raise OpsError(f"{digest} is not in ECR repository {outputs['ecrRepositoryName']}")
    return image, None


def rollback_in_flight(aws: Aws, outputs: StackOutputs, stack: str, printer: Printer, adapter, commit: bool) -> bool:
    """ECS's own rollback of a deployment still shifting or baking; False when there is none."""
    try:
        deployment = deployments.stoppable(aws, outputs)
    except botocore.exceptions.ClientError:
        return False  # no deployment history here: nothing ECS can stop
    if deployment is None:
        return False
    stage = deployments.PHASES.get(deployment["lifecycleStage"], deployment["lifecycleStage"])
    image = deployments.source_image(aws, deployment, outputs["containerName"])
    deployments.stop_with_rollback(aws, deployment)
    printer(f"deployment {deployment['serviceDeploymentArn'].rsplit('/', 1)[-1]} was in '{stage}': ECS rolls it "
            "back (StopServiceDeployment ROLLBACK); production traffic returns to the old tasks, still running")
    if image:
        adapter.set_config("imageOverride", image)
        record_pin(adapter, stack, image, printer, commit)
    return True


def rollback(aws: Aws, outputs: StackOutputs, stack: str, printer: Printer, adapter=None, to_digest: str | None = None,
             now: bool = False, commit: bool = False) -> str:
    if adapter is None:
        raise OpsError("rollback records its pin in the stack's config and needs the Pulumi CLI", EXIT_USAGE)
    if running_in_ci() and not commit:
        raise OpsError("in CI a rollback must be recorded in git, or the next deploy rolls forward again: pass "
                       "--commit (and push the commit it makes); nothing was changed", EXIT_USAGE)
    if commit:
        check_can_commit(Path(adapter.config_file))
    if not to_digest and rollback_in_flight(aws, outputs, stack, printer, adapter, commit):
        return ""
    current = current_revision(aws, outputs)
    image, target_arn = target_image(aws, outputs, current, to_digest, printer)
    printer(f"rolling back {outputs['serviceName']} from revision {current.number} "
            f"({current.image.split('@')[-1][:19]}…) to {image.split('@')[-1][:19]}…")
    if now:
        target_arn = target_arn or revision_for_image(aws, outputs, current, image)
        aws.ecs.update_service(cluster=outputs["clusterName"], service=outputs["serviceName"],
                               taskDefinition=target_arn)
        adapter.set_config("imageOverride", image)
        printer(f"ECS now rolls out {target_arn.rsplit('/', 1)[-1]}; the next `pulumi up -s {stack}` keeps this "
                "image (pinned below) and registers the program's own revision for it")
    else:
        adapter.set_config("imageOverride", image)
        adapter.up()
        running = current_revision(aws, outputs)
        if running.image != image:
            raise OpsError(f"after `pulumi up` the service runs {running.image}, not {image}: see "
                           f"`python -m ops status -s {stack}`")
        printer(f"{outputs['serviceName']} runs {image.split('@')[-1][:19]}… (revision {running.number})")
    record_pin(adapter, stack, image, printer, commit)
    return image
