"""alb-https-in-production and alb-https-when-certificate called in process, scenario by scenario (mutation
testing reaches them here; tests/policies/test_stack_policies.py drives them over gRPC on the real plan).

The shapes are the kit's own (infra/load_balancer.py): an internet-facing ALB, an HTTPS listener with the
certificate and the TLS 1.3 policy, an HTTP listener answering 301 to HTTPS; listeners name their balancer
by property dependency (the plan) or by ARN (a refresh, an import)."""

from __future__ import annotations

import pytest
from pulumi_policy.policy import StackValidationArgs

from tests.policies.harness import stack_findings, stack_resource

from guardrails import elb  # isort: skip

FIX = "Fix: pulumi config set domainName <api.example.com> (or certificateArn with domainName)"
TLS13 = "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"  # the kit's TLS_POLICY
CERTIFICATE = "arn:aws:acm:eu-central-1:111122223333:certificate/0f0e0d0c-1a2b-3c4d-5e6f-77889900aabb"
REDIRECT_301 = [{"type": "redirect", "redirect": {"port": "443", "protocol": "HTTPS", "statusCode": "HTTP_301"}}]
FORWARD = [{"type": "forward", "targetGroupArn": "arn:aws:elasticloadbalancing:eu-central-1:111122223333:"
                                                "targetgroup/app/0123456789abcdef"}]


def alb(name: str = "alb", **props):
    return stack_resource(elb.LOAD_BALANCER, name, {"loadBalancerType": "application", "internal": False,
                                                    "dropInvalidHeaderFields": True, **props})


def listener(name: str, balancer, protocol: str, **props):
    """A listener naming its balancer by property dependency, as in a plan (``balancer`` None: by props only)."""
    deps = {"loadBalancerArn": [balancer]} if balancer is not None else None
    return stack_resource(elb.LISTENER, name, {"protocol": protocol, **props}, deps)


def https(balancer, name: str = "https", **props):
    return listener(name, balancer, "HTTPS", **{"port": 443, "sslPolicy": TLS13, "certificateArn": CERTIFICATE,
                                                "defaultActions": FORWARD, **props})


def http(balancer, name: str = "http", actions=None, **props):
    return listener(name, balancer, "HTTP", port=80, defaultActions=REDIRECT_301 if actions is None else actions,
                    **props)


def kit(**alb_props):
    """The kit with a domain: HTTPS on 443, HTTP 80 redirecting."""
    balancer = alb(**alb_props)
    return [balancer, https(balancer), http(balancer)]


def plain(**alb_props):
    """The kit without a domain (allowPlainHttp): HTTP 80 forwarding to the target group."""
    balancer = alb(**alb_props)
    return [balancer, http(balancer, actions=FORWARD)]


def no_https(balancer: str = "alb") -> tuple[str, str]:
    return (f"{balancer} serves production without HTTPS. {FIX}.", balancer)


def plain_http(name: str = "http", balancer: str = "alb") -> tuple[str, str]:
    return (f"HTTP listener {name} of {balancer} serves production traffic in plain text; it must answer 301 to "
            f"HTTPS. {FIX}.", name)


def weak_tls(named: str, name: str = "https") -> tuple[str, str]:
    return (f"HTTPS listener {name} uses security policy {named}; use a TLS 1.3 policy such as "
            f"ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09.", name)


def findings(resources, stack: str | None, monkeypatch, config: dict | None = None):
    if stack is None:
        monkeypatch.delenv("PULUMI_STACK", raising=False)
    else:
        monkeypatch.setenv("PULUMI_STACK", stack)
    return stack_findings(elb.https_in_production, resources, config)


# ----------------------------------------------------------------------------- which stacks are production


@pytest.mark.parametrize(("stack", "resources", "config", "expected"), [
    ("prod", kit(enableDeletionProtection=True), None, []),
    ("prod", plain(), None, [no_https(), plain_http()]),
    ("production", plain(), None, [no_https(), plain_http()]),
    ("staging", plain(), None, []),  # plain HTTP is for unprotected stacks
    ("staging", plain(enableDeletionProtection=False), None, []),
    ("staging", plain(enableDeletionProtection=True), None, [no_https(), plain_http()]),  # protected: production
    ("live", plain(), {"productionStacks": ["live"]}, [no_https(), plain_http()]),
    ("prod", plain(), {"productionStacks": ["live"]}, []),
    (None, plain(), {"productionStacks": [""]}, [no_https(), plain_http()]),  # no stack name reads as ""
    (None, plain(), None, []),
])
def test_production_is_a_named_or_a_protected_stack(monkeypatch, stack, resources, config, expected):
    assert findings(resources, stack, monkeypatch, config) == expected


