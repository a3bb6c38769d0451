"""The truecaller-backend guardrails: the deployment notes' lessons as Pulumi policies.

Grouped by AWS service; ``all_policies()`` is what ``policies/__main__.py`` puts in the pack.
"""

from __future__ import annotations

from pulumi_policy import Policy

from guardrails import cloudwatch, docker, ec2, ecr, ecs, elb, iam, kms, s3, scaling, secretsmanager, tags

PACK_NAME = "truecaller-guardrails"
MODULES = (ecs, docker, secretsmanager, cloudwatch, elb, ecr, ec2, iam, s3, kms, scaling, tags)


def all_policies() -> list[Policy]:
    from costing import policy as costing

    return [policy for module in (*MODULES, costing) for policy in module.POLICIES]
