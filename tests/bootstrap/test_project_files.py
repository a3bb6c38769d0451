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
