"""Current on-demand prices from the AWS Pricing API, for any region.

Products are asked for by ``regionCode`` and product family and picked by the end of their usage
type (``...-Fargate-vCPU-Hours:perCPU``), so no table of AWS's regional billing prefixes is needed.
Spot prices and the smaller items are not in this API's simple shape; they keep the table's values
(or the fallback's, for a region the table does not list).
"""

from __future__ import annotations

import copy
import json
from typing import Any

# (service code, product family, usage type suffix, path in a region's price table)
LIVE_PRICE_QUERIES: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("AmazonECS", "Compute", "Fargate-vCPU-Hours:perCPU", ("fargate", "x86_64", "onDemand", "vcpuHour")),
    ("AmazonECS", "Compute", "Fargate-GB-Hours", ("fargate", "x86_64", "onDemand", "gbHour")),
    ("AmazonECS", "Compute", "Fargate-ARM-vCPU-Hours:perCPU", ("fargate", "arm64", "onDemand", "vcpuHour")),
    ("AmazonECS", "Compute", "Fargate-ARM-GB-Hours", ("fargate", "arm64", "onDemand", "gbHour")),
    ("AmazonEC2", "NAT Gateway", "NatGateway-Hours", ("nat", "hour")),
    ("AmazonEC2", "NAT Gateway", "NatGateway-Bytes", ("nat", "gb")),
    ("AWSELB", "Load Balancer-Application", "LoadBalancerUsage", ("alb", "hour")),
    ("AWSELB", "Load Balancer-Application", "LCUUsage", ("alb", "lcuHour")),
]


def price_from_product(document: str) -> float:
    """The USD unit price of a Pricing API ``PriceList`` entry: its first tier (the dimension whose range begins
    at 0; a price with one dimension has only that one)."""
    product = json.loads(document)
    dimensions = [d for term in product["terms"]["OnDemand"].values() for d in term["priceDimensions"].values()]
    first_tier = [d for d in dimensions if d.get("beginRange", "0") == "0"]
    if not first_tier:
        raise ValueError(f"no OnDemand USD price in {product.get('product', {}).get('sku')}")
    return float(first_tier[0]["pricePerUnit"]["USD"])


def _usage_type(document: str) -> str:
    return json.loads(document).get("product", {}).get("attributes", {}).get("usagetype", "")


def _matches(usage_type: str, suffix: str) -> bool:
    return usage_type == suffix or usage_type.endswith("-" + suffix)


def live_region_table(region: str, base: dict[str, Any], client: Any = None) -> dict[str, Any]:
    """``base`` (a region's price table) with the on-demand prices the Pricing API has for ``region``."""
    import boto3

    client = client or boto3.client("pricing", region_name="us-east-1")
    table = copy.deepcopy(base)
    paginator = client.get_paginator("get_products")
    fetched: dict[tuple[str, str], list[str]] = {}
    for service, family, suffix, path in LIVE_PRICE_QUERIES:
        if (service, family) not in fetched:
            pages = paginator.paginate(ServiceCode=service, Filters=[
                {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
                {"Type": "TERM_MATCH", "Field": "productFamily", "Value": family},
            ])
            fetched[(service, family)] = [doc for page in pages for doc in page["PriceList"]]
        documents = [d for d in fetched[(service, family)] if _matches(_usage_type(d), suffix)]
        if not documents:
            continue
        node = table
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = price_from_product(documents[0])
    return table


def credentials_available() -> bool:
    """Whether boto3 finds credentials (no network call)."""
    try:
        import boto3

        return boto3.Session().get_credentials() is not None
    except Exception:  # noqa: BLE001 - any failure to find credentials means "no"
        return False


_LIVE: dict[str, dict[str, Any]] = {}  # region -> price document, once per process


def prices_for_region(region: str, prices: dict[str, Any], client: Any = None,
                      use_api: bool | None = None) -> dict[str, Any]:
    """``prices``, completed for a region it does not list from the Pricing API when AWS credentials exist
    (``use_api`` None: when they exist). Without them, or when the API fails, ``prices`` is returned unchanged and
    the estimate falls back to the highest listed prices (see ``estimator.region_prices``)."""
    import botocore.exceptions

    from costing.estimator import region_prices

    if region in prices["regions"]:
        return prices
    if use_api is False or (use_api is None and client is None and not credentials_available()):
        return prices
    if region not in _LIVE or client is not None:
        base, _note = region_prices(region, prices)
        try:
            table = live_region_table(region, base, client)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
            document = copy.deepcopy(prices)
            document.setdefault("regionNotes", {})[region] = f"the AWS Pricing API failed ({error})"
            return document
        document = copy.deepcopy(prices)
        document["regions"][region] = table
        document.setdefault("regionNotes", {})[region] = (
            f"on-demand Fargate, NAT and ALB prices for {region} from the AWS Pricing API; the other items at the "
            "highest price the bundled table lists, so the figure is approximate")
        if client is not None:
            return document
        _LIVE[region] = document
    return _LIVE[region]
