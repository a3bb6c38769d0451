"""The main policy pack over the bootstrap graph, run as the CLI runs it (gRPC), with the
bootstrap's policy-pack config; and broken variants of the graph, each caught - or, where the pack
has no check for it yet, recorded as a strict expected failure."""

from __future__ import annotations

import copy
import json

import pytest
from policy_sentry.querying.actions import get_action_data

from offline.policy_client import PolicyPackServer, analyze
from tests.bootstrap.conftest import POLICY_CONFIG, attached_documents

CONFIG = json.loads(POLICY_CONFIG.read_text())


@pytest.fixture(scope="module")
def pack(bootstrap):
    with PolicyPackServer(bootstrap) as stub:
        yield stub


def wildcard_actions_of(plan) -> set[str]:
    """Actions the roles allow on a resource the pack counts as every resource of a kind ("*",
    arn:aws:route53:::change/*)."""
    import tests.policies.conftest  # noqa: F401  (puts the pack's packages on sys.path, as the CLI runs it)
    from guardrails.iam import is_broad_resource

    def resources(statement) -> list[str]:
        return statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]

    return {a for logical in ("preview-role", "deploy-role")
            for document in attached_documents(plan, logical).values()
            for s in document["Statement"] if s["Effect"] == "Allow" and any(is_broad_resource(r) for r in resources(s))
            for a in s["Action"]}


def test_bootstrap_passes_the_pack_with_its_config(pack, bootstrap):
    report = analyze(pack, bootstrap, CONFIG)
    assert len(report.policies) >= 25
    assert report.diagnostics == []  # not even advisory ones


def test_config_allows_star_exactly_for_the_actions_the_roles_use_there(bootstrap):
    listed = CONFIG["iam-least-privilege"]["wildcardResourceActions"]
    assert CONFIG["iam-least-privilege"]["enforcementLevel"] == "mandatory"
    assert listed == sorted(wildcard_actions_of(bootstrap))
    # Each of them has no resource type in AWS's reference, but ecs:ListTasks, which is confined to
    # the project's clusters by a condition (see test_permissions.STAR_WITH_CONDITION), and
    # route53:GetChange, whose only resource is a change whose ID nobody knows before the call.
    scopable = [a for a in listed if any(
        row["resource_arn_format"] != "*" for row in get_action_data(*a.split(":"))[a.split(":")[0]])]
    assert scopable == ["ecs:ListTasks", "route53:GetChange"]


def test_without_config_the_pack_flags_only_the_actions_aws_cannot_scope(bootstrap):
    """Without its config the pack allows "*" only for its default list of resource-less actions; it
    reports every other action the roles use on a broad resource, and nothing else but the two CI roles'
    missing permissions boundary (the config exempts their administrator-made path)."""
    import tests.policies.conftest  # noqa: F401  (the pack's packages on sys.path)
    from guardrails.iam import resourceless_actions

    with PolicyPackServer(bootstrap) as fresh:  # a configured pack keeps its configuration
        report = analyze(fresh, bootstrap)
    assert {d.policy for d in report.diagnostics} == {"iam-least-privilege", "iam-role-permissions-boundary"}
    unbounded = sorted(d.urn.rsplit("::", 1)[1] for d in report.diagnostics
                       if d.policy == "iam-role-permissions-boundary")
    assert unbounded == ["deploy-role", "preview-role"]
    flagged = set()
    for d in report.diagnostics:
        flagged |= {a for a in wildcard_actions_of(bootstrap) if f"'{a}'" in d.message}
    assert flagged == wildcard_actions_of(bootstrap) - set(resourceless_actions())
    assert flagged and len(flagged) < len(wildcard_actions_of(bootstrap))


def policy(plan, name: str):
    return next(r for r in plan.resources if r.type == "aws:iam/policy:Policy" and r.name == name)


