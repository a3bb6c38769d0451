"""Elastic Load Balancing: explicit health checks and a hardened, HTTPS-first ALB."""

from __future__ import annotations

import os

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, Severity

from guardrails.common import config_value, of_type, related, resource_policy, short_urn, stack_policy

TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
CERTIFICATE = "aws:acm/certificate:Certificate"


def _health_check(args, report_violation):
    if args.props.get("targetType") == "lambda":
        return
    check = args.props.get("healthCheck") or {}
    if not check:
        report_violation("The target group relies on default health checks; declare health_check explicitly "
                         "(enabled, path, matcher, interval, thresholds).")
        return
    if check.get("enabled") is False:
        report_violation("The target group's health check is disabled: unhealthy tasks would keep receiving traffic.")
    protocol = check.get("protocol") or args.props.get("protocol")
    if not protocol or str(protocol).upper() in ("HTTP", "HTTPS"):  # none set: HTTP, AWS's default
        if not check.get("path"):
            report_violation("The health check has no path: set the application's health endpoint (/api/health).")
        if not check.get("matcher"):
            report_violation("The health check has no matcher: set the expected status codes (\"200\").")


target_group_health_check = resource_policy(
    "target-group-health-check",
    "Target groups declare an explicit, enabled health check with a path and a matcher, so traffic only "
    "reaches tasks whose application answers. Fix: health_check={enabled, path, matcher, ...}.",
    [TARGET_GROUP],
    _health_check,
)


def _alb_hardening(args, report_violation):
    if args.props.get("loadBalancerType", "application") != "application":
        return
    if not args.props.get("dropInvalidHeaderFields"):
        report_violation("drop_invalid_header_fields is off: malformed headers reach the application "
                         "(request smuggling). Set it to true.")
    stack = os.environ.get("PULUMI_STACK", "")
    production = config_value(args, "productionStacks", ["prod", "production"])
    if stack in production and not args.props.get("enableDeletionProtection"):
        report_violation(f"Stack '{stack}' is production: enable_deletion_protection must be true.")


alb_hardening = resource_policy(
    "alb-hardening",
    "Application load balancers drop invalid header fields and, in production stacks, have deletion "
    "protection. Fix: drop_invalid_header_fields=True, enable_deletion_protection=True in prod.",
    [LOAD_BALANCER],
    _alb_hardening,
    level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    config_schema=PolicyConfigSchema(
        properties={"productionStacks": {"type": "array", "items": {"type": "string"},
                                         "default": ["prod", "production"]}}
    ),
)


def _protocol(listener) -> str:
    """The listener's protocol, upper-cased; "NONE" when it has none (neither HTTP nor HTTPS)."""
    return str(listener.props.get("protocol")).upper()


def _https_when_certificate(args, report_violation):
    listeners = of_type(args.resources, LISTENER)
    by_balancer: dict[str, list] = {}
    for listener in listeners:
        owners = related(listener, "loadBalancerArn", LOAD_BALANCER)
        key = owners[0].urn if owners else str(listener.props.get("loadBalancerArn"))
        by_balancer.setdefault(key, []).append(listener)
    for balancer, group in by_balancer.items():
        https = [x for x in group if _protocol(x) == "HTTPS"]
        for listener in group:
            if _protocol(listener) != "HTTP" or not https:
                continue
            actions = listener.props.get("defaultActions") or []
            if not any(a.get("type") == "redirect" and (a.get("redirect") or {}).get("protocol") == "HTTPS"
                       for a in actions):
                report_violation(f"{short_urn(balancer)} has an HTTPS listener but HTTP listener "
                                 f"{listener.name} does not redirect to HTTPS.", listener.urn)
    if of_type(args.resources, CERTIFICATE) and not any(
        _protocol(x) == "HTTPS" for x in listeners
    ):
        report_violation("The stack has an ACM certificate but no HTTPS listener: serve HTTPS with it.")


https_when_certificate = stack_policy(
    "alb-https-when-certificate",
    "When a certificate exists, the load balancer serves HTTPS and its HTTP listener only redirects to HTTPS. "
    "Fix: an HTTPS listener with the certificate and an HTTP listener with a 301 redirect.",
    _https_when_certificate,
    level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
)

def _listeners_of(balancer, listeners) -> list:
    arn = balancer.props.get("arn")
    return [x for x in listeners if balancer.urn in {r.urn for r in related(x, "loadBalancerArn")}
            or (arn and x.props.get("loadBalancerArn") == arn)]


def is_production(args, balancers) -> bool:
    """A production stack by name (productionStacks), or a protected one (the kit's `protect`: ALB deletion
    protection on)."""
    production = config_value(args, "productionStacks", ["prod", "production"])
    return (os.environ.get("PULUMI_STACK", "") in production
            or any(b.props.get("enableDeletionProtection") is True for b in balancers))


def _https_in_production(args, report_violation):
    balancers = [b for b in of_type(args.resources, LOAD_BALANCER)
                 if b.props.get("loadBalancerType", "application") == "application" and not b.props.get("internal")]
    if not balancers or not is_production(args, balancers):
        return
    fix = "Fix: pulumi config set domainName <api.example.com> (or certificateArn with domainName)"
    listeners = of_type(args.resources, LISTENER)
    for balancer in balancers:
        mine = _listeners_of(balancer, listeners)
        https = [x for x in mine if _protocol(x) == "HTTPS"]
        if not https:
            report_violation(f"{short_urn(balancer.urn)} serves production without HTTPS. {fix}.", balancer.urn)
        for listener in https:
            policy = str(listener.props.get("sslPolicy") or "")
            if not listener.props.get("certificateArn"):
                report_violation(f"HTTPS listener {listener.name} has no certificate. {fix}.", listener.urn)
            if not policy.startswith("ELBSecurityPolicy-TLS13"):
                named = policy or "the default (TLS 1.0)"
                report_violation(f"HTTPS listener {listener.name} uses security policy {named}; use a TLS 1.3 "
                                 "policy such as ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09.", listener.urn)
        for listener in mine:
            if _protocol(listener) != "HTTP":
                continue
            redirects = [a for a in listener.props.get("defaultActions") or []
                         if a.get("type") == "redirect" and (a.get("redirect") or {}).get("protocol") == "HTTPS"
                         and (a.get("redirect") or {}).get("statusCode") == "HTTP_301"]
            if not redirects:
                report_violation(f"HTTP listener {listener.name} of {short_urn(balancer.urn)} serves production "
                                 f"traffic in plain text; it must answer 301 to HTTPS. {fix}.", listener.urn)


https_in_production = stack_policy(
    "alb-https-in-production",
    "In production (a stack in productionStacks, or a protected one), internet-facing load balancers serve "
    "HTTPS with a certificate and a TLS 1.3 security policy, and every HTTP listener only answers 301 to "
    "HTTPS; plain HTTP is for unprotected stacks (allowPlainHttp). Fix: pulumi config set domainName "
    "<api.example.com>.",
    _https_in_production,
    severity=Severity.HIGH,
    config_schema=PolicyConfigSchema(
        properties={"productionStacks": {"type": "array", "items": {"type": "string"},
                                         "default": ["prod", "production"]}}
    ),
)

POLICIES = [target_group_health_check, alb_hardening, https_when_certificate, https_in_production]
