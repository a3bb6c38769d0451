"""The network policies' model of ingress, rule kind by rule kind and field by field (in process, for
`make mutate`): VPC ingress rules, legacy security group rules and inline ingress blocks, groups found by
property dependency or by ID."""

from __future__ import annotations

import pytest

from tests.policies.harness import stack_resource, stack_violations

from guardrails import ec2  # isort: skip

SG = ec2.SECURITY_GROUP


def groups():
    alb = stack_resource(SG, "alb", {"id": "sg-alb"})
    tasks = stack_resource(SG, "tasks", {"id": "sg-tasks"})
    lb = stack_resource(ec2.LOAD_BALANCER, "lb", {"securityGroups": ["sg-alb"]})
    service = stack_resource(ec2.SERVICE, "svc", {"networkConfiguration": {"securityGroups": ["sg-tasks"]}})
    return alb, tasks, lb, service


def rules_of(resources):
    index = ec2.GroupIndex(resources)
    return [(r.group, r.resource_urn, r.description, r.protocol, r.from_port, r.to_port, sorted(r.cidrs),
             sorted(r.source_groups)) for r in ec2.ingress_rules(resources, index)]


def test_vpc_ingress_rules_by_id():
    alb, tasks, lb, service = groups()
    rule = stack_resource(ec2.INGRESS_RULE, "r", {"securityGroupId": "sg-tasks", "ipProtocol": "tcp", "fromPort": 3000,
                                                  "toPort": 3001, "cidrIpv4": "10.0.0.0/8", "cidrIpv6": "::/0",
                                                  "referencedSecurityGroupId": "sg-alb"})
    assert rules_of([alb, tasks, lb, service, rule]) == [
        (tasks.urn, rule.urn, "r", "tcp", 3000.0, 3001.0, ["10.0.0.0/8", "::/0"], [alb.urn])]


def test_vpc_ingress_rules_by_dependency_and_unknown_groups():
    alb, tasks, lb, service = groups()
    rule = stack_resource(ec2.INGRESS_RULE, "r", {"ipProtocol": "-1"},
                          {"securityGroupId": [tasks], "referencedSecurityGroupId": [alb]})
    orphan = stack_resource(ec2.INGRESS_RULE, "o", {"securityGroupId": "sg-elsewhere", "ipProtocol": "tcp"})
    lost = stack_resource(ec2.INGRESS_RULE, "l", {"ipProtocol": "tcp"})
    assert rules_of([alb, tasks, rule, orphan, lost]) == [
        (tasks.urn, rule.urn, "r", "-1", None, None, [], [alb.urn]),
        ("sg-elsewhere", orphan.urn, "o", "tcp", None, None, [], []),
        ("(unknown group of l)", lost.urn, "l", "tcp", None, None, [], []),
    ]


def test_legacy_rules_ingress_only():
    alb, tasks, lb, service = groups()
    ingress = stack_resource(ec2.LEGACY_RULE, "i", {"type": "ingress", "securityGroupId": "sg-alb", "protocol": "tcp",
                                                   "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"],
                                                   "ipv6CidrBlocks": ["::/0"], "sourceSecurityGroupId": "sg-tasks"})
    by_dependency = stack_resource(ec2.LEGACY_RULE, "d", {"type": "ingress", "protocol": "6"},
                                   {"securityGroupId": [alb], "sourceSecurityGroupId": [tasks]})
    egress = stack_resource(ec2.LEGACY_RULE, "e", {"type": "egress", "securityGroupId": "sg-alb", "protocol": "-1",
                                                  "cidrBlocks": ["0.0.0.0/0"]})
    assert rules_of([alb, tasks, ingress, by_dependency, egress]) == [
        (alb.urn, ingress.urn, "i", "tcp", 443.0, 443.0, ["0.0.0.0/0", "::/0"], [tasks.urn]),
        (alb.urn, by_dependency.urn, "d", "6", None, None, [], [tasks.urn]),
    ]


def test_inline_ingress_blocks():
    alb = stack_resource(SG, "alb", {"id": "sg-alb"})
    tasks = stack_resource(SG, "tasks", {"id": "sg-tasks", "ingress": [
        {"protocol": "tcp", "fromPort": 80, "toPort": 80, "cidrBlocks": ["1.2.3.0/24"], "ipv6CidrBlocks": ["::/0"],
         "securityGroups": ["sg-alb"]},
        {"protocol": "udp", "fromPort": 53, "toPort": 53},
    ]})
    assert rules_of([alb, tasks]) == [
        (tasks.urn, tasks.urn, "tasks ingress[0]", "tcp", 80.0, 80.0, ["1.2.3.0/24", "::/0"], [alb.urn]),
        (tasks.urn, tasks.urn, "tasks ingress[1]", "udp", 53.0, 53.0, [], []),
    ]


