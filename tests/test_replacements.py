"""What keeps releases, rollbacks and replacements from wedging: revisions that survive updates, images
built once per content, deployments forced where ECS would not start one, names that never collide."""

from __future__ import annotations

import json

import pytest

from infra.naming import limited_name, name_prefix
from infra.registry import content_tag
from offline.runtime import evaluate_stack
from tests.conftest import ROOT, app_task, containers, migration_task

IMAGE = "docker:index/image:Image"
SERVICE = "aws:ecs/service:Service"
DIGEST = "sha256:" + "c" * 64


def test_superseded_task_definition_revisions_stay_active(stack_plan):
    # Without skipDestroy, every `pulumi up` that changes a task definition deregisters the previous
    # revision, and an INACTIVE revision can be neither run nor rolled back to.
    for task in (app_task(stack_plan), migration_task(stack_plan)):
        assert task.inputs["skipDestroy"] is True, task.name


def test_ecr_keeps_as_many_images_as_rollback_reaches(prod, staging):
    for plan, keep in ((prod, 10), (staging, 5)):
        policy = json.loads(plan.one("aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs["policy"])
        (rule,) = policy["rules"]
        assert rule["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep}
        assert f"rollback reaches back {keep - 1} releases" in rule["description"]


def test_an_image_override_builds_nothing():
    pinned = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/truecaller-backend-prod@" + DIGEST
    plan = evaluate_stack("prod", config_overrides={"imageOverride": pinned})
    assert not plan.of_type(IMAGE)
    assert [c["image"] for t in (app_task(plan), migration_task(plan)) for c in containers(t)] == [pinned, pinned]


def test_an_image_whose_content_ecr_already_holds_is_not_built_again(prod):
    # The first run pushed the content tag, then failed (or a rollback dropped the image resource). A
    # second build of the same inputs would differ byte-wise and ECR's immutable tags would refuse it.
    tag = prod.one(IMAGE).inputs["imageName"].rsplit(":", 1)[1]
    plan = evaluate_stack("prod", registry_images={"truecaller-backend-prod": {tag: DIGEST, "src-older": "sha256:1"}})
    assert not plan.of_type(IMAGE)
    repository_url = plan.one("aws:ecr/repository:Repository").outputs["repositoryUrl"]
    for task in (app_task(plan), migration_task(plan)):
        assert containers(task)[0]["image"] == f"{repository_url}@{DIGEST}"
    assert plan.outputs["imageDigest"] == DIGEST


def test_other_content_in_the_repository_still_builds():
    plan = evaluate_stack("prod", registry_images={"truecaller-backend-prod": {"src-0000000000000000": DIGEST}})
    image = plan.one(IMAGE)
    assert containers(app_task(plan))[0]["image"] == image.outputs["repoDigest"]
    assert image.inputs["imageName"].split(":")[-1] != "src-0000000000000000"


def test_the_content_tag_covers_platform_dockerfile_and_context(tmp_path):
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "main.js").write_text("one")
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM node:22\n")
    amd = content_tag(tmp_path / "ctx", dockerfile, "linux/amd64")
    assert amd == content_tag(tmp_path / "ctx", dockerfile, "linux/amd64")
    assert amd != content_tag(tmp_path / "ctx", dockerfile, "linux/arm64")
    (tmp_path / "ctx" / "node_modules").mkdir()
    (tmp_path / "ctx" / "node_modules" / "x.js").write_text("ignored")
    assert amd == content_tag(tmp_path / "ctx", dockerfile, "linux/amd64")
    (tmp_path / "ctx" / "main.js").write_text("two")
    changed = content_tag(tmp_path / "ctx", dockerfile, "linux/amd64")
    dockerfile.write_text("FROM node:24\n")
    assert len({amd, changed, content_tag(tmp_path / "ctx", dockerfile, "linux/amd64")}) == 3


def test_a_new_capacity_provider_forces_a_new_deployment(prod):
    spot = evaluate_stack("prod", config_overrides={"capacityProvider": "FARGATE_SPOT", "desiredCount": 2})
    before, after = prod.one(SERVICE).inputs, spot.one(SERVICE).inputs
    # ECS applies a capacity provider strategy only to tasks it starts: the changed trigger makes the
    # provider's update start a deployment (forceNewDeployment), as the provider documents.
    assert before["forceNewDeployment"] is True and after["forceNewDeployment"] is True
    assert before["triggers"]["placement"] != after["triggers"]["placement"]
    assert "FARGATE_SPOT" in after["triggers"]["placement"]


def test_public_ip_and_network_changes_also_change_the_trigger(prod, variant):
    lean = variant("prod", natMode="none")
    assert prod.one(SERVICE).inputs["triggers"] != lean.one(SERVICE).inputs["triggers"]


FIXED_NAMES = [  # type, logical name: resources whose physical name the program sets
    ("aws:ecs/cluster:Cluster", "cluster"),
    ("aws:ecs/service:Service", "service"),
    ("aws:cloudwatch/logGroup:LogGroup", "logs"),
    ("aws:sns/topic:Topic", "alarms"),
    ("aws:cloudwatch/dashboard:Dashboard", "dashboard"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "tasks-below-desired"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "alb-5xx-rate"),
]


@pytest.mark.parametrize(("type_token", "name"), FIXED_NAMES)
def test_a_resource_with_a_fixed_name_is_deleted_before_its_replacement(prod, type_token, name):
    assert prod.one(type_token, name).delete_before_replace is True


def test_replaceable_resources_are_auto_named_so_a_replacement_never_collides(prod):
    alb = prod.one("aws:lb/loadBalancer:LoadBalancer")
    assert "name" not in alb.inputs and alb.inputs["tags"]["Name"] == "truecaller-backend-prod"
    assert "name" not in prod.one("aws:lb/targetGroup:TargetGroup").inputs
    for role in prod.of_type("aws:iam/role:Role"):
        assert "name" not in role.inputs and role.inputs["namePrefix"].startswith("truecaller-backend-prod-")


@pytest.fixture
def long_stacks(tmp_path) -> dict[str, object]:
    """Two stacks whose names share a long prefix, as feature-branch stacks do."""
    for name in ("Pulumi.yaml", "__main__.py", "infra", "app", "Dockerfile", "policies"):
        (tmp_path / name).symlink_to(ROOT / name)
    stacks = ["feature-checkout-redesign-with-new-payment-provider-a",
              "feature-checkout-redesign-with-new-payment-provider-b"]
    for stack in stacks:
        (tmp_path / f"Pulumi.{stack}.yaml").write_text(
            "config:\n  aws:region: eu-central-1\n  truecaller-backend:allowPlainHttp: true\n")
    return {stack: evaluate_stack(stack, project_dir=tmp_path) for stack in stacks}


# AWS's limits (service documentation): IAM role names 64 (pulumi-aws adds 26 characters to a prefix),
# ECS cluster and service names 255, log group names 512, alarm names 255, SNS topic names 256.
LIMITS = {
    ("aws:iam/role:Role", "namePrefix"): 38,
    ("aws:ecs/cluster:Cluster", "name"): 255,
    ("aws:ecs/service:Service", "name"): 255,
    ("aws:cloudwatch/logGroup:LogGroup", "name"): 512,
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "name"): 255,
    ("aws:sns/topic:Topic", "name"): 256,
}


def test_long_stack_names_give_names_within_limits_unique_per_stack(long_stacks):
    names_per_stack = []
    for plan in long_stacks.values():
        names = set()
        for (type_token, field), limit in LIMITS.items():
            for resource in plan.of_type(type_token):
                value = resource.inputs[field]
                assert len(value) <= limit, (resource.urn, value)
                stem = value[:-1] if field == "namePrefix" else value
                assert not stem.endswith("-"), value
                names.add(value)
        names_per_stack.append(names)
    assert not names_per_stack[0] & names_per_stack[1]


def test_limited_name_keeps_a_name_that_fits_and_cuts_one_that_does_not():
    assert limited_name("truecaller-backend-prod", 23) == "truecaller-backend-prod"
    cut = limited_name("truecaller-backend-prod", 22)
    assert len(cut) == 22 and cut.startswith("truecaller-ba-") and len(cut.rsplit("-", 1)[1]) == 8
    assert cut != limited_name("truecaller-backend-prof", 22)  # same prefix, other name: other hash


def test_a_cut_never_leaves_a_double_hyphen():
    # Cutting "ab-cd-ef-gh" after "ab-" would give "ab--<hash>".
    assert "--" not in limited_name("ab-cd-efghijklmnop", 12)
    assert name_prefix("truecaller-backend-feature-x-exec", 20).endswith("-")
    assert len(name_prefix("truecaller-backend-feature-x-exec", 20)) == 20


def test_running_tasks_alarm_ignores_the_gaps_of_deployments_and_scale_in(stack_plan):
    alarm = stack_plan.one("aws:cloudwatch/metricAlarm:MetricAlarm", "tasks-below-desired")
    assert alarm.inputs["treatMissingData"] == "notBreaching"
    assert alarm.inputs["evaluationPeriods"] == 5


def test_the_health_check_path_reaches_the_container_as_data_not_shell():
    plan = evaluate_stack("staging", config_overrides={"healthCheckPath": "/health/ready?deep=1&x=%20"})
    command = containers(app_task(plan))[0]["healthCheck"]["command"]
    assert command[:3] == ["CMD", "node", "-e"]  # exec form: no shell parses the path
    assert '"http://127.0.0.1:3000/health/ready?deep=1&x=%20"' in command[3]
