"""One-line summaries of planned resources' key settings, and secret redaction for printing."""

from __future__ import annotations

import json
from typing import Any

from offline.runtime import PlannedResource

SECRET_SIG = "4dabf18193072939515e22adb298388d"
REDACTED = "[secret]"


def redact(value: Any) -> Any:
    """Replace every secret-wrapped value (as the engine sends them) by a marker."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270":
            return REDACTED
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _int(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _short(text: str, keep: int = 19) -> str:
    """Shorten digests and ARNs, which are long and all alike."""
    if "@sha256:" in text:
        repo, digest = text.split("@sha256:", 1)
        return f"{repo.rsplit('/', 1)[-1]}@sha256:{digest[:12]}…"
    return text if len(text) <= 60 else text[:keep] + "…" + text[-(60 - keep):]


def _containers(resource: PlannedResource) -> str:
    definitions = json.loads(resource.inputs.get("containerDefinitions") or "[]")
    parts = []
    for c in definitions:
        secrets = ",".join(s["name"] for s in c.get("secrets", []))
        command = " ".join(c.get("command", [])) or "(image CMD)"
        parts.append(f"{c['name']}: {_short(c['image'])} cmd={command} secrets=[{secrets}]")
    return "; ".join(parts)


IAM_POLICY = "aws:iam/policy:Policy"  # not Application Auto Scaling's aws:appautoscaling/policy:Policy


def _trusted(assume_role_policy: str | None) -> str:
    """Who may assume a role: AWS services, or a web identity provider and the token subjects it accepts."""
    principals, subjects = [], []
    for statement in json.loads(assume_role_policy or "{}").get("Statement", []):
        principal = statement.get("Principal") or {}
        for kind in ("Service", "Federated", "AWS"):
            value = principal.get(kind)
            for who in [value] if isinstance(value, str) else value or []:
                # An OIDC provider's ARN ends in its issuer's host: that is what says who signs the tokens.
                principals.append(f"OIDC {who.split(':oidc-provider/')[1]}" if ":oidc-provider/" in who
                                  else _short(who))
        for condition in (statement.get("Condition") or {}).values():
            for key, value in condition.items():
                if key.endswith(":sub"):
                    subjects += [value] if isinstance(value, str) else value
    return ", ".join(principals) + (f" for {', '.join(subjects)}" if subjects else "")


def describe(resource: PlannedResource) -> str:
    i = resource.inputs
    match resource.type.split(":")[-1]:
        case "Vpc":
            return f"cidr={i.get('cidrBlock')} dnsHostnames={i.get('enableDnsHostnames')}"
        case "Subnet":
            return f"cidr={i.get('cidrBlock')} az={i.get('availabilityZone')} tier={i.get('tags', {}).get('tier')}"
        case "NatGateway":
            return f"subnet={i.get('subnetId')}"
        case "Route":
            target = i.get("gatewayId") or i.get("natGatewayId")
            return f"{i.get('destinationCidrBlock') or i.get('destinationIpv6CidrBlock')} -> {target}"
        case "Certificate":
            return f"{i.get('domainName')} validated by {i.get('validationMethod')}"
        case "CertificateValidation":
            return "waits until ACM issues the certificate"
        case "Record":
            target = "alias to the load balancer" if i.get("aliases") else "validation record"
            return f"{i.get('name')} {i.get('type')} ({target})"
        case "SecurityGroup":
            return str(i.get("description", ""))
        case "SecurityGroupIngressRule" | "SecurityGroupEgressRule":
            peer = i.get("cidrIpv4") or i.get("cidrIpv6") or i.get("referencedSecurityGroupId")
            ports = "all" if i.get("ipProtocol") == "-1" else f"{i.get('ipProtocol')}/{_int(i.get('fromPort'))}"
            return f"{ports} {'from' if 'Ingress' in resource.type else 'to'} {peer}"
        case "Repository":
            scan = (i.get("imageScanningConfiguration") or {}).get("scanOnPush")
            return f"scanOnPush={scan} tags={i.get('imageTagMutability')} forceDelete={i.get('forceDelete')}"
        case "LifecyclePolicy":
            rule = json.loads(i.get("policy", "{}"))["rules"][0]["selection"]
            return f"keep last {rule['countNumber']} images"
        case "Image":
            build = i.get("build") or {}
            return f"{build.get('platform')} context={build.get('context')} dockerfile={build.get('dockerfile')}"
        case "Secret":
            return f"{i.get('name')} recoveryWindow={_int(i.get('recoveryWindowInDays'))}d protect={resource.protect}"
        case "SecretVersion":
            return "value from stack config (secret)"
        case "LogGroup":
            return f"{i.get('name')} retention={_int(i.get('retentionInDays'))}d"
        case "Role":
            return f"assumed by {_trusted(i.get('assumeRolePolicy'))}: {i.get('description', '')}"
        case "RolePolicy":
            statements = json.loads(i.get("policy", "{}")).get("Statement", [])
            return "; ".join(s.get("Sid", "?") for s in statements)
        case "Cluster":
            return ",".join(f"{s['name']}={s['value']}" for s in i.get("settings", []))
        case "ClusterCapacityProviders":
            default = (i.get("defaultCapacityProviderStrategies") or [{}])[0].get("capacityProvider")
            return f"default={default}"
        case "TaskDefinition":
            arch = (i.get("runtimePlatform") or {}).get("cpuArchitecture")
            return f"{i.get('family')} cpu={i.get('cpu')} mem={i.get('memory')} {arch} | {_containers(resource)}"
        case "Service":
            breaker = i.get("deploymentCircuitBreaker") or {}
            strategy = (i.get("capacityProviderStrategies") or [{}])[0].get("capacityProvider")
            network = i.get("networkConfiguration") or {}
            return (
                f"desired={_int(i.get('desiredCount'))} rolling={_int(i.get('deploymentMinimumHealthyPercent'))}/"
                f"{_int(i.get('deploymentMaximumPercent'))} grace={_int(i.get('healthCheckGracePeriodSeconds'))}s "
                f"circuitBreaker={breaker.get('enable')}/rollback={breaker.get('rollback')} "
                f"alarms={len((i.get('alarms') or {}).get('alarmNames', []))} {strategy} "
                f"publicIp={network.get('assignPublicIp')}"
            )
        case "LoadBalancer":
            return (
                f"{i.get('loadBalancerType')} {i.get('ipAddressType')} internal={i.get('internal')} "
                f"dropInvalidHeaders={i.get('dropInvalidHeaderFields')} "
                f"deletionProtection={i.get('enableDeletionProtection')}"
            )
        case "TargetGroup":
            hc = i.get("healthCheck") or {}
            return (
                f"{i.get('targetType')}:{_int(i.get('port'))} health={hc.get('path')} matcher={hc.get('matcher')} "
                f"every {_int(hc.get('interval'))}s x{_int(hc.get('healthyThreshold'))} "
                f"deregistration={_int(i.get('deregistrationDelay'))}s"
            )
        case "Listener":
            action = (i.get("defaultActions") or [{}])[0].get("type")
            return f"{i.get('protocol')}:{_int(i.get('port'))} -> {action}"
        case "MetricAlarm":
            metric = i.get("metricName") or "metric math"
            return f"{metric} {i.get('comparisonOperator')} {_int(i.get('threshold'))}"
        case "Dashboard":
            return f"{len(json.loads(i.get('dashboardBody', '{}')).get('widgets', []))} widgets"
        case "Target":
            return f"{i.get('resourceId')} min={_int(i.get('minCapacity'))} max={_int(i.get('maxCapacity'))}"
        case "Policy" if resource.type == IAM_POLICY:
            statements = json.loads(i.get("policy") or "{}").get("Statement", [])
            return f"{i.get('path', '/')}{i.get('name')}: " + "; ".join(s.get("Sid", "?") for s in statements)
        case "Policy":
            tracking = i.get("targetTrackingScalingPolicyConfiguration") or {}
            metric = (tracking.get("predefinedMetricSpecification") or {}).get("predefinedMetricType")
            return f"{metric} target={_int(tracking.get('targetValue'))}"
        case "Topic":
            return str(i.get("name"))
        case "Key":
            return (f"{i.get('customerMasterKeySpec')} rotation={i.get('enableKeyRotation')} every "
                    f"{_int(i.get('rotationPeriodInDays'))}d deletionWindow={_int(i.get('deletionWindowInDays'))}d")
        case "Alias":
            return str(i.get("name"))
        case "OpenIdConnectProvider":
            return f"{i.get('url')} audience={','.join(i.get('clientIdLists') or [])}"
        case "Bucket":
            return f"{i.get('bucket')} forceDestroy={i.get('forceDestroy')}"
    return ""
