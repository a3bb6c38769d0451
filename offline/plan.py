"""`make plan`: the stack's planned resources, offline.

    python -m offline.plan [--stack prod] [--json]

Evaluates the real program under Pulumi's mock runtime with the stack's real config files and
prints the planned resources with their key settings, the policy pack's results (the pack run
over gRPC exactly as `pulumi preview --policy-pack policies` runs it, with the pack config CI
passes), the monthly cost estimate, the worst-case rollout time and one verdict line. Exit codes:
0 ok (advisory findings and an over-budget estimate included: the verdict line names them), 1 a
mandatory policy violation, 2 a configuration error (a stack config value or the policy-pack config).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

try:
    import pulumi

    from infra.config import POLICY_CONFIG_FILE
    from offline.cost import estimate_planned, format_estimate
    from offline.policy_client import PolicyConfigError, PolicyReport, format_report, run_policy_pack
    from offline.rollout import alternatives, format_rollout, rollout_of
    from offline.runtime import PROJECT_DIR, PlannedStack, StackFileError, evaluate_stack
    from offline.summary import describe, redact
except ModuleNotFoundError as exc:  # another Python than the project's: exit 2 (1 would say "a violation")
    from ops import environment

    if __name__ != "__main__" or (cause := environment.missing_dependency(exc)) is None:
        raise
    print(environment.render(cause, "the plan needs the project's environment: `make plan STACK=<stack>` builds "
                                    "it and runs the plan, or run `make venv` and then .venv/bin/python -m "
                                    "offline.plan"), file=sys.stderr)
    sys.exit(environment.EXIT_WRONG_ENVIRONMENT)

BUDGET_POLICY = "monthly-budget"


def verdict(report: PolicyReport) -> str:
    """One line: passes, N mandatory violations, and/or over budget."""
    parts = []
    if report.mandatory:
        parts.append(f"{len(report.mandatory)} mandatory violation(s): `pulumi preview --policy-pack policies` "
                     "would fail")
    if any(d.policy == BUDGET_POLICY for d in report.diagnostics):
        parts.append(f"over budget (policy {BUDGET_POLICY})")
    return "Verdict: " + ("; ".join(parts) if parts else "passes")


def _rolls_out(planned: PlannedStack) -> bool:
    """Only a stack with a load-balanced service has a rollout time (the bootstrap has none)."""
    return bool(planned.of_type("aws:lb/targetGroup:TargetGroup") and planned.of_type("aws:ecs/service:Service"))


def plan_document(planned: PlannedStack, report: PolicyReport) -> dict[str, Any]:
    """The machine-readable plan (secrets redacted)."""
    return {
        "project": planned.project,
        "stack": planned.stack,
        "region": planned.region,
        "notes": planned.notes,
        "resources": [
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "parent": r.parent,
                "protect": r.protect,
                "summary": describe(r),
                "inputs": redact(r.inputs),
            }
            for r in planned.resources
            if r.custom
        ],
        "outputs": redact(planned.outputs),
        "policies": {"checked": report.policies, "diagnostics": [d.__dict__ for d in report.diagnostics]},
        "cost": estimate_planned(planned).to_dict(),
        "rollout": rollout_of(planned).to_dict() if _rolls_out(planned) else None,
        "rolloutByStrategy": ({r.strategy: r.to_dict() for r in alternatives(planned)} if _rolls_out(planned)
                              else None),
        "verdict": verdict(report),
    }


def format_plan(planned: PlannedStack) -> str:
    custom = [r for r in planned.resources if r.custom]
    components = [r for r in planned.resources if not r.custom]
    lines = [f"Stack {planned.project}/{planned.stack} in {planned.region}: {len(custom)} resources", ""]
    for component in components:
        children = sorted((r for r in custom if r.parent == component.urn), key=lambda r: (r.type, r.name))
        lines.append(f"{component.name} ({component.type.split(':')[-1]}, {len(children)} resources)")
        type_width = max((len(r.type.split(":")[-1]) for r in children), default=0)
        name_width = max((len(r.name) for r in children), default=0)
        for r in children:
            flag = " [protected]" if r.protect else ""
            lines.append(f"  {r.type.split(':')[-1]:<{type_width}}  {r.name:<{name_width}}  {describe(r)}{flag}")
        lines.append("")
    lines.append("Outputs")
    for key, value in redact(planned.outputs).items():
        if isinstance(value, dict) and value:  # an object output (the bootstrap's repositoryVariables): a line each
            lines.append(f"  {key}:")
            lines += [f"    {k}: {v if isinstance(v, str) else json.dumps(v)}" for k, v in value.items()]
        else:
            lines.append(f"  {key}: {json.dumps(value) if not isinstance(value, str) else value}")
    if planned.notes:
        lines += ["", "Before `pulumi up`:"] + [f"  - {note}" for note in planned.notes]
    return "\n".join(lines)


_TITLE, _USAGE, *_DETAILS = __doc__.strip().split("\n\n")  # --help shows the details; argparse prints the usage
_HELP = "\n\n".join([_TITLE, *_DETAILS])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.plan", description=_HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-s", "--stack", default="prod",
                        help="the stack whose Pulumi.<stack>.yaml is evaluated (default: prod)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--policy-config", type=Path,
                        help="policy pack config, as --policy-pack-config (default: the project's "
                             f"{POLICY_CONFIG_FILE}, the file CI passes)")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help="the Pulumi project (default: this repo)")
    parser.add_argument("-c", "--config", action="append", default=[], metavar="KEY=VALUE",
                        help="a config value for this plan only, as `pulumi preview --config` (repeatable)")
    args = parser.parse_args(argv)
    malformed = [item for item in args.config if "=" not in item]
    if malformed:
        print(f"error: --config {malformed[0]!r} is not KEY=VALUE", file=sys.stderr)
        return 2
    overrides = dict(item.split("=", 1) for item in args.config)

    try:
        planned = evaluate_stack(args.stack, project_dir=args.project_dir.resolve(), config_overrides=overrides)
    except (StackFileError, pulumi.RunError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    config_file = args.policy_config or args.project_dir.resolve() / POLICY_CONFIG_FILE
    try:
        policy_config = json.loads(config_file.read_text()) if config_file.exists() else None
    except (OSError, ValueError) as exc:
        print(f"error: cannot read the policy pack config {config_file}: {exc}", file=sys.stderr)
        return 2
    try:
        report = run_policy_pack(planned, policy_config)
    except PolicyConfigError as exc:
        print(f"error: the policy pack config {config_file}: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(plan_document(planned, report), indent=2, default=str))
    else:
        print(format_plan(planned))
        print()
        print(format_report(report))
        print()
        print(format_estimate(estimate_planned(planned)))
        if _rolls_out(planned):
            print()
            print(format_rollout(rollout_of(planned), alternatives(planned)))
        print()
        print(verdict(report))
    return 1 if report.mandatory else 0


if __name__ == "__main__":
    sys.exit(main())
