"""Amazon ECR: scanned, bounded and immutable image repositories."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Severity

from guardrails.common import of_type, related, resource_policy, stack_policy

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"


def _scan_on_push(args, report_violation):
    if not (args.props.get("imageScanningConfiguration") or {}).get("scanOnPush"):
        report_violation("Images are not scanned on push: set image_scanning_configuration.scan_on_push = true.")


scan_on_push = resource_policy(
    "ecr-scan-on-push",
    "ECR repositories scan every pushed image for known vulnerabilities. Fix: "
    "image_scanning_configuration={'scan_on_push': True}.",
    [REPOSITORY],
    _scan_on_push,
    severity=Severity.MEDIUM,
)


def _immutable_tags(args, report_violation):
    if args.props.get("imageTagMutability", "MUTABLE") == "MUTABLE":
        report_violation("Tags are mutable: a pushed tag can be overwritten. Set image_tag_mutability = IMMUTABLE.")


immutable_tags = resource_policy(
    "ecr-immutable-tags",
    "ECR repositories use immutable tags so a tag always names the same image. Fix: "
    "image_tag_mutability='IMMUTABLE' (and deploy by digest).",
    [REPOSITORY],
    _immutable_tags,
    level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
)


def _lifecycle_policy(args, report_violation):
    repositories = of_type(args.resources, REPOSITORY)
    covered = {r.urn for p in of_type(args.resources, LIFECYCLE_POLICY) for r in related(p, "repository", REPOSITORY)}
    names = {p.props.get("repository") for p in of_type(args.resources, LIFECYCLE_POLICY)} - {None}
    for repository in repositories:
        if repository.urn not in covered and repository.props.get("name") not in names:
            report_violation(f"Repository {repository.name} has no lifecycle policy: old images accumulate and "
                             "cost storage. Add an aws.ecr.LifecyclePolicy keeping the last N images.",
                             repository.urn)


lifecycle_policy = stack_policy(
    "ecr-lifecycle-policy",
    "Every ECR repository has a lifecycle policy that expires old images. Fix: aws.ecr.LifecyclePolicy with an "
    "imageCountMoreThan rule.",
    _lifecycle_policy,
    level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
)

POLICIES = [scan_on_push, lifecycle_policy, immutable_tags]
