"""Amazon CloudWatch: log retention and alarm routing."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, Severity

from guardrails.common import config_value, number, resource_policy

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def _retention(args, report_violation):
    wanted = config_value(args, "retentionDays", 7)
    days = number(args.props.get("retentionInDays"))
    if not days:
        report_violation(f"Log group never expires its logs (retentionInDays unset or 0). "
                         f"Set retentionInDays = {wanted}.")
    elif days != wanted:
        report_violation(f"Log group keeps logs {days:g} days; the guideline is exactly {wanted}. "
                         f"Set retentionInDays = {wanted}.")


log_retention = resource_policy(
    "log-retention",
    "Every CloudWatch log group keeps logs exactly the configured number of days (7 by default): never-expire "
    "groups grow cost forever, longer ones cost more than the deployment notes budget. Fix: retention_in_days=7.",
    [LOG_GROUP],
    _retention,
    severity=Severity.MEDIUM,
    config_schema=PolicyConfigSchema(properties={"retentionDays": {"type": "integer", "default": 7, "minimum": 1}}),
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
