"""A moto server on 127.0.0.1 (real HTTP through boto3) holding a deployed stack's AWS resources."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import botocore.session
import pytest
from moto.backends import get_backend
from moto.core.responses import BaseResponse
from moto.server import ThreadedMotoServer

import ops.common
from ops.common import Aws
from ops.pulumi_stack import StateResource
from tests.ops.deploy_role_calls import CallRecorder, refused

REGION = "eu-central-1"
MIGRATION_COMMAND = ["npx", "prisma", "migrate", "deploy"]
STACK = "test"
NAME = f"truecaller-backend-{STACK}"
SECRET_VALUES = {
    "database-url": "postgresql://app:db-pass-51f0@db.internal:5432/app",
    "redis-url": "rediss://default:redis-pass-7c1e@cache.internal:6379",
    "jwt-secret": "jwt-secret-value-a94b",
    "firebase-credentials": '{"type": "service_account", "private_key": "fb-key-3d2a"}',
}


AWS_ENVIRONMENT = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
                   "AWS_DEFAULT_REGION": REGION}
# Reset between tests; EC2 is not: rebuilding its backend costs about a second, so the network below
# is created once per session and tests only read it.
RESET_SERVICES = ("ecs", "ecr", "secretsmanager", "logs", "elbv2", "sts")


_STUB_SESSION = botocore.session.get_session()  # loads each service model once for every stubbed client


def stubbed_client(service: str):
    """A client for botocore's Stubber (calls AWS never makes here: moto lacks them); shapes still checked."""
    return _STUB_SESSION.create_client(service, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")


@pytest.fixture(autouse=True)
def workstation_environment(monkeypatch):
    """Run the ops commands as on a workstation, whatever runs the tests.

    `ops rollback` behaves differently under CI (it refuses to leave an uncommitted config change as
    the only record), and the project's own CI sets CI=true; tests of the CI path set it themselves.
    """
    for variable in ("CI", "GITHUB_ACTIONS"):
        monkeypatch.delenv(variable, raising=False)


# What a JSON-protocol AWS endpoint answers for an operation it does not have (an older partition, say):
# 400 with Coral's error type, which botocore does not retry.
UNKNOWN_OPERATION = 400, json.dumps({"__type": "com.amazon.coral.service#UnknownOperationException"})


def answer_unknown_operations_as_aws_does(patch: pytest.MonkeyPatch) -> None:
    """moto answers an operation it lacks (ECS's ListServiceDeployments, for one) with HTTP 500, which
    botocore's standard mode retries with backoff: up to a second of sleeping per call, and an endpoint
    AWS never is. The commands must treat the missing operation as AWS reports it."""
    call_action = BaseResponse.call_action

    def call_action_or_unknown_operation(self):
        try:
            return call_action(self)
        except NotImplementedError:
            if not self.headers.get("X-Amz-Target"):  # query and REST protocols word it differently
                raise
            status, body = UNKNOWN_OPERATION
            return status, {"Content-Type": "application/x-amz-json-1.1"}, body

    patch.setattr(BaseResponse, "call_action", call_action_or_unknown_operation)


@pytest.fixture(autouse=True)
def deploy_role_allows_every_call():
    """Each AWS call the ops commands make in a test must be one the CI deploy role grants
    (tests/ops/deploy_role_calls.py)."""
    recorder = CallRecorder()
    session = Aws(REGION)._session
    session.events.register("before-call", recorder, unique_id="deploy-role-calls")
    try:
        yield recorder
    finally:
        session.events.unregister("before-call", unique_id="deploy-role-calls")
    assert refused(recorder.actions) == [], "the CI deploy role (bootstrap/account/permissions.py) lacks these"


@pytest.fixture(scope="session")
def moto_url():
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    with pytest.MonkeyPatch.context() as patch:
        answer_unknown_operations_as_aws_does(patch)
        server.start()
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
        server.stop()


def talk_to_moto(patch: pytest.MonkeyPatch, moto_url: str) -> None:
    """boto3 clients created after this use the moto server, with test credentials and no profile."""
    for key, value in {**AWS_ENVIRONMENT, "AWS_ENDPOINT_URL": moto_url}.items():
        patch.setenv(key, value)
    patch.delenv("AWS_PROFILE", raising=False)


def reset_services() -> None:
    for service in RESET_SERVICES:  # moto's own reset, per service (same process as the server)
        for account_backend in get_backend(service).values():
            account_backend.reset()


@pytest.fixture(scope="session")
def network(moto_url):
    """VPC (DNS hostnames on, as run_task needs), two subnets and the two security groups."""
    with pytest.MonkeyPatch.context() as patch:
        talk_to_moto(patch, moto_url)
        ec2 = Aws(REGION).ec2
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{z}")
                   ["Subnet"]["SubnetId"] for i, z in enumerate("ab")]
        alb_sg = ec2.create_security_group(GroupName="alb", Description="alb", VpcId=vpc)["GroupId"]
        task_sg = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
    return {"vpc": vpc, "subnets": subnets, "alb_sg": alb_sg, "task_sg": task_sg}


