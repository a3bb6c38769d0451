"""Every operations command against moto server over HTTP: happy paths and failures."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ecs.models import ecs_backends
from pulumi.automation.errors import CommandError

from ops.cli import main
from ops.common import OpsError
from ops.pulumi_stack import PulumiStack
from tests.migrations import recorded
from tests.ops.conftest import NAME, REGION, SECRET_VALUES, STACK, TEST_POLL_SECONDS, FakePulumiStack

FAST = ("--timeout", "60", "--poll-seconds", str(TEST_POLL_SECONDS))


class Recorder:
    """Collects what a command prints; optionally reacts to a line (the test's stand-in for a container)."""

    def __init__(self, on_line=None):
        self.lines: list[str] = []
        self.on_line = on_line

    def __call__(self, line: str):
        self.lines.append(line)
        if self.on_line:
            self.on_line(line)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def run(argv, world, recorder=None, adapter=None, **kwargs) -> tuple[int, Recorder]:
    recorder = recorder or Recorder()
    adapter = adapter or FakePulumiStack(world)
    code = main(argv, adapter_factory=adapter, printer=recorder, **kwargs)
    return code, recorder


def assert_no_secret_values(text: str):
    for value in SECRET_VALUES.values():
        assert value not in text
    assert "db-pass-51f0" not in text and "fb-key-3d2a" not in text


# ----------------------------------------------------------------------------- preflight


def test_preflight_passes_on_a_healthy_stack(world, outputs_file, capsys):
    code, out = run(["preflight", "-s", STACK, "--outputs", str(outputs_file)], world)
    assert code == 0, out.text
    assert out.text.count("PASS") == 9  # identity, 4 secrets, image, cluster, service, targets
    assert "FAIL" not in out.text
    assert_no_secret_values(out.text + capsys.readouterr().err)


def test_preflight_json(world, outputs_file):
    code, out = run(["preflight", "-s", STACK, "--outputs", str(outputs_file), "--json"], world)
    checks = json.loads(out.text)
    assert code == 0 and {c["name"] for c in checks} >= {"AWS credentials", "image", "cluster", "target health"}
    assert_no_secret_values(out.text)


def failing(out: Recorder, name_part: str) -> str:
    line = next(line for line in out.lines[0].splitlines() if line.startswith("FAIL") and name_part in line)
    return line


def test_preflight_reports_a_missing_secret_with_its_fix(world, outputs_file):
    world.client("secretsmanager").delete_secret(SecretId=f"truecaller-backend/{STACK}/jwt-secret",
                                                 ForceDeleteWithoutRecovery=True)
    code, out = run(["preflight", "-s", STACK, "--outputs", str(outputs_file)], world)
    assert code == 1
    assert "does not exist" in failing(out, "jwt-secret")
    assert f"pulumi config set --secret jwtSecret -s {STACK} (it asks for the value)" in out.text


def test_preflight_reports_a_secret_scheduled_for_deletion(world, outputs_file):
    world.client("secretsmanager").delete_secret(SecretId=f"truecaller-backend/{STACK}/redis-url",
                                                 RecoveryWindowInDays=7)
    code, out = run(["preflight", "-s", STACK, "--outputs", str(outputs_file)], world)
    assert code == 1 and "scheduled for deletion" in failing(out, "redis-url")
    assert f"restore-secret --secret-id truecaller-backend/{STACK}/redis-url" in out.text


def test_preflight_reports_a_never_populated_and_a_blank_secret(world, outputs_file):
    secrets = world.client("secretsmanager")
    name = f"truecaller-backend/{STACK}/database-url"
    secrets.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    secrets.create_secret(Name=name)  # a container without a value (boto3 refuses SecretString="")
    secrets.put_secret_value(SecretId=f"truecaller-backend/{STACK}/jwt-secret", SecretString="   ")
    code, out = run(["preflight", "-s", STACK, "--outputs", str(outputs_file)], world)
    assert code == 1
    assert "no current version" in failing(out, "database-url")
    assert "current value is empty" in failing(out, "jwt-secret")


def test_preflight_reports_a_missing_image(world, tmp_path):
    outputs = dict(world.outputs, image=f"{world.repository_url}@sha256:{'0' * 64}")
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    code, out = run(["preflight", "-s", STACK, "--outputs", str(path)], world)
    assert code == 1 and "is not in ECR repository" in failing(out, "image")


def test_preflight_reports_a_missing_service(world, outputs_file):
    world.client("ecs").delete_service(cluster=NAME, service=NAME, force=True)
    code, out = run(["preflight", "-s", STACK, "--outputs", str(outputs_file)], world)
    assert code == 1 and "does not exist" in failing(out, "service")


def test_missing_output_names_the_key_and_the_file(world, tmp_path, capsys):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({k: v for k, v in world.outputs.items() if k != "secretNames"}))
    code, _ = run(["preflight", "-s", STACK, "--outputs", str(path)], world)
    assert code == 2
    assert f"stack output 'secretNames' is missing from {path}" in capsys.readouterr().err


