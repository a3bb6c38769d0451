"""The pull request's plan comment: cost delta between two plans, policy results, one comment per stack."""

from __future__ import annotations

import copy
import json

import pytest

from offline.plan import plan_document
from offline.policy_client import PolicyReport
from offline.pr_comment import Side, build_comment, cost_rows, main, marker
from offline.runtime import evaluate_stack
from tests.conftest import analyzed_with


def line(item: str, monthly: float) -> dict:
    return {"item": item, "quantity": 1.0, "unit": "unit", "unit_price": monthly, "monthly": monthly}


def plan(lines: list[dict], diagnostics: list[dict] | None = None, stack: str = "prod",
         resources: list[tuple[str, str]] = ()) -> dict:
    """An `offline.plan --json` document, reduced to what the comment reads."""
    return {
        "project": "truecaller-backend", "stack": stack, "region": "eu-central-1",
        "resources": [{"urn": f"urn:pulumi:{stack}::truecaller-backend::{t}::{n}", "type": t, "name": n}
                      for t, n in resources],
        "policies": {"checked": ["ecs-zero-downtime-rolling", "log-retention", "alb-hardening"],
                     "diagnostics": diagnostics or []},
        "cost": {"region": "eu-central-1", "pricesRetrieved": "2026-11-24", "lines": lines, "unknown": [],
                 "totalMonthlyUsd": round(sum(x["monthly"] for x in lines), 2)},
    }


def diagnostic(policy: str, level: str, resource: str, message: str) -> dict:
    return {"policy": policy, "level": level, "message": message, "description": "",
            "urn": f"urn:pulumi:prod::truecaller-backend::aws:x/y:Z::{resource}" if resource else ""}


def table_row(body: str, name: str) -> str:
    rows = [r for r in body.splitlines() if r.startswith(f"| {name}") or r.startswith(f"| ~~{name}")]
    assert len(rows) == 1, (name, rows)
    return rows[0]


@pytest.fixture(scope="module")
def bigger_prod() -> dict:
    """prod with a third task and a NAT gateway per zone: the plan a pull request would make."""
    planned = evaluate_stack("prod", config_overrides={"desiredCount": "3", "natMode": "per-az"})
    return plan_document(planned, PolicyReport([], []))


def test_cost_delta_between_two_real_plans(prod, bigger_prod):
    base = plan_document(prod, PolicyReport([], []))
    body = build_comment("prod", Side(bigger_prod), Side(base))
    before, after = base["cost"]["totalMonthlyUsd"], bigger_prod["cost"]["totalMonthlyUsd"]
    assert after > before
    assert f"**Monthly cost: ${before:,.2f} → ${after:,.2f} (+${after - before:,.2f}" in body
    vcpu = table_row(body, "Fargate vCPU")
    assert "3 task(s))<br>was: Fargate vCPU (x86_64, on-demand, 2 task(s))" in vcpu
    nat = table_row(body, "NAT gateway")
    assert nat.startswith("| NAT gateway (2)<br>was: NAT gateway (1) | $") and "| +$" in nat
    assert table_row(body, "ALB (1)").endswith("|  |")  # unchanged lines carry no change
    # Every line's change is head minus base of that line, and the lines add up to the totals.
    lines = {r.name: r for r in cost_rows(base["cost"]["lines"], bigger_prod["cost"]["lines"])}
    assert round(sum(r.delta for r in lines.values()), 2) == round(after - before, 2)
    assert lines["NAT gateway"].status == "changed" and lines["ALB"].status == "unchanged"


def test_new_and_removed_line_items_and_a_line_that_only_moves():
    base = plan([line("NAT gateway (1)", 37.96), line("NAT data processed (assumed 20 GB)", 1.04),
                 line("ALB (1)", 19.71), line("Public IPv4 (1 EIP, 2 ALB, 0 task)", 10.95)])
    head = plan([line("ALB (1)", 19.71), line("Public IPv4 (0 EIP, 2 ALB, 1 task)", 10.95),
                 line("VPC interface endpoints (3, 6 AZ-attachments)", 52.56)])
    body = build_comment("prod", Side(head), Side(base))
    assert table_row(body, "VPC interface endpoints") == (
        "| VPC interface endpoints (3, 6 AZ-attachments) (new) | – | $52.56 | +$52.56 |")
    assert table_row(body, "NAT gateway") == "| ~~NAT gateway (1)~~ (removed) | $37.96 | – | -$37.96 |"
    assert table_row(body, "NAT data processed") == (
        "| ~~NAT data processed (assumed 20 GB)~~ (removed) | $1.04 | – | -$1.04 |")
    assert "was: Public IPv4 (1 EIP, 2 ALB, 0 task) | $10.95 | $10.95 | $0.00 |" in body
    assert "**Monthly cost: $69.66 → $83.22 (+$13.56, +19.5 %)** against `main`" in body
    assert "(3 of 5 line items changed)" not in body and "(4 of 5 line items changed)" in body
    assert "| **total** | **$69.66** | **$83.22** | **+$13.56** |" in body