def edit(resource, change):
    for props in (resource.inputs, resource.outputs):
        change(props)
    resource.raw_inputs = None


def edit_statement(plan, policy_name: str, sid: str, change):
    def apply(props):
        document = json.loads(props["policy"])
        change(next(s for s in document["Statement"] if s["Sid"] == sid))
        props["policy"] = json.dumps(document)
    edit(policy(plan, policy_name), apply)


def attach(plan, policy_arn: str):
    attachment = copy.deepcopy(next(r for r in plan.resources if r.type.endswith("RolePolicyAttachment")))
    attachment.urn += "-admin"
    attachment.name += "-admin"
    edit(attachment, lambda p: p.update(policyArn=policy_arn))
    plan.resources.append(attachment)


def drop(plan, type_suffix: str):
    plan.resources.remove(next(r for r in plan.resources if r.type.endswith(type_suffix)))


def one(plan, type_suffix: str):
    return next(r for r in plan.resources if r.type.endswith(type_suffix))


CAUGHT = [
    ("ec2-service-wildcard", lambda p: edit_statement(p, "deploy-role-network", "Ec2UseOwn",
                                                      lambda s: s["Action"].append("ec2:*"))),
    ("all-actions", lambda p: edit_statement(p, "deploy-role-containers", "EcsClusters",
                                             lambda s: s.update(Action="*"))),
    ("secret-values-on-star", lambda p: edit_statement(p, "deploy-role-operations", "Secrets",
                                                       lambda s: s.update(Resource="*"))),
    ("pass-any-role", lambda p: edit_statement(p, "deploy-role-identity", "IamPassRolesToEcs",
                                               lambda s: s.update(Resource="*"))),
    ("not-action", lambda p: edit_statement(p, "preview-role-state", "StateDecrypt",
                                            lambda s: s.update(NotAction=s.pop("Action")))),
    ("administrator-access", lambda p: attach(p, "arn:aws:iam::aws:policy/AdministratorAccess")),
    ("power-user", lambda p: attach(p, "arn:aws:iam::aws:policy/PowerUserAccess")),
]


@pytest.mark.parametrize(("mutation", "change"), CAUGHT, ids=[m[0] for m in CAUGHT])
def test_a_broadened_role_is_caught(pack, bootstrap, mutation, change):
    broken = copy.deepcopy(bootstrap)
    change(broken)
    report = analyze(pack, broken, CONFIG)
    assert {(d.policy, d.level) for d in report.diagnostics} == {("iam-least-privilege", "mandatory")}, mutation


# The state bucket and the key, each protection removed in turn: caught by its own policy.
UNPROTECTED = [
    ("no-default-encryption", "s3-default-encryption", lambda p: drop(p, "BucketServerSideEncryptionConfiguration")),
    ("public-access-allowed", "s3-block-public-access",
     lambda p: edit(one(p, "BucketPublicAccessBlock"), lambda x: x.update(blockPublicPolicy=False,
                                                                          restrictPublicBuckets=False))),
    ("plain-http-allowed", "s3-tls-only", lambda p: drop(p, "BucketPolicy")),
    ("no-versioning", "s3-versioning",
     lambda p: edit(one(p, "BucketVersioning"), lambda x: x.update(versioningConfiguration={"status": "Suspended"}))),
    ("key-not-rotated", "kms-key-rotation", lambda p: edit(one(p, "kms/key:Key"),
                                                           lambda x: x.update(enableKeyRotation=False))),
]


@pytest.mark.parametrize(("mutation", "policy", "change"), UNPROTECTED, ids=[m[0] for m in UNPROTECTED])
def test_an_unprotected_state_bucket_or_key_is_caught(pack, bootstrap, mutation, policy, change):
    broken = copy.deepcopy(bootstrap)
    change(broken)
    report = analyze(pack, broken, CONFIG)
    assert {(d.policy, d.level) for d in report.diagnostics} == {(policy, "mandatory")}, mutation