# ----------------------------------------------------------------------------- migrate


def container_logs(world, lines: list[str]):
    """When the migration task starts, its 'container' writes these lines to its awslogs stream."""
    logs = world.client("logs")

    def on_line(line: str):
        if line.startswith("started migration task "):
            task_id = line.split()[3]
            stream = f"migrate/migrate/{task_id}"
            logs.create_log_stream(logGroupName=f"/ecs/{NAME}", logStreamName=stream)
            now = int(time.time() * 1000)
            logs.put_log_events(logGroupName=f"/ecs/{NAME}", logStreamName=stream,
                                logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(lines)])
    return on_line


def all_tasks(world) -> list[dict]:
    ecs = world.client("ecs")
    arns = [arn for status in ("RUNNING", "STOPPED")
            for arn in ecs.list_tasks(cluster=NAME, desiredStatus=status)["taskArns"]]
    return ecs.describe_tasks(cluster=NAME, tasks=arns)["tasks"] if arns else []


def set_container(task_line: str, exit_code, reason: str = ""):
    """moto over HTTP always reports exit code 0: set the outcome through moto's own backend."""
    task_id = task_line.split()[3]
    tasks = ecs_backends[DEFAULT_ACCOUNT_ID][REGION].tasks[NAME]
    task = next(t for arn, t in tasks.items() if arn.endswith(task_id))
    task.containers[0].exitCode = exit_code
    if reason:
        task.stopped_reason = reason


def test_migrate_streams_logs_and_exits_with_the_containers_code(world, outputs_file):
    # What `prisma migrate deploy` really prints (tests/migrations/fixtures, captured from a real run).
    lines = recorded.log_lines("deploy_applied")
    recorder = Recorder(container_logs(world, lines))
    code, out = run(["migrate", "-s", STACK, "--outputs", str(outputs_file), *FAST], world, recorder)
    assert code == 0, out.text
    assert "  | All migrations have been successfully applied." in out.lines
    assert any("task STOPPED" in line for line in out.lines)
    assert out.lines[-1].startswith("migration task ") and f"succeeded ({len(lines)} log lines)" in out.lines[-1]
    assert_no_secret_values(out.text)
    (task,) = all_tasks(world)
    assert task["taskDefinitionArn"] == world.outputs["migrationTaskDefinitionArn"]
    assert task["startedBy"] == "ops-migrate" and task["launchType"] == "FARGATE"


def test_migrate_returns_exit_code_1_when_the_migration_fails(world, outputs_file):
    def container(line):
        if line.startswith("started migration task "):
            set_container(line, 1, "Essential container in task exited")

    code, out = run(["migrate", "-s", STACK, "--outputs", str(outputs_file), *FAST], world,
                    Recorder(container))
    assert code == 1
    assert "migration failed with exit code 1 (Essential container in task exited)" in out.lines[-1]


def test_migrate_reports_a_task_that_never_ran(world, outputs_file):
    def container(line):
        if line.startswith("started migration task "):
            set_container(line, None, "CannotPullContainerError: pull image manifest has been retried")

    code, out = run(["migrate", "-s", STACK, "--outputs", str(outputs_file), *FAST], world,
                    Recorder(container))
    assert code == 1
    assert "stopped before its container ran: CannotPullContainerError" in out.lines[-1]


def test_migrate_that_cannot_start_says_why(world, tmp_path, capsys):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(dict(world.outputs, clusterName="no-such-cluster")))
    code, _ = run(["migrate", "-s", STACK, "--outputs", str(path)], world)
    assert code == 1
    assert "the migration task did not start" in capsys.readouterr().err


