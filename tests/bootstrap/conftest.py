"""The bootstrap project evaluated once per session under Pulumi's mock runtime, with its real
project and stack files plus the one value the committed stack file leaves to the administrator."""

from __future__ import annotations

import json
import sys

import pytest

from offline.mocks import MOCK_ACCOUNT_ID
from offline.runtime import PlannedStack, evaluate_stack
from tests.conftest import ROOT

BOOTSTRAP_DIR = ROOT / "bootstrap"
STACK = "account"
REPOSITORY = "my-org/truecaller-backend"
POLICY_CONFIG = BOOTSTRAP_DIR / "policy-config.json"

# The CLI runs bootstrap/ as the program directory, which puts it on sys.path; the tests import
# its components the same way.
if str(BOOTSTRAP_DIR) not in sys.path:
    sys.path.insert(0, str(BOOTSTRAP_DIR))


# The zone of the main program's domain in the offline account (offline/mocks.py), as an administrator
# sets hostedZoneId for prod's domain.
HOSTED_ZONE_ID = "Z0EXAMPLE00000000000"


def evaluate_bootstrap(**overrides) -> PlannedStack:
    return evaluate_stack(STACK, project_dir=BOOTSTRAP_DIR,
                          config_overrides={"githubRepository": REPOSITORY, "hostedZoneId": HOSTED_ZONE_ID,
                                            **overrides})


@pytest.fixture(scope="session")
def bootstrap() -> PlannedStack:
    return evaluate_bootstrap()


def role(plan: PlannedStack, logical: str):
    return plan.one("aws:iam/role:Role", logical)


def role_arn(plan: PlannedStack, logical: str) -> str:
    """The ARN AWS gives a role: its path is part of it."""
    inputs = role(plan, logical).inputs
    return f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role{inputs['path']}{inputs['name']}"


def attached_documents(plan: PlannedStack, logical: str) -> dict[str, dict]:
    """The policy documents attached to a role, by policy name."""
    role_name = role(plan, logical).inputs["name"]
    attached = {a.inputs["policyArn"] for a in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if a.inputs["role"] == role_name}
    return {p.inputs["name"]: json.loads(p.inputs["policy"])
            for p in plan.of_type("aws:iam/policy:Policy") if p.outputs["arn"] in attached}
