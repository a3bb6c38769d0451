"""Mocks for Pulumi's mock runtime that fabricate only what AWS computes (IDs, ARNs, DNS names,
digests). Every input stays the program's own; an invoke nobody mocked raises instead of quietly
returning nothing.

Each resource type has one fabricator: ``(resource, state) -> id``; it may add outputs to
``state``. A type without one keeps its inputs and gets ``<name>-<hash>`` as ID.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi.runtime import mocks as pulumi_mocks

MOCK_ACCOUNT_ID = "123456789012"  # AWS's documentation account: never a real one
# Public hosted zones the offline account holds (example.com is reserved for documentation).
DEFAULT_HOSTED_ZONES = {"example.com": "Z0EXAMPLE00000000000"}


def fake_hex(*parts: str, length: int = 17) -> str:
    """Stable pseudo-random hex for IDs and digests, derived from what identifies the resource."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


@dataclass(frozen=True)
class Fabrication:
    """What a fabricator knows about the resource being registered."""

    token: str
    logical: str
    inputs: dict[str, Any]
    region: str
    account: str

    @property
    def suffix(self) -> str:
        return fake_hex(self.token, self.logical)

    @property
    def physical(self) -> str:
        """The name AWS would use: the program's `name`, its `namePrefix` + the provider's 26-character
        unique suffix, else an auto-name from the logical name."""
        if self.inputs.get("name"):
            return self.inputs["name"]
        if self.inputs.get("namePrefix"):
            return self.inputs["namePrefix"] + fake_hex(self.suffix, length=26)
        return f"{self.logical}-{self.suffix[:7]}"

    def arn(self, service: str, resource: str, with_region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if with_region else ''}:{self.account}:{resource}"


Fabricator = Callable[[Fabrication, dict[str, Any]], str]
FABRICATORS: dict[str, Fabricator] = {}


def fabricates(*tokens: str) -> Callable[[Fabricator], Fabricator]:
    def register(function: Fabricator) -> Fabricator:
        for token in tokens:
            FABRICATORS[token] = function
        return function
    return register


def _prefixed_id(prefix: str, arn_resource: str | None = None) -> Fabricator:
    def fabricate(r: Fabrication, state: dict) -> str:
        resource_id = f"{prefix}-{r.suffix}"
        if arn_resource:
            state["arn"] = r.arn("ec2", f"{arn_resource}/{resource_id}")
        return resource_id
    return fabricate


