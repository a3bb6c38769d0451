"""The main program's roles carry the workload permissions boundary: derived from the account the
program runs in and its project (the bootstrap's naming), or named by permissionsBoundaryArn."""

from __future__ import annotations

import pytest

from infra.config import ConfigError
from offline.mocks import MOCK_ACCOUNT_ID
from tests.test_config import parse

DERIVED = f"arn:aws:iam::{MOCK_ACCOUNT_ID}:policy/truecaller-backend/truecaller-backend-workload-boundary"
OTHER = f"arn:aws:iam::{MOCK_ACCOUNT_ID}:policy/platform/team-boundary"


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_every_role_carries_the_derived_boundary(planned, stack):
    roles = planned[stack].of_type("aws:iam/role:Role")
    assert roles and {r.name: r.inputs.get("permissionsBoundary") for r in roles} == {r.name: DERIVED for r in roles}


def test_the_config_key_names_another_boundary(variant):
    plan = variant("staging", permissionsBoundaryArn=OTHER, deploymentStrategy="blue-green")
    roles = plan.of_type("aws:iam/role:Role")
    assert sorted(r.name for r in roles) == ["execution", "task", "traffic-shift"]
    assert all(r.inputs["permissionsBoundary"] == OTHER for r in roles)


@pytest.mark.parametrize("value", ["arn:aws:iam::123456789012:role/admin", "team-boundary",
                                   "arn:aws:iam::12345:policy/x"])
def test_a_value_that_is_not_a_policy_arn_is_refused_naming_the_key(value):
    with pytest.raises(ConfigError) as error:
        parse({"permissionsBoundaryArn": value})
    (problem,) = error.value.problems
    assert problem.startswith(f"truecaller-backend:permissionsBoundaryArn = {value!r} is invalid")
    assert "pulumi config set permissionsBoundaryArn" in problem
