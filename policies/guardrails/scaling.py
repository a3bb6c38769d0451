"""Load-balanced ECS services scale with traffic and roll back on error-rate alarms."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Severity

from guardrails.common import of_type, related, short_urn, stack_policy

SERVICE = "aws:ecs/service:Service"
SCALABLE_TARGET = "aws:appautoscaling/target:Target"
SCALING_POLICY = "aws:appautoscaling/policy:Policy"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ERROR_METRICS = {"HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count"}


def _load_balanced(resources):
    return [s for s in of_type(resources, SERVICE) if s.props.get("loadBalancers")]


def _names_service(target, name: str) -> bool:
    """A target whose resourceId ("service/<cluster>/<name>") is known and names the service."""
    resource_id = target.props.get("resourceId")
    return isinstance(resource_id, str) and resource_id.endswith(f"/{name}")


def _autoscaling(args, report_violation):
    targets = of_type(args.resources, SCALABLE_TARGET)
    policies = of_type(args.resources, SCALING_POLICY)
    for service in _load_balanced(args.resources):
        name = service.props.get("name") or service.name
        # A URN names its resource type, so matching URNs needs no type filter.
        mine = [t for t in targets
                if service.urn in {r.urn for r in related(t, "resourceId")} or _names_service(t, name)]
        if not mine:
            report_violation(f"Service {short_urn(service.urn)} has no Application Auto Scaling target: it cannot "
                             "grow with traffic.", service.urn)
            continue
        scaled = {t.urn for t in mine}
        if not any(scaled & {r.urn for r in related(p, "resourceId")} for p in policies):
            report_violation(f"Service {short_urn(service.urn)} has a scaling target but no scaling policy.",
                             service.urn)


service_autoscaling = stack_policy(
    "ecs-service-autoscaling",
    "Every load-balanced ECS service has an Application Auto Scaling target with at least one scaling policy "
    "(target tracking on CPU or requests per target). Fix: aws.appautoscaling.Target + Policy.",
    _autoscaling,
    level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
)


def _alarm_metrics(alarm) -> set[str]:
    names = {alarm.props.get("metricName")}
    names |= {(q.get("metric") or {}).get("metricName") for q in alarm.props.get("metricQueries") or []}
    return {n for n in names if n}


def _error_alarms(args, report_violation):
    alarms = of_type(args.resources, METRIC_ALARM)
    error_alarms = {a.props.get("name") or a.name: a for a in alarms if _alarm_metrics(a) & ERROR_METRICS}
    for service in _load_balanced(args.resources):
        if not error_alarms:
            report_violation(f"No alarm watches the 5xx rate of {short_urn(service.urn)}'s load balancer.",
                             service.urn)
            continue
        deployment = service.props.get("alarms") or {}
        guarded = set(deployment.get("alarmNames") or []) & set(error_alarms)
        if not (deployment.get("enable") and deployment.get("rollback") and guarded):
            report_violation(f"Service {short_urn(service.urn)} does not roll back on its error-rate alarms: set "
                             "alarms={alarm_names: [...5xx alarms], enable: true, rollback: true}.", service.urn)


service_error_alarms = stack_policy(
    "ecs-service-error-alarms",
    "Every load-balanced ECS service has 5xx error-rate alarms, and its deployments roll back when they fire "
    "(deployment alarms). Fix: CloudWatch alarms on HTTPCode_ELB_5XX_Count/HTTPCode_Target_5XX_Count and "
    "the service's alarms={..., rollback: true}.",
    _error_alarms,
    level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
)

POLICIES = [service_autoscaling, service_error_alarms]
