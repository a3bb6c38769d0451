"""Secrets Manager secrets the containers read at start (never plain environment variables)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import SECRET_SPECS

RECOVERY_WINDOW_DAYS = 30


@dataclass
class SecretsArgs:
    project: str
    stack: str
    # config key -> secret value; empty in external mode, where values are populated out of band
    managed_values: Mapping[str, pulumi.Output[str]]
    protect: bool
    tags: dict[str, str]


class Secrets(pulumi.ComponentResource):
    arns: dict[str, pulumi.Output[str]]  # secret key (database-url, ...) -> ARN
    names: dict[str, pulumi.Output[str]]
    env_names: dict[str, str]  # secret key -> container environment variable

    def __init__(self, name: str, args: SecretsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("truecaller:infra:Secrets", name, None, opts)

        self.arns, self.names, self.env_names = {}, {}, {}
        self.versions: list[aws.secretsmanager.SecretVersion] = []
        for key, (env_name, config_key) in SECRET_SPECS.items():
            secret = aws.secretsmanager.Secret(
                key,
                name=f"{args.project}/{args.stack}/{key}",
                description=f"{env_name} for {args.project} ({args.stack})",
                recovery_window_in_days=RECOVERY_WINDOW_DAYS,
                # Tells the policy pack this secret is populated out of band, not forgotten.
                tags=args.tags if config_key in args.managed_values else {**args.tags, "secret-source": "external"},
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
            )
            if config_key in args.managed_values:
                self.versions.append(
                    aws.secretsmanager.SecretVersion(
                        key,
                        secret_id=secret.id,
                        secret_string=args.managed_values[config_key],
                        opts=pulumi.ResourceOptions(parent=self),
                    )
                )
            self.arns[key] = secret.arn
            self.names[key] = secret.name
            self.env_names[key] = env_name

        self.register_outputs({"arns": self.arns, "names": self.names})
