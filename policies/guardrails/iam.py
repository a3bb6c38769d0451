"""AWS IAM: least privilege in every policy the stack writes or attaches.

Policy documents are read as data: every Allow statement (a Deny before or after changes nothing:
Deny statements are never a reason to pass an Allow), ``Action``/``NotAction`` and
``Resource``/``NotResource`` as a string or a list, actions compared case-insensitively as IAM
does. Wildcard actions (``*``, ``service:*``, prefix wildcards such as ``s3:Get*``) are refused
everywhere; on a broad resource (``*``, or an ARN whose every part is a wildcard) only the actions
AWS cannot scope are allowed. Actions that hand out secrets (``secretsmanager:GetSecretValue``,
``ssm:GetParameter*``, ``kms:Decrypt``) are refused on every secret, parameter or key of the account
(``secret:*`` even with its region and account named): a name or a prefix is what a role reads.
AWS-managed policies that grant broad access (administrator, power-user, ``*FullAccess``,
``*ReadWrite``, ...) are refused however they are attached: a role's
``managedPolicyArns``, ``RolePolicyAttachment``, ``RolePolicyAttachmentsExclusive``,
``PolicyAttachment``, user and group attachments.

Every role carries a permissions boundary: a deployment that may create roles can otherwise create
one with any rights (``*:*``, trusting any account), so the CI deploy role (bootstrap/) creates roles
only with its workload boundary, and a role without one is refused here before the API would refuse it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pulumi_policy import PolicyConfigSchema, Severity

from guardrails.common import as_list, config_value, json_document, resource_policy

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
POLICY = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ATTACHMENTS_EXCLUSIVE = "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"
POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
USER_ATTACHMENT = "aws:iam/userPolicyAttachment:UserPolicyAttachment"
GROUP_ATTACHMENT = "aws:iam/groupPolicyAttachment:GroupPolicyAttachment"


def resourceless_actions() -> list[str]:
    """Actions AWS offers no resource-level permission for: ``*`` is the only valid Resource."""
    return [
        "ecr:GetAuthorizationToken", "sts:GetCallerIdentity", "logs:DescribeLogGroups", "cloudwatch:PutMetricData",
        "xray:PutTraceSegments", "xray:PutTelemetryRecords", "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel",
        # What ECS reads while it shifts blue/green, canary and linear traffic (the role of the load balancer's
        # advancedConfiguration; AWS's AmazonECSInfrastructureRolePolicyForLoadBalancers grants them on "*").
        "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules",
        "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth",
    ]


def secret_reading_actions() -> dict[str, tuple[str, str]]:
    """Actions that hand out secret material (lower case), with the service and resource type of the ARN that
    names every such secret of an account: ``secret:*``, ``parameter/*``, ``key/*``."""
    return {
        "secretsmanager:getsecretvalue": ("secretsmanager", "secret:*"),
        "ssm:getparameter": ("ssm", "parameter/*"),
        "ssm:getparameters": ("ssm", "parameter/*"),
        "ssm:getparametersbypath": ("ssm", "parameter/*"),
        "kms:decrypt": ("kms", "key/*"),
    }


def names_every_secret(resource: str, service: str, every: str) -> bool:
    """An ARN for all of a service's secrets in one account and region (a name or a prefix is not)."""
    parts = resource.split(":", 5)
    return len(parts) == 6 and parts[0] == "arn" and parts[2] == service and parts[5] == every


def is_wildcard_action(action: str) -> bool:
    return "*" in action or "?" in action


def is_broad_resource(resource: str) -> bool:
    """``*``, or an ARN naming every resource of a kind: ``arn:aws:s3:::*``, ``arn:aws:secretsmanager:*:*:secret:*``."""
    if resource == "*":
        return True
    parts = resource.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return False
    service, region, account, name = parts[2], parts[3], parts[4], parts[5]
    if service == "s3":  # bucket names have no resource-type prefix: bucket/* is one bucket's objects
        return name in ("*", "*/*")
    scope_open = region in ("", "*") and account in ("", "*")
    return scope_open and re.fullmatch(r"([A-Za-z-]+[/:])?\*", name) is not None


def statement_problems(document, allowed_wildcard_actions: list[str]) -> list[str]:
    """What is too broad in an IAM policy document (a dict, or None)."""
    if not isinstance(document, Mapping):
        return []
    allowed = {a.lower() for a in allowed_wildcard_actions}
    problems = []
    for index, statement in enumerate(as_list(document.get("Statement"))):
        if not isinstance(statement, Mapping) or statement.get("Effect") == "Deny":
            continue
        label = statement.get("Sid") or f"statement {index}"
        if "NotAction" in statement:
            problems.append(f"{label} allows NotAction {as_list(statement['NotAction'])}, which grants every "
                            "other action")
        if "NotResource" in statement:
            problems.append(f"{label} allows on NotResource {as_list(statement['NotResource'])}, which grants "
                            "every other resource")
        actions = [str(a) for a in as_list(statement.get("Action"))]
        for action in actions:
            if is_wildcard_action(action):
                problems.append(f"{label} allows the wildcard action '{action}'")
        resources = [str(r) for r in as_list(statement.get("Resource"))]
        broad = [r for r in resources if is_broad_resource(r)]
        if broad:
            unjustified = [a for a in actions if is_wildcard_action(a) or a.lower() not in allowed]
            if unjustified or not actions:
                problems.append(f"{label} allows {unjustified or 'its actions'} on Resource {broad[0]!r}")
        for action in actions:
            reads = secret_reading_actions().get(action.lower())
            if reads is None:
                continue
            service, every = reads
            everything = [r for r in resources if names_every_secret(r, service, every) and r not in broad]
            if everything:
                problems.append(f"{label} allows '{action}' on Resource {everything[0]!r}: it reads every "
                                f"{every[:-2]} of the account, not the ones the role needs")
    return problems


