"""What Prisma printed, recorded: real runs captured by tests/migrations/capture.py (WebAssembly engine
through the adapter config), and the two native-engine formats this machine cannot produce
(fixtures/native_engine.json says how they were composed)."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CAPTURED = json.loads((FIXTURES / "prisma_output.json").read_text())["cases"]
NATIVE = json.loads((FIXTURES / "native_engine.json").read_text())["cases"]


def output(case: str, native: bool = False) -> str:
    run = (NATIVE if native else CAPTURED)[case]
    return run["stdout"] + run["stderr"]


def log_lines(case: str, native: bool = False) -> list[str]:
    """The lines as the awslogs driver stores them: one event per line, empty lines dropped."""
    return [line for line in output(case, native).splitlines() if line.strip()]


def exit_code(case: str, native: bool = False) -> int:
    return (NATIVE if native else CAPTURED)[case]["exit_code"]
