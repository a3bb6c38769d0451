"""Evaluate the real Pulumi program offline under Pulumi's mock runtime and record what it registers.

Configuration comes from ``offline.stack_config`` (assembled as the CLI does) and AWS-computed
values from ``offline.mocks``; this module runs the program and keeps, per resource, what the stock
mock monitor drops: parent, protect, ignoreChanges, dependencies and property dependencies, and the
raw inputs an analyzer is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import runpy
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from offline.mocks import AwsMocks
from offline.stack_config import (
    SECRET_PLACEHOLDER,
    StackConfig,
    StackFileError,
    stack_config,
    with_placeholder_secrets,
)

__all__ = ["PROJECT_DIR", "SECRET_PLACEHOLDER", "PlannedResource", "PlannedStack", "StackFileError", "evaluate_stack"]

PROJECT_DIR = Path(__file__).resolve().parent.parent
_LOCK = threading.Lock()  # the Pulumi runtime settings are process-global


def _ignore_errors_already_raised(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """A program that fails leaves futures holding the error ``evaluate_stack`` raised; asyncio would print
    each again ("Future exception was never retrieved") when the garbage collector finds it, often after
    the caller (a test run's capture, a CLI's error message) is done."""
    if getattr(context.get("exception"), "raised_to_caller", False):
        return
    loop.default_exception_handler(context)


def _new_event_loop() -> None:
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(_ignore_errors_already_raised)
    asyncio.set_event_loop(loop)


# Programs run on one thread of their own, whatever thread asks. Pulumi walks the whole call stack for
# every resource it registers (its source position), so a caller's depth costs each resource: under
# pytest, ~60 frames made that walk a third of an evaluation. The thread also keeps the runtime's
# event loop and context between runs, as the main thread did.
_PROGRAM_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pulumi-program", initializer=_new_event_loop)


@contextlib.contextmanager
def _without_source_positions():
    """For the engine's source positions the SDK walks the stack of every resource it registers and turns each
    frame's file into a URI: a tenth of an evaluation even on the program thread (0.07 s per pair of stacks).
    Offline there is no engine to show them, and no analyzer is ever sent them, so each resource gets an empty
    stack trace, as the SDK itself sends when it finds no user frame. An SDK without the function: nothing to do."""
    walk = getattr(pulumi_resource, "_get_stack_trace", None)
    if walk is None:
        yield
        return
    pulumi_resource._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        pulumi_resource._get_stack_trace = walk


@dataclass
class PlannedResource:
    urn: str
    type: str
    name: str
    id: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    parent: str | None
    protect: bool
    ignore_changes: list[str]
    dependencies: list[str]
    custom: bool
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    # The inputs exactly as the engine received them (secrets wrapped, unknowns as the sentinel):
    # what an analyzer is sent.
    raw_inputs: Any = None
    delete_before_replace: bool = False


@dataclass
class PlannedStack:
    project: str
    stack: str
    region: str
    config: dict[str, str]  # "<namespace>:<key>" -> string value, as the program saw it
    secret_keys: list[str]
    placeholder_secrets: list[str]  # config keys (no namespace) filled with a placeholder
    resources: list[PlannedResource]
    outputs: dict[str, Any]
    preview: bool = False
    notes: list[str] = field(default_factory=list)

    def of_type(self, type_token: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> PlannedResource:
        found = [r for r in self.of_type(type_token) if name is None or r.name == name]
        if len(found) != 1:
            raise LookupError(f"expected one {type_token} named {name!r}, found {len(found)}")
        return found[0]


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The stock mock monitor, also keeping every registration request in order."""

    def __init__(self, mocks: pulumi_mocks.Mocks):
        super().__init__(mocks)
        self.requests: dict[str, Any] = {}
        self.order: list[str] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.requests[response.urn] = request
            self.order.append(response.urn)
        return response


def _resolve(value: Any) -> Any:
    return _sync_await(pulumi.Output.from_input(value).future())


def _forget_previous_run() -> None:
    """The runtime is process-global: a program that failed half-way leaves its failed RPCs and pending
    outputs, and every program its root stack (whose exports the next program would add to)."""
    from pulumi.runtime import settings

    settings.set_root_resource(None)
    settings._get_rpc_manager().clear()
    with settings.SETTINGS.lock:
        settings.SETTINGS.outputs.clear()


def _managed_secret_keys(project: str) -> list[str]:
    """The secrets this repository's program requires in managed mode (other projects: none)."""
    from infra.config import PROJECT_NAME, SECRET_SPECS

    if project != PROJECT_NAME:
        return []

    return [config_key for _env, config_key in SECRET_SPECS.values()]


