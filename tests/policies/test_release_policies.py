"""HTTPS in production and what blue/green, canary and linear deployments need, through the analyzer
protocol as the CLI drives the pack: the real graphs pass, each thing missing is caught, and the
look-alikes that are fine are not reported."""

from __future__ import annotations

import copy
import json

import pytest

from offline.policy_client import analyze
from tests.policies.test_stack_policies import edit, find

SHIFTING = ("blue-green", "canary", "linear")


@pytest.fixture(scope="module")
def shifting(variant):
    return {strategy: variant("prod", deploymentStrategy=strategy) for strategy in SHIFTING}


def diagnostics(pack, plan) -> set[tuple[str, str]]:
    return {(d.policy, d.level) for d in analyze(pack, plan).diagnostics}


@pytest.mark.parametrize("strategy", SHIFTING)
def test_a_complete_traffic_shift_passes(pack, shifting, strategy):
    assert diagnostics(pack, shifting[strategy]) == set()


def advanced(plan) -> dict:
    return find(plan, "Service", "service").outputs["loadBalancers"][0]["advancedConfiguration"]


def set_advanced(plan, **fields):
    def change(props):
        props["loadBalancers"][0]["advancedConfiguration"].update(fields)
    edit(plan, "Service", "service", change)


def drop_advanced(plan, field):
    edit(plan, "Service", "service", lambda props: props["loadBalancers"][0]["advancedConfiguration"].pop(field))


def untrusting_role(plan):
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    edit(plan, "Role", "traffic-shift", lambda props: props.update(assumeRolePolicy=trust))


def role_for_another_action(plan):
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"}, "Action": "sts:TagSession"}]})
    edit(plan, "Role", "traffic-shift", lambda props: props.update(assumeRolePolicy=trust))


BROKEN = [
    ("alternate-is-the-primary", lambda p: set_advanced(
        p, alternateTargetGroupArn=find(p, "TargetGroup", "app").outputs["arn"])),
    ("alternate-not-ip", lambda p: edit(p, "TargetGroup", "app-alternate", lambda x: x.update(targetType="instance"))),
    ("no-test-rule", lambda p: drop_advanced(p, "testListenerRule")),
    ("no-production-rule", lambda p: drop_advanced(p, "productionListenerRule")),
    ("role-ecs-may-not-assume", untrusting_role),
    ("role-trusts-ecs-for-another-action", role_for_another_action),
    ("no-advanced-configuration", lambda p: edit(p, "Service", "service",
                                                 lambda x: x["loadBalancers"][0].pop("advancedConfiguration"))),
]


@pytest.mark.parametrize(("name", "change"), BROKEN, ids=[b[0] for b in BROKEN])
def test_each_missing_piece_of_a_traffic_shift_is_caught(pack, shifting, name, change):
    broken = copy.deepcopy(shifting["canary"])
    change(broken)
    assert diagnostics(pack, broken) == {("ecs-traffic-shift-complete", "mandatory")}, name


def test_blue_green_without_the_bake_time_ecs_requires_is_caught(pack, shifting):
    unbaked = copy.deepcopy(shifting["blue-green"])
    edit(unbaked, "Service", "service", lambda x: x["deploymentConfiguration"].pop("bakeTimeInMinutes"))
    assert ("ecs-traffic-shift-complete", "mandatory") in diagnostics(pack, unbaked)


def test_a_production_release_that_bakes_needs_no_alarm_rollback(pack, shifting):
    safety_net = ("ecs-production-release-safety", "advisory")
    baking = copy.deepcopy(shifting["blue-green"])
    edit(baking, "Service", "service", lambda x: x.pop("alarms"))
    assert safety_net not in diagnostics(pack, baking)  # (the error-alarm advisory still asks for alarms)
    unbaked = copy.deepcopy(baking)
    edit(unbaked, "Service", "service", lambda x: x["deploymentConfiguration"].update(bakeTimeInMinutes="0"))
    assert safety_net in diagnostics(pack, unbaked)


def test_plain_http_is_fine_outside_production(staging_pack, staging):
    assert diagnostics(staging_pack, staging) == set()


def test_a_protected_stack_is_production_whatever_its_name(staging_pack, staging):
    protected = copy.deepcopy(staging)
    edit(protected, "LoadBalancer", "alb", lambda x: x.update(enableDeletionProtection=True))
    assert ("alb-https-in-production", "mandatory") in diagnostics(staging_pack, protected)
