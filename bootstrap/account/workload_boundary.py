"""The permissions boundary of every role the main program creates.

The deploy role may create IAM roles (the main program's task, execution and traffic-shift roles),
which without a boundary is administrator access by another name: a role with `*:*` that trusts any
account. With it, a role can never do more than this policy allows, whatever its own policies say;
the deploy role may create and change roles only with this boundary on them and may not edit it
(``permissions.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass
class WorkloadBoundaryArgs:
    policy_name: str  # fixed by convention: the main program derives the ARN from it
    path: str
    description: str
    document: pulumi.Input[str]  # JSON
    tags: dict[str, str]


class WorkloadBoundary(pulumi.ComponentResource):
    def __init__(self, name: str, args: WorkloadBoundaryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("truecaller:bootstrap:WorkloadBoundary", name, None, opts)
        self.policy = aws.iam.Policy(
            name,
            name=args.policy_name,
            path=args.path,
            description=args.description,
            policy=args.document,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.policy_arn = self.policy.arn
        self.register_outputs({"policyArn": self.policy_arn})
