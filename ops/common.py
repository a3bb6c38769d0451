"""What every command shares: errors with exit codes, stack outputs, AWS clients, tables."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

# Exit codes (README "Operations commands" has the table; ops/errors.py maps failures onto them).
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_AWS_CONFIG, EXIT_UNREACHABLE, EXIT_ACCESS_DENIED, EXIT_THROTTLED, EXIT_GONE = 3, 4, 5, 6, 7
EXIT_PULUMI, EXIT_INTERNAL, EXIT_INTERRUPTED = 8, 9, 130


class OpsError(Exception):
    """A failure the operator can act on: printed without a traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class StackOutputs:
    values: dict[str, Any]
    source: str  # where they came from, for error messages

    def __getitem__(self, key: str) -> Any:
        if key not in self.values or self.values[key] in (None, ""):
            raise OpsError(f"stack output '{key}' is missing from {self.source}; run `pulumi up` for this stack "
                           "or pass an outputs file that has it", EXIT_USAGE)
        return self.values[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    @classmethod
    def from_file(cls, path: Path) -> StackOutputs:
        try:
            values = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise OpsError(f"cannot read stack outputs from {path}: {exc}", EXIT_USAGE) from exc
        if not isinstance(values, dict):
            raise OpsError(f"{path} must hold a JSON object (as `pulumi stack output --json` prints)", EXIT_USAGE)
        return cls(values, str(path))


def client_config() -> Config:
    """Throttling and transient errors are retried with botocore's standard mode (exponential backoff
    with jitter, a retry quota) before a command gives up; the attempts follow AWS_MAX_ATTEMPTS or the
    profile's max_attempts (botocore's default: 3 in all). The connect timeout is well below botocore's
    60 s, so an unreachable endpoint is reported within a minute even after the retries.

    A new Config per client: botocore writes the resolved attempts into the ``retries`` dict it is given.
    """
    return Config(retries={"mode": "standard"}, connect_timeout=10, read_timeout=60)

# Request parameters that name a resource, kept with an error response so ops/errors.py can say
# which cluster, service, target group or log group is gone (AWS's own messages often do not).
_IDENTIFYING_PARAMETERS = ("cluster", "service", "services", "TargetGroupArn", "LoadBalancerArn", "logGroupName",
                           "SecretId", "repositoryName", "taskDefinition")


def _remember_request(params, model, context, **_):
    context["ops_request"] = {
        "action": f"{model.service_model.signing_name}:{model.name}",
        "region": context.get("client_region"),
        "parameters": {k: params[k] for k in _IDENTIFYING_PARAMETERS if k in params},
    }


def _attach_request(parsed, context, **_):
    if isinstance(parsed, dict) and "Error" in parsed and "ops_request" in context:
        parsed["OpsRequest"] = context["ops_request"]  # ends up in ClientError.response


class Aws:
    """boto3 clients for one region (endpoints follow the standard AWS_* environment, AWS_ENDPOINT_URL too).

    ``region=None`` takes the region from the environment or the profile, as the AWS CLI does.
    """

    _sessions: dict[str | None, Any] = {}  # a session caches the service models its clients load

    def __init__(self, region: str | None):
        self.region = region
        if region not in Aws._sessions:
            session = boto3.session.Session(region_name=region)
            session.events.register("provide-client-params", _remember_request)
            session.events.register("after-call", _attach_request)
            Aws._sessions[region] = session
        self._session = Aws._sessions[region]
        self._clients: dict[str, Any] = {}

    def __getattr__(self, service: str) -> Any:
        if service.startswith("_"):
            raise AttributeError(service)
        name = service.replace("_", "-")
        if name not in self._clients:
            self._clients[name] = self._session.client(name, config=client_config())
        return self._clients[name]


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    rows = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


Printer = Callable[[str], None]


# The shortest wait between two polls of AWS, whatever --poll-seconds asks: a mistyped value must not turn a
# command into a loop against the account's API rate limits, which every other client of the account shares.
MIN_POLL_SECONDS = 0.05


def poll_delay(poll: float) -> float:
    return max(MIN_POLL_SECONDS, poll)


def waiter_config(timeout: float, poll: float) -> dict[str, float]:
    """A boto3 WaiterConfig that gives up after about ``timeout`` seconds."""
    delay = poll_delay(poll)
    return {"Delay": delay, "MaxAttempts": max(1, int(timeout / delay))}


@contextmanager
def second_ctrl_c_interrupts(on_first: Callable[[], None],
                             before_interrupt: Callable[[], None] = lambda: None) -> Iterator[threading.Event]:
    """Within the block the first Ctrl-C (SIGINT) only sets the yielded event and calls ``on_first``, so the
    command stops where it chooses; a second one raises KeyboardInterrupt at once, after ``before_interrupt``.
    Off the main thread, where Python runs no signal handler, Ctrl-C keeps its usual meaning."""
    pressed = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield pressed
        return

    def on_sigint(signum, frame):
        if pressed.is_set():
            before_interrupt()
            raise KeyboardInterrupt
        pressed.set()
        on_first()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, previous)
