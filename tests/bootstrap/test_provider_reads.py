"""What the pulumi-aws provider reads back after it creates or updates each resource type, granted.

`pulumi up` refreshes every resource it writes (the bridged Terraform provider's Read), and a refused
read fails the update after the create succeeded. The table lists, per resource type the main program
plans, the calls of that Read in terraform-provider-aws (the source pulumi-aws bridges), file by file
under internal/service/: ec2/vpc_.go resourceVPCRead (DescribeVpcs, three DescribeVpcAttribute, the
default NACL, main route table and default security group), ec2/vpc_subnet.go, ec2/vpc_route_table.go,
ec2/vpc_route.go and vpc_route_table_association.go (DescribeRouteTables), ec2/vpc_internet_gateway.go,
ec2/ec2_eip.go (DescribeAddresses, DescribeAddressesAttribute for the PTR record),
ec2/vpc_nat_gateway.go, ec2/vpc_security_group.go, vpc_security_group_{ingress,egress}_rule.go
(DescribeSecurityGroupRules), elbv2/load_balancer.go (DescribeLoadBalancers, DescribeLoadBalancerAttributes,
DescribeCapacityReservation, tags by DescribeTags), elbv2/target_group.go, elbv2/listener.go (DescribeListeners,
DescribeListenerAttributes), elbv2/listener_rule.go, ecs/cluster.go (DescribeClusters), ecs/
cluster_capacity_providers.go, ecs/service.go (DescribeServices), ecs/task_definition.go, ecr/repository.go
(DescribeRepositories, ListTagsForResource), ecr/lifecycle_policy.go, iam/role.go (GetRole, inline policies
by ListRolePolicies + GetRolePolicy, ListAttachedRolePolicies), iam/role_policy.go, secretsmanager/secret.go
(DescribeSecret, GetResourcePolicy), secretsmanager/secret_version.go (GetSecretValue), logs/group.go
(DescribeLogGroups, ListTagsForResource), cloudwatch/metric_alarm.go, cloudwatch/dashboard.go, sns/topic.go,
sns/topic_subscription.go, appautoscaling/target.go, appautoscaling/policy.go, acm/certificate.go,
acm/certificate_validation.go and route53/record.go (ListResourceRecordSets, GetChange while it waits).
"""

from __future__ import annotations

import pytest

from tests.bootstrap.conftest import attached_documents

