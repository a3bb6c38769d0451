"""The KMS key that encrypts the state objects (SSE-KMS) and the stacks' secrets
(`--secrets-provider awskms://alias/...`)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

ROTATION_PERIOD_DAYS = 365


@dataclass
class EncryptionKeyArgs:
    alias_name: str  # "alias/<name>"
    description: str
    deletion_window_days: int
    tags: dict[str, str]


class EncryptionKey(pulumi.ComponentResource):
    """A symmetric customer-managed key with yearly automatic rotation and an alias.

    The key policy is AWS's default (the account administers the key, IAM policies grant its use),
    so access is granted only by the roles' own policies and nothing in the key names a role that
    might not exist yet. Rotation keeps old key material, so old state and secrets stay readable.
    """

    def __init__(self, name: str, args: EncryptionKeyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("truecaller:bootstrap:EncryptionKey", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.key = aws.kms.Key(
            "key",
            description=args.description,
            key_usage="ENCRYPT_DECRYPT",
            customer_master_key_spec="SYMMETRIC_DEFAULT",
            enable_key_rotation=True,
            rotation_period_in_days=ROTATION_PERIOD_DAYS,
            deletion_window_in_days=args.deletion_window_days,
            tags=args.tags,
            opts=child,
        )
        self.alias = aws.kms.Alias("alias", name=args.alias_name, target_key_id=self.key.key_id, opts=child)

        self.key_arn = self.key.arn
        self.alias_name = self.alias.name
        self.register_outputs({"keyArn": self.key_arn, "aliasName": self.alias_name})
