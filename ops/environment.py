"""Whether a failed import means the ops commands run outside the project's environment.

Standard library only: `python -m ops` imports this before anything else can fail, so it can explain a
missing boto3 or pulumi even when ops.errors itself (which needs botocore) cannot be imported.
"""

from __future__ import annotations

import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
# The exit status of a usage or input error (ops.common.EXIT_USAGE, which needs boto3 to import).
EXIT_WRONG_ENVIRONMENT = 2
ENVIRONMENT_FIX = ("the ops commands need the project's environment: run `make venv` and use .venv/bin/python "
                   "(`.venv/bin/python -m ops <command> -s <stack>`), or `make <command> STACK=<stack>`")


def missing_dependency(exc: BaseException) -> str | None:
    """For an import of a third-party package this interpreter does not have (pulumi, boto3, yaml...), the
    error to print; None for anything else, including a module of the project's own that is missing (a bug)."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    top = exc.name.partition(".")[0]
    if (PROJECT_DIR / top).is_dir() or (PROJECT_DIR / f"{top}.py").is_file():
        return None
    return f"No module named {exc.name!r}: {sys.executable} lacks the packages of the project's environment"


def render(cause: str, fix: str = ENVIRONMENT_FIX) -> str:
    """Failure.render's layout (ops.errors), for the one failure that happens before ops.errors is importable
    (and for `python -m offline.plan`, with its own fix)."""
    return f"error: {cause}\n  fix: {fix}"