def test_lines_of_two_services_are_matched_in_order():
    base = plan([line("Fargate vCPU (x86_64, on-demand, 2 task(s))", 34.0),
                 line("Fargate vCPU (arm64, Spot, 1 task(s))", 4.0)])
    head = plan([line("Fargate vCPU (x86_64, on-demand, 2 task(s))", 34.0),
                 line("Fargate vCPU (arm64, Spot, 2 task(s))", 8.0)])
    rows = cost_rows(base["cost"]["lines"], head["cost"]["lines"])
    assert [(r.status, round(r.delta, 2)) for r in rows] == [("unchanged", 0.0), ("changed", 4.0)]


def test_policy_results_mark_new_violations_and_list_fixed_ones():
    kept = diagnostic("alb-hardening", "advisory", "alb", "deletion protection is off")
    fixed = diagnostic("log-retention", "mandatory", "logs", "retention is 0 (never expire)")
    new = diagnostic("ecs-zero-downtime-rolling", "mandatory", "service", "minimumHealthyPercent is 50\nFix: 100")
    base = plan([line("ALB (1)", 19.71)], [kept, fixed])
    head = plan([line("ALB (1)", 19.71)], [kept, new])
    body = build_comment("prod", Side(head), Side(base))
    assert ("**Policy pack: ❌ 1 mandatory violation(s), 1 advisory, 1 new in this PR, 1 fixed** "
            "(3 policies checked)") in body
    rows = [r for r in body.splitlines() if r.startswith("| mandatory") or r.startswith("| advisory")]
    assert rows == [
        "| mandatory | <code>ecs-zero-downtime-rolling</code> | <code>service</code> | "
        "minimumHealthyPercent is 50 | new |",
        "| advisory | <code>alb-hardening</code> | <code>alb</code> | deletion protection is off |  |",
    ]
    assert "- <code>log-retention</code> on <code>logs</code>: retention is 0 (never expire)" in body
    assert "<details open><summary>Policy results" in body  # a mandatory violation is not folded away


def test_a_clean_plan_says_so_and_stack_policies_name_the_stack():
    budget = diagnostic("monthly-budget", "advisory", "", "estimated $180.00/month exceeds maxMonthlyUsd 150")
    body = build_comment("prod", Side(plan([line("ALB (1)", 19.71)], [budget])), Side(plan([line("ALB (1)", 19.71)])))
    assert "**Policy pack: ✅ no mandatory violation, 1 advisory, 1 new in this PR** (3 policies checked)" in body
    assert "| advisory | <code>monthly-budget</code> | <code>stack</code> |" in body
    clean = build_comment("prod", Side(plan([line("ALB (1)", 19.71)])), Side(plan([line("ALB (1)", 19.71)])))
    assert "**Policy pack: ✅ no mandatory violation, 0 advisory** (3 policies checked)" in clean
    assert "Policy results" not in clean


def test_a_real_pack_violation_is_shown_on_its_resource_with_what_it_does_wrong(staging, staging_pack):
    # pulumi-policy sends the policy's description, then the violation; a resource policy's diagnostic names no
    # URN (the engine reports it against the resource it analyzed). The row must show the resource and the line
    # that differs from one resource to the next, or a PR that fixes one log group and breaks another shows
    # nothing new and nothing fixed.
    report = analyzed_with(staging_pack, staging, {"log-retention": {"retentionDays": 30}})
    document = json.loads(json.dumps(plan_document(staging, report), default=str))  # as `--json` prints it
    body = build_comment("staging", Side(document), Side(None, "no plan was made"))
    assert "❌ 1 mandatory violation(s), 0 advisory**" in body
    assert ("| mandatory | <code>log-retention</code> | <code>logs</code> | Log group keeps logs 7 days; "
            "the guideline is exactly 30. Set retentionInDays = 30. |  |") in body
    assert "Every CloudWatch log group keeps logs" not in body


def test_added_and_removed_resources_are_listed():
    base = plan([line("ALB (1)", 1.0)], resources=[("aws:ec2/natGateway:NatGateway", "nat-0"),
                                                   ("aws:lb/loadBalancer:LoadBalancer", "alb")])
    head = plan([line("ALB (1)", 1.0)], resources=[("aws:lb/loadBalancer:LoadBalancer", "alb"),
                                                   ("aws:ec2/vpcEndpoint:VpcEndpoint", "ecr-api")])
    body = build_comment("prod", Side(head), Side(base))
    assert "**Resources: 2 → 2** (1 added, 1 removed compared with `main`)" in body
    assert "- added: <code>VpcEndpoint ecr-api</code>" in body and "- removed: <code>NatGateway nat-0</code>" in body


