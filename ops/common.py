"""What every command shares: errors with exit codes, stack outputs, AWS clients, tables."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


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


class Aws:
    """boto3 clients for one region (endpoints follow the standard AWS_* environment, AWS_ENDPOINT_URL too)."""

    _sessions: dict[str, Any] = {}  # a session caches the service models its clients load

    def __init__(self, region: str):
        self.region = region
        if region not in Aws._sessions:
            Aws._sessions[region] = boto3.session.Session(region_name=region)
        self._session = Aws._sessions[region]
        self._clients: dict[str, Any] = {}

    def __getattr__(self, service: str) -> Any:
        if service.startswith("_"):
            raise AttributeError(service)
        name = service.replace("_", "-")
        if name not in self._clients:
            self._clients[name] = self._session.client(name)
        return self._clients[name]


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    rows = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


Printer = Callable[[str], None]


def waiter_config(timeout: float, poll: float) -> dict[str, float]:
    """A boto3 WaiterConfig that gives up after about ``timeout`` seconds."""
    delay = max(0.05, poll)
    return {"Delay": delay, "MaxAttempts": max(1, int(timeout / delay))}