def broad_managed_policy(arn: str) -> str | None:
    """The name of an AWS-managed policy that grants broad access, or None."""
    match = re.fullmatch(r"arn:aws[a-z-]*:iam::aws:policy/(?:(.+)/)?([^/]+)", arn.strip())
    if match is None:
        return None
    path, name = match.groups()  # path None: the policy is at the root
    broad = (
        name == "ReadOnlyAccess"  # read access to every service's data
        or name.endswith(("FullAccess", "ReadWrite", "PowerUser", "PowerUserAccess"))  # IAMFullAccess, ...
        or "AdministratorAccess" in name  # AdministratorAccess, AdministratorAccess-Amplify, ...
        or (path == "job-function" and name.endswith("Administrator"))
    )
    return name if broad else None


def _documents(args) -> list:
    props = args.props
    if args.resource_type in (ROLE_POLICY, POLICY, USER_POLICY, GROUP_POLICY):
        return [json_document(props.get("policy"))]
    if args.resource_type == ROLE:
        return [json_document(p.get("policy")) for p in props.get("inlinePolicies") or [] if isinstance(p, Mapping)]
    return []


def _attached_arns(args) -> list[str]:
    props = args.props
    if args.resource_type == ROLE:
        return [str(a) for a in props.get("managedPolicyArns") or []]
    if args.resource_type == ATTACHMENTS_EXCLUSIVE:
        return [str(a) for a in props.get("policyArns") or []]
    if args.resource_type in (ATTACHMENT, POLICY_ATTACHMENT, USER_ATTACHMENT, GROUP_ATTACHMENT):
        return [str(a) for a in as_list(props.get("policyArn"))]  # none while unknown (a preview)
    return []


def _least_privilege(args, report_violation):
    allowed = config_value(args, "wildcardResourceActions", resourceless_actions())
    for arn in _attached_arns(args):
        name = broad_managed_policy(arn)
        if name:
            report_violation(f"Attaches the AWS-managed policy {name}, which grants far more than a service needs. "
                             "Write a policy with the exact actions and resource ARNs instead.")
    for document in _documents(args):
        for problem in statement_problems(document, allowed):
            report_violation(f"{problem}. Name the exact actions and resource ARNs.")


least_privilege = resource_policy(
    "iam-least-privilege",
    "IAM policies name exact actions (no '*', 'service:*' or prefix wildcards such as 's3:Get*'; no NotAction or "
    "NotResource in an Allow) and exact resources ('*' only for actions AWS cannot scope, such as "
    "ecr:GetAuthorizationToken); secret readers (GetSecretValue, ssm:GetParameter*, kms:Decrypt) never on "
    "every secret, parameter or key of the account; no broad AWS-managed policies (AdministratorAccess, "
    "PowerUserAccess, *FullAccess, SecretsManagerReadWrite, ...) attached by any means. Fix: list the actions "
    "and the ARNs the role really uses.",
    [ROLE_POLICY, USER_POLICY, GROUP_POLICY, POLICY, ROLE, ATTACHMENT, ATTACHMENTS_EXCLUSIVE, POLICY_ATTACHMENT,
     USER_ATTACHMENT, GROUP_ATTACHMENT],
    _least_privilege,
    severity=Severity.HIGH,
    config_schema=PolicyConfigSchema(
        properties={"wildcardResourceActions": {"type": "array", "items": {"type": "string"},
                                                "default": resourceless_actions()}}
    ),
)

def role_path(props) -> str:
    return str(props.get("path") or "/")


def _permissions_boundary(args, report_violation):
    exempt = config_value(args, "exemptPaths", [])
    path = role_path(args.props)
    if path in exempt:
        return
    boundary = args.props.get("permissionsBoundary")
    managed_policy = r"arn:aws[a-z-]*:iam::(\d{12}|aws):policy/.+"
    if not isinstance(boundary, str) or not re.fullmatch(managed_policy, boundary):
        found = (f"permissionsBoundary {boundary!r} is not a managed policy ARN" if boundary
                 else "no permissionsBoundary")
        report_violation(f"Role under path {path!r} has {found}: without one it may hold any rights its policies "
                         "name, and the CI deploy role refuses to create it. Set permissions_boundary= to the "
                         "workload boundary (the bootstrap's <project>-workload-boundary policy).")


permissions_boundary = resource_policy(
    "iam-role-permissions-boundary",
    "Every IAM role carries a permissions boundary (a managed policy ARN), so a role created by a deployment can "
    "never hold more than the boundary allows, whatever its own policies say (AWS's pattern for delegating role "
    "creation). Fix: set permissions_boundary= on the role to the workload boundary the bootstrap creates "
    "(arn:aws:iam::<account>:policy/<project>/<project>-workload-boundary); roles created by an administrator "
    "under a path listed in exemptPaths need none.",
    [ROLE],
    _permissions_boundary,
    severity=Severity.CRITICAL,
    config_schema=PolicyConfigSchema(
        properties={"exemptPaths": {"type": "array", "items": {"type": "string", "pattern": "^/(.+/)?$"},
                                    "default": []}}
    ),
)

POLICIES = [least_privilege, permissions_boundary]
