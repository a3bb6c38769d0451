"""The budget policy over the real planned graphs, and --live-prices without credentials.

The policy is called as the analyzer calls it: StackValidationArgs of PolicyResources (with their
property dependencies, which is how the estimator finds a service's task definition) and the
policy config as floats, without schema defaults.
"""

from __future__ import annotations

import sys

import pytest
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions, StackValidationArgs

from offline import cost
from offline.runtime import PROJECT_DIR

sys.path.insert(0, str(PROJECT_DIR / "policies"))
from costing.estimator import load_prices  # noqa: E402
from costing.policy import budget_policy  # noqa: E402


def policy_resources(planned) -> list[PolicyResource]:
    options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    built: dict[str, PolicyResource] = {}
    for r in planned.resources:
        if r.custom:
            built[r.urn] = PolicyResource(r.type, r.inputs, r.urn, r.name, options, None, None, [], {})
    for r in planned.resources:
        if r.urn in built:
            built[r.urn].property_dependencies = {
                key: [built[u] for u in urns if u in built] for key, urns in r.property_dependencies.items()}
    return list(built.values())


def run_budget(planned, config: dict) -> list[str]:
    found: list[str] = []
    budget_policy.validate(StackValidationArgs(policy_resources(planned), config),
                           lambda message, urn=None: found.append(message))
    return found


@pytest.fixture(scope="module")
def staging_total(planned) -> float:
    return cost.estimate_planned(planned["staging"]).total


def test_budget_is_advisory_by_default():
    assert budget_policy.enforcement_level == EnforcementLevel.ADVISORY


def test_budget_policy_agrees_with_the_offline_estimate(planned, staging_total):
    staging = planned["staging"]
    over = run_budget(staging, {"maxMonthlyUsd": staging_total - 0.5, "region": "eu-central-1"})
    assert len(over) == 1 and f"${staging_total:.2f}/month" in over[0]
    assert run_budget(staging, {"maxMonthlyUsd": staging_total + 0.5, "region": "eu-central-1"}) == []


def test_budget_policy_reads_its_usage_assumptions(planned):
    # prod is $138.89 (tests/test_cost.py); 1,000 GB more through the NAT gateway x $0.052 = $52.00 more.
    config = {"maxMonthlyUsd": 140.0, "region": "eu-central-1", "natGbPerMonth": 1020.0}
    (message,) = run_budget(planned["prod"], config)
    assert "$190.89/month" in message


def test_budget_policy_counts_the_albs_lcu_assumption(planned):
    # staging is $63.42; 9 LCU more x 730 h x $0.0096 = $63.07 more.
    (message,) = run_budget(planned["staging"], {"maxMonthlyUsd": 1.0, "albLcu": 10.0})
    assert "$126.49/month" in message


def test_live_prices_without_credentials_fall_back_to_the_table(monkeypatch, capsys, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert cost.main(["--stack", "staging", "--live-prices"]) == 0
    captured = capsys.readouterr()
    assert "--live-prices" in captured.err and "using the shipped table" in captured.err
    assert f"list prices of {load_prices()['retrieved']}" in captured.out
