"""Who can assume the CI roles: the trust policies the program registers, read as IAM reads them.
A GitHub token names its repository and its trigger in `sub`; only this repository's pull
requests may preview and only its staging/production environments may deploy."""

from __future__ import annotations

import json

import pytest

from tests.bootstrap.conftest import REPOSITORY, evaluate_bootstrap, role
from tests.bootstrap.iam_eval import may_assume

ISSUER = "token.actions.githubusercontent.com"


def claims(sub: str, aud: str = "sts.amazonaws.com") -> dict[str, str]:
    return {f"{ISSUER}:sub": sub, f"{ISSUER}:aud": aud}


def trust(plan, logical: str) -> dict:
    return json.loads(role(plan, logical).inputs["assumeRolePolicy"])


@pytest.fixture(scope="module")
def provider_arn(bootstrap) -> str:
    return bootstrap.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider").outputs["arn"]


PREVIEW_CASES = [
    (f"repo:{REPOSITORY}:pull_request", True),
    ("repo:my-org/other-repo:pull_request", False),
    ("repo:my-org/truecaller-backend-fork:pull_request", False),
    ("repo:evil/truecaller-backend:pull_request", False),
    ("repo:My-Org/Truecaller-Backend:pull_request", False),  # IAM compares case-sensitively
    (f"repo:{REPOSITORY}:ref:refs/heads/main", False),
    (f"repo:{REPOSITORY}:environment:production", False),
    (f"repo:{REPOSITORY}:pull_request:extra", False),
]
DEPLOY_CASES = [
    (f"repo:{REPOSITORY}:environment:staging", True),
    (f"repo:{REPOSITORY}:environment:production", True),
    (f"repo:{REPOSITORY}:environment:dev", False),
    (f"repo:{REPOSITORY}:environment:production-copy", False),
    (f"repo:{REPOSITORY}:environment:Production", False),
    (f"repo:{REPOSITORY}:pull_request", False),
    (f"repo:{REPOSITORY}:ref:refs/heads/main", False),
    ("repo:my-org/other-repo:environment:production", False),
]


@pytest.mark.parametrize(("sub", "expected"), PREVIEW_CASES)
def test_preview_role_trusts_only_this_repositorys_pull_requests(bootstrap, provider_arn, sub, expected):
    assert may_assume(trust(bootstrap, "preview-role"), provider_arn, claims(sub)) is expected


@pytest.mark.parametrize(("sub", "expected"), DEPLOY_CASES)
def test_deploy_role_trusts_only_the_staging_and_production_environments(bootstrap, provider_arn, sub, expected):
    assert may_assume(trust(bootstrap, "deploy-role"), provider_arn, claims(sub)) is expected


@pytest.mark.parametrize("logical", ["preview-role", "deploy-role"])
def test_tokens_for_another_audience_or_provider_are_refused(bootstrap, provider_arn, logical):
    good_sub = {"preview-role": PREVIEW_CASES, "deploy-role": DEPLOY_CASES}[logical][0][0]
    document = trust(bootstrap, logical)
    assert may_assume(document, provider_arn, claims(good_sub))
    assert not may_assume(document, provider_arn, claims(good_sub, aud="https://github.com/my-org"))
    assert not may_assume(document, provider_arn, {f"{ISSUER}:sub": good_sub})  # no audience at all
    other_provider = provider_arn.replace(ISSUER, "gitlab.com")
    assert not may_assume(document, other_provider, claims(good_sub))


def test_trust_uses_exact_matching_never_wildcards(bootstrap):
    for logical in ("preview-role", "deploy-role"):
        (statement,) = trust(bootstrap, logical)["Statement"]
        assert set(statement["Condition"]) == {"StringEquals"}
        assert not any(c in json.dumps(statement["Condition"]) for c in "*?")


def test_the_evaluator_would_catch_a_wildcard_trust(provider_arn):
    """What a StringLike `repo:my-org/*` trust (a common mistake) lets in, the evaluator sees."""
    loose = {"Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider_arn}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"},
                      "StringLike": {f"{ISSUER}:sub": "repo:my-org/*"}},
    }]}
    assert may_assume(loose, provider_arn, claims("repo:my-org/other-repo:pull_request"))
    assert may_assume(loose, provider_arn, claims("repo:my-org/x:environment:production"))


def test_an_existing_provider_is_reused_not_created():
    existing = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    plan = evaluate_bootstrap(existingOidcProviderArn=existing)
    assert plan.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []
    for logical in ("preview-role", "deploy-role"):
        assert trust(plan, logical)["Statement"][0]["Principal"] == {"Federated": existing}


def test_created_provider_is_githubs_issuer_for_sts_without_thumbprints(bootstrap):
    provider = bootstrap.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    assert "thumbprintLists" not in provider.inputs
