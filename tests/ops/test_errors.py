"""Every failure of an ops command ends in a short message naming the cause and the fix, with the
documented exit code, never a traceback.

How each failure is produced (no patched boto3; the one exception built by hand is the adapter's
PulumiInterrupted, which the Ctrl-C subprocess tests show the real adapter raising):
- moto server over HTTP: resources that are gone, AccessDenied from moto's IAM enforcement (query
  protocol, ELBv2), an unreachable endpoint (a closed loopback port).
- FaultProxy, a local HTTP endpoint in front of moto that answers chosen operations with AWS's own
  error shape (JSON protocol: ECS AccessDeniedException, ThrottlingException, ExpiredTokenException;
  moto cannot throttle and answers JSON services' access denials in XML) and forwards the rest.
- botocore itself, in-process: missing credentials and region (a fresh session, nothing configured).
- the Automation API's own CommandError: from FakePulumiStack (conftest.cli_error builds it with the
  Automation API's factory) or from the real adapter driving tests/ops/fake_pulumi_cli.py as `pulumi`.
- real subprocesses of `python -m ops` with that fake `pulumi` on PATH: an unknown stack, and Ctrl-C
  sent to the process group as a terminal does (once, and twice).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from moto.core.authorization import enable_iam_authentication

from ops import deploy as deploy_module
from ops.cli import build_parser, main
from ops.common import Aws, OpsError, StackOutputs
from ops.errors import EXIT_CODES, explain
from ops.pulumi_stack import PulumiInterrupted, PulumiStack
from tests.ops.conftest import AWS_ENVIRONMENT, NAME, REGION, STACK, TEST_POLL_SECONDS, FakePulumiStack, cli_error

PROJECT = Path(__file__).resolve().parents[2]


def run_main(argv, world=None, adapter=None, capsys=None, **kwargs):
    lines: list[str] = []
    code = main(argv, adapter_factory=adapter or FakePulumiStack(world), printer=lines.append, **kwargs)
    captured = capsys.readouterr()
    return code, "\n".join(lines) + captured.out, captured.err


def assert_clean(code: int, expected: int, *texts: str):
    assert code == expected, "\n".join(texts)
    for text in texts:
        assert "Traceback" not in text


# ----------------------------------------------------------------------------- a fault-injecting AWS endpoint


class FaultProxy:
    """An AWS endpoint in front of moto: chosen operations get AWS's error response, the rest is forwarded."""

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.faults: dict[str, list] = {}  # operation -> [remaining (None: always), status, JSON error body]
        self.seen: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802  (every AWS protocol these commands use is POST)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                target = self.headers.get("X-Amz-Target", "")
                operation = target.rsplit(".", 1)[-1] if target else parse_qs(body.decode()).get("Action", [""])[0]
                proxy.seen.append(operation)
                fault = proxy.faults.get(operation)
                if fault and (fault[0] is None or fault[0] > 0):
                    if fault[0] is not None:
                        fault[0] -= 1
                    self.reply(fault[1], {"Content-Type": "application/x-amz-json-1.1",
                                          "x-amzn-RequestId": str(uuid.uuid4())}, json.dumps(fault[2]).encode())
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                request = urllib.request.Request(proxy.upstream + self.path, data=body, headers=headers, method="POST")
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        self.reply(response.status, dict(response.headers), response.read())
                except urllib.error.HTTPError as error:
                    self.reply(error.code, dict(error.headers), error.read())

            def reply(self, status, headers, payload):
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def fail(self, operation: str, error_type: str, message: str, times: int | None = None, status: int = 400):
        """AWS's JSON-protocol error (ECS, CloudWatch Logs, Secrets Manager, ECR): HTTP 400 and {__type, message}."""
        self.faults[operation] = [times, status, {"__type": error_type, "message": message}]


