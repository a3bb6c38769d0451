"""Amazon CloudWatch: log retention and alarm routing."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, Severity

from guardrails.common import config_value, number, resource_policy

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def log_retention_days() -> tuple[int, ...]:
    """The values CloudWatch Logs accepts for retentionInDays (0, never expire, is refused by this pack). Kept
    equal to infra/config.py's LOG_RETENTION_DAYS by a test."""
    return (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)


DEFAULT_RETENTION_DAYS = 7


def retention_problem(days: float | None, wanted: int = DEFAULT_RETENTION_DAYS) -> str | None:
    """The message for a log group retention other than ``wanted`` days, or None. infra/config.py mirrors this
    rule for logRetentionDays."""
    if not days:
        return f"Log group never expires its logs (retentionInDays unset or 0). Set retentionInDays = {wanted}."
    if days != wanted:
        return f"Log group keeps logs {days:g} days; the guideline is exactly {wanted}. Set retentionInDays = {wanted}."
    return None


def _retention(args, report_violation):
    problem = retention_problem(number(args.props.get("retentionInDays")),
                                config_value(args, "retentionDays", DEFAULT_RETENTION_DAYS))
    if problem:
        report_violation(problem)


log_retention = resource_policy(
    "log-retention",
    "Every CloudWatch log group keeps logs exactly the configured number of days (7 by default): never-expire "
    "groups grow cost forever, longer ones cost more than the deployment notes budget. Fix: retention_in_days=7.",
    [LOG_GROUP],
    _retention,
    severity=Severity.MEDIUM,
    config_schema=PolicyConfigSchema(properties={"retentionDays": {
        "type": "integer", "default": DEFAULT_RETENTION_DAYS, "enum": list(log_retention_days())}}),
)


def _alarm_actions(args, report_violation):
    actions = args.props.get("alarmActions") or []
    if not actions:
        report_violation("The alarm notifies nobody: add an SNS topic to alarm_actions.")
    elif not any(str(a).startswith("arn:aws:sns:") for a in actions):
        report_violation(f"The alarm's actions {actions} include no SNS topic; route alarms to the team's topic.")


alarm_actions_to_topic = resource_policy(
    "alarm-actions-to-topic",
    "CloudWatch alarms notify an SNS topic (alarm_actions), so somebody hears about them. Fix: "
    "alarm_actions=[topic.arn].",
    [METRIC_ALARM],
    _alarm_actions,
    level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
)

POLICIES = [log_retention, alarm_actions_to_topic]
