"""Following a blue/green, canary or linear deployment through its phases, and rolling one back with
ECS's own StopServiceDeployment. moto 5.2.5 has none of ECS's service-deployment APIs, so these run
against botocore's Stubber, which checks every request and response against ECS's service model. The
moto-backed tests meet the operations' absence as AWS reports it (the last test here)."""

from __future__ import annotations

import argparse
import datetime
import threading

import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from ops import deployments
from ops.cli import build_parser
from ops.common import Aws, OpsError, StackOutputs, poll_delay, waiter_config
from ops.rollback import rollback
from tests.ops.conftest import stubbed_client

REGION = "eu-central-1"
NAME = "truecaller-backend-prod"
ACCOUNT = "123456789012"
DEPLOYMENT = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/{NAME}/{NAME}/d-1"
OLD_REVISION = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/{NAME}/{NAME}/r-old"
OLD_TASK = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{NAME}:7"
OLD_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{NAME}@sha256:{'7' * 64}"
OUTPUTS = StackOutputs({"clusterName": NAME, "serviceName": NAME, "containerName": "app"}, "test")
START = datetime.datetime(2026, 11, 27, 12, 0, tzinfo=datetime.UTC)


class StubbedAws:
    def __init__(self):
        self.ecs = stubbed_client("ecs")


@pytest.fixture
def stubbed():
    stubbed = StubbedAws()
    with Stubber(stubbed.ecs) as stub:
        stubbed.stub = stub
        yield stubbed
        stub.assert_no_pending_responses()


def deployment(status: str, stage: str, weight: float | None, running: int = 2, **extra) -> dict:
    target = {"arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/{NAME}/{NAME}/r-new",
              "requestedTaskCount": 2, "runningTaskCount": running}
    if weight is not None:
        target["requestedProductionTrafficWeight"] = weight
    return {"serviceDeploymentArn": DEPLOYMENT, "status": status, "lifecycleStage": stage,
            "targetServiceRevision": target, "createdAt": START,
            "sourceServiceRevisions": [{"arn": OLD_REVISION, "requestedTaskCount": 2, "runningTaskCount": 2}],
            **extra}


def expect_poll(aws, described: dict, statuses=ANY) -> None:
    aws.stub.add_response("list_service_deployments", {"serviceDeployments": [
        {"serviceDeploymentArn": DEPLOYMENT, "status": described["status"], "createdAt": START}]},
        {"cluster": NAME, "service": NAME, "status": statuses, "createdAt": ANY})
    aws.stub.add_response("describe_service_deployments", {"serviceDeployments": [described]},
                          {"serviceDeploymentArns": [DEPLOYMENT]})


def test_a_canary_release_is_followed_phase_by_phase(stubbed):
    for described in (
        deployment("IN_PROGRESS", "SCALE_UP", None, running=1),
        deployment("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", 10.0),
        deployment("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", 10.0),  # unchanged: printed once
        deployment("IN_PROGRESS", "BAKE_TIME", 100.0),
        deployment("SUCCESSFUL", "CLEAN_UP", 100.0),
    ):
        expect_poll(stubbed, described)
    lines = []
    progress = deployments.follow(stubbed, OUTPUTS, lines.append, since=START.timestamp(), stop=threading.Event(),
                                  poll=0)
    phases = [line.split("] ", 1)[1] for line in lines]
    assert phases == [
        "IN_PROGRESS · starting the new tasks · new tasks 1/2",
        "IN_PROGRESS · shifting production traffic · new version takes 10 % of production traffic · new tasks 2/2",
        "IN_PROGRESS · bake: old tasks wait, ready for an instant rollback · new version takes 100 % of production "
        "traffic · new tasks 2/2",
        "SUCCESSFUL · removing the old tasks · new version takes 100 % of production traffic · new tasks 2/2",
    ]
    deployments.outcome(progress)  # no error


