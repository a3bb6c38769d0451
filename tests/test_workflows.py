"""The CI workflows parse and run the policy pack against the stacks that exist."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"


def load(name: str) -> dict:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    document["on"] = document.pop(True)  # YAML 1.1 reads the key `on` as a boolean
    return document


def pulumi_steps(job: dict) -> list[dict]:
    return [s for s in job["steps"] if s.get("uses", "").startswith("pulumi/actions@")]


def assert_runs_the_pack(step: dict, command: str):
    inputs = step["with"]
    assert inputs["command"] == command
    assert (ROOT / inputs["policyPacks"] / "PulumiPolicy.yaml").is_file()
    config = ROOT / inputs["policyPackConfigs"]
    assert isinstance(json.loads(config.read_text()), dict)
    assert step["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"


def test_pull_requests_preview_every_stack_with_the_policy_pack():
    workflow = load("preview.yml")
    assert "pull_request" in workflow["on"]
    assert "make test" in [s.get("run") for s in workflow["jobs"]["test"]["steps"]]
    preview = workflow["jobs"]["preview"]
    assert preview["needs"] == "test"
    stacks = preview["strategy"]["matrix"]["stack"]
    assert sorted(stacks) == ["prod", "staging"]
    assert all((ROOT / f"Pulumi.{stack}.yaml").is_file() for stack in stacks)
    (step,) = pulumi_steps(preview)
    assert step["with"]["stack-name"] == "${{ matrix.stack }}"
    assert_runs_the_pack(step, "preview")


def test_main_deploys_staging_then_prod_behind_an_approval():
    workflow = load("deploy.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    jobs = workflow["jobs"]
    assert list(jobs) == ["staging", "prod"]
    assert jobs["prod"]["needs"] == "staging"
    assert jobs["prod"]["environment"] == "production"
    for name, job in jobs.items():
        (step,) = pulumi_steps(job)
        assert step["with"]["stack-name"] == "${{ github.job }}" and (ROOT / f"Pulumi.{name}.yaml").is_file()
        assert_runs_the_pack(step, "up")
    assert workflow["concurrency"]["cancel-in-progress"] is False


@pytest.mark.parametrize("name", ["preview.yml", "deploy.yml"])
def test_workflows_install_what_the_runtimes_expect(name):
    text = (WORKFLOWS / name).read_text()
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    pack = yaml.safe_load((ROOT / "policies" / "PulumiPolicy.yaml").read_text())
    assert f"python -m venv {project['runtime']['options']['virtualenv']} " in text
    assert f"python -m venv policies/{pack['runtime']['options']['virtualenv']} " in text
