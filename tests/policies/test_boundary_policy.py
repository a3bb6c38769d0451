"""iam-role-permissions-boundary through the analyzer protocol (the pack started as the CLI starts it):
roles without a boundary, or with something that is not a managed policy ARN, are caught; bounded roles
and roles under a path the config exempts pass."""

from __future__ import annotations

import json

import pytest
from google.protobuf import empty_pb2
from pulumi.runtime.proto import analyzer_pb2

from offline.policy_client import policy_config_request, policy_defaults
from tests.policies.protocol import R, analyze, of

ROLE = "aws:iam/role:Role"
POLICY = "iam-role-permissions-boundary"
BOUNDARY = "arn:aws:iam::123456789012:policy/truecaller-backend/truecaller-backend-workload-boundary"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def role(name: str, **props) -> R:
    return R(ROLE, name, {"assumeRolePolicy": TRUST, "path": "/truecaller-backend/", **props})




BAD = [
    ("no-boundary", role("r1")),
    ("empty-boundary", role("r2", permissionsBoundary="")),
    ("a-role-not-a-policy", role("r3", permissionsBoundary="arn:aws:iam::123456789012:role/admin")),
    ("a-name-not-an-arn", role("r4", permissionsBoundary="truecaller-backend-workload-boundary")),
    ("root-path-no-boundary", R(ROLE, "r5", {"assumeRolePolicy": TRUST})),
    # An admin-access inline policy next to no boundary: the combination the deploy role must never create.
    ("admin-inline-no-boundary", role("r6", inlinePolicies=[{"name": "all", "policy": json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})}])),
]


@pytest.mark.parametrize("resource", [b[1] for b in BAD], ids=[b[0] for b in BAD])
def test_a_role_without_a_managed_boundary_is_caught(stub, resource):
    (found,) = of(analyze(stub, resource), POLICY)
    assert found.level == "mandatory"
    assert "permissions_boundary=" in found.message and repr(resource.props.get("path") or "/") in found.message


GOOD = [
    ("the-workload-boundary", role("g1", permissionsBoundary=BOUNDARY)),
    ("another-partition", role("g2", permissionsBoundary=BOUNDARY.replace("arn:aws:", "arn:aws-us-gov:"))),
    ("an-aws-managed-boundary", role("g3", permissionsBoundary="arn:aws:iam::aws:policy/PowerUserAccess")),
    ("not-a-role", R("aws:iam/policy:Policy", "p", {"policy": json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:GetAuthorizationToken",
                                                "Resource": "*"}]})})),
]


@pytest.mark.parametrize("resource", [g[1] for g in GOOD], ids=[g[0] for g in GOOD])
def test_a_bounded_role_passes(stub, resource):
    assert of(analyze(stub, resource), POLICY) == []


def test_the_config_exempts_an_administrators_path_and_only_that_path(stub):
    """As bootstrap/policy-config.json exempts the CI roles the administrator creates."""
    info = stub.GetAnalyzerInfo(empty_pb2.Empty())
    names = [p.name for p in info.policies]
    stub.Configure(policy_config_request({POLICY: {"exemptPaths": ["/github-actions/"]}}, names,
                                         policy_defaults(info)))
    try:
        assert of(analyze(stub, role("ci", path="/github-actions/")), POLICY) == []
        assert len(of(analyze(stub, role("app")), POLICY)) == 1
        assert len(of(analyze(stub, role("nested", path="/github-actions/more/")), POLICY)) == 1
    finally:
        stub.Configure(analyzer_pb2.ConfigureAnalyzerRequest())
