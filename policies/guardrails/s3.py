"""Amazon S3: the buckets of this kit hold Pulumi state (bootstrap/): encrypted, private, TLS-only and
versioned, so a stolen token, a plain-HTTP client or a bad write cannot lose or leak a stack.

pulumi-aws 7 configures a bucket through separate resources (BucketServerSideEncryptionConfiguration,
BucketPublicAccessBlock, BucketPolicy, BucketVersioning), each naming its bucket; they are matched to
the bucket by property dependency (known in previews) or by the bucket's name.
"""

from __future__ import annotations

from collections.abc import Mapping

from pulumi_policy import Severity

from guardrails.common import json_document, of_type, related, short_urn, stack_policy

BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
ENCRYPTION = ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
              "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")
PUBLIC_ACCESS_BLOCK = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",)
POLICY = ("aws:s3/bucketPolicy:BucketPolicy",)
VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
SSE_ALGORITHMS = ("aws:kms", "aws:kms:dsse", "AES256")


def settings_of(bucket, resources, types: tuple[str, ...]) -> list:
    """The settings resources of ``types`` that configure ``bucket``."""
    names = {str(v) for v in (bucket.props.get("bucket"), bucket.props.get("id")) if v}
    return [s for s in of_type(resources, *types)
            if bucket.urn in {r.urn for r in related(s, "bucket", *BUCKETS)}
            or str(s.props.get("bucket") or "") in names]


def _label(bucket) -> str:
    return str(bucket.props.get("bucket") or short_urn(bucket.urn))


def _encryption(args, report_violation):
    for bucket in of_type(args.resources, *BUCKETS):
        rules = [rule for setting in settings_of(bucket, args.resources, ENCRYPTION)
                 for rule in setting.props.get("rules") or []]
        rules += list((bucket.props.get("serverSideEncryptionConfiguration") or {}).get("rules") or [])
        algorithms = {str((rule.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm"))
                      for rule in rules if isinstance(rule, Mapping)}
        if not algorithms & set(SSE_ALGORITHMS):
            report_violation(f"Bucket {_label(bucket)} has no default encryption. Add an "
                             "aws.s3.BucketServerSideEncryptionConfiguration with sse_algorithm 'aws:kms' "
                             "(a customer-managed key) and bucket_key_enabled.", bucket.urn)


encryption = stack_policy(
    "s3-default-encryption",
    "S3 buckets encrypt every object by default (SSE-KMS preferred), so state and its secrets are never "
    "stored in the clear. Fix: aws.s3.BucketServerSideEncryptionConfiguration with sse_algorithm='aws:kms'.",
    _encryption,
    severity=Severity.HIGH,
)


def _public_access(args, report_violation):
    for bucket in of_type(args.resources, *BUCKETS):
        blocks = settings_of(bucket, args.resources, PUBLIC_ACCESS_BLOCK)
        open_flags = sorted({flag for flag in PUBLIC_ACCESS_FLAGS
                             if not blocks or not all(b.props.get(flag) is True for b in blocks)})
        if open_flags:
            report_violation(f"Bucket {_label(bucket)} does not block public access ({', '.join(open_flags)} not "
                             "true). Add an aws.s3.BucketPublicAccessBlock with all four flags true.", bucket.urn)


public_access = stack_policy(
    "s3-block-public-access",
    "S3 buckets block every kind of public access (public ACLs and public policies, new and existing). Fix: "
    "aws.s3.BucketPublicAccessBlock with block_public_acls, block_public_policy, ignore_public_acls and "
    "restrict_public_buckets all true.",
    _public_access,
    severity=Severity.CRITICAL,
)


def denies_plain_http(document) -> bool:
    """Whether a bucket policy denies every request made without TLS (aws:SecureTransport false)."""
    if not isinstance(document, Mapping):
        return False
    statements = document.get("Statement")
    statements = statements if isinstance(statements, list) else [statements]
    for statement in statements:
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Deny":
            continue
        actions = statement.get("Action")
        actions = actions if isinstance(actions, list) else [actions]
        principal = statement.get("Principal")
        everyone = principal == "*" or (isinstance(principal, Mapping) and principal.get("AWS") == "*")
        condition = (statement.get("Condition") or {}).get("Bool") or {}
        insecure = str(condition.get("aws:SecureTransport", "")).lower() == "false"
        if everyone and insecure and ("s3:*" in actions or "*" in actions):
            return True
    return False


def _tls_only(args, report_violation):
    for bucket in of_type(args.resources, *BUCKETS):
        policies = settings_of(bucket, args.resources, POLICY)
        if not any(denies_plain_http(json_document(p.props.get("policy"))) for p in policies):
            report_violation(f"Bucket {_label(bucket)} accepts requests without TLS. Add a bucket policy statement "
                             "Deny s3:* for Principal '*' when aws:SecureTransport is false.", bucket.urn)


tls_only = stack_policy(
    "s3-tls-only",
    "S3 buckets refuse requests without TLS through their bucket policy. Fix: aws.s3.BucketPolicy with a Deny of "
    "s3:* for Principal '*' on the bucket and its objects when aws:SecureTransport is false.",
    _tls_only,
    severity=Severity.HIGH,
)


def _versioning(args, report_violation):
    for bucket in of_type(args.resources, *BUCKETS):
        statuses = {str((v.props.get("versioningConfiguration") or {}).get("status"))
                    for v in settings_of(bucket, args.resources, VERSIONING)}
        if (bucket.props.get("versioning") or {}).get("enabled") is True:
            statuses.add("Enabled")
        if "Enabled" not in statuses:
            report_violation(f"Bucket {_label(bucket)} is not versioned: an overwritten or deleted state file is "
                             "gone. Add an aws.s3.BucketVersioning with status Enabled.", bucket.urn)


versioning = stack_policy(
    "s3-versioning",
    "S3 buckets keep object versions, so an overwritten or deleted Pulumi state file can be restored. Fix: "
    "aws.s3.BucketVersioning with versioning_configuration status 'Enabled' (and a lifecycle rule that "
    "expires noncurrent versions).",
    _versioning,
    severity=Severity.HIGH,
)

POLICIES = [encryption, public_access, tls_only, versioning]