def test_an_alarm_during_the_bake_rolls_back_and_says_which(stubbed):
    expect_poll(stubbed, deployment("ROLLBACK_SUCCESSFUL", "CLEAN_UP", 0.0,
                                alarms={"status": "TRIGGERED", "alarmNames": [f"{NAME}-target-5xx-rate"],
                                        "triggeredAlarmNames": [f"{NAME}-target-5xx-rate"]},
                                rollback={"reason": "CloudWatch alarm triggered", "startedAt": START,
                                          "serviceRevisionArn": OLD_REVISION}))
    progress = deployments.follow(stubbed, OUTPUTS, lambda _: None, since=START.timestamp(), stop=threading.Event(),
                                  poll=0)
    with pytest.raises(OpsError, match=rf"ECS rolled the deployment back: CloudWatch alarm triggered \(alarms: "
                                       rf"{NAME}-target-5xx-rate\)"):
        deployments.outcome(progress)


def test_following_stops_when_asked(stubbed):
    stubbed.stub.add_response("list_service_deployments", {"serviceDeployments": []},
                          {"cluster": NAME, "service": NAME, "status": ANY, "createdAt": ANY})
    stop = threading.Event()
    stop.set()
    assert deployments.follow(stubbed, OUTPUTS, lambda _: None, since=START.timestamp(), stop=stop, poll=0) is None


class PinOnly:
    """The Pulumi adapter as rollback uses it during a bake: only the stack's config changes."""

    def __init__(self, tmp_path):
        self.config_file = tmp_path / "Pulumi.prod.yaml"
        self.config_file.write_text("config: {}\n")
        self.calls = []

    def set_config(self, key, value):
        self.calls.append(("set_config", key, value))

    def up(self, targets=None):
        self.calls.append(("up",))


