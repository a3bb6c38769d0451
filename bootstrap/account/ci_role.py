"""A role GitHub Actions assumes through OIDC, with its permissions as customer-managed policies."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from account.github_oidc import github_trust_policy

# A job's timeout counts from its start, so an hour taken at the credentials step outlives every job
# (the longest, deploy-stack.yml's, stops at 60 minutes; a test ties each credentials step to its job's
# timeout and this maximum). Longer would only let a stolen session last longer.
MAX_SESSION_SECONDS = 3600


@dataclass
class CiRoleArgs:
    role_name: str
    description: str
    path: str
    provider_arn: pulumi.Input[str]
    subjects: list[str]  # OIDC `sub` claims the role trusts
    policies: dict[str, pulumi.Input[str]]  # policy name suffix -> JSON document
    tags: dict[str, str]


class CiRole(pulumi.ComponentResource):
    """Managed policies rather than one inline policy: AWS caps a role's inline policies at 10,240
    characters in total, a managed policy at 6,144 each; one per concern also reads better in the
    console."""

    def __init__(self, name: str, args: CiRoleArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("truecaller:bootstrap:CiRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # Children are named after the component: two CiRoles must not share URNs.
        self.role = aws.iam.Role(
            name,
            name=args.role_name,
            path=args.path,
            description=args.description,
            assume_role_policy=pulumi.Output.from_input(args.provider_arn).apply(
                lambda arn: github_trust_policy(arn, args.subjects)
            ),
            max_session_duration=MAX_SESSION_SECONDS,
            tags=args.tags,
            opts=child,
        )
        for suffix, document in args.policies.items():
            policy = aws.iam.Policy(
                f"{name}-{suffix}",
                name=f"{args.role_name}-{suffix}",
                path=args.path,
                description=f"{args.description}: {suffix}",
                policy=document,
                tags=args.tags,
                opts=child,
            )
            aws.iam.RolePolicyAttachment(f"{name}-{suffix}", role=self.role.name, policy_arn=policy.arn, opts=child)

        self.role_arn = self.role.arn
        self.register_outputs({"roleArn": self.role_arn})
