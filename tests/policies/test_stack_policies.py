"""The pack over the real stacks (as `make plan` sees them), and over broken variants of them: each
one mutation, each caught by the policy meant for it. The pack runs as the CLI runs it (gRPC)."""

from __future__ import annotations

import copy
import json

import pytest

from offline.policy_client import PolicyPackServer, analyze
from offline.runtime import PlannedResource, PlannedStack


@pytest.fixture(scope="module")
def pack(prod):
    with PolicyPackServer(prod) as stub:
        yield stub


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_real_stacks_have_no_violations(planned, stack):
    with PolicyPackServer(planned[stack]) as stub:
        report = analyze(stub, planned[stack])
    assert len(report.policies) == 25
    assert report.mandatory == []
    assert report.diagnostics == []  # not even advisory ones


def find(plan: PlannedStack, type_suffix: str, name: str) -> PlannedResource:
    return next(r for r in plan.resources if r.custom and r.type.endswith(type_suffix) and r.name == name)


def edit(plan, type_suffix, name, change):
    """Apply ``change`` to the resource's inputs (resource policies) and state (stack policies)."""
    resource = find(plan, type_suffix, name)
    for props in (resource.inputs, resource.outputs):
        change(props)
    resource.raw_inputs = None


def edit_containers(plan, name, change):
    def apply(props):
        definitions = json.loads(props["containerDefinitions"])
        change(definitions[0])
        props["containerDefinitions"] = json.dumps(definitions)
    edit(plan, "TaskDefinition", name, apply)


def drop(plan, type_suffix, name):
    plan.resources.remove(find(plan, type_suffix, name))


def edit_policy_document(plan, change):
    def apply(props):
        document = json.loads(props["policy"])
        change({s["Sid"]: s for s in document["Statement"]})
        props["policy"] = json.dumps(document)
    edit(plan, "RolePolicy", "execution", apply)


def add_https_listener_without_redirect(plan, _tmp):
    """Prod serves HTTPS: its HTTP listener forwarding too (instead of redirecting) is the mistake."""
    forward = find(plan, "Listener", "https").inputs["defaultActions"]
    edit(plan, "Listener", "http", lambda props: props.update(defaultActions=copy.deepcopy(forward)))


def dockerfile_with_migration(plan, tmp):
    path = tmp / "Dockerfile"
    path.write_text('FROM node:22-bookworm-slim\nCMD ["sh", "-c", "npx prisma migrate deploy && node dist/src/main"]\n')
    edit(plan, "Image", "image", lambda p: p["build"].update(dockerfile=str(path)))


def tasks_open_to_internet(plan, _tmp):
    def change(props):
        props.pop("referencedSecurityGroupId", None)
        props["cidrIpv4"] = "0.0.0.0/0"
    rule = find(plan, "SecurityGroupIngressRule", "tasks-from-alb")
    rule.property_dependencies["referencedSecurityGroupId"] = []
    edit(plan, "SecurityGroupIngressRule", "tasks-from-alb", change)


