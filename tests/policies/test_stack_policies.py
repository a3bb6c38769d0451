"""The pack over the real stacks (as `make plan` sees them), and over broken variants of them: each
one mutation, each caught by the policy meant for it. The pack runs as the CLI runs it (gRPC)."""

from __future__ import annotations

import copy
import json

import pytest
from pulumi_policy import EnforcementLevel

from offline.policy_client import analyze, analyze_requests
from offline.runtime import PlannedResource, PlannedStack

from guardrails import PACK_NAME, all_policies  # isort: skip
from guardrails.engine import SharedConversionServicer  # isort: skip


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_real_stacks_have_no_violations(request, planned, stack):
    report = analyze(request.getfixturevalue("pack" if stack == "prod" else "staging_pack"), planned[stack])
    assert report.policies == [p.name for p in all_policies()]
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


def dockerfile_outside_the_project(plan, tmp):
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


def runs_by_reference(plan, reference):
    """The service names its task definition by family (no property dependency), as hand-written code may."""
    service = find(plan, "Service", "service")
    service.property_dependencies.pop("taskDefinition", None)
    edit(plan, "Service", "service", lambda x: x.update(taskDefinition=reference))


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
    ("dockerfile-outside-project", "docker-no-migrations-at-start", "mandatory", dockerfile_outside_the_project),
    ("unknown-build-target", "docker-no-migrations-at-start", "mandatory",
     lambda p, t: edit(p, "Image", "image", lambda x: x["build"].update(target="migrate"))),
    ("service-runs-migration-family", "ecs-no-migrations-at-start", "mandatory",
     lambda p, t: runs_by_reference(p, "truecaller-backend-prod-migrate")),
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
    ("prod-plain-http", "alb-https-in-production", "mandatory",
     lambda p, t: (drop(p, "Listener", "https"),
                   edit(p, "Listener", "http", lambda x: x.update(defaultActions=[
                       {"type": "forward", "targetGroupArn": find(p, "TargetGroup", "app").outputs["arn"]}])))),
    ("prod-tls-1-0", "alb-https-in-production", "mandatory",
     lambda p, t: edit(p, "Listener", "https", lambda x: x.update(sslPolicy="ELBSecurityPolicy-2016-08"))),
    ("prod-no-release-safety-net", "ecs-production-release-safety", "advisory",
     lambda p, t: edit(p, "Service", "service", lambda x: x.pop("alarms"))),
    ("blue-green-without-traffic-shift", "ecs-traffic-shift-complete", "mandatory",
     lambda p, t: edit(p, "Service", "service", lambda x: x.update(
         deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": "10"}))),
]


def test_there_are_at_least_thirty_mutations():
    assert len(MUTATIONS) >= 30


@pytest.mark.parametrize(("mutation", "policy", "level", "change"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_each_mutation_is_caught_by_its_policy(pack, prod, tmp_path, mutation, policy, level, change):
    broken = copy.deepcopy(prod)
    change(broken, tmp_path)
    report = analyze(pack, broken)
    hits = [d for d in report.diagnostics if d.policy == policy]
    assert hits, f"{mutation}: {policy} did not fire; got {[(d.policy, d.message) for d in report.diagnostics]}"
    assert {d.level for d in hits} == {level}


# ----------------------------------------------------------------------------- every policy reached


class Recorder:
    """Wraps every policy's validate function to note, per case, that it ran and how many violations it reported."""

    def __init__(self, monkeypatch):
        self.runs: list[tuple[str, str, int]] = []  # (case, policy, violations)
        self.case = ""
        for policy in all_policies():
            attribute = next(a for a in vars(policy) if a.endswith("__validate"))
            monkeypatch.setattr(policy, attribute, self.wrap(policy.name, getattr(policy, attribute)))

    def wrap(self, name, validate):
        def recorded(args, report_violation):
            count = []

            def report(message, urn=None):
                count.append(message)
                report_violation(message, urn)

            try:
                return validate(args, report)
            finally:
                self.runs.append((self.case, name, len(count)))
        return recorded


def run_in_process(servicer, plan: PlannedStack) -> int:
    requests, stack_request = analyze_requests(plan)
    found = sum(len(servicer.Analyze(r, None).diagnostics) for r in requests)
    return found + len(servicer.AnalyzeStack(stack_request, None).diagnostics)


def test_every_policy_in_the_pack_is_reached_by_a_good_and_a_bad_case(planned, monkeypatch, tmp_path):
    """Good cases: the real stacks (no policy reports). Bad cases: each mutation above, and a region without
    prices. Every policy registered in the pack must run in a good case without reporting and in a bad case
    reporting, through the analyzer the pack serves (in process, so mutation testing sees it)."""
    monkeypatch.setenv("PULUMI_PROJECT", "truecaller-backend")
    monkeypatch.delenv("PULUMI_PROJECT_DIR", raising=False)
    monkeypatch.setenv("PULUMI_STACK", "prod")
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"aws:region": "eu-central-1"}))
    recorder = Recorder(monkeypatch)
    servicer = SharedConversionServicer(PACK_NAME, "1.0.0", all_policies(), EnforcementLevel.MANDATORY)
    for stack in ("prod", "staging"):
        recorder.case = f"good:{stack}"
        monkeypatch.setenv("PULUMI_STACK", stack)
        assert run_in_process(servicer, planned[stack]) == 0
    monkeypatch.setenv("PULUMI_STACK", "prod")
    for mutation, _policy, _level, change in MUTATIONS:
        recorder.case = f"bad:{mutation}"
        broken = copy.deepcopy(planned["prod"])
        change(broken, tmp_path)
        run_in_process(servicer, broken)
    # Buckets and keys: the bootstrap's graph (good), and each of its protections removed (bad).
    from tests.bootstrap.conftest import evaluate_bootstrap
    from tests.bootstrap.test_policy_pack import UNPROTECTED

    bootstrap = evaluate_bootstrap()
    recorder.case = "good:bootstrap"
    run_in_process(servicer, bootstrap)
    for mutation, _policy, change in UNPROTECTED:
        recorder.case = f"bad:{mutation}"
        broken = copy.deepcopy(bootstrap)
        change(broken)
        run_in_process(servicer, broken)
    recorder.case = "bad:region-without-prices"
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"aws:region": "ap-southeast-4"}))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    run_in_process(servicer, planned["prod"])

    for policy in all_policies():
        runs = [(case, count) for case, name, count in recorder.runs if name == policy.name]
        assert any(case.startswith("good:") and count == 0 for case, count in runs), f"{policy.name}: no good case"
        assert any(case.startswith("bad:") and count > 0 for case, count in runs), f"{policy.name}: no bad case"
