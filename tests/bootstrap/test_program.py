"""The bootstrap program under the mock runtime with its real project and stack files: the state
bucket, the key, the roles and the outputs the workflows' variables take."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from offline.ci_env import stack_names
from offline.runtime import StackFileError, evaluate_stack
from tests.bootstrap.conftest import (
    BOOTSTRAP_DIR,
    REPOSITORY,
    STACK,
    attached_documents,
    evaluate_bootstrap,
    role,
    role_arn,
)
from tests.test_workflows import NAMES, load, step_using

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


def test_state_objects_are_encrypted_with_the_state_kms_key_and_a_bucket_key(bootstrap):
    (rule,) = setting(bootstrap, "BucketServerSideEncryptionConfiguration").inputs["rules"]
    key = bootstrap.one("aws:kms/key:Key", "key")
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


# logical name of the key -> its alias: the state bucket's key (named as the first release named it, so an
# existing key is kept) and one key per stack of the default `stacks`.
KEYS = {"key": "alias/truecaller-backend-pulumi", "staging-key": "alias/truecaller-backend-staging-secrets",
        "prod-key": "alias/truecaller-backend-prod-secrets"}


def test_every_kms_key_rotates_yearly_and_has_its_alias(bootstrap):
    aliases = {a.inputs["targetKeyId"]: a.inputs["name"] for a in bootstrap.of_type("aws:kms/alias:Alias")}
    assert len(aliases) == len(bootstrap.of_type("aws:kms/alias:Alias"))  # one alias per key
    found = {}
    for planned in bootstrap.of_type("aws:kms/key:Key"):
        key = planned.inputs
        assert key["enableKeyRotation"] is True and key["rotationPeriodInDays"] == 365, planned.name
        assert key["keyUsage"] == "ENCRYPT_DECRYPT" and key["customerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
        assert key["deletionWindowInDays"] == 30
        assert "policy" not in key  # AWS's default key policy: access comes from the roles' IAM policies
        found[planned.name] = aliases[planned.outputs["keyId"]]
    assert found == KEYS


def test_the_default_stacks_each_get_a_key_and_are_the_committed_stacks():
    from account.config import SETTINGS_BY_KEY

    assert sorted(SETTINGS_BY_KEY["stacks"].default.split(",")) == stack_names()
    three = evaluate_bootstrap(stacks="staging, prod,qa", previewStacks="staging,qa")
    assert sorted(k.name for k in three.of_type("aws:kms/key:Key")) == ["key", "prod-key", "qa-key", "staging-key"]
    assert three.outputs["repositoryVariables"]["AWS_PREVIEW_STACKS"] == '["staging", "qa"]'
    assert three.outputs["secretsProviders"]["qa"] == "awskms://alias/truecaller-backend-qa-secrets?region=eu-central-1"


def test_bucket_keys_and_all_their_settings_are_protected_unless_lifted(bootstrap):
    stateful = [r for r in bootstrap.resources if r.custom and r.type.split(":")[1].split("/")[0] in ("s3", "kms")]
    assert len(stateful) == 7 + 2 * 3 and all(r.protect for r in stateful)
    assert not any(r.protect for r in bootstrap.resources if r.custom and r not in stateful)
    lifted = evaluate_bootstrap(protect="false")
    assert not any(r.protect for r in lifted.resources)


OIDC_DEFAULT_SESSION_SECONDS = 3600  # configure-aws-credentials without role-duration-seconds (its action.yml)


def test_every_credentials_step_outlives_its_job_and_fits_its_roles_maximum(bootstrap):
    """AWS refuses a session longer than the role's MaxSessionDuration; a session shorter than the job's
    timeout expires under a long `pulumi up`, half-way through a deployment."""
    maximum = {"vars.AWS_PREVIEW_ROLE_ARN": role(bootstrap, "preview-role").inputs["maxSessionDuration"],
               "vars.AWS_DEPLOY_ROLE_ARN": role(bootstrap, "deploy-role").inputs["maxSessionDuration"]}
    checked = 0
    for name in NAMES:
        for job in load(name)["jobs"].values():
            for step in step_using(job, "aws-actions/configure-aws-credentials"):
                inputs = step["with"]
                seconds = int(inputs.get("role-duration-seconds", OIDC_DEFAULT_SESSION_SECONDS))
                assert seconds >= job["timeout-minutes"] * 60, (name, step)
                assert seconds <= maximum[inputs["role-to-assume"].strip("${} ")], (name, step)
                checked += 1
    assert checked == 3  # the PR preview, the deploy and the rollback


def test_roles_live_outside_the_main_programs_iam_path(bootstrap):
    for logical, name in (("preview-role", "truecaller-backend-github-preview"),
                          ("deploy-role", "truecaller-backend-github-deploy")):
        inputs = role(bootstrap, logical).inputs
        assert (inputs["name"], inputs["path"], inputs["maxSessionDuration"]) == (name, "/github-actions/", 3600)
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


EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
# GitHub's expression tokens that matter here: string literals ('' escapes a quote), names, '.', '[' and ']'.
TOKEN = re.compile(r"'(?:[^']|'')*'|[A-Za-z_][A-Za-z0-9_-]*|[.\[\]]|\S")


def expressions(node, key=None):
    """Every expression of a workflow: `${{ ... }}` in any string, and the bare expression of an `if:`."""
    if isinstance(node, dict):
        for k, value in node.items():
            yield from expressions(value, k)
    elif isinstance(node, list):
        for value in node:
            yield from expressions(value)
    elif isinstance(node, str):
        found = EXPRESSION.findall(node)
        yield from found
        if key == "if" and not found:
            yield node


def context_reads(expression: str, context: str) -> set[str]:
    """Names read from a context (`vars.NAME`, `vars['NAME']`); the whole context (`toJSON(vars)`) is `*`."""
    tokens = TOKEN.findall(expression)
    names = set()
    for i, token in enumerate(tokens):
        if token != context or (i and tokens[i - 1] == "."):  # `github.vars` would be another context's key
            continue
        following = tokens[i + 1:i + 4]
        if following[:1] == ["."] and len(following) > 1:
            names.add(following[1])
        elif following[:1] == ["["] and len(following) > 1 and following[1].startswith("'"):
            names.add(following[1][1:-1].replace("''", "'"))
        else:
            names.add("*")
    return names


def workflow_reads(context: str) -> set[str]:
    return {name for workflow in NAMES for expression in expressions(load(workflow))
            for name in context_reads(expression, context)}


def test_the_expression_reader_finds_each_spelling():
    workflow = {"jobs": {"a": {"if": "vars.A != '' && github.event_name == 'push'",
                               "env": {"B": "${{ vars['B'] }}-${{ format('{0}', vars.C) }}", "D": "vars.NOT_READ"},
                               "steps": [{"run": "echo ${{ toJSON(vars) }} '${{ github.vars }}'"}]}}}
    found = {name for e in expressions(workflow) for name in context_reads(e, "vars")}
    assert found == {"A", "B", "C", "*"}


def test_the_repository_variables_output_is_exactly_what_the_workflows_read(bootstrap):
    read = workflow_reads("vars")
    assert read and "*" not in read
    assert set(bootstrap.outputs["repositoryVariables"]) == read
    assert workflow_reads("secrets") <= {"GITHUB_TOKEN"}  # no repository secret to set
    assert bootstrap.outputs["repositoryVariables"] == {
        "AWS_PREVIEW_ROLE_ARN": role(bootstrap, "preview-role").outputs["arn"],
        "AWS_DEPLOY_ROLE_ARN": role(bootstrap, "deploy-role").outputs["arn"],
        "PULUMI_BACKEND_URL": f"s3://{BUCKET}?region=eu-central-1",
        "AWS_PREVIEW_STACKS": '["staging"]',  # a JSON list: preview.yml's fromJSON reads it
    }
    assert role_arn(bootstrap, "deploy-role").endswith(":role/github-actions/truecaller-backend-github-deploy")


def test_login_and_stack_init_get_their_urls_beside_the_variables(bootstrap):
    assert set(bootstrap.outputs) == {"repositoryVariables", "backendUrl", "secretsProviders",
                                      "bootstrapSecretsProvider"}
    assert bootstrap.outputs["backendUrl"] == bootstrap.outputs["repositoryVariables"]["PULUMI_BACKEND_URL"]
    # Each stack's own key, never the state key: the CI roles may use that one only through S3.
    assert bootstrap.outputs["secretsProviders"] == {
        stack: f"awskms://alias/truecaller-backend-{stack}-secrets?region=eu-central-1"
        for stack in ("staging", "prod")}
    assert (bootstrap.outputs["bootstrapSecretsProvider"]
            == "awskms://alias/truecaller-backend-pulumi?region=eu-central-1")


def test_taggable_resources_carry_project_environment_and_managed_by(bootstrap):
    # The types here whose pulumi-aws resource takes `tags` (a bucket's settings and aliases do not).
    taggable = {"Bucket", "Key", "OpenIdConnectProvider", "Role", "Policy"}
    found = [r for r in bootstrap.resources if r.custom and r.type.split(":")[-1] in taggable]
    assert len(found) == 1 + 3 + 1 + 2 + 12 + 1  # the bucket, the state and stack keys, ... the workload boundary
    for r in found:
        assert r.inputs["tags"] == {"project": "truecaller-backend", "environment": STACK,
                                    "managed-by": "pulumi"}, r.urn


def test_a_named_bucket_and_another_project_are_honoured():
    plan = evaluate_bootstrap(stateBucketName="acme-pulumi-state", deployedProject="payments-api")
    assert plan.outputs["backendUrl"] == "s3://acme-pulumi-state?region=eu-central-1"
    assert plan.outputs["secretsProviders"]["prod"].startswith("awskms://alias/payments-api-prod-secrets?")
    assert plan.outputs["bootstrapSecretsProvider"].startswith("awskms://alias/payments-api-pulumi?")
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
    ("stacks", "", "a comma-separated list of distinct stack names"),
    ("stacks", "staging,prod,staging", "a comma-separated list of distinct stack names"),
    ("stacks", "staging,prod.eu", "the characters a KMS alias allows"),  # a Pulumi stack name, not an alias
    ("stacks", "staging,,prod", "a comma-separated list of distinct stack names"),
    ("previewStacks", "staging prod", "empty or a comma-separated list of distinct stack names"),
])
def test_bad_values_stop_the_program_before_any_resource(key, value, complaint):
    with pytest.raises(Exception, match="Invalid configuration for bootstrap stack 'account'") as raised:
        evaluate_bootstrap(**{key: value})
    message = str(raised.value)
    assert f"truecaller-backend-bootstrap:{key} = {value!r} is invalid" in message
    assert complaint in message and f"Fix: pulumi config set {key} <value> -s account" in message
    assert raised.value.registered_urns == []


@pytest.mark.parametrize(("stacks", "previews", "fix"), [
    (None, "staging,prod-eu", "pulumi config set previewStacks staging -s account, or add prod-eu to stacks "
                              "(pulumi config set stacks staging,prod,prod-eu -s account)"),
    ("prod", None, "pulumi config set previewStacks '' -s account, or add staging to stacks "
                   "(pulumi config set stacks prod,staging -s account)"),
])
def test_previews_only_of_stacks_that_have_a_key(stacks, previews, fix):
    overrides = {k: v for k, v in (("stacks", stacks), ("previewStacks", previews)) if v is not None}
    with pytest.raises(Exception, match="Invalid configuration for bootstrap stack 'account'") as raised:
        evaluate_bootstrap(**overrides)
    (problem,) = raised.value.problems
    assert problem.startswith("truecaller-backend-bootstrap:previewStacks = ") and problem.endswith(fix), problem
    assert raised.value.registered_urns == []


def test_no_preview_stack_gives_the_preview_role_no_stack_key():
    plan = evaluate_bootstrap(previewStacks="")
    assert plan.outputs["repositoryVariables"]["AWS_PREVIEW_STACKS"] == "[]"
    state = json.loads(plan.one("aws:iam/policy:Policy", "preview-role-state").inputs["policy"])
    assert [s["Sid"] for s in state["Statement"]] == ["StateListBucket", "StateReadStacks", "StateDecrypt"]


def test_every_problem_is_reported_at_once():
    with pytest.raises(Exception) as raised:
        evaluate_bootstrap(githubRepository="nope", noncurrentVersionDays="0", hostedZoneId="zone")
    assert len(raised.value.problems) == 3


def stack_file_project(tmp_path, stack: str, config: str):
    """The bootstrap project with one more stack file, as an administrator writes it."""
    for name in ("Pulumi.yaml", "__main__.py", "account", "policy-config.json"):
        (tmp_path / name).symlink_to(BOOTSTRAP_DIR / name)
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(
        f"config:\n  aws:region: eu-central-1\n  truecaller-backend-bootstrap:githubRepository: {REPOSITORY}\n"
        + config)
    return tmp_path


@pytest.mark.parametrize(("line", "key", "closest"), [
    # The lifecycle rule would keep noncurrent state versions 90 days, not the 30 written.
    ("noncurrentVersionDay: 30", "noncurrentVersionDay", "noncurrentVersionDays"),
    # The CI roles would be scoped to the default project, not the one deployed.
    ("deployedProjet: payments-api", "deployedProjet", "deployedProject"),
    ("DeployedProject: payments-api", "DeployedProject", "deployedProject"),
])
def test_a_typo_in_a_real_stack_file_stops_the_bootstrap(tmp_path, line, key, closest):
    project_dir = stack_file_project(tmp_path, "typo", f"  truecaller-backend-bootstrap:{line}\n")
    with pytest.raises(Exception, match="Invalid configuration for bootstrap stack 'typo'") as raised:
        evaluate_stack("typo", project_dir=project_dir)
    assert raised.value.problems == [
        f"truecaller-backend-bootstrap:{key} in Pulumi.typo.yaml is not a setting of this program: did you mean "
        f"'{closest}'? Fix: pulumi config rm {key} -s typo && pulumi config set {closest} <value> -s typo"]
    assert raised.value.registered_urns == []


def test_an_unknown_key_is_reported_with_the_bad_values():
    with pytest.raises(Exception) as raised:
        evaluate_bootstrap(colour="blue", keyDeletionWindowDays="3")
    assert raised.value.problems == [
        "truecaller-backend-bootstrap:colour in Pulumi.account.yaml is not a setting of this program: "
        "Fix: pulumi config rm colour -s account",
        "truecaller-backend-bootstrap:keyDeletionWindowDays = '3' is invalid: expected an integer from 7 to 30. "
        "Fix: pulumi config set keyDeletionWindowDays <value> -s account",
    ]


def test_every_declared_key_and_other_projects_keys_are_accepted(tmp_path):
    values = {"deployedProject": "payments-api", "stateBucketName": "acme-pulumi-state", "noncurrentVersionDays": 30,
              "keyDeletionWindowDays": 7, "existingOidcProviderArn": "''", "hostedZoneId": "''", "protect": "false",
              "stacks": "staging,prod", "previewStacks": "''"}
    lines = "".join(f"  truecaller-backend-bootstrap:{key}: {value}\n" for key, value in values.items())
    other = "  truecaller-backend:desiredCount: 3\n"  # the main program's namespace: not the bootstrap's to judge
    plan = evaluate_stack("full", project_dir=stack_file_project(tmp_path, "full", lines + other))
    assert plan.outputs["backendUrl"] == "s3://acme-pulumi-state?region=eu-central-1"


def test_the_bootstrap_imports_the_shared_check_with_only_its_own_directory_on_the_path():
    """As the CLI runs it: the program's directory first on sys.path, the repository root not on it."""
    code = ("import sys; sys.path.insert(0, '.'); import account.config as c; "
            "print(c.unknown_key_problems.__module__)")
    done = subprocess.run([sys.executable, "-I", "-c", code], cwd=BOOTSTRAP_DIR, capture_output=True, text=True,
                          env={"PATH": os.environ["PATH"]})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "infra.config_keys"