def test_rollback_during_the_bake_is_ecss_own_rollback(stubbed, tmp_path, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    stubbed.stub.add_response("list_service_deployments", {"serviceDeployments": [
        {"serviceDeploymentArn": DEPLOYMENT, "status": "IN_PROGRESS", "createdAt": START}]},
        {"cluster": NAME, "service": NAME, "status": ["IN_PROGRESS"]})
    stubbed.stub.add_response("describe_service_deployments",
                          {"serviceDeployments": [deployment("IN_PROGRESS", "BAKE_TIME", 100.0)]},
                          {"serviceDeploymentArns": [DEPLOYMENT]})
    stubbed.stub.add_response("describe_service_revisions", {"serviceRevisions": [
        {"serviceRevisionArn": OLD_REVISION, "taskDefinition": OLD_TASK}]}, {"serviceRevisionArns": [OLD_REVISION]})
    stubbed.stub.add_response("describe_task_definition", {"taskDefinition": {
        "taskDefinitionArn": OLD_TASK, "containerDefinitions": [{"name": "app", "image": OLD_IMAGE}]}},
        {"taskDefinition": OLD_TASK})
    stubbed.stub.add_response("stop_service_deployment", {"serviceDeploymentArn": DEPLOYMENT},
                          {"serviceDeploymentArn": DEPLOYMENT, "stopType": "ROLLBACK"})
    adapter, lines = PinOnly(tmp_path), []
    rollback(stubbed, OUTPUTS, "prod", lines.append, adapter=adapter)
    assert adapter.calls == [("set_config", "imageOverride", OLD_IMAGE)]  # no new deployment: no `up`
    assert "was in 'bake: old tasks wait, ready for an instant rollback': ECS rolls it back" in lines[0]
    assert "imageOverride = " + OLD_IMAGE in lines[1]


@pytest.mark.parametrize(("stage", "stoppable"), [
    ("SCALE_UP", False), ("PRODUCTION_TRAFFIC_SHIFT", True), ("BAKE_TIME", True), ("CLEAN_UP", False)])
def test_only_a_shift_or_a_bake_can_be_rolled_back_by_ecs(stubbed, stage, stoppable):
    stubbed.stub.add_response("list_service_deployments", {"serviceDeployments": [
        {"serviceDeploymentArn": DEPLOYMENT, "status": "IN_PROGRESS", "createdAt": START}]},
        {"cluster": NAME, "service": NAME, "status": ["IN_PROGRESS"]})
    stubbed.stub.add_response("describe_service_deployments",
                          {"serviceDeployments": [deployment("IN_PROGRESS", stage, 50.0)]},
                          {"serviceDeploymentArns": [DEPLOYMENT]})
    assert (deployments.stoppable(stubbed, OUTPUTS) is not None) is stoppable


def test_without_a_deployment_history_the_watch_says_so_once(stubbed):
    stubbed.stub.add_client_error("list_service_deployments", "UnknownOperationException", "not here")
    lines = []
    with deployments.watched(stubbed, OUTPUTS, lines.append, poll=0) as followed:
        pass
    assert followed == [] and len(lines) == 1
    assert lines[0].startswith("(no deployment phases: ECS's deployment history is not available here")


def test_a_deployment_still_baking_when_up_returns_is_followed_to_its_end(stubbed):
    expect_poll(stubbed, deployment("IN_PROGRESS", "BAKE_TIME", 100.0))
    expect_poll(stubbed, deployment("SUCCESSFUL", "CLEAN_UP", 100.0))
    lines = []
    with deployments.watched(stubbed, OUTPUTS, lines.append, poll=0) as followed:
        pass  # `pulumi up` returned; ECS is still baking
    assert followed[0].status == "SUCCESSFUL" and len(lines) == 2


def test_deploy_warns_that_a_pinned_stack_keeps_its_image(world, outputs_file):
    from tests.ops.conftest import FakePulumiStack
    from tests.ops.test_commands import Recorder

    fake = FakePulumiStack(world)
    fake.config["imageOverride"] = world.outputs["image"]
    recorder = Recorder()
    from ops.deploy import warn_about_a_pin

    warn_about_a_pin(fake, "test", recorder)
    assert recorder.lines == [
        f"NOTE: the stack pins imageOverride = {world.outputs['image']} (a rollback): this deploy keeps that image "
        "and builds nothing. Release the pin with `pulumi config rm imageOverride -s test` (and commit "
        "Pulumi.test.yaml) to deploy new code."]


def test_the_first_up_targets_the_image_by_pattern_even_when_state_has_none(world):
    from ops.deploy import release_targets
    from tests.ops.conftest import FakePulumiStack

    class PinnedState(FakePulumiStack):
        def resources(self):  # imageOverride set: the program declares no image resource
            return [r for r in self.world.state() if r.type != "docker:index/image:Image"]

    targets, _ = release_targets(PinnedState(world), StackOutputs(world.outputs, "test"))
    assert targets == ["urn:pulumi:test::truecaller-backend::**docker:index/image:Image::image",
                       world.state()[1].urn]


def test_polls_never_come_faster_than_every_50_ms():
    """However small --poll-seconds is, a command does not loop against the account's API rate limits."""
    assert waiter_config(timeout=1, poll=0.001) == {"Delay": 0.05, "MaxAttempts": 20}
    assert waiter_config(timeout=1, poll=0) == {"Delay": 0.05, "MaxAttempts": 20}
    assert waiter_config(timeout=60, poll=6) == {"Delay": 6, "MaxAttempts": 10}
    assert poll_delay(0.01) == 0.05 and poll_delay(2.5) == 2.5
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    for name in ("migrate", "preflight"):
        assert "(not more often than every 0.05 s)" in " ".join(commands[name].format_help().split()), name


def test_the_moto_server_lacks_the_history_as_an_aws_endpoint_without_it_does(aws):
    """One 400 UnknownOperationException, not retried: moto's own 500 was retried by botocore's standard
    mode with backoff, a second of sleep in each deploy and rollback test and an answer AWS never gives."""
    with pytest.raises(ClientError) as caught:
        Aws(REGION).ecs.list_service_deployments(cluster=NAME, service=NAME)
    assert caught.value.response["Error"]["Code"] == "UnknownOperationException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert caught.value.response["ResponseMetadata"]["RetryAttempts"] == 0
