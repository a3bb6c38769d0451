"""Evaluate the real Pulumi program offline under Pulumi's mock runtime.

The stack's configuration is assembled the way the Pulumi CLI assembles it: the project's declared
defaults from ``Pulumi.yaml``, overridden by ``Pulumi.<stack>.yaml``, every value passed as a string
and type-checked against its declaration. ``secure:`` values cannot be decrypted here, so they (and
managed secrets not set yet) are replaced by placeholders and reported.

The mocks fabricate only what AWS would compute (IDs, ARNs, DNS names, digests); every input is the
program's own.
"""

from __future__ import annotations

import hashlib
import os
import runpy
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

PROJECT_DIR = Path(__file__).resolve().parent.parent
MOCK_ACCOUNT_ID = "123456789012"  # AWS's documentation account: never a real one
SECRET_PLACEHOLDER = "offline-placeholder-secret-value"
_LOCK = threading.Lock()  # the Pulumi runtime settings are process-global


class StackFileError(Exception):
    """Pulumi.yaml or a stack file is malformed or a value has the wrong declared type."""


@dataclass
class PlannedResource:
    urn: str
    type: str
    name: str
    id: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    parent: str | None
    protect: bool
    ignore_changes: list[str]
    dependencies: list[str]
    custom: bool
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    # The inputs exactly as the engine received them (secrets wrapped, unknowns as the sentinel):
    # what an analyzer is sent.
    raw_inputs: Any = None