# The moto-backed tests poll this often (`--poll-seconds`): moto's ECS task stops after a few DescribeTasks
# calls, not after AWS's 30-60 s, so at the commands' floor (ops.common.MIN_POLL_SECONDS) the waiter threads
# slept 14.5 s over the ops tests between polls (0.4 s at this rate).
TEST_POLL_SECONDS = 0.005


@pytest.fixture
def aws(moto_url, network, monkeypatch):
    """Every boto3 client in the process talks to the moto server over HTTP; state starts empty."""
    reset_services()
    talk_to_moto(monkeypatch, moto_url)
    monkeypatch.setattr(ops.common, "MIN_POLL_SECONDS", TEST_POLL_SECONDS)
    return Aws(REGION)._session  # shared, so service models load once per test session


def push_image(ecr, repository: str, tag: str) -> str:
    """Push a hand-made manifest (moto stores it as an image) and return its digest."""
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                           "config": {"digest": "sha256:" + hashlib.sha256(tag.encode()).hexdigest(), "size": 1,
                                      "mediaType": "application/vnd.docker.container.image.v1+json"},
                           "layers": []})
    # The registry's digest is the manifest's sha256 (moto needs it passed to get distinct images).
    digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
    response = ecr.put_image(repositoryName=repository, imageManifest=manifest, imageTag=tag, imageDigest=digest)
    return response["image"]["imageId"]["imageDigest"]


def container(name: str, image: str, secret_arns: dict[str, str], command=None) -> dict:
    definition = {
        "name": name, "image": image, "essential": True, "memory": 512,  # moto's run_task needs container memory
        "secrets": [{"name": key.upper().replace("-", "_"), "valueFrom": arn} for key, arn in secret_arns.items()],
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": f"/ecs/{NAME}", "awslogs-region": REGION, "awslogs-stream-prefix": name}},
    }
    if command:
        definition["command"] = command
    else:
        definition["portMappings"] = [{"containerPort": 3000, "protocol": "tcp"}]
    return definition


@dataclass
class World:
    session: Any
    outputs: dict[str, Any]
    repository_url: str
    secret_arns: dict[str, str]
    digests: dict[str, str] = field(default_factory=dict)
    clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str):
        if service not in self.clients:  # a client costs tens of milliseconds to build
            self.clients[service] = self.session.client(service)
        return self.clients[service]

    def register_app(self, image: str) -> str:
        return self.client("ecs").register_task_definition(
            family=NAME, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="512", memory="1024",
            containerDefinitions=[container("app", image, self.secret_arns)],
        )["taskDefinition"]["taskDefinitionArn"]

    def register_migration(self, image: str) -> str:
        return self.client("ecs").register_task_definition(
            family=f"{NAME}-migrate", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="512",
            memory="1024",
            containerDefinitions=[container("migrate", image, self.secret_arns, MIGRATION_COMMAND)],
        )["taskDefinition"]["taskDefinitionArn"]

    def state(self) -> list[StateResource]:
        """What `pulumi stack export` would list for this stack (used by the fake adapter)."""
        migration = self.outputs["migrationTaskDefinitionArn"]
        return [
            StateResource(f"urn:pulumi:{STACK}::truecaller-backend::truecaller:infra:Registry$docker:index/image:Image"
                          "::image", "docker:index/image:Image", False, {}, {"repoDigest": self.outputs["image"]}),
            StateResource(f"urn:pulumi:{STACK}::truecaller-backend::truecaller:infra:MigrationTask$"
                          "aws:ecs/taskDefinition:TaskDefinition::migration", "aws:ecs/taskDefinition:TaskDefinition",
                          False, {"family": f"{NAME}-migrate"}, {"arn": migration}),
            StateResource(f"urn:pulumi:{STACK}::truecaller-backend::truecaller:infra:Cluster$aws:ecs/cluster:Cluster"
                          "::cluster", "aws:ecs/cluster:Cluster", False, {}, {"name": self.outputs["clusterName"]}),
            *[StateResource(f"urn:pulumi:{STACK}::truecaller-backend::truecaller:infra:Secrets$"
                            f"aws:secretsmanager/secret:Secret::{key}", "aws:secretsmanager/secret:Secret",
                            self.outputs["protected"], {}, {"name": name})
              for key, name in self.outputs["secretNames"].items()],
        ]


