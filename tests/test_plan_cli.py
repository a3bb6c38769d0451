"""`make plan`: the offline plan printed for people and for machines."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from offline.plan import main
from offline.runtime import SECRET_PLACEHOLDER
from tests.conftest import ROOT


def test_plan_lists_resources_with_their_key_settings(capsys):
    assert main(["--stack", "prod"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Stack truecaller-backend/prod in eu-central-1: ")
    for expected in (
        "LogGroup", "/ecs/truecaller-backend-prod retention=7d",
        "rolling=100/200 grace=120s circuitBreaker=True/rollback=True",
        "truecaller-backend/prod/database-url recoveryWindow=30d protect=True [protected]",
        "cmd=npx prisma migrate deploy",
        "health=/api/health matcher=200",
        "pulumi config set --secret databaseUrl -s prod (the CLI asks for the value without echoing it)",
    ):
        assert expected in out, expected
    assert SECRET_PLACEHOLDER not in out


def test_plan_json_is_complete_and_redacts_secrets(capsys, prod):
    assert main(["--stack", "prod", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert len(document["resources"]) == len([r for r in prod.resources if r.custom])
    assert document["outputs"]["serviceName"] == "truecaller-backend-prod"
    text = json.dumps(document)
    assert SECRET_PLACEHOLDER not in text and "offline-password" not in text
    assert text.count('"[secret]"') >= 5  # four secret versions and the registry credentials


@pytest.fixture
def broken_project(tmp_path):
    for name in ("Pulumi.yaml", "__main__.py", "infra", "app", "Dockerfile"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "Pulumi.broken.yaml").write_text(
        "config:\n  aws:region: eu-central-1\n  truecaller-backend:logRetentionDays: 0\n"
        "  truecaller-backend:natMode: two\n  truecaller-backend:allowPlainHttp: true\n"
    )
    return tmp_path


def test_plan_exits_2_and_names_every_bad_key(broken_project, capsys):
    assert main(["--stack", "broken", "--project-dir", str(broken_project)]) == 2
    err = capsys.readouterr().err
    assert "truecaller-backend:logRetentionDays = '0' is invalid" in err
    assert "truecaller-backend:natMode = 'two' is invalid" in err


def test_plan_runs_as_make_plan_does_for_staging_and_ends_with_a_passing_verdict():
    result = subprocess.run(
        [sys.executable, "-m", "offline.plan", "--stack", "staging"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert result.returncode == 0, result.stderr
    assert "Stack truecaller-backend/staging" in result.stdout
    assert "FARGATE_SPOT publicIp=True" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1] == "Verdict: passes"


def test_plan_exits_1_on_a_mandatory_policy_violation(broken_project, capsys):
    # The program's config follows the pack config it finds (7 days); a stricter pack config given to the
    # plan (as CI would pass it) is what the planned graph then violates.
    (broken_project / "Pulumi.broken.yaml").write_text(
        "config:\n  aws:region: eu-central-1\n  truecaller-backend:allowPlainHttp: true\n"
    )
    strict = broken_project / "strict.json"
    strict.write_text('{"log-retention": {"enforcementLevel": "mandatory", "retentionDays": 14}}')
    assert main(["--stack", "broken", "--project-dir", str(broken_project), "--policy-config", str(strict)]) == 1
    out = capsys.readouterr().out
    assert "Policy pack: 1 mandatory violation(s)" in out
    assert "MANDATORY  log-retention (1)" in out
    # the log group the pack judged, by name, and what it does wrong (the policy's description is printed once)
    assert "      logs: Log group keeps logs 7 days; the guideline is exactly 14." in out
    assert out.rstrip().splitlines()[-1] == (
        "Verdict: 1 mandatory violation(s): `pulumi preview --policy-pack policies` would fail")


def test_plan_names_the_budget_when_over_it(tmp_path, capsys):
    tight = tmp_path / "tight.json"
    tight.write_text('{"monthly-budget": {"maxMonthlyUsd": 10}}')
    assert main(["--stack", "staging", "--policy-config", str(tight)]) == 0  # the budget is advisory
    assert capsys.readouterr().out.rstrip().splitlines()[-1] == "Verdict: over budget (policy monthly-budget)"


def test_a_policy_config_the_pack_would_reject_is_a_usage_error(tmp_path, capsys):
    # The CLI checks the config against each policy's configSchema before it analyzes anything; exit 1 would
    # say "a mandatory violation", so a config mistake is 2, with the file and the fix, not a traceback.
    # (Each kind of mistake: tests/policies/test_protocol.py.)
    mistaken = tmp_path / "mistaken.json"
    mistaken.write_text('{"monthly-budget": {"maxMonthlyUsd": "lots"}, "log-retention": {"retentionDays": 10},'
                        ' "alb-hardenng": "advisory"}')
    assert main(["--stack", "staging", "--policy-config", str(mistaken)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: the policy pack config {mistaken}: ")
    assert "monthly-budget.maxMonthlyUsd: 'lots' is not of type 'number'" in err  # every problem, not the first
    assert "log-retention.retentionDays: 10 is not one of" in err
    assert "the pack has no policy 'alb-hardenng': did you mean 'alb-hardening'?" in err
    assert "Traceback" not in err


def test_an_unreadable_policy_config_is_a_usage_error(tmp_path, capsys):
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert main(["--stack", "staging", "--policy-config", str(broken)]) == 2
    assert "cannot read the policy pack config" in capsys.readouterr().err


def test_help_explains_the_exit_codes_and_every_option(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "1 a mandatory policy violation, 2 a configuration error" in out
    for option, explained in (("--stack STACK", "the stack whose Pulumi.<stack>.yaml is evaluated"),
                              ("--json", "machine-readable"),
                              ("--policy-config POLICY_CONFIG", "policy pack config"),
                              ("--project-dir PROJECT_DIR", "the Pulumi project"),
                              ("--config KEY=VALUE", "a config value")):
        assert f"{option} {explained}" in out, option


def test_another_python_than_the_projects_is_a_usage_error_not_a_violation():
    """`python3 -m offline.plan` with the machine's Python: exit 1 would read as "a mandatory violation"."""
    done = subprocess.run([sys.executable, "-S", "-m", "offline.plan", "--stack", "staging"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)  # -S: no site-packages, as a bare python3
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: No module named 'pulumi'") and "Traceback" not in done.stderr
    assert "make plan STACK=<stack>" in done.stderr
