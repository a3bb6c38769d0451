"""Cost estimate and rollout time: figures worked out by hand once from the price table's sourced prices
(policies/costing/prices.json, eu-central-1) and written down here, never recomputed from the estimator's code."""

from __future__ import annotations

import copy
import dataclasses
import json

import boto3
import pytest
from botocore.stub import Stubber

from offline.cost import estimate_planned, live_prices, main, price_from_product

from costing import live  # isort: skip
from costing.live import _usage_type as live_usage_type  # isort: skip
from offline.rollout import AWS_DEFAULTS, Rollout, rollout_of
from offline.runtime import evaluate_stack
from tests.conftest import ROOT

from costing.estimator import format_estimate, load_prices  # isort: skip

PRICES = load_prices()
P = PRICES["regions"]["eu-central-1"]


def by_prefix(estimate, prefix: str) -> float:
    return sum(line.monthly for line in estimate.lines if line.item.startswith(prefix))


# prod: 2 x86 on-demand tasks of 0.5 vCPU / 1 GB, one ALB, one NAT gateway, 4 secrets, 7 alarms (10 metrics),
# 2 target tracking policies, Container Insights on one cluster with one service, one dashboard. 730 h/month.
PROD_BY_HAND = {
    "Fargate vCPU": 33.99,             # 2 tasks x 0.5 vCPU x 730 h = 730 vCPU-h x $0.04656
    "Fargate memory": 7.46,            # 2 x 1 GB x 730 h = 1,460 GB-h x $0.00511
    "ALB (": 19.71,                    # 730 h x $0.027
    "ALB capacity units": 7.01,        # 1 LCU x 730 h x $0.0096
    "NAT gateway": 37.96,              # 730 h x $0.052
    "NAT data processed": 1.04,        # 20 GB x $0.052
    "Public IPv4": 10.95,              # (1 NAT EIP + the ALB's 2 AZ addresses) x 730 h x $0.005
    "Secrets Manager secrets": 1.60,   # 4 x $0.40
    "Secrets Manager API calls": 0.05,  # 10,000 calls x $0.05 / 10k
    "CloudWatch Logs ingestion": 3.15,  # 5 GB x $0.63
    "CloudWatch Logs storage": 0.04,   # 5 GB x 7/30 month x $0.0324
    "ECR storage": 0.30,               # 3 GB x $0.10
    "CloudWatch alarms": 1.00,         # 10 alarm metrics x $0.10
    "Target tracking alarms": 0.40,    # 2 policies x 2 alarms AWS creates x $0.10
    "Container Insights metrics": 11.10,  # (12 per cluster + 15 per service + 10 per task family) x $0.30
    "Container Insights performance events": 0.13,  # (2 x (1,303 + 645) + 541 + 371) B/min x 43,800 min
                                                    # = 0.2106 GB x $0.63
    "CloudWatch dashboards": 3.00,
}
PROD_TOTAL = 138.89
# staging: one arm64 Spot task in a public subnet (its own public IPv4), no NAT; the rest as prod.
STAGING_CHANGES = {
    "Fargate vCPU": 4.13,              # 1 x 0.5 vCPU x 730 h = 365 vCPU-h x $0.01131
    "Fargate memory": 0.91,            # 730 GB-h x $0.00124
    "NAT gateway": 0.0,
    "NAT data processed": 0.0,
    "Public IPv4": 10.95,              # (2 ALB addresses + 1 task) x 730 h x $0.005
    "Container Insights performance events": 0.08,  # (1,948 + 541 + 371) B/min x 43,800 min = 0.1253 GB x $0.63
}
STAGING_TOTAL = 63.42