def build_world(aws, network) -> World:
    """The deployed stack, created through the API as `pulumi up` would leave it."""
    ecr, ecs = aws.client("ecr"), aws.client("ecs")
    subnets, alb_sg, task_sg, vpc = network["subnets"], network["alb_sg"], network["task_sg"], network["vpc"]

    repository = ecr.create_repository(repositoryName=NAME)["repository"]
    digests = {tag: push_image(ecr, NAME, tag) for tag in ("v1", "v2", "v3")}
    image = f"{repository['repositoryUri']}@{digests['v3']}"

    secrets = aws.client("secretsmanager")
    secret_arns = {key: secrets.create_secret(Name=f"truecaller-backend/{STACK}/{key}", SecretString=value)["ARN"]
                   for key, value in SECRET_VALUES.items()}
    aws.client("logs").create_log_group(logGroupName=f"/ecs/{NAME}")

    elbv2 = aws.client("elbv2")
    lb = elbv2.create_load_balancer(Name=NAME, Subnets=subnets, SecurityGroups=[alb_sg])["LoadBalancers"][0]
    target_group = elbv2.create_target_group(Name="app", Protocol="HTTP", Port=3000, VpcId=vpc, TargetType="ip",
                                             HealthCheckPath="/api/health")["TargetGroups"][0]["TargetGroupArn"]
    elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group}])
    elbv2.register_targets(TargetGroupArn=target_group, Targets=[{"Id": "10.0.0.10", "Port": 3000}])

    ecs.create_cluster(clusterName=NAME)
    built = World(aws, {}, repository["repositoryUri"], secret_arns, digests)
    app = built.register_app(image)
    migration = built.register_migration(image)
    ecs.create_service(
        cluster=NAME, serviceName=NAME, taskDefinition=app, desiredCount=2, launchType="FARGATE",
        loadBalancers=[{"targetGroupArn": target_group, "containerName": "app", "containerPort": 3000}],
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [task_sg]}},
    )
    built.outputs = {
        "url": f"http://{lb['DNSName']}", "healthUrl": f"http://{lb['DNSName']}/api/health",
        "albDnsName": lb["DNSName"], "ecrRepositoryUrl": repository["repositoryUri"], "ecrRepositoryName": NAME,
        "image": image, "imageDigest": digests["v3"], "clusterName": NAME, "serviceName": NAME,
        "containerName": "app", "taskDefinitionArn": app, "taskDefinitionFamily": NAME,
        "migrationTaskDefinitionArn": migration, "migrationTaskDefinitionFamily": f"{NAME}-migrate",
        "migrationContainerName": "migrate", "taskSubnetIds": subnets, "privateSubnetIds": subnets,
        "taskAssignPublicIp": False, "taskSecurityGroupId": task_sg, "logGroupName": f"/ecs/{NAME}",
        "appLogStreamPrefix": "app", "migrationLogStreamPrefix": "migrate", "targetGroupArn": target_group,
        "secretNames": {key: f"truecaller-backend/{STACK}/{key}" for key in SECRET_VALUES},
        "secretArns": secret_arns, "secretsMode": "managed", "region": REGION, "protected": False,
    }
    return built


LOCKS = (type(threading.Lock()), type(threading.RLock()))


def copy_state(state: dict) -> dict:
    """A deep copy of a backend's attributes. Shared, not copied: locks (ECR keeps one; they cannot be copied)
    and the EC2 backend, which is never reset and which load balancers reference through their subnets."""
    shared = [value for value in state.values() if isinstance(value, LOCKS)]
    shared += [backend for regions in get_backend("ec2").values() for backend in regions.values()]
    return copy.deepcopy(state, {id(value): value for value in shared})


def snapshot_backends() -> dict:
    """A deep copy of the reset services' state, per account and region (moto keeps it in process)."""
    return {service: {(account, region): copy_state(backend.__dict__)
                      for account, regions in get_backend(service).items() for region, backend in regions.items()}
            for service in RESET_SERVICES}


def restore_backends(snapshot: dict) -> None:
    for service, backends in snapshot.items():
        for account, regions in get_backend(service).items():
            for region, backend in regions.items():
                saved = backends.get((account, region))
                if saved is None:
                    backend.reset()
                else:
                    backend.__dict__ = copy_state(saved)


