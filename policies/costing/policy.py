"""The budget policy: warn (or block) when the stack's estimated monthly cost exceeds a limit."""

from __future__ import annotations

import json
import os

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, Severity, StackValidationPolicy

from costing.estimator import Assumptions, CostResource, estimate, format_estimate


def _region(configured: str | None) -> str:
    """Policy config first, then the stack's aws:region (the CLI passes stack config in PULUMI_CONFIG)."""
    if configured:
        return configured
    try:
        stack_config = json.loads(os.environ.get("PULUMI_CONFIG") or "{}")
    except json.JSONDecodeError:
        stack_config = {}
    return stack_config.get("aws:region") or "eu-central-1"


def _budget(args, report_violation):
    config = args.get_config()
    limit = float(config.get("maxMonthlyUsd", 150))
    defaults = Assumptions()
    assumptions = Assumptions(
        log_gb_per_month=float(config.get("logGbPerMonth", defaults.log_gb_per_month)),
        nat_gb_per_month=float(config.get("natGbPerMonth", defaults.nat_gb_per_month)),
        alb_lcu=float(config.get("albLcu", defaults.alb_lcu)),
    )
    resources = [
        CostResource(
            urn=r.urn,
            type=r.resource_type,
            name=r.name,
            props=r.props,
            property_dependencies={k: [d.urn for d in v] for k, v in (r.property_dependencies or {}).items()},
        )
        for r in args.resources
    ]
    result = estimate(resources, _region(config.get("region")), assumptions)
    if result.total > limit:
        report_violation(
            f"Estimated ${result.total:.2f}/month exceeds the budget of ${limit:.2f}/month.\n"
            f"{format_estimate(result)}\n"
            "Fix: the lean profile (natMode none, FARGATE_SPOT, arm64), fewer tasks, or a higher maxMonthlyUsd."
        )


budget_policy = StackValidationPolicy(
    name="monthly-budget",
    description=(
        "The stack's estimated monthly AWS cost (Fargate, ALB, NAT, public IPv4, Secrets Manager, CloudWatch, ECR, "
        "endpoints; list prices) stays within maxMonthlyUsd. Fix: trim the topology or raise the budget."
    ),
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    validate=_budget,
    config_schema=PolicyConfigSchema(
        properties={
            "maxMonthlyUsd": {"type": "number", "default": 150},
            "region": {"type": "string"},
            "logGbPerMonth": {"type": "number", "default": 5},
            "natGbPerMonth": {"type": "number", "default": 20},
            "albLcu": {"type": "number", "default": 1},
        }
    ),
)
