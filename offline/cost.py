"""Monthly cost of a planned stack.

    python -m offline.cost [--stack prod] [--json] [--live-prices]

The estimator and its dated price table live in the policy pack (policies/costing/) so the
pack's budget policy and `make plan` compute the same figure. Usage assumptions come from the
stack config (costLogGbPerMonth, costNatGbPerMonth, costAlbLcu).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from offline.runtime import PROJECT_DIR, PlannedStack, evaluate_stack

sys.path.insert(0, str(PROJECT_DIR / "policies"))

from costing.estimator import Assumptions, CostResource, Estimate, estimate, format_estimate, load_prices  # noqa: E402
from costing.live import LIVE_PRICE_QUERIES, live_region_table, price_from_product, prices_for_region  # noqa: E402,F401


def ecs_traffic_shift_defaults() -> dict[str, float]:
    """ECS's values for the canary and linear settings a service leaves out (one copy: the estimator's)."""
    from costing import estimator

    return {"canaryPercent": estimator.CANARY_PERCENT, "canaryBakeTimeInMinutes": estimator.CANARY_BAKE_MINUTES,
            "stepPercent": estimator.LINEAR_STEP_PERCENT, "stepBakeTimeInMinutes": estimator.LINEAR_STEP_MINUTES}


def assumptions_from(planned: PlannedStack) -> Assumptions:
    config = planned.config
    key = f"{planned.project}:"
    return Assumptions(
        log_gb_per_month=float(config.get(key + "costLogGbPerMonth", Assumptions.log_gb_per_month)),
        nat_gb_per_month=float(config.get(key + "costNatGbPerMonth", Assumptions.nat_gb_per_month)),
        alb_lcu=float(config.get(key + "costAlbLcu", Assumptions.alb_lcu)),
        deploys_per_month=float(config.get(key + "costDeploysPerMonth", Assumptions.deploys_per_month)),
    )


def cost_resources(planned: PlannedStack) -> list[CostResource]:
    return [CostResource(r.urn, r.type, r.name, r.inputs, r.property_dependencies)
            for r in planned.resources if r.custom]


def estimate_planned(planned: PlannedStack, prices: dict | None = None) -> Estimate:
    """The stack's estimate; a region the table does not list is priced from the Pricing API when AWS credentials
    exist, else at the documented fallback (the estimate then says it is approximate)."""
    prices = prices or prices_for_region(planned.region, load_prices())
    return estimate(cost_resources(planned), planned.region, assumptions_from(planned), prices)


def live_prices(region: str, client: Any = None) -> dict:
    """The shipped table with the region's on-demand prices replaced by the AWS Pricing API's."""
    from costing.estimator import region_prices

    prices = load_prices()
    base, _note = region_prices(region, prices)
    prices["regions"][region] = live_region_table(region, base, client)
    prices["retrieved"] = "live (AWS Pricing API)"
    return prices


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.cost", description=__doc__.splitlines()[0])
    parser.add_argument("-s", "--stack", default="prod")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--live-prices", action="store_true", help="current prices from the AWS Pricing API")
    args = parser.parse_args(argv)
    planned = evaluate_stack(args.stack)
    prices = None
    if args.live_prices:
        import botocore.exceptions

        try:
            prices = live_prices(planned.region)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            print(f"--live-prices: {exc}; using the shipped table", file=sys.stderr)
    result = estimate_planned(planned, prices)
    print(json.dumps(result.to_dict(), indent=2) if args.json else format_estimate(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
