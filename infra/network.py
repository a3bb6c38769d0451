"""VPC, subnets over the available zones, internet gateway, NAT per mode, route tables.

The VPC is dual-stack: public subnets get an IPv6 /64 each so the load balancer can answer on IPv6
(the domain's AAAA record); tasks keep IPv4 only.
"""

from __future__ import annotations

import ipaddress
import itertools
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

# Public subnets take the first /20-sized blocks, private ones start half-way through the VPC,
# so adding zones later never renumbers an existing subnet.
_SUBNET_NEW_PREFIX = 4


@dataclass
class NetworkArgs:
    name: str
    cidr_block: str
    az_count: int
    nat_mode: str  # "none" | "single" | "per-az"
    tags: dict[str, str]


def subnet_cidrs(vpc_cidr: str, az_count: int) -> tuple[list[str], list[str]]:
    """Public and private subnet CIDRs, one of each per zone."""
    vpc = ipaddress.ip_network(vpc_cidr)
    blocks = list(vpc.subnets(prefixlen_diff=_SUBNET_NEW_PREFIX))
    half = len(blocks) // 2
    return [str(b) for b in blocks[:az_count]], [str(b) for b in blocks[half : half + az_count]]


def ipv6_subnet(vpc_block: str, index: int) -> str:
    """The index-th /64 of the VPC's Amazon-provided /56."""
    return str(next(itertools.islice(ipaddress.ip_network(vpc_block).subnets(new_prefix=64), index, None)))


def _zone(names: list[str], index: int, wanted: int) -> str:
    if len(names) < wanted:
        raise pulumi.RunError(
            f"azCount = {wanted} but the region has only {len(names)} available zones ({', '.join(names)}). "
            f"Fix: pulumi config set azCount {len(names)}"
        )
    return sorted(names)[index]


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    task_subnet_ids: list[pulumi.Output[str]]
    tasks_need_public_ip: bool

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("truecaller:infra:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        available = aws.get_availability_zones_output(state="available").names
        zones = [available.apply(lambda names, i=i: _zone(names, i, args.az_count)) for i in range(args.az_count)]
        public_cidrs, private_cidrs = subnet_cidrs(args.cidr_block, args.az_count)

        self.vpc = aws.ec2.Vpc(
            "vpc",
            cidr_block=args.cidr_block,
            enable_dns_hostnames=True,  # awsvpc tasks and interface endpoints need DNS names
            enable_dns_support=True,
            assign_generated_ipv6_cidr_block=True,
            tags={**args.tags, "Name": args.name},
            opts=child,
        )
        igw = aws.ec2.InternetGateway(
            "igw", vpc_id=self.vpc.id, tags={**args.tags, "Name": args.name}, opts=child
        )

        public_rt = aws.ec2.RouteTable(
            "public", vpc_id=self.vpc.id, tags={**args.tags, "Name": f"{args.name}-public"}, opts=child
        )
        aws.ec2.Route(
            "public-internet",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child,
        )
        aws.ec2.Route(
            "public-internet-ipv6",
            route_table_id=public_rt.id,
            destination_ipv6_cidr_block="::/0",
            gateway_id=igw.id,
            opts=child,
        )

        public_subnets = []
        for i, cidr in enumerate(public_cidrs):
            subnet = aws.ec2.Subnet(
                f"public-{i}",
                vpc_id=self.vpc.id,
                cidr_block=cidr,
                ipv6_cidr_block=self.vpc.ipv6_cidr_block.apply(lambda block, i=i: ipv6_subnet(block, i)),
                availability_zone=zones[i],
                # Only the ALB and (in natMode none) tasks live here; both get addresses explicitly.
                map_public_ip_on_launch=False,
                tags={**args.tags, "Name": f"{args.name}-public-{i}", "tier": "public"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"public-{i}", subnet_id=subnet.id, route_table_id=public_rt.id, opts=child
            )
            public_subnets.append(subnet)

        private_subnets = []
        if args.nat_mode != "none":
            nat_count = args.az_count if args.nat_mode == "per-az" else 1
            nat_gateways = []
            for i in range(nat_count):
                eip = aws.ec2.Eip(
                    f"nat-{i}", domain="vpc", tags={**args.tags, "Name": f"{args.name}-nat-{i}"}, opts=child
                )
                nat_gateways.append(
                    aws.ec2.NatGateway(
                        f"nat-{i}",
                        allocation_id=eip.id,
                        subnet_id=public_subnets[i].id,
                        tags={**args.tags, "Name": f"{args.name}-nat-{i}"},
                        opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                    )
                )
            for i, cidr in enumerate(private_cidrs):
                subnet = aws.ec2.Subnet(
                    f"private-{i}",
                    vpc_id=self.vpc.id,
                    cidr_block=cidr,
                    availability_zone=zones[i],
                    map_public_ip_on_launch=False,
                    tags={**args.tags, "Name": f"{args.name}-private-{i}", "tier": "private"},
                    opts=child,
                )
                route_table = aws.ec2.RouteTable(
                    f"private-{i}",
                    vpc_id=self.vpc.id,
                    tags={**args.tags, "Name": f"{args.name}-private-{i}"},
                    opts=child,
                )
                aws.ec2.Route(
                    f"private-{i}-nat",
                    route_table_id=route_table.id,
                    destination_cidr_block="0.0.0.0/0",
                    nat_gateway_id=nat_gateways[i % nat_count].id,
                    opts=child,
                )
                aws.ec2.RouteTableAssociation(
                    f"private-{i}", subnet_id=subnet.id, route_table_id=route_table.id, opts=child
                )
                private_subnets.append(subnet)

        self.vpc_id = self.vpc.id
        self.public_subnet_ids = [s.id for s in public_subnets]
        self.private_subnet_ids = [s.id for s in private_subnets]
        self.tasks_need_public_ip = args.nat_mode == "none"
        self.task_subnet_ids = self.public_subnet_ids if self.tasks_need_public_ip else self.private_subnet_ids

        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
            }
        )
