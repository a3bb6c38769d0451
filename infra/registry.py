"""ECR repository and the application image, built by pulumi-docker and pinned by digest.

An image is built only when ECR does not hold its content yet: the tag is a hash of the build
inputs, and tags are immutable, so pushing a second, non-reproducible build of the same inputs (a
re-run after a failed or interrupted `up`, a release after a rollback) would be refused by ECR. With
``imageOverride`` nothing is built at all.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

# Never part of the image (see app/.dockerignore): keeps the content tag stable across local builds.
_IGNORED_DIRS = {"node_modules", "dist", ".git", "coverage"}


def content_tag(context: Path, dockerfile: Path, platform: str) -> str:
    """A tag derived from the build inputs: equal inputs give the same tag, other inputs another."""
    digest = hashlib.sha256(platform.encode() + b"\0" + dockerfile.read_bytes())
    files = []
    for directory, subdirectories, names in os.walk(context):
        subdirectories[:] = [d for d in subdirectories if d not in _IGNORED_DIRS]  # never descend into them
        files += [Path(directory, name) for name in names]
    for path in sorted(files):
        digest.update(str(path.relative_to(context)).encode())
        digest.update(path.read_bytes())
    return "src-" + digest.hexdigest()[:16]


def lifecycle_policy(keep_images: int) -> str:
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"Keep the last {keep_images} images: rollback reaches back {keep_images - 1} "
                                   "releases",
                    "selection": {
                        "tagStatus": "any",
                        "countType": "imageCountMoreThan",
                        "countNumber": keep_images,
                    },
                    "action": {"type": "expire"},
                }
            ]
        }
    )


def pushed_digest(repository_name: str, tag: str) -> str | None:
    """The digest ECR already holds under ``tag``, or None (also when the repository does not exist yet).

    Lists this one repository's images (ecr:ListImages on its ARN), so the CI roles need no right to
    list every repository of the account."""
    try:
        images = aws.ecr.get_images(repository_name=repository_name).image_ids or []
    except Exception as exc:  # the invoke's error carries only the provider's message
        if "RepositoryNotFoundException" in str(exc):
            return None  # the first `up` of the stack: nothing pushed yet
        raise
    return next((image.image_digest for image in images if image.image_tag == tag), None)


@dataclass
class RegistryArgs:
    name: str
    image_context: str
    dockerfile: str
    platform: str  # linux/amd64 | linux/arm64
    keep_images: int
    force_delete: bool
    image_override: str  # digest reference replacing the built image, or ""
    tags: dict[str, str]


class Registry(pulumi.ComponentResource):
    repository_url: pulumi.Output[str]
    image_ref: pulumi.Output[str]  # <repository>@sha256:<digest>

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("truecaller:infra:Registry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.repository = aws.ecr.Repository(
            "repository",
            name=args.name,
            image_scanning_configuration={"scan_on_push": True},
            image_tag_mutability="IMMUTABLE",
            force_delete=args.force_delete,
            tags=args.tags,
            opts=child,
        )
        aws.ecr.LifecyclePolicy(
            "keep-recent",
            repository=self.repository.name,
            policy=lifecycle_policy(args.keep_images),
            opts=child,
        )

        self.image = None
        if args.image_override:
            # Task definitions must name an immutable digest, never a tag: a rollback or a scale-out
            # then always runs exactly the bytes that were tested.
            self.image_ref = pulumi.Output.from_input(args.image_override)
        else:
            tag = content_tag(Path(args.image_context), Path(args.dockerfile), args.platform)
            existing = pushed_digest(args.name, tag)
            if existing:
                self.image_ref = self.repository.repository_url.apply(lambda url: f"{url}@{existing}")
            else:
                self.image = self._build(args, tag, child)
                self.image_ref = self.image.repo_digest
        self.image_digest = self.image_ref.apply(lambda ref: ref.split("@", 1)[1] if "@" in ref else ref)
        self.repository_url = self.repository.repository_url
        self.repository_name = self.repository.name
        self.repository_arn = self.repository.arn

        self.register_outputs({"repositoryUrl": self.repository_url, "imageRef": self.image_ref})

    def _build(self, args: RegistryArgs, tag: str, child: pulumi.ResourceOptions) -> docker.Image:
        token = aws.ecr.get_authorization_token_output(registry_id=self.repository.registry_id)
        return docker.Image(
            "image",
            image_name=self.repository.repository_url.apply(lambda url: f"{url}:{tag}"),
            build=docker.DockerBuildArgs(context=args.image_context, dockerfile=args.dockerfile,
                                         platform=args.platform),
            registry=docker.RegistryArgs(
                server=self.repository.repository_url,
                username=token.user_name,
                password=pulumi.Output.secret(token.password),
            ),
            # Once pushed, the image stays in ECR whatever happens to this resource: later runs find
            # it there by tag and stop declaring it; the registry, not the state, keeps the bytes.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(retain_on_delete=True)),
        )
