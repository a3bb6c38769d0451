"""The sample backend in app/ honours the container contract when run with Node."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from tests.conftest import ROOT

MAIN = ROOT / "app" / "dist" / "src" / "main.js"
SECRETS = {
    "DATABASE_URL": "postgresql://app:db-password-7f3a@db.internal:5432/app",
    "REDIS_URL": "rediss://default:redis-password-91c2@cache.internal:6379",
    "JWT_SECRET": "jwt-secret-value-0d8e",
    "FIREBASE_CREDENTIALS": '{"type":"service_account","private_key":"firebase-key-5b1c"}',
}


@pytest.fixture(scope="module")
def node() -> str:
    binary = shutil.which("node")
    assert binary, "Node.js is required for the sample app tests"
    assert MAIN.exists(), f"{MAIN} is missing: run `make app-build` (npm ci --ignore-scripts && npm run build in app/)"
    return binary


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
