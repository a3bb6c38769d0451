"""The bootstrap program under the mock runtime with its real project and stack files: the state
bucket, the key, the roles and the outputs the workflows' variables take."""

from __future__ import annotations

import json

import pytest

from offline.runtime import StackFileError, evaluate_stack
from tests.bootstrap.conftest import BOOTSTRAP_DIR, STACK, attached_documents, evaluate_bootstrap, role, role_arn

BUCKET = "truecaller-backend-pulumi-state-123456789012-eu-central-1"
S3 = "aws:s3/"


def setting(plan, kind: str):
    return plan.one(f"{S3}{kind[0].lower()}{kind[1:]}:{kind}")


def test_state_bucket_is_named_for_the_account_and_region_and_never_force_destroyed(bootstrap):
    bucket = bootstrap.one(f"{S3}bucket:Bucket")
    assert bucket.inputs["bucket"] == BUCKET
    assert bucket.inputs["forceDestroy"] is False
    for kind in ("BucketVersioning", "BucketServerSideEncryptionConfiguration", "BucketPublicAccessBlock",
                 "BucketOwnershipControls", "BucketLifecycleConfiguration", "BucketPolicy"):
        assert setting(bootstrap, kind).inputs["bucket"] == BUCKET, kind


def test_state_bucket_is_versioned_private_and_owner_enforced(bootstrap):
    assert setting(bootstrap, "BucketVersioning").inputs["versioningConfiguration"] == {"status": "Enabled"}
    block = setting(bootstrap, "BucketPublicAccessBlock").inputs
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                          "restrictPublicBuckets"))
    ownership = setting(bootstrap, "BucketOwnershipControls").inputs["rule"]
    assert ownership == {"objectOwnership": "BucketOwnerEnforced"}


def test_state_objects_are_encrypted_with_the_stacks_kms_key_and_a_bucket_key(bootstrap):
    (rule,) = setting(bootstrap, "BucketServerSideEncryptionConfiguration").inputs["rules"]
    key = bootstrap.one("aws:kms/key:Key")
    assert rule == {
        "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key.outputs["arn"]},
        "bucketKeyEnabled": True,
    }


