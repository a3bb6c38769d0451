"""What ECS needs to shift traffic itself (blue/green, canary, linear): a second target group, listener
rules whose weights ECS moves between the two, a test listener that reaches the new version first, and
the role ECS assumes to do it.

ECS owns the rules' weights from the first deployment on, so the program ignores later changes to
them; it never points production traffic itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.load_balancer import TLS_POLICY, LoadBalancerArgs, app_target_group
from infra.naming import name_prefix

ROLE_PREFIX_MAX = 38
RULE_PRIORITY = 1  # the only rule on each listener: every path


def _weighted_forward(live: pulumi.Input[str], idle: pulumi.Input[str]) -> list[dict]:
    return [{"type": "forward", "forward": {"target_groups": [{"arn": live, "weight": 100},
                                                              {"arn": idle, "weight": 0}]}}]


def traffic_shift_policy(target_groups: list[str], listeners: list[str], rules: list[str]) -> str:
    """What ECS does during a shift: read the load balancer, register tasks, move the rules' weights.
    Scoped to this stack's listeners, rules and target groups; ELB's Describe calls accept only '*'."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ReadLoadBalancer", "Effect": "Allow",
             "Action": ["elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules",
                        "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth"],
             "Resource": "*"},
            {"Sid": "RegisterTasks", "Effect": "Allow",
             "Action": ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
             "Resource": sorted(target_groups)},
            {"Sid": "ShiftTraffic", "Effect": "Allow",
             "Action": ["elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule"],
             "Resource": sorted(listeners) + sorted(rules)},
        ],
    })


def ecs_trust(account: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "ecs.amazonaws.com"},
            "Action": "sts:AssumeRole",
            # Only ECS acting for this account (confused-deputy protection).
            "Condition": {"StringEquals": {"aws:SourceAccount": account}},
        }],
    })


@dataclass
class TrafficShiftArgs:
    name: str
    load_balancer: LoadBalancerArgs  # the settings of the first target group, reused for the second
    load_balancer_arn: pulumi.Input[str]
    security_group_id: pulumi.Input[str]
    production_listener_arn: pulumi.Input[str]
    primary_target_group_arn: pulumi.Input[str]
    certificate_arn: pulumi.Input[str] | None  # the test listener speaks HTTPS when production does
    test_port: int
    test_cidr: str  # who may reach the test listener; "" nobody outside the VPC
    account_id: pulumi.Input[str]
    tags: dict[str, str]
    role_path: str = "/"
    permissions_boundary: pulumi.Input[str] | None = None  # see ClusterArgs


class TrafficShift(pulumi.ComponentResource):
    def __init__(self, name: str, args: TrafficShiftArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("truecaller:infra:TrafficShift", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # ECS moves the weights during every deployment; `up` must not move them back.
        owned_by_ecs = pulumi.ResourceOptions(parent=self, ignore_changes=["actions"])

        self.alternate_target_group = app_target_group("app-alternate", args.load_balancer,
                                                       args.load_balancer.vpc_id, child)
        forward = _weighted_forward(args.primary_target_group_arn, self.alternate_target_group.arn)
        self.production_rule = aws.lb.ListenerRule(
            "production",
            listener_arn=args.production_listener_arn,
            priority=RULE_PRIORITY,
            conditions=[{"path_pattern": {"values": ["/*"]}}],
            actions=forward,
            tags=args.tags,
            opts=owned_by_ecs,
        )

        https = args.certificate_arn is not None
        self.test_listener = aws.lb.Listener(
            "test",
            load_balancer_arn=args.load_balancer_arn,
            port=args.test_port,
            protocol="HTTPS" if https else "HTTP",
            ssl_policy=TLS_POLICY if https else None,
            certificate_arn=args.certificate_arn,
            default_actions=[{"type": "fixed-response", "fixed_response": {
                "content_type": "text/plain", "message_body": "no test traffic route", "status_code": "404"}}],
            tags=args.tags,
            opts=child,
        )
        self.test_rule = aws.lb.ListenerRule(
            "test",
            listener_arn=self.test_listener.arn,
            priority=RULE_PRIORITY,
            conditions=[{"path_pattern": {"values": ["/*"]}}],
            actions=forward,
            tags=args.tags,
            opts=owned_by_ecs,
        )
        if args.test_cidr:
            aws.vpc.SecurityGroupIngressRule(
                "alb-test",
                security_group_id=args.security_group_id,
                ip_protocol="tcp",
                from_port=args.test_port,
                to_port=args.test_port,
                cidr_ipv4=args.test_cidr,
                description="Test listener: the new version before production traffic",
                tags=args.tags,
                opts=child,
            )

        self.role = aws.iam.Role(
            "traffic-shift",
            name_prefix=name_prefix(f"{args.name}-shift", ROLE_PREFIX_MAX),
            path=args.role_path,
            permissions_boundary=args.permissions_boundary,
            description=f"ECS moves {args.name}'s traffic between its two target groups",
            assume_role_policy=pulumi.Output.from_input(args.account_id).apply(ecs_trust),
            tags=args.tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            "traffic-shift",
            role=self.role.id,
            policy=pulumi.Output.all(
                args.primary_target_group_arn, self.alternate_target_group.arn,
                args.production_listener_arn, self.test_listener.arn, self.production_rule.arn, self.test_rule.arn,
            ).apply(lambda v: traffic_shift_policy(v[0:2], v[2:4], v[4:6])),
            opts=child,
        )

        self.alternate_target_group_arn = self.alternate_target_group.arn
        self.alternate_target_group_arn_suffix = self.alternate_target_group.arn_suffix
        self.production_rule_arn = self.production_rule.arn
        self.test_rule_arn = self.test_rule.arn
        self.role_arn = self.role.arn
        self.register_outputs({"alternateTargetGroupArn": self.alternate_target_group_arn,
                               "productionListenerRuleArn": self.production_rule_arn,
                               "testListenerRuleArn": self.test_rule_arn, "roleArn": self.role_arn})

