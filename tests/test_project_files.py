"""Pulumi.yaml and the stack files are what the CLI accepts, and agree with infra/config.py."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from infra.config import SECRET_SPECS, SETTINGS, SETTINGS_BY_KEY, parse_config
from tests.conftest import ROOT, STACKS

PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
SCHEMA = json.loads((ROOT / "tests/data/pulumi-project.schema.json").read_text())


def test_project_file_passes_the_clis_schema():
    jsonschema.validate(PROJECT, SCHEMA)


def test_schema_check_can_fail():
    broken = dict(PROJECT, config={"cpu": {"type": "integer", "default": 512, "min": 256}})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)


def test_project_name():
    assert PROJECT["name"] == "truecaller-backend"  # the runtime block: tests/test_toolchain.py


def test_declared_config_matches_the_typed_settings():
    declared = PROJECT["config"]
    assert list(declared) == [s.key for s in SETTINGS]
    for setting in SETTINGS:
        assert declared[setting.key] == {
            "type": setting.type,
            "default": setting.default,
            "description": setting.description,
        }, setting.key


def test_declared_defaults_are_valid_values():
    raw = {key: str(d["default"]).lower() if isinstance(d["default"], bool) else str(d["default"])
           for key, d in PROJECT["config"].items()}
    secrets = {k: ("x", True) for _, k in SECRET_SPECS.values()}
    # Every stack states how it serves HTTP(S): the defaults plus that one choice are a valid stack.
    raw["allowPlainHttp"] = "true"
    parse_config(raw, project="truecaller-backend", stack="prod", project_dir=ROOT, secret_config=secrets)


@pytest.mark.parametrize("stack", STACKS)
def test_stack_file_uses_only_declared_keys_and_commits_no_secret(stack):
    config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    assert config["aws:region"] == "eu-central-1"
    for key, value in config.items():
        namespace, name = key.split(":", 1)
        assert not isinstance(value, dict), f"{key}: no structured or secure values are committed"
        if namespace == "truecaller-backend":
            assert name in SETTINGS_BY_KEY, f"{key} is not declared in Pulumi.yaml"
        else:
            assert namespace == "aws", key
    assert "secure:" not in (ROOT / f"Pulumi.{stack}.yaml").read_text()


def test_readme_lists_every_policy_of_the_pack():
    from offline.docs import policy_table

    readme = (ROOT / "README.md").read_text()
    table = policy_table()
    assert table in readme
    assert table.count("\n| `") == 35  # 26 + HTTPS in production, traffic shift, release safety net, S3 x4, KMS,
    # role permissions boundary