def test_migrate_never_starts_when_a_secret_is_empty(world, outputs_file, capsys):
    world.client("secretsmanager").put_secret_value(SecretId=f"truecaller-backend/{STACK}/redis-url",
                                                    SecretString=" ")
    code, _ = run(["migrate", "-s", STACK, "--outputs", str(outputs_file)], world)
    assert code == 1
    assert "not starting the migration: the secrets check failed" in capsys.readouterr().err
    assert all_tasks(world) == []


def test_migrate_times_out_and_stops_the_task(world, outputs_file, capsys):
    code, _ = run(["migrate", "-s", STACK, "--outputs", str(outputs_file), "--timeout", "0.1", "--poll-seconds", "0.05"
                   ], world)
    err = capsys.readouterr().err
    assert code == 1
    (task,) = all_tasks(world)
    assert task["desiredStatus"] == "STOPPED" and task["stoppedReason"] == "ops migrate timed out after 0.1s"
    assert "did not stop within 0.1s" in err and f"stopped migration task {task['taskArn'].rsplit('/', 1)[-1]}" in err
    assert "Traceback" not in err


# ----------------------------------------------------------------------------- status and logs


def test_status_shows_counts_deployments_and_targets(world, outputs_file):
    code, out = run(["status", "-s", STACK, "--outputs", str(outputs_file)], world)
    assert code == 0
    assert out.lines[0].startswith(f"{NAME} (ACTIVE): running 2, pending 0, desired 2 — {NAME}:1")
    assert "PRIMARY" in out.text and "COMPLETED" in out.text
    assert "10.0.0.10" in out.text and "healthy" in out.text


def test_status_json_and_watch(world, outputs_file):
    code, out = run(["status", "-s", STACK, "--outputs", str(outputs_file), "--json", "--watch", "--interval", "0",
                     "--count", "2"], world)
    assert code == 0 and len(out.lines) == 2
    status = json.loads(out.lines[1])
    assert (status["running"], status["desired"]) == (2, 2)
    assert status["deployments"][0]["rolloutState"] == "COMPLETED"


def test_logs_filters_and_reads_since(world, outputs_file):
    logs = world.client("logs")
    now = int(time.time() * 1000)
    for stream, messages in {"app/app/t1": ["GET /api/health 200", "ERROR db timeout"],
                             "app/app/t2": ["ERROR redis refused", "GET / 404"]}.items():
        logs.create_log_stream(logGroupName=f"/ecs/{NAME}", logStreamName=stream)
        logs.put_log_events(logGroupName=f"/ecs/{NAME}", logStreamName=stream,
                            logEvents=[{"timestamp": now - 1000 + i, "message": m} for i, m in enumerate(messages)])
    logs.put_log_events(logGroupName=f"/ecs/{NAME}", logStreamName="app/app/t1",
                        logEvents=[{"timestamp": now - 3 * 3600 * 1000, "message": "ERROR long ago"}])
    code, out = run(["logs", "-s", STACK, "--outputs", str(outputs_file), "--since", "1h", "--filter", "ERROR"], world)
    assert code == 0
    assert [line.split(" ", 3)[3] for line in out.lines] == ["ERROR redis refused", "ERROR db timeout"]
    code, out = run(["logs", "-s", STACK, "--outputs", str(outputs_file), "--since", "1d"], world)
    assert len(out.lines) == 5


def test_logs_rejects_a_bad_since(world, outputs_file, capsys):
    code, _ = run(["logs", "-s", STACK, "--outputs", str(outputs_file), "--since", "yesterday"], world)
    assert code == 2 and "--since 'yesterday'" in capsys.readouterr().err


# rollback: tests/ops/test_rollback.py (against a moto that models revision replacement and INACTIVE)


# ----------------------------------------------------------------------------- destroy


def destroy(world, *extra, adapter=None, interactive=False, answers=()):
    answers = iter(answers)
    adapter = adapter or FakePulumiStack(world)
    code, out = run(["destroy", "-s", STACK, "--region", REGION, *extra], world, adapter=adapter,
                    ask=lambda prompt: next(answers), interactive=interactive)
    return code, out, adapter


def test_destroy_refuses_a_non_interactive_run_without_confirm(world, capsys):
    code, out, adapter = destroy(world)
    assert code == 2 and ("destroy",) not in adapter.calls
    assert f"pass --confirm {STACK}" in capsys.readouterr().err
    assert "will delete 7 resources" in out.text


