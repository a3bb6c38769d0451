"""`python -m ops` run by a Python that lacks the project's packages (the machine's python3 instead of
.venv/bin/python): one clear error naming the fix, exit 2, never "this is a bug"."""

from __future__ import annotations

import subprocess
import sys

from ops.errors import explain
from tests.conftest import ROOT

FIX = "the ops commands need the project's environment: run `make venv` and use .venv/bin/python"
# Python as started by the project's .venv, with one distribution made unimportable the way a Python without it
# fails: `sys.modules[name] = None` makes every `import name` raise ModuleNotFoundError(name=name).
WITHOUT = ("import runpy, sys; sys.modules[{name!r}] = None; "
           "runpy.run_module('ops', run_name='__main__', alter_sys=True)")


def run_ops(*python: str, args=("status", "-s", "prod")) -> subprocess.CompletedProcess:
    return subprocess.run([*python, *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_DISABLED": "true"})


def assert_wrong_environment(done: subprocess.CompletedProcess, module: str) -> None:
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"error: No module named '{module}': "), done.stderr
    assert FIX in done.stderr
    assert "Traceback" not in done.stderr and "bug" not in done.stderr


def test_a_python_without_pulumi_is_told_to_use_the_projects_environment():
    # boto3 and botocore import, the command starts, and the Automation API's import fails inside it.
    done = run_ops(sys.executable, "-c", WITHOUT.format(name="pulumi"))
    assert_wrong_environment(done, "pulumi")


def test_a_python_without_any_package_fails_the_same_before_the_commands_load():
    # -S: no site-packages at all, so `import botocore` fails while ops.cli itself is being imported.
    done = run_ops(sys.executable, "-S", "-m", "ops")
    assert_wrong_environment(done, "botocore")


def test_a_missing_module_of_the_project_itself_is_still_a_bug():
    failure = explain(ModuleNotFoundError("No module named 'infra.gone'", name="infra.gone"), stack="prod")
    assert failure.code == 9 and "this is a bug in the ops commands" in failure.fix
    failure = explain(ModuleNotFoundError("No module named 'yaml'", name="yaml"), stack="prod")
    assert failure.code == 2 and failure.fix.startswith(FIX)
