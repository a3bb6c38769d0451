"""The bootstrap's planned resources, translated to the AWS API calls the provider makes, pass
botocore's own service models; the role and policy documents fit IAM's limits."""

from __future__ import annotations

import json

import pytest

from tests.bootstrap.conftest import role
from tests.test_aws_shapes import validate

S3 = "aws:s3/"


def inputs(plan, type_token: str) -> dict:
    return plan.one(type_token).inputs


def _int(value):
    return int(value) if isinstance(value, float) else value


def lifecycle_request(plan) -> dict:
    i = inputs(plan, f"{S3}bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    rules = []
    for rule in i["rules"]:
        noncurrent = rule["noncurrentVersionExpiration"]
        rules.append({
            "ID": rule["id"],
            "Status": rule["status"],
            "Filter": {"Prefix": rule["filter"]["prefix"]},
            "NoncurrentVersionExpiration": {"NoncurrentDays": _int(noncurrent["noncurrentDays"]),
                                            "NewerNoncurrentVersions": _int(noncurrent["newerNoncurrentVersions"])},
            "Expiration": {"ExpiredObjectDeleteMarker": rule["expiration"]["expiredObjectDeleteMarker"]},
            "AbortIncompleteMultipartUpload": {
                "DaysAfterInitiation": _int(rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"])},
        })
    return {"Bucket": i["bucket"], "LifecycleConfiguration": {"Rules": rules}}


def encryption_request(plan) -> dict:
    i = inputs(plan, f"{S3}bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    rules = [{
        "ApplyServerSideEncryptionByDefault": {
            "SSEAlgorithm": r["applyServerSideEncryptionByDefault"]["sseAlgorithm"],
            "KMSMasterKeyID": r["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"],
        },
        "BucketKeyEnabled": r["bucketKeyEnabled"],
    } for r in i["rules"]]
    return {"Bucket": i["bucket"], "ServerSideEncryptionConfiguration": {"Rules": rules}}


def requests(plan) -> list[tuple[str, str, dict]]:
    block = inputs(plan, f"{S3}bucketPublicAccessBlock:BucketPublicAccessBlock")
    provider = inputs(plan, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    versioning = inputs(plan, f"{S3}bucketVersioning:BucketVersioning")
    found = [
        ("s3", "CreateBucket", {"Bucket": inputs(plan, f"{S3}bucket:Bucket")["bucket"],
                                "CreateBucketConfiguration": {"LocationConstraint": plan.region}}),
        ("s3", "PutBucketVersioning", {"Bucket": versioning["bucket"], "VersioningConfiguration": {
            "Status": versioning["versioningConfiguration"]["status"]}}),
        ("s3", "PutBucketEncryption", encryption_request(plan)),
        ("s3", "PutPublicAccessBlock", {"Bucket": block["bucket"], "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": block["blockPublicAcls"], "IgnorePublicAcls": block["ignorePublicAcls"],
            "BlockPublicPolicy": block["blockPublicPolicy"], "RestrictPublicBuckets": block["restrictPublicBuckets"]}}),
        ("s3", "PutBucketOwnershipControls", {
            "Bucket": inputs(plan, f"{S3}bucketOwnershipControls:BucketOwnershipControls")["bucket"],
            "OwnershipControls": {"Rules": [{"ObjectOwnership": inputs(
                plan, f"{S3}bucketOwnershipControls:BucketOwnershipControls")["rule"]["objectOwnership"]}]}}),
        ("s3", "PutBucketLifecycleConfiguration", lifecycle_request(plan)),
        ("s3", "PutBucketPolicy", {"Bucket": inputs(plan, f"{S3}bucketPolicy:BucketPolicy")["bucket"],
                                   "Policy": inputs(plan, f"{S3}bucketPolicy:BucketPolicy")["policy"]}),
        # No ThumbprintList: optional in IAM's API for issuers it validates through trusted CAs.
        ("iam", "CreateOpenIDConnectProvider", {"Url": provider["url"], "ClientIDList": provider["clientIdLists"]}),
    ]
    for planned in plan.of_type("aws:kms/key:Key"):  # the state key and each stack's secrets key
        key = planned.inputs
        found += [
            ("kms", "CreateKey", {"Description": key["description"], "KeyUsage": key["keyUsage"],
                                  "KeySpec": key["customerMasterKeySpec"],
                                  "Tags": [{"TagKey": k, "TagValue": v} for k, v in key["tags"].items()]}),
            ("kms", "EnableKeyRotation", {"KeyId": planned.outputs["keyId"],
                                          "RotationPeriodInDays": _int(key["rotationPeriodInDays"])}),
            ("kms", "ScheduleKeyDeletion", {"KeyId": "k", "PendingWindowInDays": _int(key["deletionWindowInDays"])}),
        ]
    for alias in plan.of_type("aws:kms/alias:Alias"):
        found.append(("kms", "CreateAlias", {"AliasName": alias.inputs["name"],
                                             "TargetKeyId": alias.inputs["targetKeyId"]}))
    for logical in ("preview-role", "deploy-role"):
        r = role(plan, logical).inputs
        found.append(("iam", "CreateRole", {
            "RoleName": r["name"], "Path": r["path"], "Description": r["description"],
            "AssumeRolePolicyDocument": r["assumeRolePolicy"], "MaxSessionDuration": _int(r["maxSessionDuration"]),
            "Tags": [{"Key": k, "Value": v} for k, v in r["tags"].items()]}))
    for p in plan.of_type("aws:iam/policy:Policy"):
        found.append(("iam", "CreatePolicy", {"PolicyName": p.inputs["name"], "Path": p.inputs["path"],
                                              "PolicyDocument": p.inputs["policy"],
                                              "Description": p.inputs["description"]}))
    return found


def test_every_request_passes_botocores_models(bootstrap):
    reports = {f"{service}.{operation}": validate(service, operation, params)
               for service, operation, params in requests(bootstrap)}
    assert {name: report for name, report in reports.items() if report} == {}


@pytest.mark.parametrize(("operation", "params", "complaint"), [
    ("PutBucketLifecycleConfiguration", {"Bucket": "b", "LifecycleConfiguration": {"Rules": [
        {"Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": "90"}}]}}, "NoncurrentDays"),
    ("PutBucketEncryption", {"Bucket": "b", "ServerSideEncryptionConfiguration": {"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"KMSMasterKeyID": "k"}}]}}, "SSEAlgorithm"),
])
def test_shape_check_can_fail(operation, params, complaint):
    assert complaint in validate("s3", operation, params)


def test_names_fit_aws_limits(bootstrap):
    bucket = inputs(bootstrap, f"{S3}bucket:Bucket")["bucket"]
    assert 3 <= len(bucket) <= 63
    for logical in ("preview-role", "deploy-role"):
        r = role(bootstrap, logical).inputs
        assert len(r["name"]) <= 64 and len(r["description"]) <= 1000
        assert len(json.dumps(json.loads(r["assumeRolePolicy"]), separators=(",", ":"))) <= 2048  # trust quota
    for p in bootstrap.of_type("aws:iam/policy:Policy"):
        assert len(p.inputs["name"]) <= 128 and len(p.inputs["description"]) <= 1000
