"""`make bootstrap-plan`: the offline plan of the bootstrap project, as people and CI run it."""

from __future__ import annotations

import json
import os
import subprocess

from offline.plan import main
from tests.bootstrap.conftest import POLICY_CONFIG, REPOSITORY
from tests.conftest import ROOT

ARGS = ["--project-dir", str(ROOT / "bootstrap"), "--stack", "account", "--policy-config", str(POLICY_CONFIG)]


def test_plan_prints_the_graph_the_clean_pack_and_no_rollout(capsys):
    assert main([*ARGS, "--config", f"githubRepository={REPOSITORY}"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Stack truecaller-backend-bootstrap/account in eu-central-1: 37 resources")
    assert "Policy pack: 0 mandatory violation(s), 0 advisory" in out
    assert "AWS_DEPLOY_ROLE_ARN: arn:aws:iam::123456789012:role/" in out
    assert "Release timeline" not in out  # the bootstrap runs no service


def test_plan_json_has_the_outputs_and_no_rollout(capsys):
    assert main([*ARGS, "--json", "--config", f"githubRepository={REPOSITORY}"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document["outputs"]) == {"AWS_PREVIEW_ROLE_ARN", "AWS_DEPLOY_ROLE_ARN", "PULUMI_BACKEND_URL",
                                        "PULUMI_SECRETS_PROVIDER", "AWS_REGION"}
    assert document["rollout"] is None


def test_missing_repository_and_malformed_config_exit_2(capsys):
    assert main(ARGS) == 2
    assert "missing configuration value 'githubRepository'" in capsys.readouterr().err
    assert main([*ARGS, "--config", "githubRepository"]) == 2
    assert "is not KEY=VALUE" in capsys.readouterr().err
    assert main([*ARGS, "--config", "githubRepository=not-a-repository"]) == 2
    assert "githubRepository = 'not-a-repository' is invalid" in capsys.readouterr().err


def test_make_target_plans_with_the_ci_repository():
    env = {**os.environ, "GITHUB_REPOSITORY": "acme/truecaller-backend"}
    done = subprocess.run(["make", "-s", "bootstrap-plan"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Policy pack: 0 mandatory violation(s)" in done.stdout
