"""GitHub Actions' OpenID Connect provider and the trust policy that limits a role to chosen
workflow subjects of one repository."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

GITHUB_ISSUER_HOST = "token.actions.githubusercontent.com"
GITHUB_ISSUER_URL = f"https://{GITHUB_ISSUER_HOST}"
# What aws-actions/configure-aws-credentials asks GitHub to put in the token's `aud`.
STS_AUDIENCE = "sts.amazonaws.com"


def github_trust_policy(provider_arn: str, subjects: list[str]) -> str:
    """Only tokens GitHub issued for STS, for exactly one of ``subjects`` (StringEquals: no
    wildcards, case-sensitive), may assume the role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "GitHubActionsOidc",
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{GITHUB_ISSUER_HOST}:aud": STS_AUDIENCE,
                            f"{GITHUB_ISSUER_HOST}:sub": sorted(subjects),
                        }
                    },
                }
            ],
        }
    )


@dataclass
class GithubOidcArgs:
    existing_provider_arn: str  # "" creates the provider
    tags: dict[str, str]


class GithubOidc(pulumi.ComponentResource):
    """The account's provider for GitHub's issuer, created here or reused (one per URL and account).

    No thumbprint: for GitHub's issuer IAM validates the certificate against its own library of
    trusted root CAs and ignores configured thumbprints (IAM docs; pulumi-aws 7.x makes
    ``thumbprint_lists`` optional for that reason).
    """

    def __init__(self, name: str, args: GithubOidcArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("truecaller:bootstrap:GithubOidc", name, None, opts)
        if args.existing_provider_arn:
            self.provider_arn = pulumi.Output.from_input(args.existing_provider_arn)
        else:
            provider = aws.iam.OpenIdConnectProvider(
                "github",
                url=GITHUB_ISSUER_URL,
                client_id_lists=[STS_AUDIENCE],
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.provider_arn = provider.arn
        self.register_outputs({"providerArn": self.provider_arn})
