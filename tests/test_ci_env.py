"""`python -m offline.ci_env`: the stacks, a stack's region and the Pulumi version, as CI reads them."""

from __future__ import annotations

import importlib.metadata
import json
import shutil
from pathlib import Path

import pytest

from offline.ci_env import main
from tests.conftest import ROOT


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the project files ci_env reads, with a third stack in another region."""
    for name in ("Pulumi.yaml", "Pulumi.prod.yaml", "Pulumi.staging.yaml", "uv.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "Pulumi.eu.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    return tmp_path


def run(capsys, monkeypatch, argv, github_output: Path | None = None) -> tuple[int, str, str]:
    if github_output is None:
        monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    else:
        monkeypatch.setenv("GITHUB_OUTPUT", str(github_output))
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_stacks_are_the_committed_stack_files(project, capsys, monkeypatch, tmp_path):
    output = tmp_path / "github_output"
    output.write_text("earlier=1\n")
    code, out, _ = run(capsys, monkeypatch, ["--project-dir", str(project), "stacks"], output)
    assert code == 0
    assert output.read_text() == 'earlier=1\nstacks=["eu", "prod", "staging"]\n'  # appended, never truncated
    assert json.loads(out.split("=", 1)[1]) == ["eu", "prod", "staging"]


def test_the_repository_has_prod_and_staging(capsys, monkeypatch):
    code, out, _ = run(capsys, monkeypatch, ["stacks"])
    assert code == 0 and json.loads(out.split("=", 1)[1]) == ["prod", "staging"]


def test_region_comes_from_the_stack_file_and_the_cli_version_from_the_lock(project, capsys, monkeypatch, tmp_path):
    lock = (project / "uv.lock").read_text()
    (project / "uv.lock").write_text(lock.replace('name = "pulumi"\nversion = "', 'name = "pulumi"\nversion = "9', 1))
    output = tmp_path / "github_output"
    code, _, _ = run(capsys, monkeypatch, ["--project-dir", str(project), "stack", "-s", "eu"], output)
    assert code == 0
    values = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert values["stack"] == "eu" and values["region"] == "eu-west-1"
    assert values["pulumi-version"].startswith("9") and values["pulumi-version"][1:].count(".") == 2


def test_the_real_lock_pins_the_cli_to_the_sdk(capsys, monkeypatch):
    code, out, _ = run(capsys, monkeypatch, ["stack", "-s", "prod"])
    values = dict(line.split("=", 1) for line in out.splitlines())
    installed = importlib.metadata.version("pulumi")  # the SDK the program runs with
    assert code == 0 and values["pulumi-version"] == installed and values["region"] == "eu-central-1"


@pytest.mark.parametrize(("stack", "file_text", "message"), [
    ("missing", None, "Pulumi.missing.yaml does not exist. Fix: pulumi stack init missing"),
    ("noregion", "config:\n  truecaller-backend:cpu: 512\n", "Pulumi.noregion.yaml has no aws:region"),
    ("../prod", None, "'../prod' is not a stack name"),
])
def test_bad_stacks_are_a_clear_error(project, capsys, monkeypatch, stack, file_text, message):
    if file_text is not None:
        (project / f"Pulumi.{stack}.yaml").write_text(file_text)
    code, out, err = run(capsys, monkeypatch, ["--project-dir", str(project), "stack", "-s", stack])
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err


def test_a_lock_without_pulumi_is_a_clear_error(project, capsys, monkeypatch):
    (project / "uv.lock").write_text('version = 1\n[[package]]\nname = "boto3"\nversion = "1.0"\n')
    code, _, err = run(capsys, monkeypatch, ["--project-dir", str(project), "stack", "-s", "prod"])
    assert code == 2 and "locks no 'pulumi'" in err and "make lock" in err
