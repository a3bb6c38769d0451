"""Internet-facing dual-stack ALB, its security group, the IP target group, the listeners and the
domain's alias records.

With a certificate the HTTPS listener forwards and the HTTP listener only redirects (301); without
one (allowPlainHttp, unprotected stacks only) the HTTP listener forwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

# AWS's recommended policy since 2025-09: TLS 1.3 and 1.2 (forward-secret ciphers only) with hybrid
# post-quantum key exchange for clients that offer it.
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"


@dataclass
class LoadBalancerArgs:
    name: str
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    public_subnet_ids: list[pulumi.Input[str]]
    container_port: int
    health_check_path: str
    health_check_interval_seconds: int
    healthy_threshold_count: int
    unhealthy_threshold_count: int
    deregistration_delay_seconds: int
    deletion_protection: bool
    tags: dict[str, str]
    # HTTPS: the domain, its validated certificate and (when DNS is in Route 53) the zone for the
    # alias records. None for plain HTTP on the load balancer's own name.
    domain_name: str = ""
    certificate_arn: pulumi.Input[str] | None = None
    zone_id: pulumi.Input[str] | None = None


def health_check_timeout(interval_seconds: int) -> int:
    """ALB requires timeout < interval; a short timeout keeps slow targets from lingering."""
    return max(2, min(5, interval_seconds - 1))


def app_target_group(logical: str, args: LoadBalancerArgs, vpc_id: pulumi.Input[str],
                     opts: pulumi.ResourceOptions) -> aws.lb.TargetGroup:
    """An IP target group for the app's tasks with the explicit health check; blue/green uses two alike."""
    return aws.lb.TargetGroup(
        logical,
        port=args.container_port,
        protocol="HTTP",
        target_type="ip",  # awsvpc tasks register by IP (and ECS blue/green on Fargate requires it)
        vpc_id=vpc_id,
        deregistration_delay=args.deregistration_delay_seconds,
        health_check={
            "enabled": True,
            "path": args.health_check_path,
            "protocol": "HTTP",
            "port": "traffic-port",
            "matcher": "200",
            "interval": args.health_check_interval_seconds,
            "timeout": health_check_timeout(args.health_check_interval_seconds),
            "healthy_threshold": args.healthy_threshold_count,
            "unhealthy_threshold": args.unhealthy_threshold_count,
        },
        tags=args.tags,
        opts=opts,
    )


class LoadBalancer(pulumi.ComponentResource):
    security_group_id: pulumi.Output[str]
    target_group_arn: pulumi.Output[str]
    dns_name: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("truecaller:infra:LoadBalancer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.security_group = aws.ec2.SecurityGroup(
            "alb",
            vpc_id=args.vpc_id,
            description=f"{args.name} load balancer: HTTP/HTTPS from the internet",
            tags={**args.tags, "Name": f"{args.name}-alb"},
            opts=child,
        )
        https = args.certificate_arn is not None
        listener_ports = [80, 443] if https else [80]
        for port in listener_ports:
            for family, cidr in (("ipv4", "0.0.0.0/0"), ("ipv6", "::/0")):
                aws.vpc.SecurityGroupIngressRule(
                    f"alb-{port}-{family}",
                    security_group_id=self.security_group.id,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    **{f"cidr_{family}": cidr},
                    description=f"{'HTTPS' if port == 443 else 'HTTP'} from anywhere",
                    tags=args.tags,
                    opts=child,
                )
        # The ALB only ever talks to targets inside the VPC on the container port.
        aws.vpc.SecurityGroupEgressRule(
            "alb-to-targets",
            security_group_id=self.security_group.id,
            ip_protocol="tcp",
            from_port=args.container_port,
            to_port=args.container_port,
            cidr_ipv4=args.vpc_cidr,
            description="To tasks on the container port",
            tags=args.tags,
            opts=child,
        )

        # No fixed name: a replacement (e.g. `internal` changed) gets a fresh auto-name instead of
        # colliding with the one it replaces. The Name tag says whose it is.
        self.load_balancer = aws.lb.LoadBalancer(
            "alb",
            load_balancer_type="application",
            internal=False,
            ip_address_type="dualstack",  # the domain's AAAA record resolves only to a dual-stack ALB
            security_groups=[self.security_group.id],
            subnets=args.public_subnet_ids,
            drop_invalid_header_fields=True,
            enable_deletion_protection=args.deletion_protection,
            idle_timeout=60,
            tags={**args.tags, "Name": args.name},
            opts=child,
        )
        self.target_group = app_target_group("app", args, args.vpc_id, child)

        forward = [{"type": "forward", "target_group_arn": self.target_group.arn}]
        if https:
            self.https_listener = aws.lb.Listener(
                "https",
                load_balancer_arn=self.load_balancer.arn,
                port=443,
                protocol="HTTPS",
                ssl_policy=TLS_POLICY,
                certificate_arn=args.certificate_arn,
                default_actions=forward,
                tags=args.tags,
                opts=child,
            )
            http_actions = [
                {
                    "type": "redirect",
                    "redirect": {"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"},
                }
            ]
        else:
            self.https_listener = None
            http_actions = forward
        self.http_listener = aws.lb.Listener(
            "http",
            load_balancer_arn=self.load_balancer.arn,
            port=80,
            protocol="HTTP",
            default_actions=http_actions,
            tags=args.tags,
            opts=child,
        )
        # The listener that forwards must exist before ECS attaches a service to the target group.
        self.forwarding_listener = self.https_listener or self.http_listener

        if args.zone_id is not None:
            for record_type in ("A", "AAAA"):
                aws.route53.Record(
                    f"alias-{record_type.lower()}",
                    zone_id=args.zone_id,
                    name=args.domain_name,
                    type=record_type,
                    aliases=[{"name": self.load_balancer.dns_name, "zone_id": self.load_balancer.zone_id,
                              "evaluate_target_health": True}],
                    opts=child,
                )

        self.arn = self.load_balancer.arn
        self.security_group_id = self.security_group.id
        self.target_group_arn = self.target_group.arn
        self.target_group_arn_suffix = self.target_group.arn_suffix
        self.arn_suffix = self.load_balancer.arn_suffix
        self.dns_name = self.load_balancer.dns_name
        # With a domain, clients and `ops` health checks use it, so the certificate matches the name.
        self.url = (pulumi.Output.from_input(f"https://{args.domain_name}") if args.domain_name
                    else self.dns_name.apply(lambda dns: f"http://{dns}"))

        self.register_outputs({"dnsName": self.dns_name, "targetGroupArn": self.target_group_arn})