@pytest.fixture
def ecs_proxy(moto_url, world, monkeypatch):
    """ECS calls go through the FaultProxy (botocore's per-service endpoint variable), the rest to moto."""
    proxy = FaultProxy(moto_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_ECS", proxy.url)
    yield proxy
    proxy.server.shutdown()


# ----------------------------------------------------------------------------- AWS: throttling, access, credentials


@pytest.fixture
def short_throttling_backoff(monkeypatch):
    """botocore's standard mode sleeps rand(0, 1) * 2**i s between throttled attempts: up to 3 s a test.
    These tests count the attempts, which the scale does not change."""
    from botocore.retries.standard import ExponentialBackoff

    monkeypatch.setitem(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "throttling_base_scale", 0.01)


@pytest.mark.usefixtures("short_throttling_backoff")
def test_throttling_is_retried_with_the_standard_retry_mode(ecs_proxy, world, outputs_file, capsys):
    ecs_proxy.fail("DescribeServices", "ThrottlingException", "Rate exceeded", times=1)
    code, out, err = run_main(["status", "-s", STACK, "--outputs", str(outputs_file)], world, capsys=capsys)
    assert_clean(code, 0, out, err)
    assert ecs_proxy.seen.count("DescribeServices") == 2  # throttled once, retried, answered


@pytest.mark.usefixtures("short_throttling_backoff")
def test_throttling_that_outlasts_the_retries_is_exit_6(ecs_proxy, world, outputs_file, capsys, monkeypatch):
    # A user's legacy setting does not downgrade the ops clients: standard mode makes 3 attempts, legacy 5.
    monkeypatch.setenv("AWS_RETRY_MODE", "legacy")
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)  # (it would set the attempts in either mode)
    ecs_proxy.fail("DescribeServices", "ThrottlingException", "Rate exceeded")
    code, out, err = run_main(["status", "-s", STACK, "--outputs", str(outputs_file)], world, capsys=capsys)
    assert_clean(code, 6, out, err)
    assert ecs_proxy.seen.count("DescribeServices") == 3
    assert "AWS throttled ecs:DescribeServices (ThrottlingException: Rate exceeded) after 3 attempts" in err
    assert "fix: wait a minute and rerun" in err


@pytest.mark.parametrize("error_type, message, expected, says", [
    ("AccessDeniedException",
     "User: arn:aws:sts::123456789012:assumed-role/truecaller-preview/gha is not authorized to perform: "
     "ecs:DescribeServices on resource: arn:aws:ecs:eu-central-1:123456789012:service/x/y because no "
     "identity-based policy allows the ecs:DescribeServices action",
     5, "AWS denied ecs:DescribeServices (AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/"),
    ("ExpiredTokenException", "The security token included in the request is expired", 3,
     "the AWS credentials have expired (ExpiredTokenException"),
])
def test_json_protocol_access_errors(ecs_proxy, world, outputs_file, capsys, error_type, message, expected, says):
    ecs_proxy.fail("DescribeServices", error_type, message)
    code, out, err = run_main(["status", "-s", STACK, "--outputs", str(outputs_file)], world, capsys=capsys)
    assert_clean(code, expected, out, err)
    assert says in err
    assert ecs_proxy.seen.count("DescribeServices") == 1  # not retried: retrying cannot help
    assert len(err.strip().splitlines()) == 2  # cause, fix


def test_access_denied_by_iam_policy_on_moto(world, outputs_file, capsys, monkeypatch):
    """A reader allowed ECS but not ELBv2: moto's IAM enforcement answers AccessDenied as AWS does."""
    iam, user = world.client("iam"), f"ops-reader-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="ecs-read", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["ecs:DescribeServices"], "Resource": "*"}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    monkeypatch.setattr(Aws, "_sessions", {})  # a session keeps the credentials it first resolved
    with enable_iam_authentication():
        code, out, err = run_main(["status", "-s", STACK, "--outputs", str(outputs_file)], world, capsys=capsys)
    assert_clean(code, 5, out, err)
    assert f"AWS denied elasticloadbalancing:DescribeTargetHealth (AccessDenied: User: arn:aws:iam::123456789012:" \
           f"user/{user} is not authorized" in err
    assert "fix: allow elasticloadbalancing:DescribeTargetHealth" in err


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_endpoint_is_exit_4(world, outputs_file, capsys, monkeypatch):
    endpoint = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    code, out, err = run_main(["logs", "-s", STACK, "--outputs", str(outputs_file)], world, capsys=capsys)
    assert_clean(code, 4, out, err)
    assert f"cannot reach {endpoint}/" in err and "fix: check the network" in err


