"""AWS IAM: least privilege in every policy the stack writes."""

from __future__ import annotations

from pulumi_policy import PolicyConfigSchema, Severity

from guardrails.common import config_value, json_document, resource_policy

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
ROLE = "aws:iam/role:Role"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
# Actions AWS offers no resource-level permission for: "*" is the only valid Resource.
RESOURCELESS_ACTIONS = ["ecr:GetAuthorizationToken", "sts:GetCallerIdentity", "logs:DescribeLogGroups"]
BROAD_MANAGED = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value] if value is not None else []


def statement_problems(document, allowed_wildcard_actions: list[str]) -> list[str]:
    problems = []
    for index, statement in enumerate(_as_list((document or {}).get("Statement"))):
        if statement.get("Effect") != "Allow":
            continue
        label = statement.get("Sid") or f"statement {index}"
        actions = [str(a) for a in _as_list(statement.get("Action"))]
        if "NotAction" in statement:
            problems.append(f"{label} uses NotAction, which grants everything else")
        for action in actions:
            if action == "*" or action.endswith(":*"):
                problems.append(f"{label} allows action '{action}'")
        resources = [str(r) for r in _as_list(statement.get("Resource"))]
        if "*" in resources:
            unjustified = [a for a in actions if a not in allowed_wildcard_actions]
            if unjustified or not actions:
                problems.append(f"{label} allows {unjustified or 'its actions'} on Resource '*'")
    return problems


def _least_privilege(args, report_violation):
    allowed = config_value(args, "wildcardResourceActions", RESOURCELESS_ACTIONS)
    documents = []
    if args.resource_type in (ROLE_POLICY, POLICY):
        documents.append(json_document(args.props.get("policy")))
    elif args.resource_type == ROLE:
        documents += [json_document(p.get("policy")) for p in args.props.get("inlinePolicies") or []]
    elif args.resource_type == ATTACHMENT:
        arn = str(args.props.get("policyArn", ""))
        if arn.endswith(BROAD_MANAGED):
            report_violation(f"Attaches {arn.rsplit('/', 1)[-1]}: grant only the actions the role needs.")
    for document in documents:
        for problem in statement_problems(document, allowed):
            report_violation(f"{problem}. Name the exact actions and resource ARNs.")


least_privilege = resource_policy(
    "iam-least-privilege",
    "IAM policies name exact actions (no '*' or 'service:*') and exact resources ('*' only for actions AWS "
    "cannot scope, such as ecr:GetAuthorizationToken); no broad managed policies. Fix: list the actions and "
    "the ARNs the role really uses.",
    [ROLE_POLICY, POLICY, ROLE, ATTACHMENT],
    _least_privilege,
    severity=Severity.HIGH,
    config_schema=PolicyConfigSchema(
        properties={"wildcardResourceActions": {"type": "array", "items": {"type": "string"},
                                                "default": RESOURCELESS_ACTIONS}}
    ),
)

POLICIES = [least_privilege]
