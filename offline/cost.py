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

_ALB = "Load Balancer-Application"
# (service code, price path in prices.json, Pricing API filters) for --live-prices.
LIVE_PRICE_QUERIES: list[tuple[str, tuple[str, ...], dict[str, str]]] = [
    ("AmazonECS", ("fargate", "x86_64", "onDemand", "vcpuHour"), {"usagetype": "{code}-Fargate-vCPU-Hours:perCPU"}),
    ("AmazonECS", ("fargate", "x86_64", "onDemand", "gbHour"), {"usagetype": "{code}-Fargate-GB-Hours"}),
    ("AmazonECS", ("fargate", "arm64", "onDemand", "vcpuHour"), {"usagetype": "{code}-Fargate-ARM-vCPU-Hours:perCPU"}),
    ("AmazonECS", ("fargate", "arm64", "onDemand", "gbHour"), {"usagetype": "{code}-Fargate-ARM-GB-Hours"}),
    ("AmazonEC2", ("nat", "hour"), {"usagetype": "{code}-NatGateway-Hours"}),
    ("AmazonEC2", ("nat", "gb"), {"usagetype": "{code}-NatGateway-Bytes"}),
    ("AWSELB", ("alb", "hour"), {"usagetype": "{code}-LoadBalancerUsage", "productFamily": _ALB}),
    ("AWSELB", ("alb", "lcuHour"), {"usagetype": "{code}-LCUUsage", "productFamily": _ALB}),
]
# The Pricing API prefixes usage types with a region code.
USAGE_REGION_CODES = {"eu-central-1": "EUC1", "us-east-1": "USE1", "eu-west-1": "EU"}


def assumptions_from(planned: PlannedStack) -> Assumptions:
    config = planned.config
    key = f"{planned.project}:"
    return Assumptions(
        log_gb_per_month=float(config.get(key + "costLogGbPerMonth", Assumptions.log_gb_per_month)),
        nat_gb_per_month=float(config.get(key + "costNatGbPerMonth", Assumptions.nat_gb_per_month)),
        alb_lcu=float(config.get(key + "costAlbLcu", Assumptions.alb_lcu)),
    )


def cost_resources(planned: PlannedStack) -> list[CostResource]:
    return [CostResource(r.urn, r.type, r.name, r.inputs, r.property_dependencies)
            for r in planned.resources if r.custom]


def estimate_planned(planned: PlannedStack, prices: dict | None = None) -> Estimate:
    return estimate(cost_resources(planned), planned.region, assumptions_from(planned), prices)


def price_from_product(document: str) -> float:
    """The USD unit price of a Pricing API `PriceList` entry (its first OnDemand dimension)."""
    product = json.loads(document)
    for term in product["terms"]["OnDemand"].values():
        for dimension in term["priceDimensions"].values():
            if float(dimension["pricePerUnit"]["USD"]) > 0 or dimension.get("beginRange") == "0":
                return float(dimension["pricePerUnit"]["USD"])
    raise ValueError(f"no OnDemand USD price in {product.get('product', {}).get('sku')}")


def live_prices(region: str, client: Any = None) -> dict:
    """The shipped table with the current on-demand prices filled in from the AWS Pricing API."""
    import boto3

    prices = load_prices()
    client = client or boto3.client("pricing", region_name="us-east-1")
    table = prices["regions"][region]
    paginator = client.get_paginator("get_products")
    for service, path, filters in LIVE_PRICE_QUERIES:
        pages = paginator.paginate(
            ServiceCode=service,
            Filters=[{"Type": "TERM_MATCH", "Field": k, "Value": v.format(code=USAGE_REGION_CODES[region])}
                     for k, v in filters.items()],
        )
        documents = [doc for page in pages for doc in page["PriceList"]]
        if not documents:
            continue
        node = table
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = price_from_product(documents[0])
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
        except (botocore.exceptions.NoCredentialsError, botocore.exceptions.ClientError) as exc:
            print(f"--live-prices: {exc}; using the shipped table", file=sys.stderr)
    result = estimate_planned(planned, prices)
    print(json.dumps(result.to_dict(), indent=2) if args.json else format_estimate(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