@pytest.fixture
def bare_aws(tmp_path, monkeypatch):
    """No AWS credentials or region from anywhere: environment, config files, instance metadata."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_REGION",
                "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(Aws, "_sessions", {})  # a session keeps the credentials it first resolved


def test_no_credentials_is_exit_3(world, outputs_file, bare_aws, capsys):
    code, out, err = run_main(["status", "-s", STACK, "--outputs", str(outputs_file)], world, capsys=capsys)
    assert_clean(code, 3, out, err)
    assert err.startswith("error: no usable AWS credentials: Unable to locate credentials")
    assert "aws sso login" in err


def test_no_region_is_exit_3(world, tmp_path, bare_aws, capsys, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({k: v for k, v in world.outputs.items() if k != "region"}))
    code, out, err = run_main(["status", "-s", STACK, "--outputs", str(path)], world, capsys=capsys)
    assert_clean(code, 3, out, err)
    assert "error: no AWS region" in err and "pass --region" in err


# ----------------------------------------------------------------------------- resources that are gone


def test_deleted_cluster(world, tmp_path, capsys):
    path = tmp_path / "outputs.json"  # outputs of a stack whose cluster is long gone
    path.write_text(json.dumps(dict(world.outputs, clusterName=f"{NAME}-old")))
    code, out, err = run_main(["status", "-s", STACK, "--outputs", str(path)], world, capsys=capsys)
    assert_clean(code, 7, out, err)
    assert f"ECS cluster {NAME}-old does not exist in {REGION} (ecs:DescribeServices: ClusterNotFoundException" in err
    assert f"pulumi refresh -s {STACK}" in err


def test_deleted_service(world, outputs_file, capsys):
    world.client("ecs").delete_service(cluster=NAME, service=NAME, force=True)
    code, out, err = run_main(["status", "-s", STACK, "--outputs", str(outputs_file)], world, capsys=capsys)
    assert_clean(code, 7, out, err)
    assert f"ECS service {NAME}" in err
    code, out, err = run_main(["rollback", "-s", STACK, "--outputs", str(outputs_file), "--now"], world,
                              capsys=capsys)
    assert_clean(code, 7, out, err)


def test_deleted_target_group(world, outputs_file, capsys):
    elbv2 = world.client("elbv2")
    (balancer,) = elbv2.describe_load_balancers(Names=[NAME])["LoadBalancers"]
    for listener in elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]:
        elbv2.delete_listener(ListenerArn=listener["ListenerArn"])
    elbv2.delete_target_group(TargetGroupArn=world.outputs["targetGroupArn"])
    code, out, err = run_main(["status", "-s", STACK, "--outputs", str(outputs_file)], world, capsys=capsys)
    assert_clean(code, 7, out, err)
    assert f"target group {world.outputs['targetGroupArn']} does not exist" in err
    code, out, err = run_main(["preflight", "-s", STACK, "--outputs", str(outputs_file)], world, capsys=capsys)
    assert_clean(code, 1, out, err)  # a checklist reports it as one more FAIL row
    assert re.search(r"FAIL\s+target health\s+target group .* does not exist", out)


def test_deleted_log_group(world, outputs_file, capsys):
    world.client("logs").delete_log_group(logGroupName=f"/ecs/{NAME}")
    code, out, err = run_main(["logs", "-s", STACK, "--outputs", str(outputs_file)], world, capsys=capsys)
    assert_clean(code, 7, out, err)
    assert f"log group /ecs/{NAME} does not exist in {REGION} (logs:FilterLogEvents" in err


# ----------------------------------------------------------------------------- Pulumi failures and deploy's steps


@pytest.fixture
def fast_deploy(monkeypatch):
    """`deploy` through main() polls every 5 s; the moto task needs a few polls to stop."""
    monkeypatch.setitem(deploy_module.deploy.__kwdefaults__, "poll", TEST_POLL_SECONDS)


def test_deploy_pulumi_failure_shows_the_clis_diagnostics_and_the_state(world, capsys):
    code, out, err = run_main(["deploy", "-s", STACK], adapter=FakePulumiStack(world, fail_on="up"), capsys=capsys)
    assert_clean(code, 8, out, err)
    assert err.startswith("error: step 2/5 (pulumi up): the Pulumi CLI failed (exit code 255)\n")
    assert "  | aws:ecs:Service (service):" in err
    assert "InvalidParameterException: The container app does not exist" in err
    assert "  state: the running service is untouched" in err
    assert f"  fix: `pulumi refresh -s {STACK}`" in err


def test_deploy_concurrent_update(world, capsys, fast_deploy):
    locked = cli_error(stderr="error: [409] Conflict: Another update is currently in progress.\nTo learn more about "
                              "possible reasons and resolution, visit https://www.pulumi.com/docs/troubleshooting/#conflict")
    fake = FakePulumiStack(world, failures={"up": [None, locked]})
    code, out, err = run_main(["deploy", "-s", STACK], adapter=fake, capsys=capsys)
    assert_clean(code, 8, out, err)
    assert f"step 4/5 (pulumi up): another Pulumi update is running on stack {STACK}" in err
    assert "  | error: [409] Conflict: Another update is currently in progress." in err
    assert f"pulumi cancel -s {STACK}` releases the lock" in err


def test_deploy_interrupted_in_step_4_says_what_it_left(world, capsys, fast_deploy):
    fake = FakePulumiStack(world, failures={"up": [None, PulumiInterrupted("up", graceful=True)]})
    code, out, err = run_main(["deploy", "-s", STACK], adapter=fake, capsys=capsys)
    assert_clean(code, 130, out, err)
    assert err.startswith("error: interrupted (Ctrl-C) during step 4/5 (pulumi up): `pulumi up` cancelled its "
                          "update cleanly")
    assert "state: the migrations are applied; the stack may be mid-update; the service keeps its previous " \
           "deployment" in err
    assert f"python -m ops status -s {STACK}` shows which deployment runs" in err


def test_deploy_interrupted_while_migrating(world, capsys, fast_deploy):
    def printer(line):
        if line.startswith("started migration task "):
            raise KeyboardInterrupt  # Ctrl-C while the one-off task runs

    code = main(["deploy", "-s", STACK], adapter_factory=FakePulumiStack(world), printer=printer)
    err = capsys.readouterr().err
    assert_clean(code, 130, err)
    assert err.startswith("error: interrupted (Ctrl-C) during step 3/5 (migrate with the new image)")
    assert "state: the service is untouched and runs the previous image" in err


def test_a_service_deleted_during_the_rollout_wait_is_exit_7(world):
    world.client("ecs").delete_service(cluster=NAME, service=NAME, force=True)
    with pytest.raises(OpsError) as raised:  # the services_stable waiter's terminal failure, not a timeout
        deploy_module.wait_until_healthy(Aws(REGION), StackOutputs(dict(world.outputs), "test"), 1, print,
                                          poll=TEST_POLL_SECONDS)
    failure = explain(raised.value, STACK)
    assert failure.code == 7 and f"ECS service {NAME} is gone (INACTIVE)" in failure.cause


# ----------------------------------------------------------------------------- destroy --unprotect restores protection


def protected_destroy(world, capsys, failures):
    world.outputs["protected"] = True
    fake = FakePulumiStack(world, failures=failures)
    code, out, err = run_main(["destroy", "-s", STACK, "--region", REGION, "--confirm", STACK, "--unprotect"],
                              adapter=fake, capsys=capsys, interactive=False)
    return code, out, err, [c for c in fake.calls if c[0] in ("set_config", "up", "destroy")]


def test_failed_destroy_restores_protection(world, capsys):
    code, out, err, calls = protected_destroy(world, capsys, {"destroy": [cli_error(
        stdout="Destroying (test)\n\nDiagnostics:\n  aws:ec2:Vpc (vpc):\n    error: deleting EC2 VPC: "
               "DependencyViolation: The vpc has dependencies and cannot be deleted.\n\nResources:\n")]})
    assert_clean(code, 8, out, err)
    assert calls == [("set_config", "protect", "false"), ("up", None), ("destroy",),
                     ("set_config", "protect", "true"), ("up", None)]
    assert "DependencyViolation" in err
    assert f"note: protection restored: protect=true and `pulumi up` protected stack {STACK} again" in err


def test_failed_unprotect_up_restores_protection(world, capsys):
    code, out, err, calls = protected_destroy(world, capsys, {"up": [cli_error(stderr="error: update failed")]})
    assert_clean(code, 8, out, err)
    assert calls == [("set_config", "protect", "false"), ("up", None), ("set_config", "protect", "true"),
                     ("up", None)]
    assert "note: protection restored" in err


def test_destroy_that_cannot_restore_protection_says_the_stack_is_unprotected(world, capsys):
    code, out, err, calls = protected_destroy(world, capsys, {
        "destroy": [cli_error(stderr="error: destroy failed")], "up": [None, cli_error(stderr="error: up failed")]})
    assert_clean(code, 8, out, err)
    assert calls[-2:] == [("set_config", "protect", "true"), ("up", None)]
    assert f"stack {STACK} is UNPROTECTED; run `pulumi config set protect true -s {STACK} && pulumi up -s {STACK}`" \
           in err


def test_interrupted_destroy_sets_protect_back_without_an_update(world, capsys):
    code, out, err, calls = protected_destroy(world, capsys, {"destroy": [PulumiInterrupted("destroy", True)]})
    assert_clean(code, 130, out, err)
    assert calls[-1] == ("set_config", "protect", "true")
    assert f"resources stay unprotected until `pulumi up -s {STACK}` runs" in err


# ----------------------------------------------------------------------------- the real adapter and a fake CLI


@pytest.fixture
def fake_cli(tmp_path, world, moto_url):
    """`pulumi` on PATH is tests/ops/fake_pulumi_cli.py; returns (scenario writer, log reader, environment)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    executable = bin_dir / "pulumi"
    script = Path(__file__).parent / "fake_pulumi_cli.py"
    executable.write_text(f'#!/bin/sh\nexec {sys.executable} -S {script} "$@"\n')  # -S: stdlib only, starts faster
    executable.chmod(0o755)
    scenario_path, log_path = tmp_path / "scenario.json", tmp_path / "pulumi-calls.jsonl"
    resources = [{"urn": r.urn, "type": r.type, "custom": True, "protect": r.protect, "inputs": r.inputs,
                  "outputs": r.outputs} for r in world.state()]

    def scenario(**overrides):
        scenario_path.write_text(json.dumps({"outputs": world.outputs, "resources": resources, "log": str(log_path),
                                             **overrides}))

    def calls() -> list[dict]:
        return [json.loads(line) for line in log_path.read_text().splitlines()] if log_path.exists() else []

    env = {**AWS_ENVIRONMENT, "PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": str(tmp_path),
           "AWS_ENDPOINT_URL": moto_url, "FAKE_PULUMI_SCENARIO": str(scenario_path),
           "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true"}
    return scenario, calls, env


