"""The S3 bucket that holds every stack's Pulumi state (`pulumi login s3://...`)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

# Noncurrent versions S3 keeps whatever their age, so a stack deployed rarely keeps some history.
KEEP_NEWER_NONCURRENT_VERSIONS = 10
ABORT_INCOMPLETE_UPLOADS_DAYS = 7


def tls_only_policy(bucket_arn: str) -> str:
    """Refuse every request that does not arrive over TLS, whoever makes it."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


@dataclass
class StateBucketArgs:
    bucket_name: pulumi.Input[str]
    key_arn: pulumi.Input[str]
    noncurrent_version_days: int
    tags: dict[str, str]


class StateBucket(pulumi.ComponentResource):
    """Versioned, SSE-KMS (bucket key), private, TLS-only, owner-enforced; old versions expire.

    Protect the component (``opts=ResourceOptions(protect=True)``): its children inherit the flag,
    so a destroy can remove neither the bucket nor the settings that keep it private.
    """

    def __init__(self, name: str, args: StateBucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("truecaller:bootstrap:StateBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.bucket = aws.s3.Bucket(
            "state", bucket=args.bucket_name, force_destroy=False, tags=args.tags, opts=child
        )
        # ACLs off: the account owns every object, whoever writes it.
        ownership = aws.s3.BucketOwnershipControls(
            "state", bucket=self.bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=child
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            "state",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        self.versioning = aws.s3.BucketVersioning(
            "state", bucket=self.bucket.id, versioning_configuration={"status": "Enabled"}, opts=child
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            "state",
            bucket=self.bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": args.key_arn,
                    },
                    # One data key per bucket instead of one KMS call per object: cheaper, same key.
                    "bucket_key_enabled": True,
                }
            ],
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            "state",
            bucket=self.bucket.id,
            rules=[
                {
                    "id": "expire-noncurrent-versions",
                    "status": "Enabled",
                    "filter": {"prefix": ""},  # every object
                    "noncurrent_version_expiration": {
                        "noncurrent_days": args.noncurrent_version_days,
                        "newer_noncurrent_versions": KEEP_NEWER_NONCURRENT_VERSIONS,
                    },
                    # Deleted lock files leave delete markers; drop them once no version is left.
                    "expiration": {"expired_object_delete_marker": True},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": ABORT_INCOMPLETE_UPLOADS_DAYS},
                }
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.versioning]),
        )
        aws.s3.BucketPolicy(
            "state",
            bucket=self.bucket.id,
            policy=self.bucket.arn.apply(tls_only_policy),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access, ownership]),
        )

        self.bucket_name = self.bucket.bucket
        self.bucket_arn = self.bucket.arn
        self.register_outputs({"bucketName": self.bucket_name, "bucketArn": self.bucket_arn})
