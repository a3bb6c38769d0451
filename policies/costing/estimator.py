"""Estimate a stack's monthly AWS bill from its resource graph.

Pure over ``CostResource`` values (type, props, property dependencies) so the policy pack (which
sees ``PolicyResource``) and the offline plan (which sees planned resources) share it. Counts come
from the graph; traffic-dependent usage comes from ``Assumptions``. Values unknown at preview are
reported as unknown items, never guessed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PRICE_FILE = Path(__file__).with_name("prices.json")

SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
SECRET = "aws:secretsmanager/secret:Secret"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
REPOSITORY = "aws:ecr/repository:Repository"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"


@dataclass
class Assumptions:
    """Usage the graph cannot tell; defaults documented in the README."""

    log_gb_per_month: float = 5.0  # GB ingested into CloudWatch Logs
    nat_gb_per_month: float = 20.0  # GB processed by NAT gateways
    alb_lcu: float = 1.0  # average load balancer capacity units
    endpoint_gb_per_month: float = 0.0  # GB through interface endpoints
    ecr_gb: float = 3.0  # image storage (about ten 300 MB images)
    secrets_api_calls_per_month: float = 10_000.0  # task starts x secrets, rotations, tooling


@dataclass
class CostResource:
    urn: str
    type: str
    name: str
    props: Mapping[str, Any]
    property_dependencies: Mapping[str, list[str]] = field(default_factory=dict)


@dataclass
class LineItem:
    item: str
    quantity: float
    unit: str
    unit_price: float

    @property
    def monthly(self) -> float:
        return self.quantity * self.unit_price


@dataclass
class Estimate:
    region: str
    retrieved: str
    lines: list[LineItem]
    unknown: list[str]

    @property
    def total(self) -> float:
        return sum(line.monthly for line in self.lines)

    def to_dict(self) -> dict:
        return {
            "region": self.region,
            "pricesRetrieved": self.retrieved,
            "lines": [{**asdict(line), "monthly": round(line.monthly, 4)} for line in self.lines],
            "unknown": self.unknown,
            "totalMonthlyUsd": round(self.total, 2),
        }


def load_prices(path: Path = PRICE_FILE) -> dict:
    return json.loads(path.read_text())


def _num(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _task_definition_of(service: CostResource, by_urn: dict[str, CostResource], resources) -> CostResource | None:
    for urn in service.property_dependencies.get("taskDefinition", []):
        if urn in by_urn:
            return by_urn[urn]
    arn = service.props.get("taskDefinition")
    return next((r for r in resources if r.type == TASK_DEFINITION and arn and r.props.get("arn") == arn), None)


def estimate(
    resources: Iterable[CostResource],
    region: str,
    assumptions: Assumptions | None = None,
    prices: dict | None = None,
) -> Estimate:
    assumptions = assumptions or Assumptions()
    prices = prices or load_prices()
    if region not in prices["regions"]:
        raise ValueError(f"no prices for region {region!r}: the table covers {sorted(prices['regions'])}")
    p = prices["regions"][region]
    hours = prices["hoursPerMonth"]
    resources = list(resources)
    by_urn = {r.urn: r for r in resources}
    of = {t: [r for r in resources if r.type == t] for t in {r.type for r in resources}}
    lines: list[LineItem] = []
    unknown: list[str] = []

    public_task_ips = 0.0
    for service in of.get(SERVICE, []):
        task = _task_definition_of(service, by_urn, resources)
        desired = _num(service.props.get("desiredCount"))
        cpu = _num(task.props.get("cpu")) if task else None
        memory = _num(task.props.get("memory")) if task else None
        if task is None or None in (desired, cpu, memory):
            unknown.append(f"Fargate for {service.name}: task size or desired count not known until deployment")
            continue
        arch = "arm64" if (task.props.get("runtimePlatform") or {}).get("cpuArchitecture") == "ARM64" else "x86_64"
        strategy = (service.props.get("capacityProviderStrategies") or [{}])[0].get("capacityProvider")
        market = "spot" if strategy == "FARGATE_SPOT" else "onDemand"
        fargate = p["fargate"][arch][market]
        label = f"{arch}, {'Spot' if market == 'spot' else 'on-demand'}, {desired:g} task(s)"
        lines.append(LineItem(f"Fargate vCPU ({label})", desired * cpu / 1024 * hours, "vCPU-hour",
                              fargate["vcpuHour"]))
        lines.append(LineItem(f"Fargate memory ({label})", desired * memory / 1024 * hours, "GB-hour",
                              fargate["gbHour"]))
        if (service.props.get("networkConfiguration") or {}).get("assignPublicIp"):
            public_task_ips += desired

    albs = [lb for lb in of.get(LOAD_BALANCER, []) if lb.props.get("loadBalancerType", "application") == "application"]
    if albs:
        lines.append(LineItem(f"ALB ({len(albs)})", len(albs) * hours, "hour", p["alb"]["hour"]))
        lines.append(LineItem(f"ALB capacity units (assumed {assumptions.alb_lcu:g} LCU)",
                              len(albs) * assumptions.alb_lcu * hours, "LCU-hour", p["alb"]["lcuHour"]))
    alb_ips = sum(len(lb.props.get("subnets") or []) for lb in albs if not lb.props.get("internal"))

    nats = of.get(NAT_GATEWAY, [])
    if nats:
        lines.append(LineItem(f"NAT gateway ({len(nats)})", len(nats) * hours, "hour", p["nat"]["hour"]))
        lines.append(LineItem(f"NAT data processed (assumed {assumptions.nat_gb_per_month:g} GB)",
                              assumptions.nat_gb_per_month, "GB", p["nat"]["gb"]))

    eips = len(of.get(EIP, []))
    ips = eips + alb_ips + public_task_ips
    if ips:
        lines.append(LineItem(
            f"Public IPv4 ({eips:g} EIP, {alb_ips:g} ALB, {public_task_ips:g} task)", ips * hours, "IP-hour",
            p["publicIpv4Hour"]))

    secrets = len(of.get(SECRET, []))
    if secrets:
        lines.append(LineItem(f"Secrets Manager secrets ({secrets})", secrets, "secret-month",
                              p["secretsManager"]["secretMonth"]))
        lines.append(LineItem(f"Secrets Manager API calls (assumed {assumptions.secrets_api_calls_per_month:g})",
                              assumptions.secrets_api_calls_per_month / 10_000, "10k calls",
                              p["secretsManager"]["per10kCalls"]))

    groups = of.get(LOG_GROUP, [])
    if groups:
        lines.append(LineItem(f"CloudWatch Logs ingestion (assumed {assumptions.log_gb_per_month:g} GB)",
                              assumptions.log_gb_per_month, "GB", p["logs"]["ingestionGb"]))
        retention = [_num(g.props.get("retentionInDays")) for g in groups]
        # Steady state: a month's ingestion kept for `retention` days; never-expire groups are priced as a year.
        kept_days = max((d if d else 365.0) for d in retention)
        lines.append(LineItem(f"CloudWatch Logs storage ({kept_days:g}-day retention)",
                              assumptions.log_gb_per_month * kept_days / 30, "GB-month", p["logs"]["storageGbMonth"]))

    repositories = of.get(REPOSITORY, [])
    if repositories:
        lines.append(LineItem(f"ECR storage (assumed {assumptions.ecr_gb:g} GB per repository)",
                              len(repositories) * assumptions.ecr_gb, "GB-month", p["ecr"]["storageGbMonth"]))

    endpoints = [e for e in of.get(VPC_ENDPOINT, []) if e.props.get("vpcEndpointType") == "Interface"]
    if endpoints:
        azs = sum(max(1, len(e.props.get("subnetIds") or [])) for e in endpoints)
        lines.append(LineItem(f"VPC interface endpoints ({len(endpoints)}, {azs} AZ-attachments)", azs * hours,
                              "endpoint-AZ-hour", p["interfaceEndpoint"]["hourPerAz"]))
        if assumptions.endpoint_gb_per_month:
            lines.append(LineItem("VPC interface endpoint data", assumptions.endpoint_gb_per_month, "GB",
                                  p["interfaceEndpoint"]["gb"]))

    alarms = of.get(METRIC_ALARM, [])
    if alarms:
        metrics = sum(max(1, len([q for q in a.props.get("metricQueries") or [] if q.get("metric")])) for a in alarms)
        lines.append(LineItem(f"CloudWatch alarms ({len(alarms)}, {metrics} metrics)", metrics, "alarm-metric-month",
                              p["cloudwatch"]["alarmMetricMonth"]))
    dashboards = len(of.get(DASHBOARD, []))
    if dashboards:
        lines.append(LineItem(f"CloudWatch dashboards ({dashboards})", dashboards, "dashboard-month",
                              p["cloudwatch"]["dashboardMonth"]))

    return Estimate(region=region, retrieved=prices["retrieved"], lines=lines, unknown=unknown)


def format_estimate(result: Estimate) -> str:
    width = max((len(line.item) for line in result.lines), default=10)
    rows = [f"Monthly cost estimate ({result.region}, list prices of {result.retrieved})"]
    for line in result.lines:
        rows.append(f"  {line.item:<{width}}  {line.quantity:>10.2f} {line.unit:<18} x ${line.unit_price:<9g}"
                    f" = ${line.monthly:>8.2f}")
    rows.append(f"  {'Total':<{width}}  {'':>10} {'':<18}   {'':<9}  = ${result.total:>8.2f} / month")
    rows += [f"  not priced: {item}" for item in result.unknown]
    return "\n".join(rows)