FABRICATORS.update({
    "aws:ec2/subnet:Subnet": _prefixed_id("subnet", "subnet"),
    "aws:ec2/internetGateway:InternetGateway": _prefixed_id("igw"),
    "aws:ec2/natGateway:NatGateway": _prefixed_id("nat"),
    "aws:ec2/routeTable:RouteTable": _prefixed_id("rtb"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _prefixed_id("sgr"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _prefixed_id("sgr"),
})


@fabricates("aws:ec2/vpc:Vpc")
def _vpc(r: Fabrication, state: dict) -> str:
    resource_id = f"vpc-{r.suffix}"
    state["arn"] = r.arn("ec2", f"vpc/{resource_id}")
    if r.inputs.get("assignGeneratedIpv6CidrBlock"):
        state["ipv6CidrBlock"] = f"2001:db8:{int(r.suffix[:4], 16):x}:{int(r.suffix[4:6], 16):x}00::/56"
    return resource_id


@fabricates("aws:ec2/eip:Eip")
def _eip(r: Fabrication, state: dict) -> str:
    resource_id = f"eipalloc-{r.suffix}"
    state.update(allocationId=resource_id, publicIp=f"198.51.100.{int(r.suffix[:2], 16) % 250 + 1}")
    return resource_id


@fabricates("aws:ec2/securityGroup:SecurityGroup")
def _security_group(r: Fabrication, state: dict) -> str:
    resource_id = f"sg-{r.suffix}"
    state.update(arn=r.arn("ec2", f"security-group/{resource_id}"), name=r.physical)
    return resource_id


@fabricates("aws:ecr/repository:Repository")
def _repository(r: Fabrication, state: dict) -> str:
    state.update(name=r.physical, arn=r.arn("ecr", f"repository/{r.physical}"), registryId=r.account,
                 repositoryUrl=f"{r.account}.dkr.ecr.{r.region}.amazonaws.com/{r.physical}")
    return r.physical


@fabricates("docker:index/image:Image")
def _image(r: Fabrication, state: dict) -> str:
    image_name = r.inputs.get("imageName", "")
    repository = image_name.rsplit(":", 1)[0]
    state["repoDigest"] = f"{repository}@sha256:{fake_hex(image_name, 'digest', length=64)}"
    return f"sha256:{fake_hex(image_name, length=64)}"


@fabricates("aws:secretsmanager/secret:Secret")
def _secret(r: Fabrication, state: dict) -> str:
    arn = r.arn("secretsmanager", f"secret:{r.physical}-{r.suffix[:6]}")
    state.update(arn=arn, name=r.physical)
    return arn


@fabricates("aws:secretsmanager/secretVersion:SecretVersion")
def _secret_version(r: Fabrication, state: dict) -> str:
    state.update(versionId=f"v-{r.suffix}", arn=r.inputs.get("secretId"))
    return f"{r.logical}-{r.suffix[:8]}"


@fabricates("aws:cloudwatch/logGroup:LogGroup")
def _log_group(r: Fabrication, state: dict) -> str:
    state.update(name=r.physical, arn=r.arn("logs", f"log-group:{r.physical}"))
    return r.physical


@fabricates("aws:iam/role:Role")
def _role(r: Fabrication, state: dict) -> str:
    path = r.inputs.get("path") or "/"
    state.update(name=r.physical, path=path, arn=r.arn("iam", f"role{path}{r.physical}", with_region=False))
    return r.physical


@fabricates("aws:iam/rolePolicy:RolePolicy")
def _role_policy(r: Fabrication, state: dict) -> str:
    return f"{r.inputs.get('role')}:{r.physical}"


@fabricates("aws:ecs/cluster:Cluster")
def _cluster(r: Fabrication, state: dict) -> str:
    arn = r.arn("ecs", f"cluster/{r.physical}")
    state.update(arn=arn, name=r.physical)
    return arn


@fabricates("aws:ecs/taskDefinition:TaskDefinition")
def _task_definition(r: Fabrication, state: dict) -> str:
    family = r.inputs.get("family", r.physical)
    state.update(arn=r.arn("ecs", f"task-definition/{family}:1"),
                 arnWithoutRevision=r.arn("ecs", f"task-definition/{family}"), revision=1)
    return family


@fabricates("aws:ecs/service:Service")
def _service(r: Fabrication, state: dict) -> str:
    cluster_name = str(r.inputs.get("cluster", "")).rsplit("/", 1)[-1]
    arn = r.arn("ecs", f"service/{cluster_name}/{r.physical}")
    state.update(name=r.physical, arn=arn)
    return arn


@fabricates("aws:lb/loadBalancer:LoadBalancer")
def _load_balancer(r: Fabrication, state: dict) -> str:
    lb_suffix = f"app/{r.physical}/{r.suffix[:16]}"
    arn = r.arn("elasticloadbalancing", f"loadbalancer/{lb_suffix}")
    state.update(arn=arn, arnSuffix=lb_suffix, name=r.physical, zoneId="Z215JYRZR1TBD5",
                 dnsName=f"{r.physical}-{int(r.suffix[:8], 16)}.{r.region}.elb.amazonaws.com")
    return arn


@fabricates("aws:lb/targetGroup:TargetGroup")
def _target_group(r: Fabrication, state: dict) -> str:
    tg_suffix = f"targetgroup/{r.physical[:32]}/{r.suffix[:16]}"
    arn = r.arn("elasticloadbalancing", tg_suffix)
    state.update(arn=arn, arnSuffix=tg_suffix, name=r.physical[:32])
    return arn


@fabricates("aws:lb/listener:Listener")
def _listener(r: Fabrication, state: dict) -> str:
    arn = r.arn("elasticloadbalancing", f"listener/app/{r.suffix[:16]}/{r.suffix[-8:]}")
    state["arn"] = arn
    return arn


@fabricates("aws:lb/listenerRule:ListenerRule")
def _listener_rule(r: Fabrication, state: dict) -> str:
    arn = r.arn("elasticloadbalancing", f"listener-rule/app/{r.suffix[:16]}/{r.suffix[-8:]}/{r.suffix[2:10]}")
    state["arn"] = arn
    return arn


@fabricates("aws:acm/certificate:Certificate")
def _certificate(r: Fabrication, state: dict) -> str:
    arn = r.arn("acm", f"certificate/{r.suffix[:8]}-{r.suffix[8:12]}-4{r.suffix[12:15]}-a{r.suffix[1:4]}-"
                       f"{fake_hex(r.suffix, length=12)}")
    names = [r.inputs.get("domainName", ""), *(r.inputs.get("subjectAlternativeNames") or [])]
    state.update(arn=arn, status="PENDING_VALIDATION", domainValidationOptions=[
        {"domainName": name, "resourceRecordName": f"_{fake_hex(name, length=32)}.{name}.",
         "resourceRecordType": "CNAME",
         "resourceRecordValue": f"_{fake_hex(name, 'v', length=32)}.acm-validations.aws."}
        for name in names if name
    ])
    return arn


@fabricates("aws:acm/certificateValidation:CertificateValidation")
def _certificate_validation(r: Fabrication, state: dict) -> str:
    return str(r.inputs.get("certificateArn"))


@fabricates("aws:route53/record:Record")
def _record(r: Fabrication, state: dict) -> str:
    state["fqdn"] = str(r.inputs.get("name", "")).rstrip(".")
    return f"{r.inputs.get('zoneId')}_{state['fqdn']}_{r.inputs.get('type')}"


@fabricates("aws:sns/topic:Topic")
def _topic(r: Fabrication, state: dict) -> str:
    arn = r.arn("sns", r.physical)
    state.update(arn=arn, name=r.physical)
    return arn


@fabricates("aws:cloudwatch/metricAlarm:MetricAlarm")
def _alarm(r: Fabrication, state: dict) -> str:
    state.update(name=r.physical, arn=r.arn("cloudwatch", f"alarm:{r.physical}"))
    return r.physical


@fabricates("aws:cloudwatch/dashboard:Dashboard")
def _dashboard(r: Fabrication, state: dict) -> str:
    name = r.inputs.get("dashboardName", r.physical)
    state["dashboardArn"] = r.arn("cloudwatch", f"dashboard/{name}", with_region=False)
    return name


@fabricates("aws:appautoscaling/target:Target")
def _scalable_target(r: Fabrication, state: dict) -> str:
    state["arn"] = r.arn("application-autoscaling", f"scalable-target/{r.suffix}")
    return r.inputs.get("resourceId", r.physical)


@fabricates("aws:appautoscaling/policy:Policy")
def _scaling_policy(r: Fabrication, state: dict) -> str:
    state.update(name=r.physical, arn=r.arn("autoscaling", f"scalingPolicy:{r.suffix}:{r.physical}"))
    return f"{r.logical}-{r.suffix[:8]}"


def _uuid(*parts: str) -> str:
    h = fake_hex(*parts, length=32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@fabricates("aws:s3/bucket:Bucket")
def _bucket(r: Fabrication, state: dict) -> str:
    name = r.inputs.get("bucket") or f"{r.logical}-{r.suffix}"
    state.update(bucket=name, arn=f"arn:aws:s3:::{name}", region=r.region,
                 bucketDomainName=f"{name}.s3.amazonaws.com",
                 bucketRegionalDomainName=f"{name}.s3.{r.region}.amazonaws.com")
    return name


# A bucket's settings are separate resources whose ID is the bucket's name.
@fabricates("aws:s3/bucketVersioning:BucketVersioning",
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
            "aws:s3/bucketPolicy:BucketPolicy")
def _bucket_setting(r: Fabrication, state: dict) -> str:
    return str(r.inputs.get("bucket"))


@fabricates("aws:kms/key:Key")
def _kms_key(r: Fabrication, state: dict) -> str:
    key_id = _uuid(r.token, r.logical)
    state.update(keyId=key_id, arn=r.arn("kms", f"key/{key_id}"))
    return key_id


@fabricates("aws:kms/alias:Alias")
def _kms_alias(r: Fabrication, state: dict) -> str:
    state.update(arn=r.arn("kms", r.physical), name=r.physical,
                 targetKeyArn=r.arn("kms", f"key/{r.inputs.get('targetKeyId')}"))
    return r.physical


@fabricates("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
def _oidc_provider(r: Fabrication, state: dict) -> str:
    host = str(r.inputs.get("url", "")).removeprefix("https://")
    arn = r.arn("iam", f"oidc-provider/{host}", with_region=False)
    state["arn"] = arn
    return arn


@fabricates("aws:iam/policy:Policy")
def _iam_policy(r: Fabrication, state: dict) -> str:
    path = r.inputs.get("path") or "/"
    arn = r.arn("iam", f"policy{path}{r.physical}", with_region=False)
    state.update(arn=arn, name=r.physical, policyId=f"ANPA{r.suffix.upper()}")
    return arn


@fabricates("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
def _role_policy_attachment(r: Fabrication, state: dict) -> str:
    return f"{r.inputs.get('role')}-{r.suffix[:8]}"


class AwsMocks(pulumi_mocks.Mocks):
    """Fabricates the values AWS computes; raises on an invoke it does not know."""

    def __init__(self, region: str, account: str = MOCK_ACCOUNT_ID,
                 registry_images: Mapping[str, Mapping[str, str]] | None = None,
                 hosted_zones: Mapping[str, str] | None = None):
        self.region = region
        self.account = account
        # What the account already holds: ECR repository -> {tag: digest}; Route 53 zone name -> ID.
        self.registry_images = registry_images or {}
        self.hosted_zones = hosted_zones if hosted_zones is not None else DEFAULT_HOSTED_ZONES

    def call(self, args: pulumi_mocks.MockCallArgs):
        region, account = self.region, self.account
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
        if args.token == "aws:ecr/getImages:getImages":
            name = args.args.get("repositoryName")
            if name not in self.registry_images:  # the provider's error, as the SDK receives it
                return {}, [("repositoryName", f"reading ECR Images: RepositoryNotFoundException: The repository "
                                               f"with name '{name}' does not exist in the registry")]
            images = [{"imageTag": tag, "imageDigest": digest} for tag, digest in self.registry_images[name].items()]
            return {"id": name, "repositoryName": name, "imageIds": images, "region": region}
        if args.token == "aws:route53/getZone:getZone":
            return self._zone(args.args)
        raise NotImplementedError(f"offline runtime: no mock for invoke {args.token}")

    def _zone(self, query: Mapping[str, Any]):
        """As the provider answers: the public zone with that name or ID, else an error."""
        wanted_id, wanted_name = query.get("zoneId"), str(query.get("name") or "").rstrip(".")
        for name, zone_id in self.hosted_zones.items():
            if zone_id == wanted_id or name == wanted_name:
                return {"id": zone_id, "zoneId": zone_id, "name": name, "privateZone": False,
                        "arn": f"arn:aws:route53:::hostedzone/{zone_id}", "nameServers": [f"ns-1.{name}"]}
        return {}, [("name", f"no matching Route 53 Hosted Zone found for {wanted_id or wanted_name!r}")]

    def new_resource(self, args: pulumi_mocks.MockResourceArgs):
        resource = Fabrication(args.typ, args.name, dict(args.inputs), self.region, self.account)
        state: dict[str, Any] = dict(resource.inputs)
        fabricate = FABRICATORS.get(args.typ)
        resource_id = fabricate(resource, state) if fabricate else f"{args.name}-{resource.suffix[:8]}"
        return resource_id, state