def test_text_from_plans_cannot_break_the_markdown():
    nasty = diagnostic("alb-hardening", "advisory", "alb", "a | b <img src=x onerror=alert(1)> <!-- c -->\nsecond")
    body = build_comment("prod", Side(plan([line("ALB | (1)", 1.0)], [nasty])), Side(None))
    assert "a \\| b &lt;img src=x onerror=alert(1)&gt; &lt;!-- c --&gt; |" in body
    assert "second" not in body and "<img" not in body and body.count("<!--") == 1  # only the marker
    assert "| ALB \\| (1) | $1.00 |" in body


def test_without_a_base_plan_the_comment_shows_the_figures_and_why(tmp_path):
    head = tmp_path / "head.json"
    head.write_text(json.dumps(plan([line("ALB (1)", 19.71), line("NAT gateway (1)", 37.96)])))
    base_log = tmp_path / "base.log"
    base_log.write_text("installing uv\n" + "\n".join(f"line {i}" for i in range(30)) + "\nerror: no rule\n")
    body = build_comment("prod", Side.load(head), Side.load(tmp_path / "missing.json", base_log))
    assert "**Monthly cost: $57.67** (no plan for `main` to compare with)" in body
    assert "| NAT gateway (1) | $37.96 |" in body and "| **total** | **$57.67** |" in body
    assert "Why there is no plan for <code>main</code>" in body
    assert "error: no rule" in body and "installing uv" not in body  # the log's last lines only


def test_a_failed_head_plan_is_reported_not_raised(tmp_path):
    head, log = tmp_path / "head.json", tmp_path / "head.log"
    head.write_text("")
    log.write_text("error: Stack 'prod' with configuration key 'cpu' must be of type 'integer' (got 'big')\n")
    body = build_comment("prod", Side.load(head, log), Side(plan([line("ALB (1)", 1.0)])))
    assert "❌ **The plan for this pull request failed**" in body
    assert "configuration key 'cpu' must be of type 'integer'" in body and "Monthly cost" not in body


def test_the_marker_is_the_first_line_and_building_twice_gives_the_same_comment():
    head, base = Side(plan([line("ALB (1)", 2.0)])), Side(plan([line("ALB (1)", 1.0)]))
    first = build_comment("prod", head, base, run_url="https://github.com/o/r/actions/runs/1")
    assert first == build_comment("prod", copy.deepcopy(head), copy.deepcopy(base),
                                  run_url="https://github.com/o/r/actions/runs/1")
    assert first.splitlines()[0] == marker("prod") and first.count(marker("prod")) == 1
    assert marker("staging") not in first and marker("prod") != marker("staging")


def test_cli_builds_from_two_plan_files(tmp_path, capsys):
    head, base = tmp_path / "head.json", tmp_path / "base.json"
    head.write_text(json.dumps(plan([line("ALB (1)", 2.0)])))
    base.write_text(json.dumps(plan([line("ALB (1)", 1.0)])))
    assert main(["--stack", "prod", "--head", str(head), "--base", str(base), "--base-ref", "release"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(marker("prod") + "\n") and "(+$1.00, +100.0 %)** against `release`" in out


def test_the_footer_names_the_commit_the_plan_is_of(tmp_path, capsys):
    """A re-run of an older workflow run edits the same comment: the footer says which commit it planned."""
    head = tmp_path / "head.json"
    head.write_text(json.dumps(plan([line("ALB (1)", 2.0)])))
    sha = "89abcdef0123456789abcdef0123456789abcdef"
    assert main(["--stack", "prod", "--head", str(head), "--head-sha", sha]) == 0
    footer = capsys.readouterr().out.splitlines()[-1]
    assert footer.startswith(f"<sub>Plan of commit {sha}. ")  # plain text: GitHub links it to the commit
    with pytest.raises(SystemExit) as refused:
        main(["--stack", "prod", "--head", str(head), "--head-sha", "$(id)"])
    assert refused.value.code == 2
    assert "--head-sha: '$(id)' is not a full commit SHA" in capsys.readouterr().err


def test_the_comment_carries_the_plans_verdict(staging, staging_pack):
    report = analyzed_with(staging_pack, staging, {"monthly-budget": {"maxMonthlyUsd": 10}})
    document = json.loads(json.dumps(plan_document(staging, report), default=str))
    body = build_comment("staging", Side(document), Side(None, "no plan was made"))
    assert body.splitlines()[3] == "**Verdict: over budget (policy monthly-budget)**"
