"""Amazon VPC security groups: the internet reaches only the load balancer, tasks only from it."""

from __future__ import annotations

from dataclasses import dataclass, field

from pulumi_policy import Severity

from guardrails.common import number, of_type, related, short_urn, stack_policy

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
SERVICE = "aws:ecs/service:Service"
ANYWHERE = {"0.0.0.0/0", "::/0"}
WEB_PORTS = {80, 443}


@dataclass
class Ingress:
    group: str  # URN of the security group when it is in the stack, else its ID
    resource_urn: str
    description: str
    protocol: str
    from_port: float | None
    to_port: float | None
    cidrs: set[str] = field(default_factory=set)
    source_groups: set[str] = field(default_factory=set)


class GroupIndex:
    """Security groups by URN, reachable from IDs too (IDs are unknown in previews, URNs never)."""

    def __init__(self, resources):
        self.by_id = {g.props.get("id"): g.urn for g in of_type(resources, SECURITY_GROUP) if g.props.get("id")}

    def keys(self, resource, prop: str, ids) -> set[str]:
        found = {g.urn for g in related(resource, prop, SECURITY_GROUP)}
        if found:
            return found
        return {self.by_id.get(group_id, group_id) for group_id in ids or [] if group_id}


def _one(keys: set[str], rule) -> str:
    return sorted(keys)[0] if keys else f"(unknown group of {rule.name})"


def ingress_rules(resources, groups: GroupIndex) -> list[Ingress]:
    rules = []
    for rule in of_type(resources, INGRESS_RULE):
        p = rule.props
        group = _one(groups.keys(rule, "securityGroupId", [p.get("securityGroupId")]), rule)
        rules.append(Ingress(
            group, rule.urn, rule.name, str(p.get("ipProtocol")), number(p.get("fromPort")), number(p.get("toPort")),
            {c for c in (p.get("cidrIpv4"), p.get("cidrIpv6")) if c},
            groups.keys(rule, "referencedSecurityGroupId", [p.get("referencedSecurityGroupId")] if
                        p.get("referencedSecurityGroupId") else []),
        ))
    for rule in of_type(resources, LEGACY_RULE):
        p = rule.props
        if p.get("type") != "ingress":
            continue
        group = _one(groups.keys(rule, "securityGroupId", [p.get("securityGroupId")]), rule)
        rules.append(Ingress(
            group, rule.urn, rule.name, str(p.get("protocol")), number(p.get("fromPort")), number(p.get("toPort")),
            set(p.get("cidrBlocks") or []) | set(p.get("ipv6CidrBlocks") or []),
            groups.keys(rule, "sourceSecurityGroupId", [p.get("sourceSecurityGroupId")] if
                        p.get("sourceSecurityGroupId") else []),
        ))
    for group in of_type(resources, SECURITY_GROUP):
        for index, block in enumerate(group.props.get("ingress") or []):
            rules.append(Ingress(
                group.urn, group.urn, f"{group.name} ingress[{index}]", str(block.get("protocol")),
                number(block.get("fromPort")), number(block.get("toPort")),
                set(block.get("cidrBlocks") or []) | set(block.get("ipv6CidrBlocks") or []),
                groups.keys(group, "ingress", block.get("securityGroups")),
            ))
    return rules


def load_balancer_groups(resources, groups: GroupIndex) -> set[str]:
    return {key for lb in of_type(resources, LOAD_BALANCER)
            for key in groups.keys(lb, "securityGroups", lb.props.get("securityGroups"))}


def task_groups(resources, groups: GroupIndex) -> set[str]:
    keys = set()
    for service in of_type(resources, SERVICE):
        network = service.props.get("networkConfiguration") or {}
        keys |= groups.keys(service, "networkConfiguration", network.get("securityGroups"))
    return keys


def _web_port(rule: Ingress) -> bool:
    return rule.protocol in ("tcp", "6") and rule.from_port == rule.to_port and rule.from_port in WEB_PORTS


def _public_ingress(args, report_violation):
    groups = GroupIndex(args.resources)
    balancers = load_balancer_groups(args.resources, groups)
    for rule in ingress_rules(args.resources, groups):
        if not rule.cidrs & ANYWHERE:
            continue
        if not _web_port(rule):
            report_violation(f"{rule.description} opens {rule.protocol} {rule.from_port}-{rule.to_port} to the "
                             "internet; only 80/443 on the load balancer's group may be public.", rule.resource_urn)
        elif rule.group not in balancers:
            report_violation(f"{rule.description} opens port {rule.from_port:g} to the internet on "
                             f"{short_urn(rule.group)}, which is not a load balancer's security group.",
                             rule.resource_urn)


public_ingress = stack_policy(
    "network-no-public-ingress",
    "No security group admits 0.0.0.0/0 or ::/0 except TCP 80/443 on a load balancer's group. Fix: remove the "
    "rule, or reach the resource through the load balancer.",
    _public_ingress,
    severity=Severity.CRITICAL,
)


def _task_ingress(args, report_violation):
    groups = GroupIndex(args.resources)
    balancers = load_balancer_groups(args.resources, groups)
    tasks = task_groups(args.resources, groups)
    for rule in ingress_rules(args.resources, groups):
        if rule.group not in tasks:
            continue
        if rule.cidrs:
            report_violation(f"{rule.description} admits CIDR ranges {sorted(rule.cidrs)} to the tasks' group; "
                             "tasks admit only the load balancer's security group.", rule.resource_urn)
        elif not rule.source_groups or not rule.source_groups <= balancers:
            report_violation(f"{rule.description} admits {sorted(short_urn(g) for g in rule.source_groups)} to the "
                             "tasks' group; only the load balancer's security group may connect.", rule.resource_urn)


task_ingress_from_load_balancer = stack_policy(
    "network-tasks-only-from-load-balancer",
    "The security groups of ECS services admit traffic only from the load balancer's security group, never "
    "from CIDR ranges. Fix: one ingress rule referencing the ALB's group on the container port.",
    _task_ingress,
    severity=Severity.HIGH,
)

POLICIES = [public_ingress, task_ingress_from_load_balancer]