@pytest.mark.parametrize(("plan", "by_hand", "total"), [
    ("prod", PROD_BY_HAND, PROD_TOTAL),
    ("staging", {**PROD_BY_HAND, **STAGING_CHANGES}, STAGING_TOTAL),
])
def test_estimates_match_the_hand_computation(planned, plan, by_hand, total):
    estimate = estimate_planned(planned[plan])
    for prefix, amount in by_hand.items():
        assert by_prefix(estimate, prefix) == pytest.approx(amount, abs=0.006), prefix
    assert estimate.total == pytest.approx(total, abs=0.01)
    assert sum(by_hand.values()) == pytest.approx(total, abs=0.05)  # the hand figures add up too
    assert estimate.approximate is None


def test_lean_profile_costs_at_most_55_percent_of_prod(prod, staging):
    ratio = estimate_planned(staging).total / estimate_planned(prod).total
    assert ratio <= 0.55


@pytest.mark.parametrize(("overrides", "item", "direction"), [
    ({"natMode": "none"}, "NAT gateway", "gone"),
    ({"natMode": "per-az"}, "NAT gateway", "up"),
    ({"capacityProvider": "FARGATE_SPOT"}, "Fargate vCPU", "down"),
    ({"cpuArchitecture": "arm64"}, "Fargate vCPU", "down"),
    ({"cpu": 1024, "memory": 2048}, "Fargate vCPU", "up"),
    ({"cpu": 512, "memory": 4096}, "Fargate memory", "up"),
    ({"desiredCount": 4, "autoscalingMaxCount": 10}, "Fargate memory", "up"),
    ({"costLogGbPerMonth": 50}, "CloudWatch Logs ingestion", "up"),
    ({"costNatGbPerMonth": 500}, "NAT data processed", "up"),
    ({"costAlbLcu": 5}, "ALB capacity units", "up"),
    ({"natMode": "none"}, "Public IPv4", "up"),  # two tasks with public IPs replace one NAT EIP
])
def test_each_line_item_follows_its_config(prod, variant, overrides, item, direction):
    before = by_prefix(estimate_planned(prod), item)
    after = by_prefix(estimate_planned(variant("prod", **overrides)), item)
    assert before > 0
    if direction == "gone":
        assert after == 0
    elif direction == "up":
        assert after > before
    else:
        assert 0 < after < before


def test_log_storage_follows_the_retention(prod, tmp_path):
    # A retention other than 7 days needs the policy pack's documented override (its config file).
    for name in ("Pulumi.yaml", "Pulumi.prod.yaml", "__main__.py", "infra", "app", "Dockerfile"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "policy-config.example.json").write_text('{"log-retention": {"retentionDays": 30}}')
    longer = evaluate_stack("prod", project_dir=tmp_path, config_overrides={"logRetentionDays": 30})
    item = "CloudWatch Logs storage"
    assert by_prefix(estimate_planned(longer), item) > by_prefix(estimate_planned(prod), item)


def test_unknown_task_size_is_reported_not_guessed(prod):
    from costing.estimator import CostResource, estimate

    resources = [CostResource(r.urn, r.type, r.name, {k: v for k, v in r.inputs.items() if k != "cpu"},
                              r.property_dependencies) for r in prod.resources if r.custom]
    result = estimate(resources, "eu-central-1")
    assert not any(line.item.startswith("Fargate") for line in result.lines)
    assert result.unknown and "Fargate" in result.unknown[0]


def test_a_region_outside_the_table_is_priced_at_the_highest_listed_prices(prod):
    from costing.estimator import estimate
    from offline.cost import cost_resources

    result = estimate(cost_resources(prod), "ap-south-1")
    assert "no list prices for ap-south-1" in result.approximate and "approximate" in result.approximate
    # The highest listed prices: Fargate vCPU $0.04656 and NAT $0.052 (eu-central-1), logs $0.63 (eu-central-1).
    assert by_prefix(result, "Fargate vCPU") == pytest.approx(33.99, abs=0.006)
    assert by_prefix(result, "NAT gateway") == pytest.approx(37.96, abs=0.006)
    assert "approximate: no list prices for ap-south-1" in format_estimate(result)


