"""`ops rollback` after ordinary deploys, against a moto server that behaves like ECS where it matters:
`pulumi up` replaces a changed task definition and deregisters the old revision unless the program keeps
it, and an INACTIVE revision can neither run tasks nor be the target of UpdateService."""

from __future__ import annotations

import datetime
import subprocess
from pathlib import Path

import pytest
import yaml
from botocore.stub import Stubber
from moto.ecs.exceptions import EcsClientException
from moto.ecs.models import EC2ContainerServiceBackend

from ops.cli import main
from ops.common import StackOutputs
from ops.rollback import Revision, choose_previous
from tests.conftest import app_task
from tests.ops.conftest import NAME, REGION, STACK, World, stubbed_client
from tests.ops.test_commands import Recorder

PROJECT = "truecaller-backend"


@pytest.fixture(autouse=True)
def ecs_refuses_inactive_revisions(monkeypatch):
    """moto lets UpdateService and RunTask use a deregistered revision; ECS answers ClientException."""
    def guard(backend, task_definition):
        if task_definition and backend.describe_task_definition(task_definition).status == "INACTIVE":
            raise EcsClientException("TaskDefinition is inactive")

    update, run_task = EC2ContainerServiceBackend.update_service, EC2ContainerServiceBackend.run_task

    def update_service(self, service_properties):
        guard(self, service_properties.get("task_definition"))
        return update(self, service_properties)

    def run(self, cluster_str, task_definition_str, *args, **kwargs):
        guard(self, task_definition_str)
        return run_task(self, cluster_str, task_definition_str, *args, **kwargs)

    monkeypatch.setattr(EC2ContainerServiceBackend, "update_service", update_service)
    monkeypatch.setattr(EC2ContainerServiceBackend, "run_task", run)


class ProgramAdapter:
    """The Pulumi CLI running this program, as far as ECS sees it: a changed image replaces both task
    definitions (new revisions; the old ones deregistered unless the program sets skipDestroy) and the
    service moves to the new revision. `imageOverride` is read from the stack file `set_config` writes."""

    def __init__(self, world: World, project_dir: Path, keep_revisions: bool):
        self.world, self.project_dir, self.keep_revisions = world, project_dir, keep_revisions
        self.stack_name = STACK
        self.release_image: str | None = None  # what the build of the checked-out source pushes
        self.ups = 0

    def __call__(self, stack: str):
        return self

    @property
    def config_file(self) -> Path:
        return self.project_dir / f"Pulumi.{STACK}.yaml"

    def _config(self) -> dict:
        return (yaml.safe_load(self.config_file.read_text()) or {}).get("config") or {}

    def set_config(self, key: str, value: str) -> None:
        document = yaml.safe_load(self.config_file.read_text()) or {}
        document.setdefault("config", {})[f"{PROJECT}:{key}"] = value
        self.config_file.write_text(yaml.safe_dump(document))

    def outputs(self) -> dict:
        return dict(self.world.outputs)

    def resources(self):
        return self.world.state()

    def up(self, targets=None) -> None:
        self.ups += 1
        image = self._config().get(f"{PROJECT}:imageOverride") or self.release_image
        ecs = self.world.client("ecs")
        for output, register in (("taskDefinitionArn", self.world.register_app),
                                 ("migrationTaskDefinitionArn", self.world.register_migration)):
            old = self.world.outputs[output]
            if ecs.describe_task_definition(taskDefinition=old)["taskDefinition"]["containerDefinitions"][0][
                    "image"] == image:
                continue  # no diff, no replacement
            self.world.outputs[output] = register(image)
            if not self.keep_revisions:
                ecs.deregister_task_definition(taskDefinition=old)
        ecs.update_service(cluster=NAME, service=NAME, taskDefinition=self.world.outputs["taskDefinitionArn"])
        self.world.outputs["image"] = image