def test_destroy_refuses_a_wrong_confirmation(world, capsys):
    code, _, adapter = destroy(world, "--confirm", "prod")
    assert code == 2 and ("destroy",) not in adapter.calls
    code, _, adapter = destroy(world, interactive=True, answers=["destroy"])
    assert code == 2 and ("destroy",) not in adapter.calls
    code, _, adapter = destroy(world, interactive=True, answers=["DESTROY", "prod"])
    assert code == 2 and ("destroy",) not in adapter.calls


def test_destroy_after_typing_destroy_and_the_stack_name(world):
    code, out, adapter = destroy(world, interactive=True, answers=["DESTROY", STACK])
    assert code == 0 and adapter.calls[-1] == ("destroy",)
    assert "keep their 30-day recovery window" in out.text
    # The fake destroy schedules the secrets for deletion, as the provider does; none was force-deleted.
    secrets = world.client("secretsmanager").list_secrets(IncludePlannedDeletion=True)["SecretList"]
    assert len(secrets) == len(SECRET_VALUES) and all("DeletedDate" in s for s in secrets)


def test_destroy_warns_about_running_tasks(world):
    ecs = world.client("ecs")
    network = {"subnets": world.outputs["taskSubnetIds"], "securityGroups": [world.outputs["taskSecurityGroupId"]]}
    ecs.run_task(cluster=NAME, taskDefinition=world.outputs["taskDefinitionArn"], launchType="FARGATE",
                 networkConfiguration={"awsvpcConfiguration": network})
    code, out, _ = destroy(world, "--confirm", STACK)
    assert code == 0 and "1 task(s) are running and will be stopped" in out.text


def test_protected_stack_needs_unprotect(world, capsys):
    world.outputs["protected"] = True
    code, _, adapter = destroy(world, "--confirm", STACK)
    assert code == 2 and "rerun with --unprotect" in capsys.readouterr().err
    assert ("destroy",) not in adapter.calls
    code, _, adapter = destroy(world, "--confirm", STACK, "--unprotect")
    assert code == 0
    assert adapter.calls[-3:] == [("set_config", "protect", "false"), ("up", None), ("destroy",)]


def test_force_delete_secrets_skips_the_recovery_window_after_the_destroy(world):
    code, out, _ = destroy(world, "--confirm", STACK, "--force-delete-secrets")
    assert code == 0 and "WITHOUT the 30-day recovery window" in out.text
    assert out.text.index("destroyed") < out.text.index("force-deleted secret")
    listed = world.client("secretsmanager").list_secrets(IncludePlannedDeletion=True)["SecretList"]
    assert listed == []


def test_force_delete_secrets_still_needs_the_confirmations(world, capsys):
    code, _, _ = destroy(world, "--force-delete-secrets", interactive=False)
    assert code == 2 and "--confirm" in capsys.readouterr().err
    assert len(world.client("secretsmanager").list_secrets()["SecretList"]) == len(SECRET_VALUES)


# ----------------------------------------------------------------------------- deploy


