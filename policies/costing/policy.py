"""The budget policies: the stack's estimated monthly cost against a limit, and whether that estimate is exact."""

from __future__ import annotations

import json
import os

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, Severity, StackValidationPolicy

from costing.estimator import Assumptions, CostResource, Estimate, estimate, format_estimate, load_prices
from costing.live import prices_for_region

DEFAULT_REGION = "eu-central-1"
DEFAULT_MAX_MONTHLY_USD = 150.0


def stack_region(configured: str | None) -> str:
    """Policy config first, then the stack's aws:region (the CLI passes stack config in PULUMI_CONFIG)."""
    if configured:
        return configured
    try:
        stack_config = json.loads(os.environ.get("PULUMI_CONFIG") or "{}")
    except json.JSONDecodeError:
        stack_config = {}
    region = stack_config.get("aws:region") if isinstance(stack_config, dict) else None
    return region or DEFAULT_REGION


def assumptions_from(config) -> Assumptions:
    defaults = Assumptions()
    return Assumptions(
        log_gb_per_month=float(config.get("logGbPerMonth", defaults.log_gb_per_month)),
        nat_gb_per_month=float(config.get("natGbPerMonth", defaults.nat_gb_per_month)),
        alb_lcu=float(config.get("albLcu", defaults.alb_lcu)),
        deploys_per_month=float(config.get("deploysPerMonth", defaults.deploys_per_month)),
    )


def stack_estimate(args) -> Estimate:
    """The estimate the budget policies judge (the same estimator as `make plan`)."""
    config = args.get_config()
    region = stack_region(config.get("region"))
    prices = prices_for_region(region, load_prices(), use_api=config.get("livePrices"))
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
    return estimate(resources, region, assumptions_from(config), prices)


def _budget(args, report_violation):
    limit = float(args.get_config().get("maxMonthlyUsd", DEFAULT_MAX_MONTHLY_USD))
    result = stack_estimate(args)
    if result.total > limit:
        report_violation(
            f"Estimated ${result.total:.2f}/month exceeds the budget of ${limit:.2f}/month.\n"
            f"{format_estimate(result)}\n"
            "Fix: the lean profile (natMode none, FARGATE_SPOT, arm64), fewer tasks, or a higher maxMonthlyUsd."
        )


_ESTIMATE_SCHEMA = {
    "region": {"type": "string"},
    "livePrices": {"type": "boolean", "description": "Ask the AWS Pricing API for a region the table does not list "
                                                     "(default: when AWS credentials exist)"},
    "logGbPerMonth": {"type": "number", "default": 5},
    "natGbPerMonth": {"type": "number", "default": 20},
    "albLcu": {"type": "number", "default": 1},
    "deploysPerMonth": {"type": "number", "default": 20},
}

budget_policy = StackValidationPolicy(
    name="monthly-budget",
    description=(
        "The stack's estimated monthly AWS cost (Fargate, ALB, NAT, public IPv4, Secrets Manager, CloudWatch logs, "
        "alarms including those target tracking creates, Container Insights metrics and events, ECR, endpoints; list "
        "prices) stays within maxMonthlyUsd. Fix: trim the topology or raise the budget."
    ),
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    validate=_budget,
    config_schema=PolicyConfigSchema(
        properties={"maxMonthlyUsd": {"type": "number", "default": DEFAULT_MAX_MONTHLY_USD}, **_ESTIMATE_SCHEMA}
    ),
)


def _exact_prices(args, report_violation):
    result = stack_estimate(args)
    if result.approximate:
        report_violation(f"The monthly cost estimate for {result.region} is approximate: {result.approximate}.")


price_coverage_policy = StackValidationPolicy(
    name="monthly-budget-prices",
    description=(
        "The cost estimate the budget policy judges uses list prices of the stack's region: a region the bundled "
        "table does not list is priced from the AWS Pricing API (with credentials) or, without it, at the highest "
        "listed price of each item, and this policy says the figure is approximate. Fix: run with AWS credentials "
        "or add the region to policies/costing/prices.json."
    ),
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    validate=_exact_prices,
    config_schema=PolicyConfigSchema(properties=dict(_ESTIMATE_SCHEMA)),
)

POLICIES = [budget_policy, price_coverage_policy]
