"""Shared fixtures: the real stacks evaluated once per session under Pulumi's mock runtime."""

from __future__ import annotations

import gc
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pulumi.runtime.proto import analyzer_pb2

from offline.policy_client import PolicyPackServer, PolicyReport, analyze
from offline.runtime import PlannedResource, PlannedStack, evaluate_stack

ROOT = Path(__file__).resolve().parent.parent
APP_BUILD_TIMEOUT_SECONDS = 900
STACKS = ("prod", "staging")
NODE_BIN = ROOT / ".tools" / "node" / "bin"  # the Makefile's NODE_BIN: the image's Node release (make node)


def pytest_configure(config):
    # A worker holds large, long-lived graphs (moto's backends copied per test, evaluated stacks, botocore's
    # models); with CPython's default thresholds each full collection walked all of them, ~40 times per
    # worker: 15 s of the suite's CPU. Collecting less often frees the same garbage later (peak RSS about
    # the same, ~0.5 GB per worker) for 4 s.
    gc.set_threshold(50_000, 20, 100)
    # The app and the Prisma CLI run on the Node release the image runs, as under `make test`, when pytest is
    # started on its own too (the xdist workers inherit the environment). `make test` installs it beside the
    # tests: the tests that run Node wait for the app's build (app_build).
    if not os.environ.get("PATH", "").startswith(f"{NODE_BIN}{os.pathsep}"):
        os.environ["PATH"] = f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    # On its way out the interpreter collects again and again over everything the session made; a worker
    # spent 1.5-3 s there, and the controller waited for both (3.5 s between the last test and the summary,
    # 0.7 s with this). Frozen objects are left out of collections; the process exits all the same.
    gc.freeze()


def wait_for_app_build(status: Path, timeout: float) -> None:
    """Wait until `make app-build`'s exit status lands in ``status`` (moved there whole); fail with the end of
    its log (beside it, app-build.log) unless it is 0."""
    deadline = time.monotonic() + timeout
    while not status.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"`make app-build` has not finished within {timeout:g} s ({status.with_name('app-build.log')})")
        time.sleep(0.05)
    code = status.read_text().strip()
    if code != "0":
        log = status.with_name("app-build.log")
        output = "\n".join(log.read_text(errors="replace").splitlines()[-30:]) if log.exists() else "(no log)"
        pytest.fail(f"`make app-build` failed (exit {code}), {log}:\n{output}")


@pytest.fixture(scope="session")
def app_build() -> Path:
    """app/ installed (npm ci) and built (tsc). `make test` builds it beside the tests, writing the build's exit
    status to the file APP_BUILD_STATUS names: the tests that run the app or the Prisma CLI wait for it."""
    if status := os.environ.get("APP_BUILD_STATUS"):
        wait_for_app_build(Path(status), APP_BUILD_TIMEOUT_SECONDS)
    return ROOT / "app"


@pytest.fixture(scope="session")
def planned() -> dict[str, PlannedStack]:
    return {stack: evaluate_stack(stack) for stack in STACKS}


@pytest.fixture(scope="session")
def variant() -> Callable[..., PlannedStack]:
    """``variant(stack, **overrides)``: the repository's program evaluated with config overrides, once per session
    for each distinct variant, since several files check the same one (a NAT mode, a deployment strategy).
    Shared like the session's stacks: copy one before editing it."""
    evaluated: dict[tuple[str, str], PlannedStack] = {}

    def evaluate(stack: str, **overrides) -> PlannedStack:
        key = (stack, json.dumps(overrides, sort_keys=True))
        if key not in evaluated:
            evaluated[key] = evaluate_stack(stack, config_overrides=overrides)
        return evaluated[key]

    return evaluate


@pytest.fixture(scope="session", params=STACKS)
def stack_plan(request, planned) -> PlannedStack:
    return planned[request.param]


@pytest.fixture(scope="session")
def prod(planned) -> PlannedStack:
    return planned["prod"]


@pytest.fixture(scope="session")
def staging(planned) -> PlannedStack:
    return planned["staging"]


def containers(task_definition: PlannedResource) -> list[dict]:
    return json.loads(task_definition.inputs["containerDefinitions"])


def app_task(plan: PlannedStack) -> PlannedResource:
    return plan.one("aws:ecs/taskDefinition:TaskDefinition", "app")


def migration_task(plan: PlannedStack) -> PlannedResource:
    return plan.one("aws:ecs/taskDefinition:TaskDefinition", "migration")


def by_id(plan: PlannedStack, type_token: str, resource_id: str) -> PlannedResource:
    """Find a resource by the physical ID the mocks gave it (as other resources reference it)."""
    for r in plan.of_type(type_token):
        if resource_id in (r.id, r.outputs.get("arn")):
            return r
    raise LookupError(f"no {type_token} with id {resource_id}")


# The pack as the CLI starts it for each real stack, one process per session (a start costs ~0.45 s of CPU) for
# the files that analyze with it; a test that configures one puts the empty config back (analyzed_with below).
@pytest.fixture(scope="session")
def pack(prod):
    with PolicyPackServer(prod) as stub:
        yield stub


@pytest.fixture(scope="session")
def staging_pack(staging):
    with PolicyPackServer(staging) as stub:
        yield stub


def analyzed_with(stub, planned: PlannedStack, config: dict) -> PolicyReport:
    """The shared pack's report over ``planned`` under a policy-pack config; the pack gets its empty config back."""
    try:
        return analyze(stub, planned, config)
    finally:
        stub.Configure(analyzer_pb2.ConfigureAnalyzerRequest())