@pytest.fixture
def health_server():
    class Health(BaseHTTPRequestHandler):
        status = 200

        def do_GET(self):  # noqa: N802
            self.send_response(Health.status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    # serve_forever polls for shutdown every 0.5 s by default: every deploy test would wait that long.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/health", Health
    server.shutdown()


def deploy(world, fake, health_url, **kwargs):
    from ops.common import Aws
    from ops.deploy import deploy as run_deploy

    world.outputs["healthUrl"] = health_url
    recorder = Recorder(kwargs.pop("on_line", None))
    kwargs.setdefault("health_timeout", 1)
    run_deploy(fake, Aws(REGION), STACK, recorder, migrate_timeout=60, poll=TEST_POLL_SECONDS, **kwargs)
    return recorder


def test_deploy_runs_the_notes_sequence_in_order(world, health_server):
    url, _ = health_server
    fake = FakePulumiStack(world)
    before = world.outputs["migrationTaskDefinitionArn"]
    out = deploy(world, fake, url, on_line=container_logs(world, ["migrated"]))
    steps = [c for c in fake.calls if c[0] in ("up", "resources")]
    migration_urn = world.state()[1].urn
    # The image by pattern: the program declares it only when it builds one (not with imageOverride,
    # nor when ECR already holds the content), and Pulumi's --target takes globs.
    image_pattern = f"urn:pulumi:{STACK}::truecaller-backend::**docker:index/image:Image::image"
    assert steps == [("resources",), ("up", (image_pattern, migration_urn)), ("resources",), ("up", None)]
    (ran,) = {t["taskDefinitionArn"] for t in all_tasks(world)}
    assert ran != before and ran == world.outputs["migrationTaskDefinitionArn"]  # the new image's revision
    assert [line for line in out.lines if line.startswith("==>")] == [
        "==> 1/5 preflight: credentials and secrets",
        "==> 2/5 pulumi up: the image and the migration task definition only",
        "==> 3/5 migrate with the new image",
        "==> 4/5 pulumi up: the service rolls out the new image",
        "==> 5/5 wait for a stable service and a healthy endpoint",
    ]
    assert f"{url} answers 200" in out.lines and out.lines[-1] == f"deployed {STACK}"
    assert_no_secret_values(out.text)


def test_a_stacks_first_release_migrates_before_any_service_exists(world, health_server):
    class FirstRelease(FakePulumiStack):
        """A new stack: no outputs until the first `up` created the foundations."""

        created = False

        def outputs(self):
            return super().outputs() if self.created else {}

        def up(self, targets=None, **options):
            self.calls.append(("up", tuple(targets) if targets else None, options))
            self.created = True

    fake = FirstRelease(world)
    out = deploy(world, fake, health_server[0], on_line=container_logs(world, ["migrated"]))
    ups = [c for c in fake.calls if c[0] == "up"]
    assert ups == [("up", None, {"exclude": ["**aws:ecs/service:Service::service"], "exclude_dependents": True}),
                   ("up", None, {})]
    assert "==> 2/5 pulumi up: everything but the service (the stack's first release)" in out.lines
    assert out.text.index("started migration task") < out.text.index("==> 4/5")
    assert out.lines[-1] == f"deployed {STACK}"


def test_deploy_stops_before_anything_when_preflight_fails(world, health_server):
    world.client("secretsmanager").put_secret_value(SecretId=f"truecaller-backend/{STACK}/jwt-secret",
                                                    SecretString=" ")
    fake = FakePulumiStack(world)
    with pytest.raises(OpsError, match="preflight failed; nothing was changed"):
        deploy(world, fake, health_server[0])
    assert not [c for c in fake.calls if c[0] == "up"]


def test_deploy_stops_before_the_rollout_when_the_migration_fails(world, health_server):
    fake = FakePulumiStack(world)

    def failing_container(line):
        if line.startswith("started migration task "):
            set_container(line, 1, "Essential container in task exited")

    with pytest.raises(OpsError, match="exit code 1.*stopping before the service rollout"):
        deploy(world, fake, health_server[0], on_line=failing_container)
    (first_up,) = [c for c in fake.calls if c[0] == "up"]
    assert first_up[1][1] == world.state()[1].urn  # only the image and the migration task definition


def test_deploy_stops_when_the_first_up_fails(world, health_server):
    fake = FakePulumiStack(world, fail_on="up")
    with pytest.raises(CommandError, match="InvalidParameterException"):  # what the Automation API raises
        deploy(world, fake, health_server[0])
    assert all_tasks(world) == []  # no migration ran


def test_deploy_fails_when_the_health_url_does_not_answer_200(world, health_server):
    url, handler = health_server
    handler.status = 503
    with pytest.raises(OpsError, match="did not answer 200 within 0.25s \\(last: HTTP 503\\)"):
        deploy(world, FakePulumiStack(world), url, on_line=container_logs(world, ["ok"]), health_timeout=0.25)


def test_deploy_fails_when_the_service_never_stabilises(world, health_server, monkeypatch):
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "0")
    world.client("ecs").create_service(cluster=NAME, serviceName="stuck", taskDefinition=world.outputs[
        "taskDefinitionArn"], desiredCount=1, launchType="FARGATE")
    world.outputs["serviceName"] = "stuck"
    with pytest.raises(OpsError, match="did not become stable within 0.25s"):
        deploy(world, FakePulumiStack(world), health_server[0], on_line=container_logs(world, ["ok"]),
               health_timeout=0.25)


def test_the_real_adapter_explains_a_missing_pulumi_cli(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(OpsError, match="the Pulumi CLI is not installed") as raised:
        PulumiStack(STACK).outputs()
    assert raised.value.exit_code == 2
