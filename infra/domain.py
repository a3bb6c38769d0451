"""The API's domain: its Route 53 hosted zone and an ACM certificate validated through DNS.

The load balancer serves HTTPS with the validated certificate and points alias records at itself;
this component only makes sure a certificate exists that covers the domain (or takes the one given
in ``certificateArn``) and knows the zone the records go into.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

EXTERNAL_DNS = "external"


def is_zone_id(value: str) -> bool:
    return value.startswith("Z") and value.isupper() and "." not in value


@dataclass
class DomainArgs:
    domain_name: str
    zone: str  # a hosted zone ID, a zone name, or "external" (DNS outside Route 53)
    certificate_arn: str  # an existing certificate, or "" to request one
    tags: dict[str, str]


class Domain(pulumi.ComponentResource):
    certificate_arn: pulumi.Output[str]  # usable by a listener: validated
    zone_id: pulumi.Output[str] | None  # None when DNS is managed elsewhere

    def __init__(self, name: str, args: DomainArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("truecaller:infra:Domain", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        if args.zone == EXTERNAL_DNS:
            self.zone_id = None
        elif is_zone_id(args.zone):
            self.zone_id = pulumi.Output.from_input(args.zone)
        else:
            self.zone_id = aws.route53.get_zone_output(name=args.zone, private_zone=False,
                                                       opts=pulumi.InvokeOptions(parent=self)).zone_id

        if args.certificate_arn:
            self.certificate_arn = pulumi.Output.from_input(args.certificate_arn)
        else:
            certificate = aws.acm.Certificate(
                "certificate",
                domain_name=args.domain_name,
                validation_method="DNS",
                tags={**args.tags, "Name": args.domain_name},
                opts=child,
            )
            option = certificate.domain_validation_options.apply(lambda options: options[0])
            record = aws.route53.Record(
                "certificate-validation",
                zone_id=self.zone_id,
                name=option.apply(lambda o: o.resource_record_name),
                type=option.apply(lambda o: o.resource_record_type),
                records=[option.apply(lambda o: o.resource_record_value)],
                ttl=300,
                allow_overwrite=True,  # a renewal or a re-created stack finds the same record name
                opts=child,
            )
            # `pulumi up` waits here until ACM has issued the certificate (usually a few minutes).
            validation = aws.acm.CertificateValidation(
                "certificate",
                certificate_arn=certificate.arn,
                validation_record_fqdns=[record.fqdn],
                opts=child,
            )
            self.certificate_arn = validation.certificate_arn

        self.domain_name = args.domain_name
        self.register_outputs({"certificateArn": self.certificate_arn, "domainName": self.domain_name})
