"""Entry point the Pulumi CLI runs (`pulumi preview --policy-pack policies`): build the pack only.

The policies live in importable packages (guardrails/, costing/) so tests can load them without
starting the analyzer server this constructor starts.
"""

import gc

from pulumi_policy import EnforcementLevel, PolicyPack

from guardrails import PACK_NAME, all_policies, engine

engine.install()  # each request converted once for all policies (see guardrails/engine.py)
policies = all_policies()
gc.freeze()  # modules and policies live as long as the process: keep them out of every collection

PolicyPack(
    name=PACK_NAME,
    description="Deployment guardrails for NestJS + Prisma services on ECS Fargate",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=policies,
)