def test_a_protected_internal_balancer_does_not_make_the_stack_production(monkeypatch):
    internal = alb("private", internal=True, enableDeletionProtection=True)
    assert findings([*plain(), internal, http(internal, "private-http", FORWARD)], "staging", monkeypatch) == []


def test_any_protected_internet_facing_balancer_makes_every_one_production(monkeypatch):
    protected = kit(enableDeletionProtection=True)
    other = alb("other")
    resources = [*protected, other, http(other, "other-http", FORWARD)]
    assert findings(resources, "staging", monkeypatch) == [no_https("other"), plain_http("other-http", "other")]


def test_is_production(monkeypatch):
    monkeypatch.setenv("PULUMI_STACK", "qa")
    args = StackValidationArgs([], {})
    assert elb.is_production(args, []) is False
    assert elb.is_production(args, [alb(enableDeletionProtection=False), alb(enableDeletionProtection=True)]) is True
    monkeypatch.setenv("PULUMI_STACK", "prod")
    assert elb.is_production(args, []) is True


# ----------------------------------------------------------------------------- which balancers are judged


@pytest.mark.parametrize(("props", "judged"), [
    ({}, True),
    ({"loadBalancerType": "network"}, False),
    ({"loadBalancerType": "gateway"}, False),
    ({"internal": True}, False),
    ({"internal": False}, True),
])
def test_only_internet_facing_application_balancers_are_judged(monkeypatch, props, judged):
    balancer = stack_resource(elb.LOAD_BALANCER, "lb", props)
    resources = [balancer, http(balancer, actions=FORWARD)]
    expected = [no_https("lb"), plain_http("http", "lb")] if judged else []
    assert findings(resources, "prod", monkeypatch) == expected


def test_listeners_without_a_balancer_are_not_judged(monkeypatch):
    assert findings([http(None, actions=FORWARD)], "prod", monkeypatch) == []


# ----------------------------------------------------------------------------- HTTPS listeners


@pytest.mark.parametrize(("props", "expected"), [
    ({}, []),
    ({"sslPolicy": "ELBSecurityPolicy-TLS13-1-3-2021-06"}, []),
    ({"sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06"}, []),
    ({"sslPolicy": "ELBSecurityPolicy-2016-08"}, [weak_tls("ELBSecurityPolicy-2016-08")]),
    ({"sslPolicy": "ELBSecurityPolicy-TLS-1-2-2017-01"}, [weak_tls("ELBSecurityPolicy-TLS-1-2-2017-01")]),
    ({"sslPolicy": "ELBSecurityPolicy-FS-1-2-Res-2020-10"}, [weak_tls("ELBSecurityPolicy-FS-1-2-Res-2020-10")]),
    ({"sslPolicy": None}, [weak_tls("the default (TLS 1.0)")]),
    ({"sslPolicy": ""}, [weak_tls("the default (TLS 1.0)")]),
    ({"certificateArn": None}, [(f"HTTPS listener https has no certificate. {FIX}.", "https")]),
    ({"certificateArn": None, "sslPolicy": None},
     [(f"HTTPS listener https has no certificate. {FIX}.", "https"), weak_tls("the default (TLS 1.0)")]),
])
def test_https_listeners_have_a_certificate_and_tls13(monkeypatch, props, expected):
    balancer = alb()
    assert findings([balancer, https(balancer, **props), http(balancer)], "prod", monkeypatch) == expected


def test_lower_case_protocols_are_read_as_aws_does(monkeypatch):
    balancer = alb()
    resources = [balancer, listener("https", balancer, "https", sslPolicy="ELBSecurityPolicy-2016-08",
                                    certificateArn=CERTIFICATE),
                 listener("http", balancer, "http", defaultActions=FORWARD)]
    assert findings(resources, "prod", monkeypatch) == [weak_tls("ELBSecurityPolicy-2016-08"), plain_http()]


def test_an_https_listener_of_another_balancer_does_not_count(monkeypatch):
    a, b = alb("a"), alb("b")
    resources = [a, b, https(a, "a-https"), http(a, "a-http"), http(b, "b-http")]
    assert findings(resources, "prod", monkeypatch) == [no_https("b")]


# ----------------------------------------------------------------------------- HTTP listeners


