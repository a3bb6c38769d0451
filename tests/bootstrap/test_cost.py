"""The bootstrap's monthly cost: its KMS key is the one resource with a monthly price (S3 storage of the
state and IAM are usage-priced or free)."""

from __future__ import annotations

from offline.cost import estimate_planned


def test_the_key_is_priced_and_nothing_else_is(bootstrap):
    estimate = estimate_planned(bootstrap)
    assert [(line.item, line.quantity, line.unit, line.unit_price) for line in estimate.lines] == [
        ("KMS keys (1, before rotations)", 1, "key-month", 1.0)]
    assert estimate.total == 1.0 and estimate.unknown == []
