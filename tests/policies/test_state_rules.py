"""S3 and KMS rules for the Pulumi state the bootstrap creates, called in process (mutation testing reaches
them here; tests/bootstrap/test_policy_pack.py drives the same policies through gRPC)."""

from __future__ import annotations

import json

import pytest

from tests.policies.harness import resource_violations, stack_findings, stack_resource

from guardrails import kms, s3  # isort: skip

BUCKET = "aws:s3/bucket:Bucket"
BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
ENCRYPTION_V2 = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
VERSIONING_V2 = "aws:s3/bucketVersioningV2:BucketVersioningV2"
ALL_BLOCKED = dict.fromkeys(("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"),
                            True)
TLS_ONLY = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::state", "arn:aws:s3:::state/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}


def bucket(name: str = "state", kind: str = BUCKET, **props):
    return stack_resource(kind, f"{name}-bucket", {"bucket": name, **props})


def setting(kind: str, name: str, props: dict, of=None):
    """A settings resource naming its bucket by property dependency (``of``) or by name (props)."""
    return stack_resource(kind, name, props, {"bucket": [of]} if of is not None else None)


def blamed(policy, resources) -> list[str]:
    return [name for _message, name in stack_findings(policy, resources)]


# ----------------------------------------------------------------------------- encryption


@pytest.mark.parametrize("algorithm", ["aws:kms", "aws:kms:dsse", "AES256"])
def test_default_encryption_by_a_settings_resource(algorithm):
    state = bucket()
    rules = [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": algorithm}}]
    assert blamed(s3.encryption, [state, setting(ENCRYPTION, "sse", {"rules": rules}, of=state)]) == []
    assert blamed(s3.encryption, [state, setting(ENCRYPTION_V2, "sse", {"bucket": "state", "rules": rules})]) == []


def test_default_encryption_inline_or_missing():
    inline = bucket(serverSideEncryptionConfiguration={
        "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]})
    assert blamed(s3.encryption, [inline]) == []
    findings = stack_findings(s3.encryption, [bucket("logs", kind=BUCKET_V2)])
    assert findings == [("Bucket logs has no default encryption. Add an aws.s3.BucketServerSideEncryptionConfiguration"
                         " with sse_algorithm 'aws:kms' (a customer-managed key) and bucket_key_enabled.",
                         "logs-bucket")]
    unknown_algorithm = [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "none"}}, "not a rule", {}]
    state = bucket()
    assert blamed(s3.encryption, [state, setting(ENCRYPTION, "sse", {"rules": unknown_algorithm}, of=state)]) == [
        "state-bucket"]


def test_a_settings_resource_configures_only_its_own_bucket():
    state, other = bucket("state"), bucket("other")
    rules = [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]
    by_dependency = setting(ENCRYPTION, "sse", {"rules": rules}, of=state)
    assert blamed(s3.encryption, [state, other, by_dependency]) == ["other-bucket"]
    by_id = stack_resource(BUCKET, "named", {"id": "state-id"})
    assert blamed(s3.encryption, [by_id, setting(ENCRYPTION, "sse", {"bucket": "state-id", "rules": rules})]) == []
    assert s3.settings_of(by_id, [setting(ENCRYPTION, "sse", {"bucket": "", "rules": rules})], s3.ENCRYPTION) == []


# ----------------------------------------------------------------------------- public access


def test_public_access_needs_all_four_flags_true():
    state = bucket()
    assert blamed(s3.public_access, [state, setting(ACCESS_BLOCK, "pab", ALL_BLOCKED, of=state)]) == []
    assert stack_findings(s3.public_access, [state]) == [(
        "Bucket state does not block public access (blockPublicAcls, blockPublicPolicy, ignorePublicAcls, "
        "restrictPublicBuckets not true). Add an aws.s3.BucketPublicAccessBlock with all four flags true.",
        "state-bucket")]
    partly = setting(ACCESS_BLOCK, "pab", {**ALL_BLOCKED, "ignorePublicAcls": False, "restrictPublicBuckets": "true"},
                     of=state)
    (message,) = [m for m, _ in stack_findings(s3.public_access, [state, partly])]
    assert "(ignorePublicAcls, restrictPublicBuckets not true)" in message
    second = setting(ACCESS_BLOCK, "pab-2", {**ALL_BLOCKED, "blockPublicAcls": False}, of=state)
    (message,) = [m for m, _ in stack_findings(
        s3.public_access, [state, setting(ACCESS_BLOCK, "pab", ALL_BLOCKED, of=state), second])]
    assert "(blockPublicAcls not true)" in message


# ----------------------------------------------------------------------------- TLS only


@pytest.mark.parametrize("statement", [
    TLS_ONLY["Statement"][0],
    {**TLS_ONLY["Statement"][0], "Principal": {"AWS": "*"}, "Action": ["s3:GetObject", "s3:*"]},
    {**TLS_ONLY["Statement"][0], "Action": "*", "Condition": {"Bool": {"aws:SecureTransport": False}}},
])
def test_a_deny_without_tls_for_everyone(statement):
    assert s3.denies_plain_http({"Statement": [{"Effect": "Allow", "Action": "s3:*"}, "x", statement]})
    assert s3.denies_plain_http({"Statement": statement})


@pytest.mark.parametrize("statement", [
    {**TLS_ONLY["Statement"][0], "Effect": "Allow"},
    {**TLS_ONLY["Statement"][0], "Principal": {"AWS": "arn:aws:iam::123456789012:root"}},
    {**TLS_ONLY["Statement"][0], "Principal": "arn:aws:iam::123456789012:root"},
    {**TLS_ONLY["Statement"][0], "Action": "s3:GetObject"},
    {**TLS_ONLY["Statement"][0], "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
    {**TLS_ONLY["Statement"][0], "Condition": {"StringEquals": {"aws:SecureTransport": "false"}}},
    {key: value for key, value in TLS_ONLY["Statement"][0].items() if key != "Condition"},
])
def test_other_statements_do_not_make_a_bucket_tls_only(statement):
    assert not s3.denies_plain_http({"Statement": [statement]})


def test_tls_only_reads_the_bucket_policy_document():
    state = bucket()
    assert not s3.denies_plain_http("not a document") and not s3.denies_plain_http({"Statement": []})
    assert blamed(s3.tls_only, [state, setting(POLICY, "policy", {"policy": json.dumps(TLS_ONLY)}, of=state)]) == []
    assert blamed(s3.tls_only, [state, setting(POLICY, "policy", {"policy": TLS_ONLY}, of=state)]) == []
    assert stack_findings(s3.tls_only, [state, setting(POLICY, "policy", {"policy": "{}"}, of=state)]) == [(
        "Bucket state accepts requests without TLS. Add a bucket policy statement Deny s3:* for Principal '*' when "
        "aws:SecureTransport is false.", "state-bucket")]


# ----------------------------------------------------------------------------- versioning


def test_versioning_enabled_by_a_settings_resource_or_inline():
    state = bucket()
    enabled = setting(VERSIONING, "v", {"versioningConfiguration": {"status": "Enabled"}}, of=state)
    suspended = setting(VERSIONING_V2, "v2", {"bucket": "state", "versioningConfiguration": {"status": "Suspended"}})
    assert blamed(s3.versioning, [state, enabled]) == []
    assert blamed(s3.versioning, [state, suspended, enabled]) == []
    assert blamed(s3.versioning, [bucket(versioning={"enabled": True})]) == []
    assert blamed(s3.versioning, [bucket(versioning={"enabled": "true"})]) == ["state-bucket"]
    assert stack_findings(s3.versioning, [state, suspended]) == [(
        "Bucket state is not versioned: an overwritten or deleted state file is gone. Add an aws.s3.BucketVersioning "
        "with status Enabled.", "state-bucket")]


def test_a_bucket_without_a_name_is_named_by_its_urn():
    (finding,) = stack_findings(s3.versioning, [stack_resource(BUCKET, "unnamed", {})])
    assert finding[0].startswith("Bucket unnamed is not versioned") and finding[1] == "unnamed"


# ----------------------------------------------------------------------------- KMS


@pytest.mark.parametrize(("props", "violates"), [
    ({"enableKeyRotation": True}, False),
    ({}, True),
    ({"enableKeyRotation": False}, True),
    ({"enableKeyRotation": "true"}, True),
    ({"customerMasterKeySpec": "SYMMETRIC_DEFAULT"}, True),
    ({"keySpec": "SYMMETRIC_DEFAULT", "enableKeyRotation": True}, False),
    ({"customerMasterKeySpec": "RSA_2048"}, False),  # asymmetric keys cannot rotate automatically
    ({"keySpec": "HMAC_256"}, False),
])
def test_symmetric_keys_rotate(props, violates):
    found = resource_violations(kms.key_rotation, kms.KEY, props)
    assert found == ([
        "The symmetric KMS key does not rotate its key material. Set enable_key_rotation=True (yearly by default; "
        "rotation_period_in_days sets 90 to 2560 days)."] if violates else [])