def test_bucket_policy_refuses_every_request_without_tls(bootstrap):
    (statement,) = json.loads(setting(bootstrap, "BucketPolicy").inputs["policy"])["Statement"]
    arn = bootstrap.one(f"{S3}bucket:Bucket").outputs["arn"]
    assert statement == {
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def test_noncurrent_versions_expire_after_the_configured_days(bootstrap):
    (rule,) = setting(bootstrap, "BucketLifecycleConfiguration").inputs["rules"]
    assert rule["status"] == "Enabled" and rule["filter"] == {"prefix": ""}
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 90, "newerNoncurrentVersions": 10}
    assert rule["expiration"] == {"expiredObjectDeleteMarker": True}
    assert rule["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
    lifecycle = setting(bootstrap, "BucketLifecycleConfiguration")
    assert setting(bootstrap, "BucketVersioning").urn in lifecycle.dependencies
    shorter = evaluate_bootstrap(noncurrentVersionDays=30)
    (rule,) = setting(shorter, "BucketLifecycleConfiguration").inputs["rules"]
    assert rule["noncurrentVersionExpiration"]["noncurrentDays"] == 30


def test_kms_key_rotates_yearly_and_has_the_alias_the_secrets_provider_names(bootstrap):
    key = bootstrap.one("aws:kms/key:Key").inputs
    assert key["enableKeyRotation"] is True and key["rotationPeriodInDays"] == 365
    assert key["keyUsage"] == "ENCRYPT_DECRYPT" and key["customerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
    assert key["deletionWindowInDays"] == 30
    assert "policy" not in key  # AWS's default key policy: access comes from the roles' IAM policies
    alias = bootstrap.one("aws:kms/alias:Alias").inputs
    assert alias["name"] == "alias/truecaller-backend-pulumi"
    assert alias["targetKeyId"] == bootstrap.one("aws:kms/key:Key").outputs["keyId"]


def test_bucket_key_and_all_their_settings_are_protected_unless_lifted(bootstrap):
    stateful = [r for r in bootstrap.resources if r.custom and r.type.split(":")[1].split("/")[0] in ("s3", "kms")]
    assert len(stateful) == 9 and all(r.protect for r in stateful)
    assert not any(r.protect for r in bootstrap.resources if r.custom and r not in stateful)
    lifted = evaluate_bootstrap(protect="false")
    assert not any(r.protect for r in lifted.resources)


def test_roles_live_outside_the_main_programs_iam_path(bootstrap):
    for logical, name in (("preview-role", "truecaller-backend-github-preview"),
                          ("deploy-role", "truecaller-backend-github-deploy")):
        inputs = role(bootstrap, logical).inputs
        # Two hours: the deploy job's 60-minute timeout starts before the credentials step.
        assert (inputs["name"], inputs["path"], inputs["maxSessionDuration"]) == (name, "/github-actions/", 7200)
    policies = [p for p in bootstrap.of_type("aws:iam/policy:Policy") if p.name != "workload-boundary"]
    assert len(policies) == 12 and all(p.inputs["path"] == "/github-actions/" for p in policies)
    # The workload boundary lives with the roles it bounds (the deploy role may not edit it: test_permissions).
    assert bootstrap.one("aws:iam/policy:Policy", "workload-boundary").inputs["path"] == "/truecaller-backend/"


def test_each_role_gets_its_six_policies_and_nothing_else(bootstrap):
    for logical in ("preview-role", "deploy-role"):
        names = sorted(attached_documents(bootstrap, logical))
        suffix = logical.split("-")[0]
        assert names == sorted(f"truecaller-backend-github-{suffix}-{g}" for g in
                               ("containers", "identity", "load-balancing", "network", "operations", "state"))
    attachments = bootstrap.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert len(attachments) == 12
    assert all(":policy/github-actions/" in a.inputs["policyArn"] for a in attachments)  # no AWS managed policy


def test_outputs_are_exactly_the_repository_variables_the_workflows_read(bootstrap):
    key_alias = bootstrap.one("aws:kms/alias:Alias").inputs["name"]
    assert bootstrap.outputs == {
        "AWS_PREVIEW_ROLE_ARN": role(bootstrap, "preview-role").outputs["arn"],
        "AWS_DEPLOY_ROLE_ARN": role(bootstrap, "deploy-role").outputs["arn"],
        "PULUMI_BACKEND_URL": f"s3://{BUCKET}?region=eu-central-1",
        "PULUMI_SECRETS_PROVIDER": f"awskms://{key_alias}?region=eu-central-1",
        "AWS_REGION": "eu-central-1",
    }
    assert role_arn(bootstrap, "deploy-role").endswith(":role/github-actions/truecaller-backend-github-deploy")


def test_taggable_resources_carry_project_environment_and_managed_by(bootstrap):
    # The types here whose pulumi-aws resource takes `tags` (a bucket's settings and aliases do not).
    taggable = {"Bucket", "Key", "OpenIdConnectProvider", "Role", "Policy"}
    found = [r for r in bootstrap.resources if r.custom and r.type.split(":")[-1] in taggable]
    assert len(found) == 1 + 1 + 1 + 2 + 12 + 1  # ... and the workload boundary
    for r in found:
        assert r.inputs["tags"] == {"project": "truecaller-backend", "environment": STACK,
                                    "managed-by": "pulumi"}, r.urn


def test_a_named_bucket_and_another_project_are_honoured():
    plan = evaluate_bootstrap(stateBucketName="acme-pulumi-state", deployedProject="payments-api")
    assert plan.outputs["PULUMI_BACKEND_URL"] == "s3://acme-pulumi-state?region=eu-central-1"
    assert plan.outputs["PULUMI_SECRETS_PROVIDER"].startswith("awskms://alias/payments-api-pulumi?")
    assert role(plan, "deploy-role").inputs["name"] == "payments-api-github-deploy"


def test_the_cli_refuses_a_stack_without_the_repository():
    with pytest.raises(StackFileError, match="Stack 'account' is missing configuration value 'githubRepository'"):
        evaluate_stack(STACK, project_dir=BOOTSTRAP_DIR)


@pytest.mark.parametrize(("key", "value", "complaint"), [
    ("githubRepository", "truecaller-backend", "expected <owner>/<repository>"),
    ("githubRepository", "my-org/*", "expected <owner>/<repository>"),
    ("githubRepository", "my-org/truecaller-backend:environment:production", "expected <owner>/<repository>"),
    ("githubRepository", "-my-org/repo", "expected <owner>/<repository>"),
    ("githubRepository", "my--org/repo", "expected <owner>/<repository>"),
    ("githubRepository", "a" * 40 + "/repo", "expected <owner>/<repository>"),
    ("stateBucketName", "Has_Upper", "an S3 bucket name"),
    ("stateBucketName", "ab", "an S3 bucket name"),
    ("noncurrentVersionDays", "0", "an integer from 1 to 3650"),
    ("keyDeletionWindowDays", "3", "an integer from 7 to 30"),
    ("existingOidcProviderArn", "arn:aws:iam::123456789012:oidc-provider/gitlab.com",
     "oidc-provider/token.actions.githubusercontent.com"),
    ("hostedZoneId", "example.com", "a Route 53 hosted zone ID"),
    ("deployedProject", "Truecaller", "3-32 lowercase letters"),
])
def test_bad_values_stop_the_program_before_any_resource(key, value, complaint):
    with pytest.raises(Exception, match="Invalid configuration for bootstrap stack 'account'") as raised:
        evaluate_bootstrap(**{key: value})
    message = str(raised.value)
    assert f"truecaller-backend-bootstrap:{key} = {value!r} is invalid" in message
    assert complaint in message and f"Fix: pulumi config set {key} <value> -s account" in message
    assert raised.value.registered_urns == []


def test_every_problem_is_reported_at_once():
    with pytest.raises(Exception) as raised:
        evaluate_bootstrap(githubRepository="nope", noncurrentVersionDays="0", hostedZoneId="zone")
    assert len(raised.value.problems) == 3
