"""The KMS keys: one for the state objects (the bucket's SSE-KMS), and one per stack for that stack's
secrets (`pulumi stack init <stack> --secrets-provider awskms://alias/...`), so a role can be given the
secrets of some stacks and not of others."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

ROTATION_PERIOD_DAYS = 365


def _rotating_key(name: str, description: str, deletion_window_days: int, tags: dict[str, str],
                  opts: pulumi.ResourceOptions) -> aws.kms.Key:
    return aws.kms.Key(
        name,
        description=description,
        key_usage="ENCRYPT_DECRYPT",
        customer_master_key_spec="SYMMETRIC_DEFAULT",
        enable_key_rotation=True,
        rotation_period_in_days=ROTATION_PERIOD_DAYS,
        deletion_window_in_days=deletion_window_days,
        tags=tags,
        opts=opts,
    )


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
        # "key" and "alias": the names the first release gave them (a new name would replace the key).
        self.key = _rotating_key("key", args.description, args.deletion_window_days, args.tags, child)
        self.alias = aws.kms.Alias("alias", name=args.alias_name, target_key_id=self.key.key_id, opts=child)

        self.key_arn = self.key.arn
        self.alias_name = self.alias.name
        self.register_outputs({"keyArn": self.key_arn, "aliasName": self.alias_name})


@dataclass
class StackSecretsKeysArgs:
    project: str  # the main program's Pulumi project: alias/<project>-<stack>-secrets
    stacks: tuple[str, ...]
    deletion_window_days: int
    tags: dict[str, str]


class StackSecretsKeys(pulumi.ComponentResource):
    """One key per stack of the main program, each the `awskms://` secrets provider of its stack only,
    with the same settings as the state key (rotation, AWS's default key policy)."""

    def __init__(self, name: str, args: StackSecretsKeysArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("truecaller:bootstrap:StackSecretsKeys", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.key_arns: dict[str, pulumi.Output[str]] = {}
        self.alias_names: dict[str, pulumi.Output[str]] = {}
        for stack in args.stacks:
            description = f"Secrets of the {args.project} stack {stack} (Pulumi config and state)"
            key = _rotating_key(f"{stack}-key", description, args.deletion_window_days, args.tags, child)
            alias = aws.kms.Alias(f"{stack}-alias", name=self.alias_name(args.project, stack),
                                  target_key_id=key.key_id, opts=child)
            self.key_arns[stack], self.alias_names[stack] = key.arn, alias.name
        self.register_outputs({"keyArns": self.key_arns, "aliasNames": self.alias_names})

    @staticmethod
    def alias_name(project: str, stack: str) -> str:
        return f"alias/{project}-{stack}-secrets"