def test_unknown_stack_through_the_real_automation_api(fake_cli, monkeypatch, capsys):
    scenario, calls, env = fake_cli
    scenario(fail={"stack select": {"code": 255, "stderr": f"error: no stack named '{STACK}' found\n"}})
    for key in ("PATH", "FAKE_PULUMI_SCENARIO", "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK"):
        monkeypatch.setenv(key, env[key])
    code, out, err = run_main(["status", "-s", STACK], adapter=PulumiStack, capsys=capsys)
    assert_clean(code, 8, out, err)
    assert f"error: the Pulumi backend you are logged into has no stack {STACK}" in err
    assert f"  | error: no stack named '{STACK}' found" in err
    assert [c["command"] for c in calls()] == ["version", "stack select"]


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_during_pulumi_up(fake_cli, presses):
    """Ctrl-C reaches the whole process group, as from a terminal. Once: ops waits for the CLI's own clean
    cancel, then says where deploy stopped. Twice: ops abandons the CLI at once and says what that leaves."""
    scenario, calls, env = fake_cli
    scenario(hang=["up"])
    process = subprocess.Popen([sys.executable, "-m", "ops", "deploy", "-s", STACK], cwd=PROJECT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not any(c.get("event") == "running" for c in calls()) and time.monotonic() < deadline:
            if process.poll() is not None:
                break
            time.sleep(0.05)
        for _ in range(presses):
            os.killpg(process.pid, signal.SIGINT)
            time.sleep(0.1)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert_clean(process.returncode, 130, stdout, stderr)
    assert "==> 2/5 pulumi up: the image and the migration task definition only" in stdout
    assert "state: the running service is untouched" in stderr
    (cancelled,) = [c for c in calls() if c.get("event") == "cancelled"]
    if presses == 1:
        assert stderr.startswith("error: interrupted (Ctrl-C) during step 2/5 (pulumi up): `pulumi up` cancelled "
                                 "its update cleanly")
        assert "  | error: update canceled" in stderr
        assert cancelled["delivered"], "ops closed the CLI's output before it finished cancelling"
    else:
        assert stderr.startswith("error: interrupted (Ctrl-C twice) during step 2/5 (pulumi up): `pulumi up` was "
                                 "stopped in the middle of its update")
        assert not cancelled["delivered"]  # abandoned: the real CLI dies on that write (SIGPIPE)


# ----------------------------------------------------------------------------- anything else: a bug, said as one


def test_an_unexpected_exception_is_a_short_message_unless_debug(world, outputs_file, capsys):
    def broken(stack):
        raise ValueError("an unforeseen state")

    code, out, err = run_main(["status", "-s", STACK], adapter=broken, capsys=capsys)
    assert_clean(code, 9, out, err)
    assert "error: unexpected ValueError: an unforeseen state" in err and "--debug" in err
    code, out, err = run_main(["status", "-s", STACK, "--debug"], adapter=broken, capsys=capsys)
    assert code == 9 and "Traceback (most recent call last)" in err


def test_ctrl_c_ends_watch_quietly(world, outputs_file, capsys):
    printed = []

    def printer(line):
        printed.append(line)
        if len(printed) == 2:
            raise KeyboardInterrupt  # Ctrl-C while watching

    code = main(["status", "-s", STACK, "--outputs", str(outputs_file), "--watch", "--interval", "0"],
                adapter_factory=FakePulumiStack(world), printer=printer)
    assert code == 130 and capsys.readouterr().err == ""


# ----------------------------------------------------------------------------- help and the exit-code table


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_every_command_explains_itself_and_every_option(name):
    command = subcommands()[name]
    text = " ".join(command.format_help().split())
    assert len(command.description) > 80 and f"examples: python -m ops {name} -s " in text
    for action in command._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help and len(action.help) > 15, f"{name} {action.option_strings} has no help"
        if action.default not in (None, False):
            assert f"(default: {action.default})" in text, f"{name} {action.option_strings} hides its default"


def test_top_level_help_lists_the_commands_and_the_exit_codes(capsys):
    with pytest.raises(SystemExit) as raised:
        main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert raised.value.code == 0
    listed = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))._choices_actions
    assert len(listed) == len(subcommands())
    for command in listed:
        assert f"{command.dest} {command.help}" in help_text
    for code, meaning in EXIT_CODES.items():
        assert f"{code} {meaning}" in help_text


def test_readme_exit_code_table_matches_the_code():
    section = (PROJECT / "README.md").read_text().split("## Operations commands", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `(\d+)` \| (.+?) \|$", section, re.M))
    assert {int(code): meaning for code, meaning in rows.items()} == EXIT_CODES
