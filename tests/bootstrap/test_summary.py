"""`make bootstrap-plan`'s one-line summaries: the bootstrap's types are read as what they are (an IAM
policy is not an Application Auto Scaling policy; a CI role is trusted by GitHub's OIDC provider, not a
service)."""

from __future__ import annotations

from offline.summary import describe
from tests.bootstrap.conftest import REPOSITORY, role


def test_every_bootstrap_summary_names_real_values(bootstrap):
    for resource in bootstrap.resources:
        if resource.custom:
            assert "None" not in describe(resource), (resource.urn, describe(resource))


def test_a_ci_role_says_which_tokens_may_assume_it(bootstrap):
    deploy = describe(role(bootstrap, "deploy-role"))
    assert deploy.startswith(f"assumed by OIDC token.actions.githubusercontent.com for repo:{REPOSITORY}:environment:"
                             f"production, repo:{REPOSITORY}:environment:staging: ")
    assert describe(role(bootstrap, "preview-role")).startswith(
        f"assumed by OIDC token.actions.githubusercontent.com for repo:{REPOSITORY}:pull_request: ")


def test_an_iam_policy_shows_its_name_and_statements(bootstrap):
    state = bootstrap.one("aws:iam/policy:Policy", "preview-role-state")
    assert describe(state) == ("/github-actions/truecaller-backend-github-preview-state: "
                               "StateListBucket; StateReadStacks; StateDecrypt; PreviewStackSecretsDecrypt")


def test_the_key_and_provider_show_their_settings(bootstrap):
    assert describe(bootstrap.one("aws:kms/key:Key", "prod-key")) == (
        "SYMMETRIC_DEFAULT rotation=True every 365d deletionWindow=30d")
    assert describe(bootstrap.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")) == (
        "https://token.actions.githubusercontent.com audience=sts.amazonaws.com")
