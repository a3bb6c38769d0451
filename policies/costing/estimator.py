"""Estimate a stack's monthly AWS bill from its resource graph.

Pure over ``CostResource`` values (type, props, property dependencies) so the policy pack (which
sees ``PolicyResource``) and the offline plan (which sees planned resources) share it. Counts come
from the graph; traffic-dependent usage comes from ``Assumptions``. Values unknown at preview are
reported as unknown items, never guessed. A region the price table does not list is priced at the
highest listed price of each item (``region_prices``) and the estimate says it is approximate.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
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
CLUSTER = "aws:ecs/cluster:Cluster"
SCALING_POLICY = "aws:appautoscaling/policy:Policy"
KMS_KEY = "aws:kms/key:Key"

MINUTES_PER_HOUR = 60
BYTES_PER_GB = 1e9
# Container Insights (standard) publishes these ECS/ContainerInsights metrics for Fargate, per the CloudWatch
# User Guide's "Amazon ECS Container Insights metrics" table: CpuUtilized, CpuReserved, MemoryUtilized,
# MemoryReserved, NetworkRxBytes, NetworkTxBytes, StorageReadBytes, StorageWriteBytes for each of the dimension sets
# ClusterName / ServiceName+ClusterName / TaskDefinitionFamily+ClusterName, plus EphemeralStorageReserved and
# EphemeralStorageUtilized for Fargate platform 1.4 (not in that table; seen in Fargate performance events);
# ServiceCount and TaskCount per cluster; DesiredTaskCount, RunningTaskCount, PendingTaskCount, DeploymentCount
# and TaskSetCount per service. ContainerInstanceCount is for EC2 container instances and is left out.
INSIGHTS_METRICS_PER_DIMENSION_SET = 8 + 2
INSIGHTS_METRICS_PER_CLUSTER = INSIGHTS_METRICS_PER_DIMENSION_SET + 2
INSIGHTS_METRICS_PER_SERVICE = INSIGHTS_METRICS_PER_DIMENSION_SET + 5
INSIGHTS_METRICS_PER_FAMILY = INSIGHTS_METRICS_PER_DIMENSION_SET
# Performance log events, one of each per minute: sizes of the example events in the CloudWatch User Guide's
# "Container Insights performance log events for Amazon ECS", as compact JSON.
INSIGHTS_TASK_EVENT_BYTES = 1303
INSIGHTS_CONTAINER_EVENT_BYTES = 645
INSIGHTS_SERVICE_EVENT_BYTES = 541
INSIGHTS_CLUSTER_EVENT_BYTES = 371
# ECS's defaults for what a canary or linear deployment leaves out (API Reference: CanaryConfiguration,
# LinearConfiguration): the canary takes 5 % for 10 minutes; linear shifts 10 % per step, 6 minutes apart.
CANARY_PERCENT = 5.0
CANARY_BAKE_MINUTES = 10.0
LINEAR_STEP_PERCENT = 10.0
LINEAR_STEP_MINUTES = 6.0
# Application Auto Scaling creates two alarms for each target tracking policy (AlarmHigh, AlarmLow).
ALARMS_PER_TARGET_TRACKING_POLICY = 2


@dataclass
class Assumptions:
    """Usage the graph cannot tell; defaults documented in the README."""

    log_gb_per_month: float = 5.0  # GB ingested into CloudWatch Logs
    nat_gb_per_month: float = 20.0  # GB processed by NAT gateways
    alb_lcu: float = 1.0  # average load balancer capacity units
    endpoint_gb_per_month: float = 0.0  # GB through interface endpoints
    ecr_gb: float = 3.0  # image storage (about ten 300 MB images)
    secrets_api_calls_per_month: float = 10_000.0  # task starts x secrets, rotations, tooling
    deploys_per_month: float = 20.0  # releases: blue/green, canary and linear run two task sets during each


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
    approximate: str | None = None  # why the figure is approximate (a region the table does not list)

    @property
    def total(self) -> float:
        return sum(line.monthly for line in self.lines)

    def to_dict(self) -> dict:
        return {
            "region": self.region,
            "pricesRetrieved": self.retrieved,
            "lines": [{**asdict(line), "monthly": round(line.monthly, 4)} for line in self.lines],
            "unknown": self.unknown,
            "approximate": self.approximate,
            "totalMonthlyUsd": round(self.total, 2),
        }


def load_prices(path: Path = PRICE_FILE) -> dict:
    return json.loads(path.read_text())


def _num(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _task_definition_of(service: CostResource, by_urn: dict[str, CostResource],
                        task_definitions: list[CostResource]) -> CostResource | None:
    """By property dependency, else by the service's ``taskDefinition``: an ARN, ``family:revision`` or family."""
    for urn in service.property_dependencies.get("taskDefinition", []):
        if urn in by_urn:
            return by_urn[urn]
    reference = service.props.get("taskDefinition")
    if not isinstance(reference, str):
        return None
    exact = next((t for t in task_definitions if t.props.get("arn") == reference), None)
    if exact is not None:
        return exact
    # arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>; a family has no "/" or ":".
    family = reference.split("/")[-1].split(":")[0]
    return next((t for t in task_definitions if t.props.get("family") == family), None)