@pytest.fixture(scope="session")
def world_template(moto_url, network):
    """The stack built once per session; each test gets a fresh copy of moto's state instead of building
    it again (half a second of API calls per test otherwise)."""
    with pytest.MonkeyPatch.context() as patch:
        talk_to_moto(patch, moto_url)
        patch.setenv("MOTO_ECS_SERVICE_RUNNING", "2")
        reset_services()
        session = Aws(REGION)._session
        built = build_world(session, network)
        return built, snapshot_backends()


@pytest.fixture
def world(aws, world_template, monkeypatch) -> World:
    # moto's own switch for how many tasks a new service reports running (its services start none).
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "2")
    template, snapshot = world_template
    restore_backends(snapshot)
    return World(aws, copy.deepcopy(template.outputs), template.repository_url, dict(template.secret_arns),
                 dict(template.digests))


@pytest.fixture
def outputs_file(world, tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(world.outputs))
    return path


def cli_error(stdout: str = "", stderr: str = "", code: int = 255) -> Exception:
    """What the Automation API raises when the CLI exits non-zero: its own factory, so the same text
    gives the same subclass (ConcurrentUpdateError, StackNotFoundError, ...) as with the real CLI."""
    from pulumi.automation._cmd import CommandResult
    from pulumi.automation.errors import create_command_error

    return create_command_error(CommandResult(stdout=stdout, stderr=stderr, code=code))


# How `pulumi up` reports a resource error: on stdout, in its Diagnostics section; stderr stays empty.
UP_FAILED_STDOUT = f"""Updating ({STACK})

     Type                      Name                             Status                  Info
     pulumi:pulumi:Stack       truecaller-backend-{STACK}          **failed**              1 error
 ~   └─ aws:ecs:Service        service                          **updating failed**     1 error

Diagnostics:
  aws:ecs:Service (service):
    error: updating ECS Service ({NAME}): operation error ECS: UpdateService, https response error StatusCode: 400, InvalidParameterException: The container app does not exist in the task definition.

  pulumi:pulumi:Stack (truecaller-backend-{STACK}):
    error: update failed

Resources:
    31 unchanged

Duration: 9s
"""  # noqa: E501  (the CLI's own line)


class FakePulumiStack:
    """Stands in for ops.pulumi_stack.PulumiStack (the Automation API edge) and records every call.

    Failures are what the real adapter lets through: the Automation API's CommandError with the CLI's
    output (``fail_on="up"``: every `up` fails as above), or any exception per call:
    ``failures={"up": [None, cli_error(...)]}`` lets the first `up` pass and fails the second.
    """

    def __init__(self, world: World, fail_on: str | None = None, failures: dict[str, list] | None = None):
        self.world = world
        self.calls: list[tuple] = []
        self.fail_on = fail_on
        self.failures = {name: list(queue) for name, queue in (failures or {}).items()}
        self.config: dict[str, str] = {}

    def __call__(self, stack: str):
        self.calls.append(("select", stack))
        return self

    def _maybe_fail(self, name: str):
        if self.fail_on == name:
            raise cli_error(stdout=UP_FAILED_STDOUT if name == "up" else f"{name} failed")
        queue = self.failures.get(name)
        if queue:
            failure = queue.pop(0)
            if failure is not None:
                raise failure

    def outputs(self):
        self.calls.append(("outputs",))
        self._maybe_fail("outputs")
        return dict(self.world.outputs)

    def resources(self):
        self.calls.append(("resources",))
        return self.world.state()

    def up(self, targets=None, **options):
        self.calls.append(("up", tuple(targets) if targets else None))
        self._maybe_fail("up")
        if targets:
            # As Pulumi would: the migration task definition gets a new revision for the new image.
            new_revision = self.world.register_migration(self.world.outputs["image"])
            self.world.outputs["migrationTaskDefinitionArn"] = new_revision

    def get_config(self, key):
        return self.config.get(key)

    def set_config(self, key, value):
        self.calls.append(("set_config", key, value))
        self._maybe_fail("set_config")
        self.config[key] = value

    def destroy(self):
        self.calls.append(("destroy",))
        self._maybe_fail("destroy")
        # As pulumi-aws deletes a Secret (recoveryWindowInDays 30): scheduled for deletion, not gone.
        secrets = self.world.client("secretsmanager")
        for name in self.world.outputs["secretNames"].values():
            secrets.delete_secret(SecretId=name, RecoveryWindowInDays=30)
