"""Following a blue/green, canary or linear deployment through its phases, and rolling one back with
ECS's own StopServiceDeployment. moto 5.2.5 has none of ECS's service-deployment APIs, so these run
against botocore's Stubber, which checks every request and response against ECS's service model."""

from __future__ import annotations

import datetime
import threading

import botocore.session
import pytest
from botocore.stub import ANY, Stubber

from ops import deployments
from ops.common import OpsError, StackOutputs
from ops.rollback import rollback

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
        self.ecs = botocore.session.get_session().create_client(
            "ecs", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")


@pytest.fixture
def aws():
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


def test_a_canary_release_is_followed_phase_by_phase(aws):
    for described in (
        deployment("IN_PROGRESS", "SCALE_UP", None, running=1),
        deployment("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", 10.0),
        deployment("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", 10.0),  # unchanged: printed once
        deployment("IN_PROGRESS", "BAKE_TIME", 100.0),
        deployment("SUCCESSFUL", "CLEAN_UP", 100.0),
    ):
        expect_poll(aws, described)
    lines = []
    progress = deployments.follow(aws, OUTPUTS, lines.append, since=START.timestamp(), stop=threading.Event(),
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


def test_an_alarm_during_the_bake_rolls_back_and_says_which(aws):
    expect_poll(aws, deployment("ROLLBACK_SUCCESSFUL", "CLEAN_UP", 0.0,
                                alarms={"status": "TRIGGERED", "alarmNames": [f"{NAME}-target-5xx-rate"],
                                        "triggeredAlarmNames": [f"{NAME}-target-5xx-rate"]},
                                rollback={"reason": "CloudWatch alarm triggered", "startedAt": START,
                                          "serviceRevisionArn": OLD_REVISION}))
    progress = deployments.follow(aws, OUTPUTS, lambda _: None, since=START.timestamp(), stop=threading.Event(),
                                  poll=0)
    with pytest.raises(OpsError, match=rf"ECS rolled the deployment back: CloudWatch alarm triggered \(alarms: "
                                       rf"{NAME}-target-5xx-rate\)"):
        deployments.outcome(progress)


def test_following_stops_when_asked(aws):
    aws.stub.add_response("list_service_deployments", {"serviceDeployments": []},
                          {"cluster": NAME, "service": NAME, "status": ANY, "createdAt": ANY})
    stop = threading.Event()
    stop.set()
    assert deployments.follow(aws, OUTPUTS, lambda _: None, since=START.timestamp(), stop=stop, poll=0) is None


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


def test_rollback_during_the_bake_is_ecss_own_rollback(aws, tmp_path, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    aws.stub.add_response("list_service_deployments", {"serviceDeployments": [
        {"serviceDeploymentArn": DEPLOYMENT, "status": "IN_PROGRESS", "createdAt": START}]},
        {"cluster": NAME, "service": NAME, "status": ["IN_PROGRESS"]})
    aws.stub.add_response("describe_service_deployments",
                          {"serviceDeployments": [deployment("IN_PROGRESS", "BAKE_TIME", 100.0)]},
                          {"serviceDeploymentArns": [DEPLOYMENT]})
    aws.stub.add_response("describe_service_revisions", {"serviceRevisions": [
        {"serviceRevisionArn": OLD_REVISION, "taskDefinition": OLD_TASK}]}, {"serviceRevisionArns": [OLD_REVISION]})
    aws.stub.add_response("describe_task_definition", {"taskDefinition": {
        "taskDefinitionArn": OLD_TASK, "containerDefinitions": [{"name": "app", "image": OLD_IMAGE}]}},
        {"taskDefinition": OLD_TASK})
    aws.stub.add_response("stop_service_deployment", {"serviceDeploymentArn": DEPLOYMENT},
                          {"serviceDeploymentArn": DEPLOYMENT, "stopType": "ROLLBACK"})
    adapter, lines = PinOnly(tmp_path), []
    rollback(aws, OUTPUTS, "prod", lines.append, adapter=adapter)
    assert adapter.calls == [("set_config", "imageOverride", OLD_IMAGE)]  # no new deployment: no `up`
    assert "was in 'bake: old tasks wait, ready for an instant rollback': ECS rolls it back" in lines[0]
    assert "imageOverride = " + OLD_IMAGE in lines[1]


@pytest.mark.parametrize(("stage", "stoppable"), [
    ("SCALE_UP", False), ("PRODUCTION_TRAFFIC_SHIFT", True), ("BAKE_TIME", True), ("CLEAN_UP", False)])
def test_only_a_shift_or_a_bake_can_be_rolled_back_by_ecs(aws, stage, stoppable):
    aws.stub.add_response("list_service_deployments", {"serviceDeployments": [
        {"serviceDeploymentArn": DEPLOYMENT, "status": "IN_PROGRESS", "createdAt": START}]},
        {"cluster": NAME, "service": NAME, "status": ["IN_PROGRESS"]})
    aws.stub.add_response("describe_service_deployments",
                          {"serviceDeployments": [deployment("IN_PROGRESS", stage, 50.0)]},
                          {"serviceDeploymentArns": [DEPLOYMENT]})
    assert (deployments.stoppable(aws, OUTPUTS) is not None) is stoppable