def _highest(tables: list[Any]) -> Any:
    """Item by item, the highest price of several regions' tables (an item any of them lists)."""
    if isinstance(tables[0], dict):
        items = {key for table in tables for key in table}
        return {key: _highest([t[key] for t in tables if key in t]) for key in sorted(items)}
    return max(tables)


def region_prices(region: str, prices: dict) -> tuple[dict, str | None]:
    """(the region's price table, None), or for a region the table does not list (the highest listed price of each
    item, why the figure is approximate)."""
    regions = prices["regions"]
    if region in regions:
        return regions[region], (prices.get("regionNotes") or {}).get(region)
    listed = sorted(regions)
    failure = (prices.get("regionNotes") or {}).get(region)
    return _highest([regions[r] for r in listed]), (
        (f"{failure}; " if failure else "")
        + f"no list prices for {region} in the bundled table (it has {', '.join(listed)}): priced at the highest "
        "listed price of each item, so the figure is approximate (regions such as sa-east-1 cost more). For exact "
        "figures run with AWS credentials (Pricing API) or add the region to policies/costing/prices.json")


def estimate(
    resources: Iterable[CostResource],
    region: str,
    assumptions: Assumptions | None = None,
    prices: dict | None = None,
) -> Estimate:
    assumptions = assumptions or Assumptions()
    prices = prices or load_prices()
    p, approximate = region_prices(region, prices)
    hours = prices["hoursPerMonth"]
    resources = list(resources)
    by_urn = {r.urn: r for r in resources}
    of: defaultdict[str, list[CostResource]] = defaultdict(list)  # resources by type
    for resource in resources:
        of[resource.type].append(resource)
    lines: list[LineItem] = []
    unknown: list[str] = []

    public_task_ips = 0.0
    running: list[tuple[CostResource, CostResource, float]] = []  # (service, task definition, tasks)
    for service in of[SERVICE]:
        task = _task_definition_of(service, by_urn, of[TASK_DEFINITION])
        desired = _num(service.props.get("desiredCount"))
        cpu = _num(task.props.get("cpu")) if task else None
        memory = _num(task.props.get("memory")) if task else None
        if task is None or None in (desired, cpu, memory):
            unknown.append(f"Fargate for {service.name}: task size or desired count not known until deployment")
            continue
        running.append((service, task, desired))
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
        lines += _traffic_shift(service, desired, cpu, memory, fargate, label, assumptions)

    albs = [lb for lb in of[LOAD_BALANCER] if lb.props.get("loadBalancerType", "application") == "application"]
    if albs:
        lines.append(LineItem(f"ALB ({len(albs)})", len(albs) * hours, "hour", p["alb"]["hour"]))
        lines.append(LineItem(f"ALB capacity units (assumed {assumptions.alb_lcu:g} LCU)",
                              len(albs) * assumptions.alb_lcu * hours, "LCU-hour", p["alb"]["lcuHour"]))
    alb_ips = sum(len(lb.props.get("subnets") or []) for lb in albs if not lb.props.get("internal"))

    nats = of[NAT_GATEWAY]
    if nats:
        lines.append(LineItem(f"NAT gateway ({len(nats)})", len(nats) * hours, "hour", p["nat"]["hour"]))
        lines.append(LineItem(f"NAT data processed (assumed {assumptions.nat_gb_per_month:g} GB)",
                              assumptions.nat_gb_per_month, "GB", p["nat"]["gb"]))

    eips = len(of[EIP])
    ips = eips + alb_ips + public_task_ips
    if ips:
        lines.append(LineItem(
            f"Public IPv4 ({eips:g} EIP, {alb_ips:g} ALB, {public_task_ips:g} task)", ips * hours, "IP-hour",
            p["publicIpv4Hour"]))

    secrets = len(of[SECRET])
    if secrets:
        lines.append(LineItem(f"Secrets Manager secrets ({secrets})", secrets, "secret-month",
                              p["secretsManager"]["secretMonth"]))
        lines.append(LineItem(f"Secrets Manager API calls (assumed {assumptions.secrets_api_calls_per_month:g})",
                              assumptions.secrets_api_calls_per_month / 10_000, "10k calls",
                              p["secretsManager"]["per10kCalls"]))

    groups = of[LOG_GROUP]
    if groups:
        lines.append(LineItem(f"CloudWatch Logs ingestion (assumed {assumptions.log_gb_per_month:g} GB)",
                              assumptions.log_gb_per_month, "GB", p["logs"]["ingestionGb"]))
        retention = [_num(g.props.get("retentionInDays")) for g in groups]
        # Steady state: a month's ingestion kept for `retention` days; never-expire groups are priced as a year.
        kept_days = max((d if d else 365.0) for d in retention)
        lines.append(LineItem(f"CloudWatch Logs storage ({kept_days:g}-day retention)",
                              assumptions.log_gb_per_month * kept_days / 30, "GB-month", p["logs"]["storageGbMonth"]))

    repositories = of[REPOSITORY]
    if repositories:
        lines.append(LineItem(f"ECR storage (assumed {assumptions.ecr_gb:g} GB per repository)",
                              len(repositories) * assumptions.ecr_gb, "GB-month", p["ecr"]["storageGbMonth"]))

    endpoints = [e for e in of[VPC_ENDPOINT] if e.props.get("vpcEndpointType") == "Interface"]
    if endpoints:
        azs = sum(max(1, len(e.props.get("subnetIds") or [])) for e in endpoints)
        lines.append(LineItem(f"VPC interface endpoints ({len(endpoints)}, {azs} AZ-attachments)", azs * hours,
                              "endpoint-AZ-hour", p["interfaceEndpoint"]["hourPerAz"]))
        if assumptions.endpoint_gb_per_month:
            lines.append(LineItem("VPC interface endpoint data", assumptions.endpoint_gb_per_month, "GB",
                                  p["interfaceEndpoint"]["gb"]))

    alarms = of[METRIC_ALARM]
    if alarms:
        metrics = sum(max(1, len([q for q in a.props.get("metricQueries") or [] if q.get("metric")])) for a in alarms)
        lines.append(LineItem(f"CloudWatch alarms ({len(alarms)}, {metrics} metrics)", metrics, "alarm-metric-month",
                              p["cloudwatch"]["alarmMetricMonth"]))
    tracking = [pol for pol in of[SCALING_POLICY] if pol.props.get("policyType") == "TargetTrackingScaling"]
    if tracking:
        metrics = sum(ALARMS_PER_TARGET_TRACKING_POLICY * _tracked_metrics(pol) for pol in tracking)
        lines.append(LineItem(
            f"Target tracking alarms AWS creates ({len(tracking)} policies x {ALARMS_PER_TARGET_TRACKING_POLICY})",
            metrics, "alarm-metric-month", p["cloudwatch"]["alarmMetricMonth"]))
    keys = len(of[KMS_KEY])
    if keys:
        # The first year's price: the backing keys of later yearly rotations add to it (AWS KMS pricing), not modelled.
        lines.append(LineItem(f"KMS keys ({keys}, before rotations)", keys, "key-month", p["kms"]["keyMonth"]))
    lines += _container_insights(of[CLUSTER], running, p, hours, unknown)
    dashboards = len(of[DASHBOARD])
    if dashboards:
        lines.append(LineItem(f"CloudWatch dashboards ({dashboards})", dashboards, "dashboard-month",
                              p["cloudwatch"]["dashboardMonth"]))

    return Estimate(region=region, retrieved=prices["retrieved"], lines=lines, unknown=unknown,
                    approximate=approximate)