@pytest.mark.parametrize(("actions", "answers_301"), [
    (REDIRECT_301, True),
    ([{"type": "redirect", "redirect": {"protocol": "HTTPS", "statusCode": "HTTP_301"}}], True),
    ([*FORWARD, *REDIRECT_301], True),
    ([{"type": "redirect", "redirect": {"port": "443", "protocol": "HTTPS", "statusCode": "HTTP_302"}}], False),
    ([{"type": "redirect", "redirect": {"port": "443", "protocol": "HTTPS"}}], False),
    ([{"type": "redirect", "redirect": {"port": "443", "protocol": "HTTP", "statusCode": "HTTP_301"}}], False),
    ([{"type": "redirect", "redirect": {"port": "443", "statusCode": "HTTP_301"}}], False),  # #{protocol}: HTTP
    ([{"type": "redirect", "redirect": None}], False),
    ([{"type": "redirect"}], False),
    ([{"type": "fixed-response", "redirect": {"protocol": "HTTPS", "statusCode": "HTTP_301"}}], False),
    (FORWARD, False),
    ([], False),
    (None, False),
])
def test_http_listeners_only_answer_301_to_https(monkeypatch, actions, answers_301):
    balancer = alb()
    resources = [balancer, https(balancer), listener("http", balancer, "HTTP", defaultActions=actions)]
    assert findings(resources, "prod", monkeypatch) == ([] if answers_301 else [plain_http()])


def test_other_protocols_are_neither_https_nor_plain_http(monkeypatch):
    balancer = alb()
    odd = listener("odd", balancer, "TCP", defaultActions=FORWARD)
    assert findings([balancer, https(balancer), odd], "prod", monkeypatch) == []
    assert findings([balancer, odd], "prod", monkeypatch) == [no_https()]


# ----------------------------------------------------------------------------- listeners found by ARN


def test_listeners_by_arn_when_there_is_no_dependency(monkeypatch):
    arn = "arn:aws:elasticloadbalancing:eu-central-1:111122223333:loadbalancer/app/alb/0123456789abcdef"
    balancer = alb(arn=arn)
    other = alb("other", arn=arn.replace("/alb/", "/other/"))
    resources = [balancer, other, http(None, "other-http", FORWARD, loadBalancerArn=other.props["arn"]),
                 https(None, loadBalancerArn=arn), http(None, loadBalancerArn=arn)]
    assert findings(resources, "prod", monkeypatch) == [no_https("other"), plain_http("other-http", "other")]


def test_a_balancer_without_an_arn_has_only_its_dependents(monkeypatch):
    balancer = alb()  # in a preview the ARN is unknown: it is not among the props
    stray = http(None, "stray", FORWARD)  # its loadBalancerArn unknown too
    assert findings([balancer, stray], "prod", monkeypatch) == [no_https()]
    assert elb._listeners_of(balancer, [stray]) == []


# ----------------------------------------------------------------------------- alb-https-when-certificate


def test_listeners_of_a_balancer_from_another_stack_are_grouped_by_its_arn(monkeypatch):
    """A listener on a shared ALB whose ARN comes from a StackReference: the reference is no balancer."""
    arn = "arn:aws:elasticloadbalancing:eu-central-1:111122223333:loadbalancer/app/shared/0123456789abcdef"
    shared = stack_resource("pulumi:pulumi:StackReference", "network", {"name": "org/network/prod"})
    resources = [shared, *(stack_resource(elb.LISTENER, name, {"protocol": protocol, "loadBalancerArn": arn,
                                                               "defaultActions": FORWARD},
                                          {"loadBalancerArn": [shared]})
                           for name, protocol in (("https", "HTTPS"), ("http", "HTTP")))]
    assert stack_findings(elb.https_when_certificate, resources) == [
        (f"{arn} has an HTTPS listener but HTTP listener http does not redirect to HTTPS.", "http")]


@pytest.mark.parametrize(("protocols", "expected"), [
    (("HTTP",), ["The stack has an ACM certificate but no HTTPS listener: serve HTTPS with it."]),
    ((None,), ["The stack has an ACM certificate but no HTTPS listener: serve HTTPS with it."]),
    (("https",), []),
])
def test_a_certificate_asks_for_an_https_listener(protocols, expected):
    balancer = alb()
    resources = [balancer, stack_resource(elb.CERTIFICATE, "certificate", {"domainName": "api.example.com"}),
                 *(listener(f"l{i}", balancer, protocol) for i, protocol in enumerate(protocols))]
    assert [message for message, _ in stack_findings(elb.https_when_certificate, resources)] == expected
