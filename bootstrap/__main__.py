"""Bootstrap, once per AWS account: the state bucket and its KMS key, one KMS key per stack for that
stack's secrets, GitHub's OIDC provider and the two roles CI assumes (preview on pull requests, for the
preview stacks only; deploy from the staging/production environments). Its output `repositoryVariables`
holds exactly the GitHub repository variables the workflows read, under their names."""

import json

import pulumi
import pulumi_aws as aws
from account.ci_role import CiRole, CiRoleArgs
from account.config import load_config
from account.encryption_key import EncryptionKey, EncryptionKeyArgs, StackSecretsKeys, StackSecretsKeysArgs
from account.github_oidc import GithubOidc, GithubOidcArgs
from account.permissions import (
    GROUPS,
    Scope,
    boundary_document,
    boundary_name,
    boundary_path,
    deploy_documents,
    preview_documents,
)
from account.state_bucket import StateBucket, StateBucketArgs
from account.workload_boundary import WorkloadBoundary, WorkloadBoundaryArgs

cfg = load_config()  # validates everything before a single resource is registered
identity = aws.get_caller_identity_output()
account = identity.account_id
partition = identity.arn.apply(lambda arn: arn.split(":")[1])
region = aws.get_region_output().region
protected = pulumi.ResourceOptions(protect=cfg.protect)

key = EncryptionKey(
    "encryption-key",
    EncryptionKeyArgs(
        alias_name=f"alias/{cfg.deployed_project}-pulumi",
        description=f"Pulumi state objects of {cfg.deployed_project} (the state bucket's SSE-KMS)",
        deletion_window_days=cfg.key_deletion_window_days,
        tags=cfg.tags,
    ),
    opts=protected,
)

secrets_keys = StackSecretsKeys(
    "stack-secrets-keys",
    StackSecretsKeysArgs(project=cfg.deployed_project, stacks=cfg.stacks,
                         deletion_window_days=cfg.key_deletion_window_days, tags=cfg.tags),
    opts=protected,
)

state = StateBucket(
    "state-bucket",
    StateBucketArgs(
        bucket_name=pulumi.Output.all(account, region).apply(lambda ar: cfg.bucket_name(ar[0], ar[1])),
        key_arn=key.key_arn,
        noncurrent_version_days=cfg.noncurrent_version_days,
        tags=cfg.tags,
    ),
    opts=protected,
)

oidc = GithubOidc("github-oidc", GithubOidcArgs(existing_provider_arn=cfg.existing_oidc_provider_arn, tags=cfg.tags))

backend_url = pulumi.Output.concat("s3://", state.bucket_name, "?region=", region)

scope = pulumi.Output.all(account, region, state.bucket_name, key.key_arn, partition,
                          pulumi.Output.all(*secrets_keys.key_arns.values())).apply(
    lambda v: Scope(account=v[0], region=v[1], project=cfg.deployed_project, state_bucket=v[2], key_arn=v[3],
                    hosted_zone_id=cfg.hosted_zone_id, partition=v[4],
                    secrets_keys=tuple(zip(cfg.stacks, v[5], strict=True)), preview_stacks=cfg.preview_stacks)
)

# Every role the deploy role creates must carry it; the main program derives its ARN from the account
# and its project name (infra/naming.py), so its name and path are fixed here.
boundary = WorkloadBoundary(
    "workload-boundary",
    WorkloadBoundaryArgs(
        policy_name=boundary_name(cfg.deployed_project),
        path=boundary_path(cfg.deployed_project),
        description=f"Permissions boundary of every IAM role {cfg.deployed_project} creates (ECS tasks, traffic shift)",
        document=scope.apply(lambda s: json.dumps(boundary_document(s))),
        tags=cfg.tags,
    ),
)


def policies(build) -> dict[str, pulumi.Output[str]]:
    built = scope.apply(build)
    return {group: built.apply(lambda docs, group=group: json.dumps(docs[group])) for group in GROUPS}


preview = CiRole(
    "preview-role",
    CiRoleArgs(
        role_name=f"{cfg.deployed_project}-github-preview",
        description=f"GitHub Actions pull-request previews of {cfg.deployed_project} (read-only)",
        path=cfg.iam_path,
        provider_arn=oidc.provider_arn,
        subjects=cfg.github_subjects["preview"],
        policies=policies(preview_documents),
        tags=cfg.tags,
    ),
)

deploy = CiRole(
    "deploy-role",
    CiRoleArgs(
        role_name=f"{cfg.deployed_project}-github-deploy",
        description=f"GitHub Actions deployments of {cfg.deployed_project} (staging and production environments)",
        path=cfg.iam_path,
        provider_arn=oidc.provider_arn,
        subjects=cfg.github_subjects["deploy"],
        policies=policies(deploy_documents),
        tags=cfg.tags,
    ),
)

# The repository variables the workflows read (`vars.<NAME>` in .github/workflows/), named alike, so they
# can be set in one go (README, "The real-cloud path"):
#   pulumi stack output repositoryVariables --json | jq -r 'to_entries[] | "\(.key)=\(.value)"' > ci.env
#   gh variable set -f ci.env
pulumi.export("repositoryVariables", {
    "AWS_PREVIEW_ROLE_ARN": preview.role_arn,
    "AWS_DEPLOY_ROLE_ARN": deploy.role_arn,
    "PULUMI_BACKEND_URL": backend_url,
    # The stacks preview.yml previews in AWS: those whose secrets the preview role may decrypt.
    "AWS_PREVIEW_STACKS": json.dumps(list(cfg.preview_stacks)),
})
# For people, not for CI: `pulumi login`, and `pulumi stack init <stack> --secrets-provider` with each
# stack's own key.
def awskms(alias_name: pulumi.Input[str]) -> pulumi.Output[str]:
    """`pulumi stack init --secrets-provider` for a key alias of this region."""
    return pulumi.Output.concat("awskms://", alias_name, "?region=", region)


pulumi.export("backendUrl", backend_url)
pulumi.export("secretsProviders", {stack: awskms(alias) for stack, alias in secrets_keys.alias_names.items()})
# Only for the bootstrap's own stack, if its state moves into the bucket (README): the CI roles may use
# the state key only through S3, and read no bootstrap state.
pulumi.export("bootstrapSecretsProvider", awskms(key.alias_name))