def traffic_shift_minutes(deployment: dict) -> float | None:
    """Minutes a blue/green, canary or linear release runs the new task set beside the old one: the
    shift (canary interval, or the linear steps after the first) and the bake. None for rolling."""
    strategy = deployment.get("strategy") or "ROLLING"
    if strategy == "ROLLING":
        return None
    minutes = _minutes(deployment.get("bakeTimeInMinutes"), 0.0)  # required for BLUE_GREEN: no default to apply
    if strategy == "CANARY":
        canary = deployment.get("canaryConfiguration") or {}
        minutes += _minutes(canary.get("canaryBakeTimeInMinutes"), CANARY_BAKE_MINUTES)
    if strategy == "LINEAR":
        linear = deployment.get("linearConfiguration") or {}
        step = _num(linear.get("stepPercent")) or LINEAR_STEP_PERCENT  # 0 is not a valid step (3 to 100)
        # No step bake after the last shift to 100 %: 25 % steps bake after 25, 50 and 75 %.
        minutes += (math.ceil(100 / step) - 1) * _minutes(linear.get("stepBakeTimeInMinutes"), LINEAR_STEP_MINUTES)
    return minutes


def _minutes(value: Any, default: float) -> float:
    """A configured duration (0 is a valid one), else ECS's default."""
    minutes = _num(value)
    return default if minutes is None else minutes


