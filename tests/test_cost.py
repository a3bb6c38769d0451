"""Cost estimate and rollout time (issue 5): figures recomputed by hand from the shipped table."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from offline.cost import USAGE_REGION_CODES, estimate_planned, live_prices, main, price_from_product
from offline.rollout import AWS_DEFAULTS, Rollout, rollout_of
from offline.runtime import evaluate_stack
from tests.conftest import ROOT

from costing.estimator import load_prices  # isort: skip

PRICES = load_prices()
P = PRICES["regions"]["eu-central-1"]
H = PRICES["hoursPerMonth"]


def lines(estimate) -> dict[str, float]:
    return {line.item.split(" (")[0]: line.monthly for line in estimate.lines}


def by_prefix(estimate, prefix: str) -> float:
    return sum(line.monthly for line in estimate.lines if line.item.startswith(prefix))


def test_prod_matches_a_hand_computation(prod):
    on_demand = P["fargate"]["x86_64"]["onDemand"]
    fargate = 2 * (0.5 * on_demand["vcpuHour"] + 1 * on_demand["gbHour"])
    expected = (
        fargate * H
        + (P["alb"]["hour"] + 1 * P["alb"]["lcuHour"]) * H
        + P["nat"]["hour"] * H + 20 * P["nat"]["gb"]
        + (1 + 2) * P["publicIpv4Hour"] * H  # NAT EIP + the ALB's two AZ addresses
        + 4 * P["secretsManager"]["secretMonth"] + 1 * P["secretsManager"]["per10kCalls"]
        + 5 * P["logs"]["ingestionGb"] + 5 * 7 / 30 * P["logs"]["storageGbMonth"]
        + 3 * P["ecr"]["storageGbMonth"]
        + 10 * P["cloudwatch"]["alarmMetricMonth"] + P["cloudwatch"]["dashboardMonth"]
    )
    assert estimate_planned(prod).total == pytest.approx(expected, rel=0.01)


def test_staging_matches_a_hand_computation(staging):
    fargate = 0.5 * P["fargate"]["arm64"]["spot"]["vcpuHour"] + 1 * P["fargate"]["arm64"]["spot"]["gbHour"]
    expected = (
        fargate * H
        + (P["alb"]["hour"] + P["alb"]["lcuHour"]) * H
        + (2 + 1) * P["publicIpv4Hour"] * H  # the ALB's two addresses + one task with a public IP, no NAT
        + 4 * P["secretsManager"]["secretMonth"] + P["secretsManager"]["per10kCalls"]
        + 5 * P["logs"]["ingestionGb"] + 5 * 7 / 30 * P["logs"]["storageGbMonth"]
        + 3 * P["ecr"]["storageGbMonth"]
        + 10 * P["cloudwatch"]["alarmMetricMonth"] + P["cloudwatch"]["dashboardMonth"]
    )
    assert estimate_planned(staging).total == pytest.approx(expected, rel=0.01)


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
def test_each_line_item_follows_its_config(prod, overrides, item, direction):
    before = by_prefix(estimate_planned(prod), item)
    after = by_prefix(estimate_planned(evaluate_stack("prod", config_overrides=overrides)), item)
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


def test_regions_without_prices_are_refused(prod):
    from costing.estimator import estimate

    with pytest.raises(ValueError, match="no prices for region 'ap-south-1'"):
        estimate([], "ap-south-1")


def test_cost_cli_json(capsys):
    assert main(["--stack", "staging", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["region"] == "eu-central-1"
    assert document["totalMonthlyUsd"] == pytest.approx(sum(line["monthly"] for line in document["lines"]), abs=0.01)


def pricing_document(usage_type: str, price: str) -> str:
    return json.dumps({
        "product": {"sku": "SKU1", "attributes": {"usagetype": usage_type}},
        "terms": {"OnDemand": {"SKU1.T": {"priceDimensions": {"SKU1.T.D": {
            "unit": "Hrs", "pricePerUnit": {"USD": price}, "beginRange": "0"}}}}},
    })


def test_live_prices_read_the_pricing_api():
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    from offline.cost import LIVE_PRICE_QUERIES

    with Stubber(client) as stubber:  # botocore validates both the requests and the responses
        for index, (service, _path, filters) in enumerate(LIVE_PRICE_QUERIES):
            usage = filters["usagetype"].format(code=USAGE_REGION_CODES["eu-central-1"])
            stubber.add_response(
                "get_products",
                {"PriceList": [pricing_document(usage, f"0.{index + 1:04d}")], "FormatVersion": "aws_v1"},
                {"ServiceCode": service, "Filters": [
                    {"Type": "TERM_MATCH", "Field": k, "Value": v.format(code="EUC1")} for k, v in filters.items()]},
            )
        prices = live_prices("eu-central-1", client)
        stubber.assert_no_pending_responses()
    table = prices["regions"]["eu-central-1"]
    assert table["fargate"]["x86_64"]["onDemand"]["vcpuHour"] == 0.0001
    assert table["alb"]["lcuHour"] == pytest.approx(0.0008)
    assert table["fargate"]["x86_64"]["spot"] == P["fargate"]["x86_64"]["spot"]  # Spot is not in the API
    assert prices["retrieved"].startswith("live")


def test_price_document_without_usd_is_an_error():
    document = json.loads(pricing_document("X", "1"))
    document["terms"]["OnDemand"] = {}
    with pytest.raises(ValueError, match="no OnDemand USD price"):
        price_from_product(json.dumps(document))


def test_rollout_formula_on_aws_defaults():
    assert AWS_DEFAULTS.to_traffic == 30 + 4 * 30 + 5 == 155
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
    assert rollout.to_traffic == 30 + 4 * 30 + 5 and rollout.drain == 300
