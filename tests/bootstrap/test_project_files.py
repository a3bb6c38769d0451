"""bootstrap/Pulumi.yaml and its stack file are what the CLI accepts, agree with the typed
settings, and reuse the main program's virtualenv and pins."""

from __future__ import annotations

import json
import os

import jsonschema
import yaml

from tests.bootstrap.conftest import BOOTSTRAP_DIR, STACK
from tests.conftest import ROOT

PROJECT = yaml.safe_load((BOOTSTRAP_DIR / "Pulumi.yaml").read_text())
SCHEMA = json.loads((ROOT / "tests/data/pulumi-project.schema.json").read_text())


def test_project_file_passes_the_clis_schema():
    jsonschema.validate(PROJECT, SCHEMA)


def test_runtime_shares_the_main_programs_virtualenv():
    assert PROJECT["runtime"] == {"name": "python", "options": {"toolchain": "uv", "virtualenv": "../.venv"}}
    # The CLI resolves a relative virtualenv with filepath.Join(projectDir, virtualenv).
    assert os.path.normpath(BOOTSTRAP_DIR / PROJECT["runtime"]["options"]["virtualenv"]) == str(ROOT / ".venv")
    # uv finds the main program's pyproject.toml and uv.lock above bootstrap/ (no project of its own).
    assert not (BOOTSTRAP_DIR / "pyproject.toml").exists() and (ROOT / "uv.lock").is_file()


def test_declared_config_matches_the_typed_settings():
    from account.config import SETTINGS

    declared = PROJECT["config"]
    assert list(declared) == [s.key for s in SETTINGS]
    for setting in SETTINGS:
        expected = {"type": setting.type, "description": setting.description}
        if setting.default is not None:  # no default: the CLI refuses to run without a value
            expected["default"] = setting.default
        assert declared[setting.key] == expected, setting.key


def test_stack_file_commits_a_region_and_no_repository():
    config = yaml.safe_load((BOOTSTRAP_DIR / f"Pulumi.{STACK}.yaml").read_text())["config"]
    assert config == {"aws:region": "eu-central-1"}  # same region as the main stacks


def test_project_names_differ_so_their_state_never_mixes():
    main = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["name"]
    assert PROJECT["name"] == f"{main}-bootstrap"


def test_the_bootstraps_state_stays_local_whatever_pulumi_login_chose():
    # The CLI takes a project's backend.url before the stored `pulumi login` (pkg/workspace/creds.go,
    # GetCurrentCloudURLWithSource: PULUMI_BACKEND_URL, then the project, then the credentials), so the
    # real path's later `pulumi login s3://...` for the main stacks leaves bootstrap/ where it was.
    url = PROJECT["backend"]["url"]
    assert url == "file://~/.pulumi-bootstrap"
    # The main program has no backend of its own: its stacks follow `pulumi login` into the state bucket.
    assert "backend" not in yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    # pkg/backend/diy massageBlobPath expands only a leading "~" or "~/" (the user's home), and the
    # file backend opens the directory without creating it: the README creates exactly this one first.
    path = url.removeprefix("file://")
    assert path.startswith("~/") and "?" not in path
    readme = (ROOT / "README.md").read_text()
    real_path = readme[readme.index("### From an empty account to the first release"):]
    first_use = real_path.index("pulumi stack init account")
    assert f"mkdir -p {path}" in real_path[:first_use]
    # A login would make the directory every project's backend: no command of the README does one.
    commands = [line.strip() for block in readme.split("```bash")[1:] for line in block.split("```")[0].splitlines()]
    assert commands and not [c for c in commands if "pulumi login file://" in c]
