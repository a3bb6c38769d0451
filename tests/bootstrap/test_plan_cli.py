"""`make bootstrap-plan`: the offline plan of the bootstrap project, as people and CI run it."""

from __future__ import annotations

import json
import os
import subprocess

from offline.plan import main
from tests.bootstrap.conftest import POLICY_CONFIG, REPOSITORY, evaluate_bootstrap
from tests.conftest import ROOT

ARGS = ["--project-dir", str(ROOT / "bootstrap"), "--stack", "account", "--policy-config", str(POLICY_CONFIG)]


def test_plan_prints_the_graph_the_clean_pack_and_no_rollout(capsys):
    assert main([*ARGS, "--config", f"githubRepository={REPOSITORY}"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Stack truecaller-backend-bootstrap/account in eu-central-1: 41 resources")
    assert "Policy pack: 0 mandatory violation(s), 0 advisory" in out
    assert "  repositoryVariables:\n    AWS_PREVIEW_ROLE_ARN: arn:aws:iam::123456789012:role/" in out
    assert "    AWS_DEPLOY_ROLE_ARN: arn:aws:iam::123456789012:role/" in out
    assert "Release timeline" not in out  # the bootstrap runs no service


def test_plan_json_has_the_outputs_and_no_rollout(capsys):
    assert main([*ARGS, "--json", "--config", f"githubRepository={REPOSITORY}"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document["outputs"]) == {"repositoryVariables", "backendUrl", "secretsProviders",
                                        "bootstrapSecretsProvider"}
    assert set(document["outputs"]["repositoryVariables"]) == {"AWS_PREVIEW_ROLE_ARN", "AWS_DEPLOY_ROLE_ARN",
                                                               "PULUMI_BACKEND_URL", "AWS_PREVIEW_STACKS"}
    assert document["rollout"] is None


def test_missing_repository_and_malformed_config_exit_2(capsys):
    assert main(ARGS) == 2
    assert "missing configuration value 'githubRepository'" in capsys.readouterr().err
    assert main([*ARGS, "--config", "githubRepository"]) == 2
    assert "is not KEY=VALUE" in capsys.readouterr().err
    assert main([*ARGS, "--config", "githubRepository=not-a-repository"]) == 2
    assert "githubRepository = 'not-a-repository' is invalid" in capsys.readouterr().err


def test_a_derived_state_bucket_name_longer_than_s3_allows_exits_2(capsys):
    # 24 characters in eu-central-1: 24 + len("-pulumi-state-") + 12 + 1 + 12 = 63, S3's limit.
    longest = "a" * 24
    fits = evaluate_bootstrap(deployedProject=longest)
    assert fits.outputs["backendUrl"] == f"s3://{longest}-pulumi-state-123456789012-eu-central-1?region=eu-central-1"
    assert main([*ARGS, "--config", f"githubRepository={REPOSITORY}", "--config", f"deployedProject={longest}b"]) == 2
    err = capsys.readouterr().err
    assert "deployedProject = 'aaaaaaaaaaaaaaaaaaaaaaaab' makes the state bucket name" in err
    assert "64 characters long; S3 allows 63" in err and "pulumi config set stateBucketName" in err
    assert "a deployedProject of at most 24 characters" in err
    # A name of its own lifts the limit.
    named = evaluate_bootstrap(deployedProject=f"{longest}b", stateBucketName="acme-pulumi-state")
    assert named.outputs["backendUrl"] == "s3://acme-pulumi-state?region=eu-central-1"


def test_make_target_plans_with_the_ci_repository():
    env = {**os.environ, "GITHUB_REPOSITORY": "acme/truecaller-backend"}
    done = subprocess.run(["make", "-s", "bootstrap-plan"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Policy pack: 0 mandatory violation(s)" in done.stdout


def test_a_mistyped_key_exits_2_with_the_fix(capsys):
    assert main([*ARGS, "--config", f"githubRepository={REPOSITORY}", "--config", "noncurrentVersionDay=30"]) == 2
    assert ("truecaller-backend-bootstrap:noncurrentVersionDay in Pulumi.account.yaml is not a setting of this "
            "program: did you mean 'noncurrentVersionDays'? Fix: pulumi config rm noncurrentVersionDay -s account && "
            "pulumi config set noncurrentVersionDays <value> -s account") in capsys.readouterr().err