def _traffic_shift(service: CostResource, desired: float, cpu: float, memory: float, fargate: dict, label: str,
                   assumptions: Assumptions) -> list[LineItem]:
    """What a traffic-shifting strategy adds: a full second task set during each release's shift and bake,
    and a second target group (which has no charge of its own)."""
    deployment = service.props.get("deploymentConfiguration") or {}
    minutes = traffic_shift_minutes(deployment)
    if minutes is None:
        return []
    strategy = str(deployment.get("strategy")).lower().replace("_", "-")
    task_hours = desired * minutes / MINUTES_PER_HOUR * assumptions.deploys_per_month
    during = f"{strategy}: second task set {minutes:g} min x {assumptions.deploys_per_month:g} releases"
    return [
        LineItem(f"Fargate vCPU ({during}, {label})", task_hours * cpu / 1024, "vCPU-hour", fargate["vcpuHour"]),
        LineItem(f"Fargate memory ({during})", task_hours * memory / 1024, "GB-hour", fargate["gbHour"]),
        LineItem(f"Second target group ({strategy}; no charge of its own, LCUs as before)", 1, "target group", 0.0),
    ]


def _tracked_metrics(policy: CostResource) -> int:
    """Metrics each alarm of a target tracking policy watches: one, or those of its metric math."""
    configuration = policy.props.get("targetTrackingScalingPolicyConfiguration") or {}
    customized = configuration.get("customizedMetricSpecification") or {}
    return max(1, len([m for m in customized.get("metrics") or [] if "metricStat" in m]))


def _insights_mode(cluster: CostResource) -> str:
    for setting in cluster.props.get("settings") or []:
        if setting.get("name") == "containerInsights":
            return str(setting.get("value") or "disabled")
    return "disabled"  # the account default is not visible in the graph


def _cluster_of(service: CostResource, clusters: list[CostResource]) -> CostResource | None:
    urns = set(service.property_dependencies.get("cluster", []))
    reference = service.props.get("cluster")
    for cluster in clusters:
        if cluster.urn in urns or (reference and reference in (cluster.props.get("arn"), cluster.props.get("name"))):
            return cluster
    return clusters[0] if len(clusters) == 1 else None


def _container_insights(clusters: list[CostResource], running, p: dict, hours: float,
                        unknown: list[str]) -> list[LineItem]:
    """Custom metrics and performance log events of the clusters with Container Insights on."""
    metrics = 0
    log_bytes_per_minute = 0.0
    cluster_of = {service.urn: _cluster_of(service, clusters) for service, _task, _tasks in running}
    for cluster in clusters:
        mode = _insights_mode(cluster)
        if mode == "enhanced":
            unknown.append(f"Container Insights with enhanced observability on {cluster.name} (priced per "
                           "observation, not modelled)")
            continue
        if mode != "enabled":
            continue
        mine = [(service, task, tasks) for service, task, tasks in running if cluster_of[service.urn] is cluster]
        families = {str(task.props.get("family") or task.urn) for _service, task, _tasks in mine}
        metrics += (INSIGHTS_METRICS_PER_CLUSTER + INSIGHTS_METRICS_PER_SERVICE * len(mine)
                    + INSIGHTS_METRICS_PER_FAMILY * len(families))
        log_bytes_per_minute += INSIGHTS_CLUSTER_EVENT_BYTES + INSIGHTS_SERVICE_EVENT_BYTES * len(mine)
        for _service, task, tasks in mine:
            per_task = INSIGHTS_TASK_EVENT_BYTES + INSIGHTS_CONTAINER_EVENT_BYTES * max(1, len(_containers(task)))
            log_bytes_per_minute += tasks * per_task
    if not metrics:
        return []
    gb = log_bytes_per_minute * MINUTES_PER_HOUR * hours / BYTES_PER_GB
    return [
        LineItem(f"Container Insights metrics ({metrics})", metrics, "metric-month",
                 p["cloudwatch"]["customMetricMonth"]),
        LineItem("Container Insights performance events", gb, "GB", p["logs"]["ingestionGb"]),
    ]


def _containers(task: CostResource) -> list:
    definitions = task.props.get("containerDefinitions")
    if isinstance(definitions, str):
        try:
            definitions = json.loads(definitions)
        except json.JSONDecodeError:
            return []
    return definitions if isinstance(definitions, list) else []


def format_estimate(result: Estimate) -> str:
    width = max((len(line.item) for line in result.lines), default=10)
    rows = [f"Monthly cost estimate ({result.region}, list prices of {result.retrieved})"]
    for line in result.lines:
        rows.append(f"  {line.item:<{width}}  {line.quantity:>10.2f} {line.unit:<18} x ${line.unit_price:<9g}"
                    f" = ${line.monthly:>8.2f}")
    rows.append(f"  {'Total':<{width}}  {'':>10} {'':<18}   {'':<9}  = ${result.total:>8.2f} / month")
    rows += [f"  not priced: {item}" for item in result.unknown]
    if result.approximate:
        rows.append(f"  approximate: {result.approximate}")
    return "\n".join(rows)
