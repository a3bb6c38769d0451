"""Required tags on every taggable resource, so cost and ownership can be traced."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, Severity

from guardrails.common import config_value, resource_policy

REQUIRED = ["project", "environment", "managed-by"]
# Resource types of this kit that accept tags (AWS resources without tags, like routes or role
# policies, are not listed).
TAGGABLE = [
    "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/internetGateway:InternetGateway", "aws:ec2/eip:Eip",
    "aws:ec2/natGateway:NatGateway", "aws:ec2/routeTable:RouteTable", "aws:ec2/securityGroup:SecurityGroup",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "aws:ecr/repository:Repository",
    "aws:secretsmanager/secret:Secret", "aws:cloudwatch/logGroup:LogGroup", "aws:iam/role:Role",
    "aws:ecs/cluster:Cluster", "aws:ecs/taskDefinition:TaskDefinition", "aws:ecs/service:Service",
    "aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup", "aws:lb/listener:Listener",
    "aws:sns/topic:Topic", "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:appautoscaling/target:Target",
    "aws:ec2/vpcEndpoint:VpcEndpoint", "aws:acm/certificate:Certificate",
]


def _required_tags(args, report_violation):
    required = config_value(args, "requiredTags", REQUIRED)
    tags = args.props.get("tags") or {}
    missing = [t for t in required if not tags.get(t)]
    if missing:
        report_violation(f"Missing tags {missing}. Tag every resource with {required}.")


required_tags = resource_policy(
    "required-tags",
    "Taggable resources carry the tags project, environment and managed-by, so cost reports and owners can be "
    "traced. Fix: pass tags=... on every resource (the kit's components do).",
    TAGGABLE,
    _required_tags,
    level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    config_schema=PolicyConfigSchema(
        properties={"requiredTags": {"type": "array", "items": {"type": "string"}, "default": REQUIRED}}
    ),
)

POLICIES = [required_tags]
