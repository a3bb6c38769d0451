"""Entry point the Pulumi CLI runs (`pulumi preview --policy-pack policies`): build the pack only.

The policies live in importable packages (guardrails/, costing/) so tests can load them without
starting the analyzer server this constructor starts.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from guardrails import PACK_NAME, all_policies

PolicyPack(
    name=PACK_NAME,
    description="Deployment guardrails for NestJS + Prisma services on ECS Fargate",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=all_policies(),
)