def test_group_index_and_groups_of_balancers_and_services():
    alb, tasks, lb, service = groups()
    no_id = stack_resource(SG, "no-id", {})
    resources = [alb, tasks, lb, service, no_id]
    index = ec2.GroupIndex(resources)
    assert index.by_id == {"sg-alb": alb.urn, "sg-tasks": tasks.urn}
    assert index.keys(lb, "securityGroups", ["sg-alb", "", None, "sg-x"]) == {alb.urn, "sg-x"}
    assert index.keys(stack_resource(ec2.LOAD_BALANCER, "x", {}, {"securityGroups": [tasks]}), "securityGroups",
                      ["sg-alb"]) == {tasks.urn}
    assert index.keys(lb, "securityGroups", None) == set()
    assert ec2.load_balancer_groups(resources, index) == {alb.urn}
    assert ec2.task_groups(resources, index) == {tasks.urn}
    assert ec2.task_groups([stack_resource(ec2.SERVICE, "bare", {})], index) == set()


@pytest.mark.parametrize(("protocol", "from_port", "to_port", "web"), [
    ("tcp", 80, 80, True), ("6", 443, 443, True), ("tcp", 80, 443, False), ("udp", 443, 443, False),
    ("tcp", 8080, 8080, False), ("-1", None, None, False),
])
def test_web_ports(protocol, from_port, to_port, web):
    rule = ec2.Ingress("g", "u", "d", protocol, from_port, to_port)
    assert ec2._web_port(rule) is web


def public(group, port=443, cidr="0.0.0.0/0", protocol="tcp", name="r"):
    return stack_resource(ec2.INGRESS_RULE, name, {"securityGroupId": group, "ipProtocol": protocol,
                                                   "fromPort": port, "toPort": port, "cidrIpv4": cidr})


def test_public_ingress_messages():
    alb, tasks, lb, service = groups()
    base = [alb, tasks, lb, service]
    assert stack_violations(ec2.public_ingress, [*base, public("sg-alb")]) == []
    assert stack_violations(ec2.public_ingress, [*base, public("sg-alb", cidr="10.0.0.0/8", port=22)]) == []
    assert stack_violations(ec2.public_ingress, [*base, public("sg-alb", port=22)]) == [
        "r opens tcp 22.0-22.0 to the internet; only 80/443 on the load balancer's group may be public."]
    assert stack_violations(ec2.public_ingress, [*base, public("sg-tasks", port=80)]) == [
        "r opens port 80 to the internet on tasks, which is not a load balancer's security group."]


def test_task_ingress_messages():
    alb, tasks, lb, service = groups()
    base = [alb, tasks, lb, service]
    from_alb = stack_resource(ec2.INGRESS_RULE, "ok", {"securityGroupId": "sg-tasks", "ipProtocol": "tcp",
                                                       "referencedSecurityGroupId": "sg-alb"})
    assert stack_violations(ec2.task_ingress_from_load_balancer, [*base, from_alb]) == []
    assert stack_violations(ec2.task_ingress_from_load_balancer, [*base, public("sg-tasks", cidr="10.0.0.0/8")]) == [
        "r admits CIDR ranges ['10.0.0.0/8'] to the tasks' group; tasks admit only the load balancer's security "
        "group."]
    itself = stack_resource(ec2.INGRESS_RULE, "self", {"securityGroupId": "sg-tasks", "ipProtocol": "tcp",
                                                       "referencedSecurityGroupId": "sg-tasks"})
    assert stack_violations(ec2.task_ingress_from_load_balancer, [*base, itself]) == [
        "self admits ['tasks'] to the tasks' group; only the load balancer's security group may connect."]
    nothing = stack_resource(ec2.INGRESS_RULE, "none", {"securityGroupId": "sg-tasks", "ipProtocol": "tcp"})
    assert stack_violations(ec2.task_ingress_from_load_balancer, [*base, nothing]) == [
        "none admits [] to the tasks' group; only the load balancer's security group may connect."]
    assert stack_violations(ec2.task_ingress_from_load_balancer, [*base, public("sg-alb")]) == []

