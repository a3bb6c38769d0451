"""The sample backend in app/ honours the container contract when run with Node."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT

MAIN = ROOT / "app" / "dist" / "src" / "main.js"
SECRETS = {
    "DATABASE_URL": "postgresql://app:db-password-7f3a@db.internal:5432/app",
    "REDIS_URL": "rediss://default:redis-password-91c2@cache.internal:6379",
    "JWT_SECRET": "jwt-secret-value-0d8e",
    "FIREBASE_CREDENTIALS": '{"type":"service_account","private_key":"firebase-key-5b1c"}',
}


def require_built_app(main: Path) -> None:
    # A missing build is a failure with the fix, never a skip.
    assert main.exists(), f"{main} is missing: run `make app-build` (npm ci --ignore-scripts && npm run build in app/)"


@pytest.fixture(scope="module")
def node(app_build) -> str:
    binary = shutil.which("node")
    assert binary, "Node.js (20 or later) is required for the sample app tests"
    require_built_app(MAIN)
    return binary


def test_a_missing_build_fails_naming_the_make_target(tmp_path):
    with pytest.raises(AssertionError, match="run `make app-build`"):
        require_built_app(tmp_path / "dist" / "src" / "main.js")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(node: str, env: dict[str, str]) -> subprocess.Popen:
    base = {k: v for k, v in os.environ.items() if k not in SECRETS}
    return subprocess.Popen([node, str(MAIN)], env={**base, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def get_health(port: int, deadline: float) -> tuple[int, dict]:
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1) as response:
                return response.status, json.loads(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_health_endpoint_answers_and_sigterm_exits_cleanly(node):
    port = free_port()
    process = start(node, {**SECRETS, "PORT": str(port)})
    try:
        status, body = get_health(port, time.monotonic() + 10)
        assert status == 200 and body["status"] == "ok"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert f"listening on port {port}" in out and "SIGTERM received" in out
    assert not any(value in out + err for value in SECRETS.values())


def test_sigterm_finishes_the_request_in_flight_and_drops_idle_keep_alive_connections(node):
    """What ECS draining needs: a request under way when SIGTERM arrives still gets its answer,
    and an idle keep-alive connection (the ALB keeps them open) does not hold the exit for 65 s."""
    port = free_port()
    process = start(node, {**SECRETS, "PORT": str(port)})
    try:
        get_health(port, time.monotonic() + 10)
        assert process.stdout.readline().startswith("listening on port")
        idle = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        idle.request("GET", "/api/health")
        assert idle.getresponse().read()  # answered; the socket stays open, idle
        in_flight = socket.create_connection(("127.0.0.1", port), timeout=5)
        in_flight.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers not finished yet
        time.sleep(0.2)  # let the server read the partial request
        process.send_signal(signal.SIGTERM)
        assert process.stdout.readline().startswith("SIGTERM received")
        in_flight.sendall(b"\r\n")
        answer = in_flight.makefile("rb").read()  # until the server closes the connection
        in_flight.close()
        _out, err = process.communicate(timeout=5)
    finally:
        process.kill()
    assert answer.startswith(b"HTTP/1.1 200") and b'"status":"ok"' in answer
    assert process.returncode == 0, err


def test_unknown_path_is_404(node):
    port = free_port()
    process = start(node, {**SECRETS, "PORT": str(port)})
    try:
        get_health(port, time.monotonic() + 10)
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/nothing", timeout=2)
        assert raised.value.code == 404
    finally:
        process.kill()
        process.communicate()


@pytest.mark.parametrize("missing", ["JWT_SECRET", "DATABASE_URL"])
def test_missing_secret_fails_fast_naming_it_without_leaking_others(node, missing):
    env = {k: v for k, v in SECRETS.items() if k != missing}
    process = start(node, {**env, "PORT": str(free_port())})
    out, err = process.communicate(timeout=10)
    assert process.returncode == 1
    assert missing in err and "missing or empty environment variable" in err
    assert not any(value in out + err for value in SECRETS.values())


def test_blank_secret_counts_as_missing(node):
    process = start(node, {**SECRETS, "REDIS_URL": "  ", "PORT": str(free_port())})
    _out, err = process.communicate(timeout=10)
    assert process.returncode == 1 and "REDIS_URL" in err