def _recorded(monitor: RecordingMonitor) -> list[PlannedResource]:
    resources = []
    for urn in monitor.order:
        request = monitor.requests[urn]
        registration = monitor.resources.get(urn)
        resources.append(
            PlannedResource(
                urn=urn,
                type=request.type,
                name=request.name,
                id=registration.id if registration else None,
                inputs=pulumi.runtime.rpc.deserialize_properties(request.object),
                outputs=dict(registration.state) if registration else {},
                parent=request.parent or None,
                protect=bool(request.protect),
                ignore_changes=list(request.ignoreChanges),
                dependencies=list(request.dependencies),
                custom=bool(request.custom),
                property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
                raw_inputs=request.object,
                delete_before_replace=bool(request.deleteBeforeReplace),
            )
        )
    return resources


def _mark_raised_to_caller(exc: BaseException | None) -> None:
    while exc is not None and not getattr(exc, "raised_to_caller", False):
        exc.raised_to_caller = True
        exc = exc.__cause__ or exc.__context__


def _run_program(project_dir: Path, project: str, stack: str, preview: bool, region: str, assembled: StackConfig,
                 registry_images: Mapping[str, Mapping[str, str]] | None,
                 hosted_zones: Mapping[str, str] | None) -> tuple[RecordingMonitor, dict[str, Any]]:
    with _LOCK, _without_source_positions():
        _forget_previous_run()
        monitor = RecordingMonitor(AwsMocks(region, registry_images=registry_images, hosted_zones=hosted_zones))
        pulumi.runtime.set_mocks(monitor.mocks, project=project, stack=stack, preview=preview, monitor=monitor)
        pulumi.runtime.set_all_config(assembled.config, assembled.secret_keys)
        previous_cwd = os.getcwd()
        os.chdir(project_dir)
        try:
            # As the language host runs a program: the directory (on sys.path) with its __main__.py.
            _sync_await(run_pulumi_func(lambda: runpy.run_path(str(project_dir), run_name="__main__")))
            root = pulumi.runtime.settings.get_root_resource()
            outputs = {name: _resolve(value) for name, value in (root.outputs if root else {}).items()}
        except Exception as exc:
            # Lets callers prove that a configuration error stopped the program before any resource.
            exc.registered_urns = list(monitor.order)
            _mark_raised_to_caller(exc)
            raise
        finally:
            os.chdir(previous_cwd)
    return monitor, outputs


def evaluate_stack(
    stack: str,
    *,
    project_dir: Path = PROJECT_DIR,
    preview: bool = False,
    config_overrides: Mapping[str, Any] | None = None,
    required_secrets: Iterable[str] | None = None,
    registry_images: Mapping[str, Mapping[str, str]] | None = None,
    hosted_zones: Mapping[str, str] | None = None,
) -> PlannedStack:
    """Run the program in ``project_dir`` for ``stack`` under mocks and return what it registered.

    ``required_secrets`` are config keys filled with a placeholder when the stack has not set them
    (default: the managed secrets of this repository's program, when it is the one evaluated).
    ``registry_images`` (ECR repository -> {tag: digest}) and ``hosted_zones`` (Route 53 zone name
    -> ID) describe what the account already holds (default: no image, the example.com zone).
    Raises ``StackFileError`` for malformed project/stack files and the program's own errors
    (``pulumi.RunError`` for invalid configuration).
    """
    config, secret_keys, project = stack_config(project_dir, stack, config_overrides)
    region = config.get("aws:region")
    if not region:
        raise StackFileError(
            f"Pulumi.{stack}.yaml has no aws:region. Fix: pulumi config set aws:region eu-central-1 -s {stack}"
        )
    if required_secrets is None:
        managed = config.get(f"{project}:secretsMode", "managed") == "managed"
        required_secrets = _managed_secret_keys(project) if managed else []
    assembled = with_placeholder_secrets(stack, config, secret_keys, project, required_secrets)

    monitor, outputs = _PROGRAM_THREAD.submit(_run_program, project_dir, project, stack, preview, region,
                                              assembled, registry_images, hosted_zones).result()
    return PlannedStack(
        project=project,
        stack=stack,
        region=region,
        config=assembled.config,
        secret_keys=assembled.secret_keys,
        placeholder_secrets=assembled.placeholder_secrets,
        resources=_recorded(monitor),
        outputs=outputs,
        preview=preview,
        notes=assembled.notes,
    )