def git(directory: Path, *args: str) -> str:
    identity = ["-c", "user.name=test", "-c", "user.email=test@example.com"]
    return subprocess.run(["git", *identity, *args], cwd=directory, check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture
def project(tmp_path) -> Path:
    """A clone of the project as far as rollback touches it: the stack file, committed."""
    (tmp_path / f"Pulumi.{STACK}.yaml").write_text(f"config:\n  aws:region: {REGION}\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "stack")
    return tmp_path


@pytest.fixture
def program_keeps_revisions(prod) -> bool:
    """Read from the real program: does it set skipDestroy on the service's task definition?"""
    return app_task(prod).inputs.get("skipDestroy") is True


@pytest.fixture
def released(world, project, program_keeps_revisions, monkeypatch):
    """Three ordinary `pulumi up`s: releases v1, v2, v3 (the running one)."""
    for variable in ("CI", "GITHUB_ACTIONS"):
        monkeypatch.delenv(variable, raising=False)
    adapter = ProgramAdapter(world, project, program_keeps_revisions)
    image = {tag: f"{world.repository_url}@{digest}" for tag, digest in world.digests.items()}
    for tag in ("v1", "v2", "v3"):
        adapter.release_image = image[tag]
        adapter.up()
    return adapter, image


def running_image(world) -> str:
    ecs = world.client("ecs")
    arn = ecs.describe_services(cluster=NAME, services=[NAME])["services"][0]["taskDefinition"]
    return ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]["containerDefinitions"][0]["image"]


def rollback(world, adapter, *extra) -> tuple[int, Recorder]:
    recorder = Recorder()
    code = main(["rollback", "-s", STACK, "--region", REGION, *extra], adapter_factory=adapter, printer=recorder)
    return code, recorder


def test_rollback_after_ordinary_deploys_restores_the_previous_release(world, released, capsys):
    adapter, image = released
    code, out = rollback(world, adapter)
    assert code == 0, out.text + capsys.readouterr().err
    assert running_image(world) == image["v2"]
    migration = world.client("ecs").describe_task_definition(
        taskDefinition=world.outputs["migrationTaskDefinitionArn"])["taskDefinition"]
    assert migration["containerDefinitions"][0]["image"] == image["v2"]  # image and both definitions together
    assert adapter._config()[f"{PROJECT}:imageOverride"] == image["v2"]
    assert f"{adapter.config_file} changed: imageOverride = {image['v2']}" in out.text
    assert f"git add Pulumi.{STACK}.yaml && git commit" in out.text


def test_the_next_up_keeps_the_rolled_back_image(world, released):
    adapter, image = released
    assert rollback(world, adapter)[0] == 0
    adapter.release_image = f"{world.repository_url}@sha256:{'9' * 64}"  # a rebuild of the bad source
    adapter.up()
    assert running_image(world) == image["v2"]


def test_a_release_whose_image_expired_from_ecr_is_skipped(world, released):
    adapter, image = released
    world.client("ecr").batch_delete_image(repositoryName=NAME, imageIds=[{"imageDigest": world.digests["v2"]}])
    code, out = rollback(world, adapter)
    assert code == 0 and running_image(world) == image["v1"]
    assert "ECS keeps no deployment history here" in out.text


def test_without_kept_revisions_there_is_nothing_to_return_to(world, project, capsys, monkeypatch):
    # What every rollback met before the program kept superseded revisions: only the running one is ACTIVE.
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    adapter = ProgramAdapter(world, project, keep_revisions=False)
    for tag in ("v1", "v2", "v3"):
        adapter.release_image = f"{world.repository_url}@{world.digests[tag]}"
        adapter.up()
    assert rollback(world, adapter, "--now")[0] == 1
    assert "no earlier ACTIVE revision" in capsys.readouterr().err


def test_now_updates_ecs_to_the_kept_revision_and_pins_the_image(world, released):
    adapter, image = released
    ups = adapter.ups
    code, out = rollback(world, adapter, "--now")
    assert code == 0, out.text
    assert running_image(world) == image["v2"] and adapter.ups == ups  # ECS directly, no `pulumi up`
    assert adapter._config()[f"{PROJECT}:imageOverride"] == image["v2"]
    adapter.up()  # the reconciling `pulumi up` keeps the image
    assert running_image(world) == image["v2"]


def test_now_never_points_the_service_at_an_inactive_revision(world, released):
    adapter, image = released
    ecs = world.client("ecs")
    inactive = ecs.register_task_definition(family=NAME, containerDefinitions=[
        {"name": "app", "image": "x", "memory": 512}])["taskDefinition"]["taskDefinitionArn"]
    ecs.deregister_task_definition(taskDefinition=inactive)
    with pytest.raises(ecs.exceptions.ClientException, match="TaskDefinition is inactive"):
        ecs.update_service(cluster=NAME, service=NAME, taskDefinition=inactive)
    code, _ = rollback(world, adapter, "--now", "--to-digest", world.digests["v1"])
    assert code == 0 and running_image(world) == image["v1"]


def test_in_ci_a_rollback_without_commit_changes_nothing(world, released, monkeypatch, capsys):
    adapter, image = released
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    ups = adapter.ups
    code, _ = rollback(world, adapter)
    assert code == 2 and "pass --commit" in capsys.readouterr().err
    assert running_image(world) == image["v3"] and adapter.ups == ups
    assert f"{PROJECT}:imageOverride" not in adapter._config()


def test_commit_records_the_pin_in_git(world, released, monkeypatch):
    adapter, image = released
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")  # a runner without a git identity
    code, out = rollback(world, adapter, "--commit")
    assert code == 0, out.text
    project = adapter.config_file.parent
    assert git(project, "status", "--porcelain") == ""
    assert f"imageOverride: {image['v2']}" in git(project, "show", "HEAD", "--", adapter.config_file.name)
    assert "Roll back test to sha256:" in git(project, "log", "-1", "--format=%s")
    assert "recorded: commit" in out.text


def test_commit_outside_a_git_work_tree_is_refused_before_anything_changes(world, released, tmp_path_factory,
                                                                          capsys):
    adapter, image = released
    elsewhere = tmp_path_factory.mktemp("not-a-repo")
    (elsewhere / adapter.config_file.name).write_text(adapter.config_file.read_text())
    adapter.project_dir = elsewhere
    code, _ = rollback(world, adapter, "--commit")
    assert code == 2 and "is not in a git work tree; nothing was changed" in capsys.readouterr().err
    assert running_image(world) == image["v3"]


def test_a_bad_digest_and_an_unknown_digest_are_refused(world, released, capsys):
    adapter, _ = released
    assert rollback(world, adapter, "--to-digest", "v1")[0] == 2
    assert rollback(world, adapter, "--to-digest", "sha256:" + "f" * 64)[0] == 1
    assert "is not in ECR repository" in capsys.readouterr().err


# --------------------------------------------------------------------------- ECS's deployment history


class StubbedAws:
    """`Aws` with stubbed clients: moto has no ListServiceDeployments, botocore checks every shape."""

    def __init__(self):
        self.ecs, self.ecr = stubbed_client("ecs"), stubbed_client("ecr")


def test_the_newest_successful_deployment_with_another_image_is_the_target():
    aws = StubbedAws()
    outputs = StackOutputs({"clusterName": NAME, "serviceName": NAME, "containerName": "app",
                            "ecrRepositoryName": NAME}, "test")
    repo = f"123456789012.dkr.ecr.{REGION}.amazonaws.com/{NAME}"
    images = {n: f"{repo}@sha256:{str(n) * 64}" for n in (1, 2, 3)}
    arn = f"arn:aws:ecs:{REGION}:123456789012:task-definition/{NAME}:"
    when = datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)
    with Stubber(aws.ecs) as ecs, Stubber(aws.ecr) as ecr:
        ecs.add_response("list_service_deployments", {"serviceDeployments": [
            {"serviceDeploymentArn": f"d{n}", "targetServiceRevisionArn": f"r{n}", "status": "SUCCESSFUL",
             "finishedAt": when + datetime.timedelta(days=n)} for n in (5, 7, 6)]},
            {"cluster": NAME, "service": NAME, "status": ["SUCCESSFUL"]})
        ecs.add_response("describe_service_revisions", {"serviceRevisions": [
            {"serviceRevisionArn": "r7", "taskDefinition": arn + "7"},
            {"serviceRevisionArn": "r6", "taskDefinition": arn + "6"},
            {"serviceRevisionArn": "r5", "taskDefinition": arn + "5"}]},
            {"serviceRevisionArns": ["r7", "r6", "r5"]})
        for number, image in ((7, images[3]), (6, images[2]), (5, images[1])):
            ecs.add_response("describe_task_definition", {"taskDefinition": {
                "taskDefinitionArn": arn + str(number), "family": NAME, "revision": number, "status": "ACTIVE",
                "containerDefinitions": [{"name": "app", "image": image}]}}, {"taskDefinition": arn + str(number)})
            if number == 6:  # revision 7 runs the current image; 6 is in ECR no more
                ecr.add_client_error("describe_images", "ImageNotFoundException")
            if number == 5:
                ecr.add_response("describe_images", {"imageDetails": []})
        # The service runs revision 8 (image 3), whose deployment is still in progress.
        target = choose_previous(aws, outputs, Revision(arn + "8", NAME, 8, images[3]), print)
        ecs.assert_no_pending_responses()
    assert target.number == 5 and target.image == images[1]
