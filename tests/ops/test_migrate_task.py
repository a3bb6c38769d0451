"""`python -m ops migrate -s STACK` against moto server, fed what real Prisma prints.

The one-off task's log lines are the recorded outputs in tests/migrations/fixtures (real runs of the app's
Prisma CLI against PostgreSQL, plus the two native-engine formats composed from Prisma's source); the
explanation must be the same as on the local path.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import botocore.exceptions
import pytest
from moto.moto_api import state_manager

from ops.common import OpsError
from ops.migrate import STATUS_COMMAND
from ops.pulumi_stack import PROJECT_DIR
from tests.migrations import recorded
from tests.ops.conftest import NAME, STACK, TEST_POLL_SECONDS, FakePulumiStack
from tests.ops.test_commands import (
    FAST,
    Recorder,
    all_tasks,
    assert_no_secret_values,
    container_logs,
    deploy,
    health_server,  # noqa: F401 - the deploy fixture, shared
    run,
    set_container,
)

FAILED = "20260301000000_add_email"


def task_container(world, lines: list[str], exit_code: int, reason: str = "Essential container in task exited"):
    """When the task starts, its container writes `lines` to its log stream and exits with `exit_code`."""
    write = container_logs(world, lines)

    def on_line(line: str):
        write(line)
        if line.startswith("started migration task "):
            set_container(line, exit_code, reason)
    return on_line


@pytest.fixture
def container(world):
    return lambda lines, exit_code: Recorder(task_container(world, lines, exit_code))


def migrate(world, outputs_file, recorder, *extra) -> tuple[int, Recorder]:
    return run(["migrate", "-s", STACK, "--outputs", str(outputs_file), *FAST, *extra], world, recorder)


def test_a_successful_migration_streams_prismas_lines(world, outputs_file, container):
    code, out = migrate(world, outputs_file, container(recorded.log_lines("deploy_applied"), 0))
    assert code == 0, out.text
    assert "  | All migrations have been successfully applied." in out.lines
    assert "  | The following migration(s) have been applied:" in out.lines
    assert out.lines[-1].endswith(f"succeeded ({len(recorded.log_lines('deploy_applied'))} log lines)")


# (recorded case, native engine?, the cause's line, a piece of the fix)
FAILURES = [
    ("deploy_not_empty", False, "the database already has tables but no migration history",
     f"python -m ops migrate -s {STACK} --resolve-applied <migration>"),
    ("deploy_sql_error", False, f'migration {FAILED} failed: ERROR: syntax error at or near "SELEC" '
                                "(at line 2: SELEC 1;)", f"--resolve-rolled-back {FAILED}"),
    ("deploy_sql_error", True, f'migration {FAILED} failed: ERROR: syntax error at or near "SELEC" '
                               "(at line 2: SELEC 1;)", f"--resolve-rolled-back {FAILED}"),
    ("deploy_failed_blocks", False, f"migration {FAILED} failed earlier (started 20", "(P3009)"),
    ("deploy_missing_table", False, "migration 20260301000000_add_post_title failed: table Post does not exist",
     "no earlier migration creates Post"),
    ("deploy_unreachable", False, "cannot reach the database server at 127.0.0.1:1 (P1001)", "security group"),
    ("deploy_unreachable", True, "cannot reach the database server at db.internal:5432 (P1001)", "security group"),
    ("deploy_authentication", False, "the database server refused the credentials of user postgres (P1000)",
     f"pulumi config set --secret databaseUrl '<url>' -s {STACK}"),
    ("deploy_database_missing", False, "database nosuchdb does not exist on the server (P1003)",
     'CREATE DATABASE "nosuchdb"'),
    ("deploy_lock_timeout", False, "another migration run holds Prisma Migrate's advisory lock",
     "pg_advisory_lock(72707369)"),
]


@pytest.mark.parametrize(("case", "native", "cause", "fix"), FAILURES,
                         ids=[f"{c}{'-native' if n else ''}" for c, n, *_ in FAILURES])
def test_each_failure_is_explained_from_the_tasks_log(world, outputs_file, container, capsys, case, native, cause,
                                                      fix):
    code, out = migrate(world, outputs_file, container(recorded.log_lines(case, native), 1))
    assert code == 1
    message = out.lines[-1]
    assert message.startswith("migration failed with exit code 1 (Essential container in task exited)")
    assert message.splitlines()[1].startswith(cause), message
    assert fix in message
    text = out.text + capsys.readouterr().err
    assert "Traceback" not in text and "sql_schema_connector::" not in text and "DbError {" not in message
    assert "\x1b[" not in text  # the native engine's colours are not passed on
    assert_no_secret_values(text)


def test_status_reports_pending_migrations_from_a_one_off_task(world, outputs_file, container):
    code, out = migrate(world, outputs_file, container(recorded.log_lines("status_pending"), 1), "--status")
    assert code == 0, out.text  # pending is the normal state before a release
    assert "pending (1): 20260303000000_email" in out.lines
    (task,) = all_tasks(world)
    assert task["taskDefinitionArn"] == world.outputs["migrationTaskDefinitionArn"]
    assert task["overrides"]["containerOverrides"] == [{"name": "migrate", "command": STATUS_COMMAND}]


def test_status_up_to_date(world, outputs_file, container):
    code, out = migrate(world, outputs_file, container(recorded.log_lines("status_up_to_date"), 0), "--status")
    assert code == 0 and out.lines[-1] == "no pending migration: the database schema is up to date"


def test_status_with_a_failed_migration_gives_the_recovery_steps(world, outputs_file, container):
    code, out = migrate(world, outputs_file, container(recorded.log_lines("status_failed"), 1), "--status")
    assert code == 1
    assert out.lines[-1].startswith(f"migration {FAILED} failed and blocks every new migration (P3009)")
    assert f"python -m ops migrate -s {STACK} --resolve-rolled-back {FAILED}" in out.lines[-1]


def test_resolve_runs_prisma_migrate_resolve_as_a_one_off_task(world, outputs_file, container):
    # The line Prisma's CLI prints (its JavaScript, the same on both engines; the adapter cannot run it).
    code, out = migrate(world, outputs_file, container([f"Migration {FAILED} marked as rolled back."], 0),
                        "--resolve-rolled-back", FAILED)
    assert code == 0, out.text
    (task,) = all_tasks(world)
    assert task["overrides"]["containerOverrides"][0]["command"] == [
        "npx", "prisma", "migrate", "resolve", "--rolled-back", FAILED]
    assert out.lines[-1] == f"migration {FAILED} marked as rolled back; next: python -m ops migrate -s {STACK}"


def test_resolve_refuses_a_name_that_is_not_a_migration_folder(world, outputs_file, capsys):
    code, _ = migrate(world, outputs_file, Recorder(), "--resolve-applied", "x; rm -rf /")
    assert code == 2 and "is not a migration folder name" in capsys.readouterr().err
    assert all_tasks(world) == []


@pytest.mark.parametrize("local_only", [["--check"], ["--database-url", "postgresql://u:p@h/d"]])
def test_local_options_are_refused_with_a_stack(world, outputs_file, capsys, local_only):
    code, _ = migrate(world, outputs_file, Recorder(), *local_only)
    assert code == 2 and "without -s" in capsys.readouterr().err
    assert all_tasks(world) == []


def test_preflight_shows_a_failed_migration_when_asked(world, outputs_file, container):
    code, out = run(["preflight", "-s", STACK, "--outputs", str(outputs_file), "--migrations", "--poll-seconds",
                     str(TEST_POLL_SECONDS)], world, container(recorded.log_lines("status_failed"), 1))
    assert code == 1
    row = next(line for line in out.lines[-1].splitlines() if "migrations" in line and line.startswith("FAIL"))
    assert f"failed: {FAILED}" in row
    assert f"--resolve-rolled-back {FAILED}" in out.lines[-1]


def test_a_failed_migration_blocks_the_deploy_with_the_recovery_steps(world, health_server):  # noqa: F811
    fake = FakePulumiStack(world)
    with pytest.raises(OpsError, match="a failed migration blocks this release") as raised:
        deploy(world, fake, health_server[0], on_line=task_container(world, recorded.log_lines("status_failed"), 1))
    assert f"--resolve-rolled-back {FAILED}" in str(raised.value)
    (status_task,) = all_tasks(world)  # only the status task ran: no `migrate deploy`, no service rollout
    assert status_task["overrides"]["containerOverrides"][0]["command"] == STATUS_COMMAND
    (first_up,) = [c for c in fake.calls if c[0] == "up"]  # the image and the migration task definition only
    assert first_up[1][1] == world.state()[1].urn


def test_a_deploy_shows_what_it_will_migrate(world, health_server):  # noqa: F811
    logs = {"status": recorded.log_lines("status_pending"), "deploy": recorded.log_lines("deploy_applied")}
    seen = []

    def on_line(line):
        if line.startswith("started migration task "):
            kind = "status" if "prisma migrate status" in line else "deploy"
            seen.append(kind)
            container_logs(world, logs[kind])(line)
            set_container(line, 1 if kind == "status" else 0)

    out = deploy(world, FakePulumiStack(world), health_server[0], on_line=on_line)
    assert seen == ["status", "deploy"]
    assert "migration status: 1 pending: 20260303000000_email" in out.lines
    assert out.lines[-1] == f"deployed {STACK}"


@pytest.fixture
def tasks_keep_running():
    """Tasks stay RUNNING until stopped (moto advances them on every describe_tasks otherwise)."""
    state_manager.set_transition(model_name="ecs::task", transition={"progression": "manual", "times": 10**6})
    yield
    state_manager.unset_transition("ecs::task")


def test_ctrl_c_stops_the_task_it_started(world, outputs_file, tasks_keep_running, capsys):
    def interrupt(line: str):
        if line.startswith("[") and "task RUNNING" in line:
            raise KeyboardInterrupt

    code, out = migrate(world, outputs_file, Recorder(interrupt))
    assert code == 130
    (task,) = all_tasks(world)
    assert task["lastStatus"] == "STOPPED" and task["stoppedReason"] == "interrupted (Ctrl-C) in ops migrate"
    assert out.lines[-1].startswith(f"stopped migration task {task['taskArn'].rsplit('/', 1)[-1]}")
    assert "Traceback" not in capsys.readouterr().err


def test_ctrl_c_in_the_middle_of_an_aws_call_is_taken_after_it(world, outputs_file, tasks_keep_running):
    """A terminal's Ctrl-C (SIGINT) often lands while boto3 is inside a request on the client the StopTask
    must use next: the request finishes, then the wait loop stops the task."""
    assert threading.current_thread() is threading.main_thread()  # where Python runs signal handlers
    seen: list[str] = []

    def ctrl_c_while_sending(**_):
        if threading.current_thread() is threading.main_thread() and not seen:
            seen.append("SIGINT")
            signal.raise_signal(signal.SIGINT)

    def completed(**_):
        if threading.current_thread() is threading.main_thread() and seen == ["SIGINT"]:
            seen.append("the interrupted call completed")

    events = world.session.events
    events.register("before-send.ecs.DescribeTasks", ctrl_c_while_sending)
    events.register("after-call.ecs.DescribeTasks", completed)
    try:
        code, out = migrate(world, outputs_file, Recorder())
    finally:
        events.unregister("before-send.ecs.DescribeTasks", ctrl_c_while_sending)
        events.unregister("after-call.ecs.DescribeTasks", completed)
    assert seen == ["SIGINT", "the interrupted call completed"]
    assert code == 130, out.text
    (task,) = all_tasks(world)
    assert task["lastStatus"] == "STOPPED" and task["stoppedReason"] == "interrupted (Ctrl-C) in ops migrate"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the command's handler is gone


def test_sigint_to_a_real_process_stops_the_task(world, outputs_file, tasks_keep_running):
    """The same as a user's Ctrl-C: SIGINT to `python -m ops migrate` while it waits for the task."""
    process = subprocess.Popen(
        [sys.executable, "-X", "faulthandler", "-m", "ops", "migrate", "-s", STACK, "--outputs", str(outputs_file),
         "--poll-seconds", "0.1"],
        cwd=PROJECT_DIR, env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "task RUNNING" in line:
            process.send_signal(signal.SIGINT)
            break
    try:
        stdout, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack: where it hangs
        stdout, stderr = process.communicate(timeout=30)
        pytest.fail(f"ops migrate still running 30 s after SIGINT\n{''.join(lines)}{stdout}{stderr}")
    assert process.returncode == 130, "".join(lines) + stdout + stderr
    assert "stopped migration task" in stdout and "Traceback" not in stderr
    (task,) = all_tasks(world)
    assert task["lastStatus"] == "STOPPED"


def test_a_network_failure_inside_the_wait_is_the_commands_error(world, outputs_file, tasks_keep_running, capsys):
    """The task's `tasks_stopped` waiter runs in a thread: when its request cannot reach AWS, the command says so
    (exit 4) and how to find the task, which it leaves alone (it may be applying a migration)."""
    endpoint = os.environ["AWS_ENDPOINT_URL"]

    def unreachable_from_the_waiter(**_):
        if threading.current_thread() is not threading.main_thread():
            raise botocore.exceptions.EndpointConnectionError(endpoint_url=endpoint)

    events = world.session.events
    events.register("before-send.ecs.DescribeTasks", unreachable_from_the_waiter)
    try:
        code, out = migrate(world, outputs_file, Recorder())
    finally:
        events.unregister("before-send.ecs.DescribeTasks", unreachable_from_the_waiter)
    err = capsys.readouterr().err
    assert code == 4, out.text + err
    assert f"cannot reach {endpoint}" in err and "Traceback" not in err
    (task,) = all_tasks(world)
    assert task["lastStatus"] == "RUNNING"
    arn = task["taskArn"]
    assert out.lines[-1] == (f"lost track of migration task {arn.rsplit('/', 1)[-1]}, which may still be running: "
                             f"aws ecs describe-tasks --cluster {NAME} --tasks {arn} (stop it with aws ecs stop-task "
                             f"--cluster {NAME} --task {arn}), then ops migrate --status")