MIGRATE_THEN_START = "npx prisma migrate deploy && node dist/src/main"
MUTATIONS = [
    # (id, expected policy, expected level, mutation(plan, tmp_path))
    ("migrate-in-sh-c", "ecs-no-migrations-at-start", "mandatory",
     lambda p, t: edit_containers(p, "app", lambda c: c.update(command=["sh", "-c", MIGRATE_THEN_START]))),
    ("migrate-npm-entrypoint", "ecs-no-migrations-at-start", "mandatory",
     lambda p, t: edit_containers(p, "app", lambda c: c.update(entryPoint=["npm", "run", "migrate:deploy"]))),
    ("db-push-command", "ecs-no-migrations-at-start", "mandatory",
     lambda p, t: edit_containers(p, "app", lambda c: c.update(command=["npx", "prisma", "db", "push"]))),
    ("service-runs-migration-task", "ecs-no-migrations-at-start", "mandatory",
     lambda p, t: find(p, "Service", "service").property_dependencies.update(
         taskDefinition=[find(p, "TaskDefinition", "migration").urn])),
    ("plaintext-database-url", "ecs-no-plaintext-secrets", "mandatory",
     lambda p, t: edit_containers(p, "app", lambda c: c["environment"].append(
         {"name": "DATABASE_URL", "value": "postgresql://app:pw@db/app"}))),
    ("plaintext-jwt-secret", "ecs-no-plaintext-secrets", "mandatory",
     lambda p, t: edit_containers(p, "app", lambda c: c["environment"].append({"name": "JWT_SECRET", "value": "x"}))),
    ("service-account-json", "ecs-no-plaintext-secrets", "mandatory",
     lambda p, t: edit_containers(p, "migration", lambda c: c["environment"].append(
         {"name": "GOOGLE", "value": '{"private_key": "k"}'}))),
    ("bad-memory", "ecs-fargate-task-size", "mandatory",
     lambda p, t: edit(p, "TaskDefinition", "app", lambda x: x.update(memory="512"))),
    ("bad-cpu", "ecs-fargate-task-size", "mandatory",
     lambda p, t: edit(p, "TaskDefinition", "migration", lambda x: x.update(cpu="300"))),
    ("latest-tag", "ecs-images-pinned-by-digest", "mandatory",
     lambda p, t: edit_containers(p, "app", lambda c: c.update(image=c["image"].split("@")[0] + ":latest"))),
    ("min-healthy-50", "ecs-zero-downtime-rolling", "mandatory",
     lambda p, t: edit(p, "Service", "service", lambda x: x.update(deploymentMinimumHealthyPercent=50))),
    ("max-percent-100", "ecs-zero-downtime-rolling", "mandatory",
     lambda p, t: edit(p, "Service", "service", lambda x: x.update(deploymentMaximumPercent=150))),
    ("grace-30", "ecs-zero-downtime-rolling", "mandatory",
     lambda p, t: edit(p, "Service", "service", lambda x: x.update(healthCheckGracePeriodSeconds=30))),
    ("no-rollback", "ecs-zero-downtime-rolling", "mandatory",
     lambda p, t: edit(p, "Service", "service", lambda x: x.update(deploymentCircuitBreaker={"enable": True}))),
    ("dockerfile-migrates", "docker-no-migrations-at-start", "mandatory", dockerfile_with_migration),
    ("dockerfile-missing", "docker-no-migrations-at-start", "mandatory",
     lambda p, t: edit(p, "Image", "image", lambda x: x["build"].update(dockerfile=str(t / "nope")))),
    ("empty-secret", "secret-value-not-empty", "mandatory",
     lambda p, t: edit(p, "SecretVersion", "jwt-secret", lambda x: x["secretString"].update(value=""))),
    ("secret-without-value", "secrets-have-values", "mandatory",
     lambda p, t: drop(p, "SecretVersion", "redis-url")),
    ("force-delete-secret", "secret-recovery-window", "mandatory",
     lambda p, t: edit(p, "secret:Secret", "database-url", lambda x: x.update(recoveryWindowInDays=0))),
    ("short-recovery", "secret-recovery-window-recommended", "advisory",
     lambda p, t: edit(p, "secret:Secret", "database-url", lambda x: x.update(recoveryWindowInDays=7))),
    ("retention-30", "log-retention", "mandatory",
     lambda p, t: edit(p, "LogGroup", "logs", lambda x: x.update(retentionInDays=30))),
    ("never-expire", "log-retention", "mandatory",
     lambda p, t: edit(p, "LogGroup", "logs", lambda x: x.pop("retentionInDays"))),
    ("health-check-off", "target-group-health-check", "mandatory",
     lambda p, t: edit(p, "TargetGroup", "app", lambda x: x["healthCheck"].update(enabled=False))),
    ("no-matcher", "target-group-health-check", "mandatory",
     lambda p, t: edit(p, "TargetGroup", "app", lambda x: x["healthCheck"].pop("matcher"))),
    ("invalid-headers", "alb-hardening", "advisory",
     lambda p, t: edit(p, "LoadBalancer", "alb", lambda x: x.update(dropInvalidHeaderFields=False))),
    ("no-deletion-protection", "alb-hardening", "advisory",
     lambda p, t: edit(p, "LoadBalancer", "alb", lambda x: x.update(enableDeletionProtection=False))),
    ("https-without-redirect", "alb-https-when-certificate", "advisory", add_https_listener_without_redirect),
    ("no-scan", "ecr-scan-on-push", "mandatory",
     lambda p, t: edit(p, "Repository", "repository", lambda x: x.update(imageScanningConfiguration={}))),
    ("mutable-tags", "ecr-immutable-tags", "advisory",
     lambda p, t: edit(p, "Repository", "repository", lambda x: x.update(imageTagMutability="MUTABLE"))),
    ("no-lifecycle", "ecr-lifecycle-policy", "advisory", lambda p, t: drop(p, "LifecyclePolicy", "keep-recent")),
    ("ssh-open", "network-no-public-ingress", "mandatory",
     lambda p, t: edit(p, "SecurityGroupIngressRule", "alb-80-ipv4", lambda x: x.update(fromPort=22, toPort=22))),
    ("tasks-open", "network-tasks-only-from-load-balancer", "mandatory", tasks_open_to_internet),
    ("secrets-on-star", "iam-least-privilege", "mandatory",
     lambda p, t: edit_policy_document(p, lambda s: s["ReadSecrets"].update(Resource="*"))),
    ("service-wildcard", "iam-least-privilege", "mandatory",
     lambda p, t: edit_policy_document(p, lambda s: s["PullImage"].update(Action="ecr:*"))),
    ("no-autoscaling", "ecs-service-autoscaling", "advisory", lambda p, t: drop(p, "appautoscaling/target:Target",
                                                                              "service")),
    ("no-deployment-alarms", "ecs-service-error-alarms", "advisory",
     lambda p, t: edit(p, "Service", "service", lambda x: x.pop("alarms"))),
    ("silent-alarm", "alarm-actions-to-topic", "advisory",
     lambda p, t: edit(p, "MetricAlarm", "cpu-high", lambda x: x.update(alarmActions=[]))),
    ("untagged-cluster", "required-tags", "advisory", lambda p, t: edit(p, "Cluster", "cluster",
                                                                        lambda x: x.update(tags={}))),
    ("forty-tasks", "monthly-budget", "advisory",
     lambda p, t: edit(p, "Service", "service", lambda x: x.update(desiredCount=40))),
]


def test_there_are_at_least_thirty_mutations_covering_every_policy(pack):
    from google.protobuf import empty_pb2

    policies = {p.name for p in pack.GetAnalyzerInfo(empty_pb2.Empty()).policies}
    assert len(MUTATIONS) >= 30
    assert {m[1] for m in MUTATIONS} == policies


@pytest.mark.parametrize(("mutation", "policy", "level", "change"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_each_mutation_is_caught_by_its_policy(pack, prod, tmp_path, mutation, policy, level, change):
    broken = copy.deepcopy(prod)
    change(broken, tmp_path)
    report = analyze(pack, broken)
    hits = [d for d in report.diagnostics if d.policy == policy]
    assert hits, f"{mutation}: {policy} did not fire; got {[(d.policy, d.message) for d in report.diagnostics]}"
    assert {d.level for d in hits} == {level}
