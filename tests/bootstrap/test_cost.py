"""The bootstrap's monthly cost: its KMS keys (the state key and one per stack) are the only resources
with a monthly price (S3 storage of the state and IAM are usage-priced or free)."""

from __future__ import annotations

from offline.cost import estimate_planned


def test_the_keys_are_priced_and_nothing_else_is(bootstrap):
    estimate = estimate_planned(bootstrap)
    assert [(line.item, line.quantity, line.unit, line.unit_price) for line in estimate.lines] == [
        ("KMS keys (3, before rotations)", 3, "key-month", 1.0)]  # state, staging's secrets, prod's secrets
    assert estimate.total == 3.0 and estimate.unknown == []