def test_a_plan_in_a_region_outside_the_table_does_not_crash(staging, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    result = estimate_planned(dataclasses.replace(staging, region="sa-east-1"))  # any region; the table lists three
    assert result.approximate and result.total > 0


def test_cost_cli_json(capsys):
    assert main(["--stack", "staging", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["region"] == "eu-central-1"
    assert document["totalMonthlyUsd"] == STAGING_TOTAL
    assert document["approximate"] is None


def pricing_document(usage_type: str, price: str) -> str:
    return json.dumps({
        "product": {"sku": usage_type, "attributes": {"usagetype": usage_type}},
        "terms": {"OnDemand": {"SKU1.T": {"priceDimensions": {"SKU1.T.D": {
            "unit": "Hrs", "pricePerUnit": {"USD": price}, "beginRange": "0"}}}}},
    })


def stubbed_pricing(answers: dict[tuple[str, str], list[str]], region: str) -> tuple[object, Stubber]:
    """A Pricing API client under botocore's Stubber (it validates both the requests and the responses) that
    lists ``answers`` per (service, product family), and its stubber."""
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    for service, family in dict.fromkeys((q[0], q[1]) for q in live.LIVE_PRICE_QUERIES):
        stubber.add_response("get_products", {"PriceList": answers.get((service, family), []),
                                              "FormatVersion": "aws_v1"}, {
            "ServiceCode": service, "Filters": [
                {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
                {"Type": "TERM_MATCH", "Field": "productFamily", "Value": family}]})
    stubber.activate()
    return client, stubber


def test_live_prices_read_the_pricing_api_for_any_region():
    answers = {  # what the Pricing API lists per (service, product family) for ap-south-2, Windows and ARM included
        ("AmazonECS", "Compute"): [pricing_document("APS5-Fargate-Windows-vCPU-Hours:perCPU", "0.09"),
                                   pricing_document("APS5-Fargate-vCPU-Hours:perCPU", "0.0505"),
                                   pricing_document("APS5-Fargate-GB-Hours", "0.0055"),
                                   pricing_document("APS5-Fargate-ARM-vCPU-Hours:perCPU", "0.0404"),
                                   pricing_document("APS5-Fargate-ARM-GB-Hours", "0.0044")],
        ("AmazonEC2", "NAT Gateway"): [pricing_document("APS5-NatGateway-Hours", "0.059"),
                                       pricing_document("APS5-NatGateway-Bytes", "0.059")],
        ("AWSELB", "Load Balancer-Application"): [pricing_document("APS5-LoadBalancerUsage", "0.0239"),
                                                  pricing_document("APS5-LCUUsage", "0.0085")],
    }
    client, stubber = stubbed_pricing(answers, "ap-south-2")
    prices = live_prices("ap-south-2", client)
    stubber.assert_no_pending_responses()
    table = prices["regions"]["ap-south-2"]
    assert table["fargate"]["x86_64"]["onDemand"] == {"vcpuHour": 0.0505, "gbHour": 0.0055}
    assert table["fargate"]["arm64"]["onDemand"] == {"vcpuHour": 0.0404, "gbHour": 0.0044}
    assert table["nat"] == {"hour": 0.059, "gb": 0.059}
    assert table["alb"] == {"hour": 0.0239, "lcuHour": 0.0085}
    assert table["fargate"]["x86_64"]["spot"] == P["fargate"]["x86_64"]["spot"]  # not in the API: fallback
    assert prices["retrieved"].startswith("live")


def test_live_prices_skip_what_the_api_does_not_list_and_leave_the_base_table_alone():
    base = copy.deepcopy(P)
    # No Fargate prices listed (the first queries), a NAT price that is.
    answers = {("AmazonEC2", "NAT Gateway"): [pricing_document("APS5-NatGateway-Hours", "0.071")]}
    client, stubber = stubbed_pricing(answers, "ap-south-2")
    table = live.live_region_table("ap-south-2", base, client)
    stubber.assert_no_pending_responses()
    assert table["nat"]["hour"] == 0.071
    assert table["fargate"] == P["fargate"] and base == P  # the base table is not changed


def test_the_pricing_api_is_asked_in_us_east_1_when_no_client_is_given(monkeypatch):
    made = []
    stubbed, _stubber = stubbed_pricing({}, "ap-south-2")
    monkeypatch.setattr(boto3, "client", lambda *args, **kwargs: made.append((args, kwargs)) or stubbed)
    assert live.live_region_table("ap-south-2", P, None) == P
    assert made == [(("pricing",), {"region_name": "us-east-1"})]  # one of the API's own endpoints


def test_no_credentials_when_boto3_cannot_even_look(monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("a malformed AWS config file")

    monkeypatch.setattr(boto3, "Session", broken)
    assert live.credentials_available() is False


def test_a_failing_pricing_api_leaves_the_callers_price_document_unchanged(monkeypatch):
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    prices = copy.deepcopy(load_prices())
    prices["regionNotes"] = {"eu-west-1": "an earlier note"}
    monkeypatch.setattr(live, "_LIVE", {})
    with Stubber(client) as stubber:
        stubber.add_client_error("get_products", "ThrottlingException", "slow down")
        document = live.prices_for_region("ap-south-2", prices, client)
    assert document["regionNotes"]["ap-south-2"].startswith("the AWS Pricing API failed")
    assert prices["regionNotes"] == {"eu-west-1": "an earlier note"}


def test_price_document_without_usd_is_an_error():
    document = json.loads(pricing_document("X", "1"))
    document["terms"]["OnDemand"] = {}
    with pytest.raises(ValueError, match="no OnDemand USD price in X"):
        price_from_product(json.dumps(document))
    with pytest.raises(ValueError, match="no OnDemand USD price in None"):  # a document without its product
        price_from_product(json.dumps({"terms": {"OnDemand": {}}}))


def test_the_first_price_tier_is_the_price():
    document = json.loads(pricing_document("NAT", "0.045"))
    dimensions = document["terms"]["OnDemand"]["SKU1.T"]["priceDimensions"]
    dimensions["SKU1.T.D"]["beginRange"] = "10240"
    dimensions["SKU1.T.D0"] = {"unit": "GB", "pricePerUnit": {"USD": "0.0"}, "beginRange": "0"}  # a free first tier
    assert price_from_product(json.dumps(document)) == 0.0
    del dimensions["SKU1.T.D0"]["beginRange"]  # a single-range price has no beginRange at all
    del dimensions["SKU1.T.D"]
    assert price_from_product(json.dumps(document)) == 0.0
    assert live_usage_type(json.dumps({"product": {}})) == "" and live_usage_type("{}") == ""


def test_rollout_formula_on_aws_defaults():
    # ELB's documented target group defaults: interval 30 s, healthy threshold 5, timeout 5 s, deregistration 300 s:
    # 30 + 4 x 30 + 5 = 155 s before a new target takes traffic.
    assert AWS_DEFAULTS.to_traffic == 155
    assert AWS_DEFAULTS.drain == 300


def test_rollout_meets_the_targets_with_our_settings(prod, staging):
    for plan in (prod, staging):
        rollout = rollout_of(plan)
        assert rollout == Rollout(interval=10, timeout=5, healthy_threshold=2, deregistration_delay=15,
                                  grace_period=120)
        assert rollout.to_traffic == 25 <= 60
        assert rollout.drain == 15 <= 30
        assert rollout.one_task == 120 + 25 + 15


def test_rollout_follows_the_target_group_config():
    plan = evaluate_stack("prod", config_overrides={"healthCheckIntervalSeconds": 30, "healthyThresholdCount": 5,
                                                    "deregistrationDelaySeconds": 300})
    rollout = rollout_of(plan)
    assert rollout.to_traffic == 155 and rollout.drain == 300  # 30 + (5 - 1) x 30 + 5