PROVIDER_READS: dict[str, tuple[str, ...]] = {
    "aws:ec2/vpc:Vpc": ("ec2:DescribeVpcs", "ec2:DescribeVpcAttribute", "ec2:DescribeNetworkAcls",
                        "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroups"),
    "aws:ec2/subnet:Subnet": ("ec2:DescribeSubnets",),
    "aws:ec2/routeTable:RouteTable": ("ec2:DescribeRouteTables",),
    "aws:ec2/route:Route": ("ec2:DescribeRouteTables",),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ("ec2:DescribeRouteTables",),
    "aws:ec2/internetGateway:InternetGateway": ("ec2:DescribeInternetGateways",),
    "aws:ec2/eip:Eip": ("ec2:DescribeAddresses", "ec2:DescribeAddressesAttribute"),
    "aws:ec2/natGateway:NatGateway": ("ec2:DescribeNatGateways",),
    "aws:ec2/securityGroup:SecurityGroup": ("ec2:DescribeSecurityGroups",),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ("ec2:DescribeSecurityGroupRules",),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ("ec2:DescribeSecurityGroupRules",),
    "aws:lb/loadBalancer:LoadBalancer": (
        "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:DescribeCapacityReservation", "elasticloadbalancing:DescribeTags"),
    "aws:lb/targetGroup:TargetGroup": (
        "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes",
        "elasticloadbalancing:DescribeTags"),
    "aws:lb/listener:Listener": (
        "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerAttributes",
        "elasticloadbalancing:DescribeTags"),
    "aws:lb/listenerRule:ListenerRule": ("elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTags"),
    "aws:ecs/cluster:Cluster": ("ecs:DescribeClusters",),
    "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": ("ecs:DescribeClusters",),
    "aws:ecs/service:Service": ("ecs:DescribeServices",),
    "aws:ecs/taskDefinition:TaskDefinition": ("ecs:DescribeTaskDefinition",),
    "aws:ecr/repository:Repository": ("ecr:DescribeRepositories", "ecr:ListTagsForResource"),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": ("ecr:GetLifecyclePolicy",),
    "aws:iam/role:Role": ("iam:GetRole", "iam:ListRolePolicies", "iam:GetRolePolicy",
                          "iam:ListAttachedRolePolicies"),
    "aws:iam/rolePolicy:RolePolicy": ("iam:GetRolePolicy",),
    "aws:secretsmanager/secret:Secret": ("secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy"),
    "aws:secretsmanager/secretVersion:SecretVersion": ("secretsmanager:GetSecretValue",),
    "aws:cloudwatch/logGroup:LogGroup": ("logs:DescribeLogGroups", "logs:ListTagsForResource"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"),
    "aws:cloudwatch/dashboard:Dashboard": ("cloudwatch:GetDashboard",),
    "aws:sns/topic:Topic": ("sns:GetTopicAttributes", "sns:ListTagsForResource"),
    "aws:sns/topicSubscription:TopicSubscription": ("sns:GetSubscriptionAttributes",),
    "aws:appautoscaling/target:Target": ("application-autoscaling:DescribeScalableTargets",
                                         "application-autoscaling:ListTagsForResource"),
    "aws:appautoscaling/policy:Policy": ("application-autoscaling:DescribeScalingPolicies",),
    "aws:acm/certificate:Certificate": ("acm:DescribeCertificate", "acm:ListTagsForCertificate"),
    "aws:acm/certificateValidation:CertificateValidation": ("acm:DescribeCertificate",),
    "aws:route53/record:Record": ("route53:ListResourceRecordSets", "route53:GetChange"),
}
NOT_AWS = {"docker:index/image:Image"}  # pushed with ECR's layer calls (test_permissions covers them)
# The one read the preview role must not have: a secret's value (previews run without --refresh).
DEPLOY_ONLY = {"secretsmanager:GetSecretValue"}


def allowed_actions(plan, role: str) -> set[str]:
    return {a.lower() for d in attached_documents(plan, role).values() for s in d["Statement"]
            if s["Effect"] == "Allow" for a in s["Action"]}


@pytest.fixture(scope="module")
def planned_types(planned, variant) -> set[str]:
    plans = [planned["prod"], planned["staging"],
             variant("prod", deploymentStrategy="blue-green"), variant("staging", alarmEmail="ops@example.com")]
    return {r.type for plan in plans for r in plan.resources if r.custom}


def test_every_planned_type_has_its_provider_reads(planned_types):
    assert sorted(planned_types - set(PROVIDER_READS) - NOT_AWS) == []


def test_the_deploy_role_grants_every_read_after_create(planned_types, bootstrap):
    granted = allowed_actions(bootstrap, "deploy-role")
    missing = {t: [a for a in PROVIDER_READS[t] if a.lower() not in granted]
               for t in sorted(planned_types - NOT_AWS)}
    assert {t: m for t, m in missing.items() if m} == {}


def test_the_preview_role_reads_the_same_metadata_but_no_secret_value(planned_types, bootstrap):
    granted = allowed_actions(bootstrap, "preview-role")
    missing = {t: [a for a in PROVIDER_READS[t] if a.lower() not in granted and a not in DEPLOY_ONLY]
               for t in sorted(planned_types - NOT_AWS)}
    assert {t: m for t, m in missing.items() if m} == {}
    assert not granted & {a.lower() for a in DEPLOY_ONLY}