@dataclass
class PlannedStack:
    project: str
    stack: str
    region: str
    config: dict[str, str]  # "<namespace>:<key>" -> string value, as the program saw it
    secret_keys: list[str]
    placeholder_secrets: list[str]  # config keys (no namespace) filled with a placeholder
    resources: list[PlannedResource]
    outputs: dict[str, Any]
    preview: bool = False
    notes: list[str] = field(default_factory=list)

    def of_type(self, type_token: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> PlannedResource:
        found = [r for r in self.of_type(type_token) if name is None or r.name == name]
        if len(found) != 1:
            raise LookupError(f"expected one {type_token} named {name!r}, found {len(found)}")
        return found[0]

    def by_urn(self, urn: str) -> PlannedResource:
        return next(r for r in self.resources if r.urn == urn)


# --------------------------------------------------------------------------- configuration


def load_project(project_dir: Path) -> dict:
    path = project_dir / "Pulumi.yaml"
    try:
        project = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise StackFileError(f"{path}: cannot read the project file: {exc}") from exc
    if not isinstance(project, dict) or "name" not in project:
        raise StackFileError(f"{path}: not a Pulumi project file (no 'name')")
    return project


def _config_string(value: Any) -> str:
    """What the CLI hands the program: primitives formatted as Go's %v does."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _matches_declared_type(type_name: str, text: str) -> bool:
    if type_name == "integer":
        try:
            int(text)
        except ValueError:
            return False
        return True
    if type_name == "boolean":
        return text in ("true", "false")
    return True


def stack_config(
    project_dir: Path, stack: str, overrides: Mapping[str, Any] | None = None
) -> tuple[dict[str, str], list[str], str]:
    """Merged config (namespaced keys -> strings), the secret keys, and the project name."""
    project = load_project(project_dir)
    name = project["name"]
    stack_path = project_dir / f"Pulumi.{stack}.yaml"
    if not stack_path.exists():
        raise StackFileError(
            f"{stack_path} does not exist. Fix: pulumi stack init {stack} (and commit Pulumi.{stack}.yaml)"
        )
    try:
        stack_file = yaml.safe_load(stack_path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise StackFileError(f"{stack_path}: invalid YAML: {exc}") from exc

    raw: dict[str, Any] = dict(stack_file.get("config") or {})
    for key, value in (overrides or {}).items():
        raw[key if ":" in key else f"{name}:{key}"] = value

    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in raw.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[key] = SECRET_PLACEHOLDER
            secret_keys.append(key)
        elif isinstance(value, dict | list):
            raise StackFileError(f"{stack_path}: {key} must be a plain value, not {type(value).__name__}")
        else:
            config[key] = _config_string(value)

    declarations = project.get("config") or {}
    for key, declaration in declarations.items():
        full_key = key if ":" in key else f"{name}:{key}"
        if not isinstance(declaration, dict):
            continue
        type_name = declaration.get("type")
        if full_key in config:
            if type_name and not _matches_declared_type(type_name, config[full_key]):
                raise StackFileError(
                    f"Stack '{stack}' with configuration key '{key}' must be of type '{type_name}' "
                    f"(got {config[full_key]!r} in {stack_path.name})"
                )
        elif "default" in declaration:
            config[full_key] = _config_string(declaration["default"])
        else:
            raise StackFileError(f"Stack '{stack}' is missing configuration value '{key}'")
    return config, secret_keys, name


# --------------------------------------------------------------------------- mocks


def _hex(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


class AwsMocks(pulumi_mocks.Mocks):
    """Fabricates the values AWS computes; raises on anything it does not know."""

    def __init__(self, region: str):
        self.region = region

    def call(self, args: pulumi_mocks.MockCallArgs):
        region, account = self.region, MOCK_ACCOUNT_ID
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{region}{suffix}" for suffix in "abc"]
            return {"names": names, "zoneIds": [f"euc1-az{i + 1}" for i in range(3)], "id": region}
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": region, "region": region, "id": region, "endpoint": f"ec2.{region}.amazonaws.com"}
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": account, "arn": f"arn:aws:iam::{account}:user/offline", "userId": "OFFLINE"}
        if args.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {
                "authorizationToken": "offline-token",
                "userName": "AWS",
                "password": "offline-password",
                "proxyEndpoint": f"https://{account}.dkr.ecr.{region}.amazonaws.com",
                "expiresAt": "2099-01-01T00:00:00Z",
                "id": region,
            }
        raise NotImplementedError(f"offline runtime: no mock for invoke {args.token}")

    def new_resource(self, args: pulumi_mocks.MockResourceArgs):
        region, account = self.region, MOCK_ACCOUNT_ID
        inputs = dict(args.inputs)
        token, logical = args.typ, args.name
        suffix = _hex(token, logical)
        physical = inputs.get("name") or f"{logical}-{suffix[:7]}"
        state: dict[str, Any] = dict(inputs)
        resource_id = f"{logical}-{suffix[:8]}"

        def arn(service: str, resource: str, with_region: bool = True) -> str:
            return f"arn:aws:{service}:{region if with_region else ''}:{account}:{resource}"

        match token:
            case "aws:ec2/vpc:Vpc":
                resource_id = f"vpc-{suffix}"
                state["arn"] = arn("ec2", f"vpc/{resource_id}")
            case "aws:ec2/subnet:Subnet":
                resource_id = f"subnet-{suffix}"
                state["arn"] = arn("ec2", f"subnet/{resource_id}")
            case "aws:ec2/internetGateway:InternetGateway":
                resource_id = f"igw-{suffix}"
            case "aws:ec2/eip:Eip":
                resource_id = f"eipalloc-{suffix}"
                state.update(allocationId=resource_id, publicIp=f"198.51.100.{int(suffix[:2], 16) % 250 + 1}")
            case "aws:ec2/natGateway:NatGateway":
                resource_id = f"nat-{suffix}"
            case "aws:ec2/routeTable:RouteTable":
                resource_id = f"rtb-{suffix}"
            case "aws:ec2/securityGroup:SecurityGroup":
                resource_id = f"sg-{suffix}"
                state.update(arn=arn("ec2", f"security-group/{resource_id}"), name=physical)
            case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" | (
                "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
            ):
                resource_id = f"sgr-{suffix}"
            case "aws:ecr/repository:Repository":
                resource_id = physical
                state.update(
                    name=physical,
                    arn=arn("ecr", f"repository/{physical}"),
                    registryId=account,
                    repositoryUrl=f"{account}.dkr.ecr.{region}.amazonaws.com/{physical}",
                )
            case "docker:index/image:Image":
                image_name = inputs.get("imageName", "")
                repository = image_name.rsplit(":", 1)[0]
                resource_id = f"sha256:{_hex(image_name, length=64)}"
                state.update(repoDigest=f"{repository}@sha256:{_hex(image_name, 'digest', length=64)}")
            case "aws:secretsmanager/secret:Secret":
                resource_id = arn("secretsmanager", f"secret:{physical}-{suffix[:6]}")
                state.update(arn=resource_id, name=physical)
            case "aws:secretsmanager/secretVersion:SecretVersion":
                state.update(versionId=f"v-{suffix}", arn=inputs.get("secretId"))
            case "aws:cloudwatch/logGroup:LogGroup":
                resource_id = physical
                state.update(name=physical, arn=arn("logs", f"log-group:{physical}"))
            case "aws:iam/role:Role":
                resource_id = physical
                state.update(name=physical, arn=arn("iam", f"role/{physical}", with_region=False))
            case "aws:iam/rolePolicy:RolePolicy":
                resource_id = f"{inputs.get('role')}:{physical}"
            case "aws:ecs/cluster:Cluster":
                resource_id = arn("ecs", f"cluster/{physical}")
                state.update(arn=resource_id, name=physical)
            case "aws:ecs/taskDefinition:TaskDefinition":
                family = inputs.get("family", physical)
                resource_id = family
                state.update(
                    arn=arn("ecs", f"task-definition/{family}:1"),
                    arnWithoutRevision=arn("ecs", f"task-definition/{family}"),
                    revision=1,
                )
            case "aws:ecs/service:Service":
                cluster_name = str(inputs.get("cluster", "")).rsplit("/", 1)[-1]
                resource_id = arn("ecs", f"service/{cluster_name}/{physical}")
                state.update(name=physical, arn=resource_id)
            case "aws:lb/loadBalancer:LoadBalancer":
                lb_suffix = f"app/{physical}/{suffix[:16]}"
                resource_id = arn("elasticloadbalancing", f"loadbalancer/{lb_suffix}")
                state.update(
                    arn=resource_id,
                    arnSuffix=lb_suffix,
                    name=physical,
                    dnsName=f"{physical}-{int(suffix[:8], 16)}.{region}.elb.amazonaws.com",
                    zoneId="Z215JYRZR1TBD5",
                )
            case "aws:lb/targetGroup:TargetGroup":
                tg_suffix = f"targetgroup/{physical[:32]}/{suffix[:16]}"
                resource_id = arn("elasticloadbalancing", tg_suffix)
                state.update(arn=resource_id, arnSuffix=tg_suffix, name=physical[:32])
            case "aws:lb/listener:Listener":
                resource_id = arn("elasticloadbalancing", f"listener/app/{suffix[:16]}/{suffix[-8:]}")
                state["arn"] = resource_id
            case "aws:sns/topic:Topic":
                resource_id = arn("sns", physical)
                state.update(arn=resource_id, name=physical)
            case "aws:cloudwatch/metricAlarm:MetricAlarm":
                resource_id = physical
                state.update(name=physical, arn=arn("cloudwatch", f"alarm:{physical}"))
            case "aws:cloudwatch/dashboard:Dashboard":
                resource_id = inputs.get("dashboardName", physical)
                state["dashboardArn"] = arn("cloudwatch", f"dashboard/{resource_id}", with_region=False)
            case "aws:appautoscaling/target:Target":
                resource_id = inputs.get("resourceId", physical)
                state["arn"] = arn("application-autoscaling", f"scalable-target/{suffix}")
            case "aws:appautoscaling/policy:Policy":
                state.update(name=physical, arn=arn("autoscaling", f"scalingPolicy:{suffix}:{physical}"))
        return resource_id, state


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The stock mock monitor, also keeping what it drops: parent, protect, ignoreChanges, deps."""

    def __init__(self, mocks: pulumi_mocks.Mocks):
        super().__init__(mocks)
        self.requests: dict[str, Any] = {}
        self.order: list[str] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.requests[response.urn] = request
            self.order.append(response.urn)
        return response


# --------------------------------------------------------------------------- evaluation


def _resolve(value: Any) -> Any:
    return _sync_await(pulumi.Output.from_input(value).future())


def evaluate_stack(
    stack: str,
    *,
    project_dir: Path = PROJECT_DIR,
    preview: bool = False,
    config_overrides: Mapping[str, Any] | None = None,
) -> PlannedStack:
    """Run the program for ``stack`` under mocks and return what it registered.

    Raises ``StackFileError`` for malformed project/stack files and the program's own
    ``ConfigError`` (a ``pulumi.RunError``) for invalid values.
    """
    from infra.config import SECRET_SPECS

    config, secret_keys, project = stack_config(project_dir, stack, config_overrides)
    region = config.get("aws:region")
    if not region:
        raise StackFileError(
            f"Pulumi.{stack}.yaml has no aws:region. Fix: pulumi config set aws:region eu-central-1 -s {stack}"
        )

    placeholders: list[str] = []
    notes: list[str] = []
    for key in secret_keys:
        if key.startswith(f"{project}:"):
            placeholders.append(key.split(":", 1)[1])
    if config.get(f"{project}:secretsMode", "managed") == "managed":
        for _env, config_key in SECRET_SPECS.values():
            full_key = f"{project}:{config_key}"
            if full_key not in config:
                config[full_key] = SECRET_PLACEHOLDER
                secret_keys.append(full_key)
                placeholders.append(config_key)
                notes.append(
                    f"secret {config_key} is not set (planned with a placeholder): "
                    f"pulumi config set --secret {config_key} '<value>' -s {stack}"
                )

    with _LOCK:
        mocks = AwsMocks(region)
        monitor = RecordingMonitor(mocks)
        pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)
        pulumi.runtime.set_all_config(config, secret_keys)
        previous_cwd = os.getcwd()
        os.chdir(project_dir)
        try:
            _sync_await(run_pulumi_func(lambda: runpy.run_path(str(project_dir / "__main__.py"))))
            root = pulumi.runtime.settings.get_root_resource()
            outputs = {name: _resolve(value) for name, value in (root.outputs if root else {}).items()}
        except Exception as exc:
            # Lets callers prove that a configuration error stopped the program before any resource.
            exc.registered_urns = list(monitor.order)
            raise
        finally:
            os.chdir(previous_cwd)

    resources = []
    for urn in monitor.order:
        request = monitor.requests[urn]
        registration = monitor.resources.get(urn)
        resources.append(
            PlannedResource(
                urn=urn,
                type=request.type,
                name=request.name,
                id=registration.id if registration else None,
                inputs=pulumi.runtime.rpc.deserialize_properties(request.object),
                outputs=dict(registration.state) if registration else {},
                parent=request.parent or None,
                protect=bool(request.protect),
                ignore_changes=list(request.ignoreChanges),
                dependencies=list(request.dependencies),
                custom=bool(request.custom),
                property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
                raw_inputs=request.object,
            )
        )
    return PlannedStack(
        project=project,
        stack=stack,
        region=region,
        config=config,
        secret_keys=sorted(set(secret_keys)),
        placeholder_secrets=placeholders,
        resources=resources,
        outputs=outputs,
        preview=preview,
        notes=notes,
    )
