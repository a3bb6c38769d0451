"""ECS release policies (traffic shift, production safety net) and the container checks edge by edge, called in
process so that mutation testing reaches them; tests/policies/test_release_policies.py drives the same policies
through gRPC over the real graphs."""

from __future__ import annotations

import json

import pytest

from tests.policies.harness import resource_violations, stack_findings, stack_resource

from guardrails import docker, ecs  # isort: skip

SERVICE, TD = ecs.SERVICE, "aws:ecs/taskDefinition:TaskDefinition"
DIGEST = "111122223333.dkr.ecr.eu-central-1.amazonaws.com/app@sha256:" + "a" * 64
ELB = "arn:aws:elasticloadbalancing:eu-central-1:111122223333"
APP_TG, ALTERNATE_TG = f"{ELB}:targetgroup/app/1a", f"{ELB}:targetgroup/app-alternate/2b"
PRODUCTION_RULE, TEST_RULE = f"{ELB}:listener-rule/app/alb/3c/4d", f"{ELB}:listener-rule/app/alb/3c/5e"
SHIFT_ROLE = "arn:aws:iam::111122223333:role/app-shift"
# The trust policies infra/traffic_shift.py and infra/containers.py write.
ECS_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
TASKS_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def shifting(strategy="CANARY", *, linked=True, arns=True, alternate_type="ip", trust=None, **advanced):
    """A service deploying with ``strategy`` and what it names, shaped as infra/traffic_shift.py builds them.
    Keyword arguments replace (None: remove) fields of advancedConfiguration; ``linked``: the service's
    loadBalancers depend on the resources whose ARN they name (property dependencies, as Pulumi records them);
    ``arns``: the listener rules and the roles carry their ARN output."""
    def arn(value):
        return {"arn": value} if arns else {}
    app = stack_resource(ecs.TARGET_GROUP, "app", {"arn": APP_TG, "targetType": "ip"})
    alternate = stack_resource(ecs.TARGET_GROUP, "app-alternate", {"arn": ALTERNATE_TG, "targetType": alternate_type})
    production = stack_resource(ecs.LISTENER_RULE, "production", arn(PRODUCTION_RULE))
    test = stack_resource(ecs.LISTENER_RULE, "test", arn(TEST_RULE))
    task_role = stack_resource(ecs.ROLE, "task", {**arn("arn:aws:iam::111122223333:role/app-task"),
                                                   "assumeRolePolicy": json.dumps(TASKS_TRUST)})
    role = stack_resource(ecs.ROLE, "traffic-shift", {**arn(SHIFT_ROLE),
                                                      "assumeRolePolicy": json.dumps(trust or ECS_TRUST)})
    fields = {"alternateTargetGroupArn": ALTERNATE_TG, "productionListenerRule": PRODUCTION_RULE,
              "testListenerRule": TEST_RULE, "roleArn": SHIFT_ROLE, **advanced}
    fields = {k: v for k, v in fields.items() if v is not None}
    resources = [app, alternate, production, test, task_role, role]
    named = {APP_TG, *fields.values()}
    depends = [r for r in resources if r.props.get("arn") in named]
    service = stack_resource(SERVICE, "service", {
        "deploymentConfiguration": {"strategy": strategy, "bakeTimeInMinutes": "10"},
        "loadBalancers": [{"targetGroupArn": APP_TG, "containerName": "app", "containerPort": 3000,
                           "advancedConfiguration": fields}],
    }, {"loadBalancers": depends} if linked else None)
    return [*resources, service]


def shift_findings(resources) -> list[tuple[str, str]]:
    return stack_findings(ecs.traffic_shift_complete, resources)


# ----------------------------------------------------------------------------- traffic shift


@pytest.mark.parametrize("strategy", ["BLUE_GREEN", "CANARY", "LINEAR"])
@pytest.mark.parametrize("linked", [True, False], ids=["with-dependencies", "by-arn-only"])
def test_a_complete_traffic_shift_passes(strategy, linked):
    assert shift_findings(shifting(strategy, linked=linked)) == []


@pytest.mark.parametrize("bake", [None, ""], ids=["absent", "empty"])
def test_blue_green_without_a_bake_time_is_rejected_as_ecs_would(bake):
    resources = shifting("BLUE_GREEN")
    configuration = resources[-1].props["deploymentConfiguration"]
    configuration.pop("bakeTimeInMinutes")
    if bake is not None:
        configuration["bakeTimeInMinutes"] = bake
    assert shift_findings(resources) == [(
        "Service service deploys blue/green without deploymentConfiguration.bakeTimeInMinutes: ECS requires it "
        "for BLUE_GREEN (the minutes both revisions run after the shift) and rejects the service. Fix: bakeMinutes "
        "in the stack config (0 ends at once).", "service")]


@pytest.mark.parametrize("strategy", ["CANARY", "LINEAR"])
def test_canary_and_linear_may_leave_the_bake_to_ecs(strategy):
    resources = shifting(strategy)
    resources[-1].props["deploymentConfiguration"].pop("bakeTimeInMinutes")
    assert shift_findings(resources) == []


def test_a_zero_minute_blue_green_bake_is_a_bake_time():
    resources = shifting("BLUE_GREEN")
    resources[-1].props["deploymentConfiguration"]["bakeTimeInMinutes"] = "0"
    assert shift_findings(resources) == []


def test_rolling_services_need_no_traffic_shift():
    services = [stack_resource(SERVICE, "implicit", {"loadBalancers": [{"targetGroupArn": APP_TG}]}),
                stack_resource(SERVICE, "explicit", {"deploymentConfiguration": {"strategy": "ROLLING"}}),
                stack_resource(SERVICE, "unset", {"deploymentConfiguration": {"bakeTimeInMinutes": "5"}})]
    assert shift_findings(services) == []


@pytest.mark.parametrize("strategy", ["BLUE_GREEN", "CANARY", "LINEAR"])
@pytest.mark.parametrize("balancers", [None, [], [{"targetGroupArn": APP_TG}],
                                       [{"targetGroupArn": APP_TG, "advancedConfiguration": {}}]],
                         ids=["no-balancers", "empty", "no-advanced", "empty-advanced"])
def test_a_shift_without_advanced_configuration_is_reported_on_the_service(strategy, balancers):
    props = {"deploymentConfiguration": {"strategy": strategy, "bakeTimeInMinutes": "10"}}
    if balancers is not None:
        props["loadBalancers"] = balancers
    assert shift_findings([stack_resource(SERVICE, "api", props)]) == [(
        f"Service api deploys {strategy} without loadBalancers[0].advancedConfiguration: ECS needs the alternate "
        "target group, the production listener rule and the role. Fix: deploymentStrategy in the kit creates them "
        "(infra/traffic_shift.py).", "api")]


def test_every_service_of_the_stack_is_checked():
    rolling = stack_resource(SERVICE, "rolling", {"loadBalancers": [{"targetGroupArn": APP_TG}]})
    first = stack_resource(SERVICE, "first", {"deploymentConfiguration": {"strategy": "LINEAR"}})
    second = stack_resource(SERVICE, "second", {"deploymentConfiguration": {"strategy": "BLUE_GREEN",
                                                                             "bakeTimeInMinutes": "10"}})
    assert [name for _message, name in shift_findings([rolling, first, second])] == ["first", "second"]


NO_SECOND = ("Service service (CANARY) has no second target group of its own: alternateTargetGroupArn must name "
             "another target group of the stack.", "service")


@pytest.mark.parametrize(("advanced", "linked"), [
    ({"alternateTargetGroupArn": APP_TG}, True),  # the primary again
    ({"alternateTargetGroupArn": None}, True),
    ({"alternateTargetGroupArn": f"{ELB}:targetgroup/elsewhere/9f"}, False),  # not a target group of the stack
], ids=["the-primary", "missing", "outside-the-stack"])
def test_the_alternate_must_be_a_second_target_group_of_the_stack(advanced, linked):
    assert shift_findings(shifting(linked=linked, **advanced)) == [NO_SECOND]


@pytest.mark.parametrize("linked", [True, False])
def test_the_alternate_target_group_registers_tasks_by_ip(linked):
    assert shift_findings(shifting(linked=linked, alternate_type="instance")) == [(
        "Service service: the alternate target group app-alternate must have target type 'ip' (Fargate tasks "
        "register by IP).", "service")]


def test_a_primary_target_group_outside_the_stack_still_needs_only_its_alternate():
    resources = shifting(linked=False)
    resources[-1].props["loadBalancers"][0]["targetGroupArn"] = f"{ELB}:targetgroup/imported/7a"
    assert shift_findings(resources) == []


def rule_missing(what: str, field: str) -> tuple[str, str]:
    return (f"Service service (CANARY) names no {what} listener rule of the stack in advancedConfiguration.{field}: "
            "ECS shifts traffic by its weights.", "service")


@pytest.mark.parametrize(("advanced", "missing"), [
    ({"productionListenerRule": None}, [rule_missing("production", "productionListenerRule")]),
    ({"testListenerRule": None}, [rule_missing("test", "testListenerRule")]),
    ({"testListenerRule": ""}, [rule_missing("test", "testListenerRule")]),  # empty, though one depends on it
    ({"productionListenerRule": f"{ELB}:listener-rule/app/other/1/2", "testListenerRule": None},
     [rule_missing("production", "productionListenerRule"), rule_missing("test", "testListenerRule")]),
])
def test_both_listener_rules_must_be_rules_of_the_stack(advanced, missing):
    assert shift_findings(shifting(**advanced)) == missing


ROLE_MISSING = ("Service service (CANARY) needs advancedConfiguration.roleArn: a role of the stack that "
                "ecs.amazonaws.com may assume to move the listener rules' weights.", "service")


@pytest.mark.parametrize("advanced", [
    {"roleArn": None}, {"roleArn": "arn:aws:iam::111122223333:role/app-task"},
    {"roleArn": "arn:aws:iam::111122223333:role/not-in-this-stack"},
], ids=["missing", "the-task-role", "outside-the-stack"])
def test_the_role_must_be_one_of_the_stack_that_ecs_may_assume(advanced):
    assert shift_findings(shifting(**advanced)) == [ROLE_MISSING]


def test_a_resource_is_of_the_stack_by_its_arn_not_by_another_of_its_type_the_service_depends_on():
    # The production rule named by a literal ARN (a rule of another stack): the service still depends on the
    # stack's test rule, which must not stand in for it. Failed before resources were matched by ARN only.
    resources = shifting(productionListenerRule=f"{ELB}:listener-rule/app/other/6f/7a")
    assert shift_findings(resources) == [rule_missing("production", "productionListenerRule")]


def test_fields_left_empty_name_nothing_even_next_to_resources_without_an_arn():
    assert shift_findings(shifting(arns=False, productionListenerRule="", testListenerRule=None, roleArn=None)) == [
        rule_missing("production", "productionListenerRule"), rule_missing("test", "testListenerRule"), ROLE_MISSING]


def statement(effect="Allow", principal=None, **extra):
    return {"Effect": effect, "Principal": {"Service": "ecs.amazonaws.com"} if principal is None else principal,
            "Action": "sts:AssumeRole", **extra}


@pytest.mark.parametrize(("trust", "trusted"), [
    ({"Version": "2012-10-17", "Statement": statement()}, True),  # one statement, not a list
    ({"Statement": [statement(principal={"Service": ["ecs-tasks.amazonaws.com", "ecs.amazonaws.com"]})]}, True),
    ({"Statement": [statement(principal={"Service": "ecs-tasks.amazonaws.com"}), statement()]}, True),
    ({"Statement": [statement(Condition={"StringEquals": {"aws:SourceAccount": "111122223333"}})]}, True),
    (TASKS_TRUST, False),
    ({"Statement": [statement("Deny")]}, False),
    ({"Statement": [statement(principal="*")]}, False),
    ({"Statement": [statement(principal={"AWS": "arn:aws:iam::111122223333:root"})]}, False),
    ({"Statement": ["ecs.amazonaws.com"]}, False),
    ({"Version": "2012-10-17"}, False),  # no statement
    (["ecs.amazonaws.com"], False),  # not a policy document
    # The action: IAM matches it case-insensitively and with wildcards; NotAction allows all but those.
    ({"Statement": [statement(Action=["sts:TagSession", "sts:AssumeRole"])]}, True),
    ({"Statement": [statement(Action="sts:*")]}, True),
    ({"Statement": [statement(Action="STS:AssumeRole")]}, True),
    ({"Statement": [statement(Action="sts:Assume?ole")]}, True),
    ({"Statement": [{**{k: v for k, v in statement().items() if k != "Action"}, "NotAction": "iam:*"}]}, True),
    ({"Statement": [statement(Action="sts:TagSession")]}, False),
    ({"Statement": [statement(Action="sts:AssumeRoleWithWebIdentity")]}, False),
    ({"Statement": [{k: v for k, v in statement().items() if k != "Action"}]}, False),
    ({"Statement": [{**statement(), "NotAction": "sts:*"}]}, False),
    ({"Statement": [statement(Action=42)]}, False),
], ids=["single-statement", "service-list", "second-statement", "with-condition", "ecs-tasks-only", "deny",
        "anyone", "an-account", "not-a-statement", "no-statement", "not-a-document",
        "action-list", "sts-wildcard", "action-case", "action-question-mark", "not-action-elsewhere",
        "other-sts-action", "web-identity-only", "no-action", "not-action-assume-role", "action-not-text"])
def test_the_role_trust_policy_read_as_data(trust, trusted):
    assert shift_findings(shifting(trust=trust)) == ([] if trusted else [ROLE_MISSING])


def test_a_trust_policy_that_is_not_json_is_not_trusted():
    resources = shifting()
    resources[-2].props["assumeRolePolicy"] = "{not json"
    assert shift_findings(resources) == [ROLE_MISSING]


# ----------------------------------------------------------------------------- production safety net


ALARM_ROLLBACK = {"enable": True, "rollback": True, "alarmNames": ["app-5xx"]}


def released(name="service", strategy=None, bake=None, alarms=None, balancers=True):
    props = {"deploymentConfiguration": {k: v for k, v in (("strategy", strategy), ("bakeTimeInMinutes", bake))
                                         if v is not None}}
    if balancers:
        props["loadBalancers"] = [{"targetGroupArn": APP_TG, "containerName": "app", "containerPort": 3000}]
    if alarms is not None:
        props["alarms"] = alarms
    return stack_resource(SERVICE, name, props)


def unsafe(name="service") -> tuple[str, str]:
    return (f"Production service {name} neither bakes its releases nor rolls back on alarms: a bad release stays "
            "until someone notices. Fix: alarms={alarm_names: [5xx alarms], enable, rollback} or deploymentStrategy "
            "blue-green/canary/linear with bakeMinutes > 0.", name)


@pytest.mark.parametrize(("service", "safe"), [
    (released(alarms=ALARM_ROLLBACK), True),
    (released(strategy="ROLLING", alarms=ALARM_ROLLBACK), True),
    (released(), False),
    (released(alarms={**ALARM_ROLLBACK, "enable": False}), False),
    (released(alarms={**ALARM_ROLLBACK, "rollback": False}), False),
    (released(alarms={**ALARM_ROLLBACK, "alarmNames": []}), False),
    (released(strategy="BLUE_GREEN", bake="10"), True),
    (released(strategy="CANARY", bake="1"), True),
    (released(strategy="LINEAR", bake=5.0), True),
    (released(strategy="LINEAR", bake="0"), False),
    (released(strategy="BLUE_GREEN"), False),  # ECS's bake time when unset is 0
    (released(strategy="ROLLING", bake="10"), False),  # a rolling deployment does not bake
    (released(strategy="BLUE_GREEN", bake="0", alarms=ALARM_ROLLBACK), True),
], ids=["alarm-rollback", "rolling-alarm-rollback", "nothing", "alarms-disabled", "alarms-without-rollback",
        "no-alarm-names", "blue-green-bakes", "canary-bakes-a-minute", "linear-bakes", "linear-bakes-zero",
        "blue-green-bake-unset", "rolling-with-bake-time", "blue-green-unbaked-with-alarm-rollback"])
def test_production_services_have_a_safety_net(monkeypatch, service, safe):
    monkeypatch.setenv("PULUMI_STACK", "prod")
    found = stack_findings(ecs.production_release_safety, [service])
    assert found == ([] if safe else [unsafe()])


def test_services_without_a_load_balancer_need_no_safety_net(monkeypatch):
    monkeypatch.setenv("PULUMI_STACK", "prod")
    worker = released("worker", balancers=False)
    assert stack_findings(ecs.production_release_safety, [worker, released("api"), released("web")]) == [
        unsafe("api"), unsafe("web")]


@pytest.mark.parametrize(("stack", "config", "production"), [
    ("prod", None, True), ("production", None, True), ("staging", None, False),
    ("live", {"productionStacks": ["live"]}, True), ("prod", {"productionStacks": ["live"]}, False),
    (None, {"productionStacks": [""]}, True),  # no stack name at all is production only if configured so
    (None, None, False),
])
def test_which_stacks_are_production(monkeypatch, stack, config, production):
    if stack is None:
        monkeypatch.delenv("PULUMI_STACK", raising=False)
    else:
        monkeypatch.setenv("PULUMI_STACK", stack)
    found = stack_findings(ecs.production_release_safety, [released()], config)
    assert found == ([unsafe()] if production else [])


# ----------------------------------------------------------------------------- the files of a container's image


@pytest.fixture
def built(tmp_path, monkeypatch):
    """A project whose Dockerfile builds app/ into /srv, and the task definition's image resources."""
    (tmp_path / "Pulumi.yaml").write_text("name: demo\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "package.json").write_text(json.dumps({"scripts": {"start": "node main"}}))
    (tmp_path / "Dockerfile").write_text("FROM node:22-slim\nWORKDIR /srv\nCOPY . .\n")
    monkeypatch.setenv("PULUMI_PROJECT_DIR", str(tmp_path))

    def task_with(*images):
        return stack_resource(TD, "app", {"containerDefinitions": "[]"}, {"containerDefinitions": list(images)})
    return task_with


APP_IMAGE = stack_resource(docker.IMAGE, "app-image", {
    "build": {"context": "app", "dockerfile": "Dockerfile"}, "imageName": "111122223333.dkr.ecr.eu-central-1."
    "amazonaws.com/app:v7", "repoDigest": DIGEST})
WORKER_IMAGE = stack_resource(docker.IMAGE, "worker-image", {
    "build": {"context": "worker"}, "imageName": "111122223333.dkr.ecr.eu-central-1.amazonaws.com/worker:v7",
    "repoDigest": "111122223333.dkr.ecr.eu-central-1.amazonaws.com/worker@sha256:" + "b" * 64})


def scripts(files, cwd):
    return files.package(None, cwd).scripts


def test_the_image_is_found_by_its_name_as_well_as_its_digest(built):
    task = built(WORKER_IMAGE, APP_IMAGE)
    for reference in (APP_IMAGE.props["imageName"], DIGEST):
        files, cwd = ecs._container_files(task, {"image": reference})
        assert (cwd, scripts(files, cwd)) == ("/srv", {"start": "node main"})


def test_the_only_image_built_by_the_stack_is_the_containers_whatever_its_reference(built):
    # The container definitions also depend on their log group and secrets (infra/containers.py): not images.
    logs = stack_resource("aws:cloudwatch/logGroup:LogGroup", "app-logs", {"name": "/ecs/app"})
    secret = stack_resource("aws:secretsmanager/secret:Secret", "database-url", {"arn": "arn:aws:secretsmanager:x"})
    files, cwd = ecs._container_files(built(logs, APP_IMAGE, secret), {"image": "app:local"})
    assert (cwd, scripts(files, cwd)) == ("/srv", {"start": "node main"})


def test_with_several_images_and_none_named_the_files_are_unknown(built):
    assert ecs._container_files(built(WORKER_IMAGE, APP_IMAGE), {"image": "nginx:1.27"}) == (ecs.NO_FILES, None)


def test_a_container_without_image_matches_no_image_without_name_or_digest(built):
    pending = stack_resource(docker.IMAGE, "pending", {"build": {"context": "app"}})  # not pushed yet
    assert ecs._container_files(built(pending, APP_IMAGE), {"workingDirectory": "/w"}) == (ecs.NO_FILES, "/w")


# ----------------------------------------------------------------------------- container environment and images


@pytest.mark.parametrize(("entry", "messages"), [
    ({"name": "DATABASE_URL"}, []),  # declared without a value: nothing in plain text
    ({"value": "postgresql://app:s3cret@db:5432/app"},
     ["Container 'app' has environment variable  in plain text (its value looks like a connection string with a "
      "password). Move it to `secrets` with `valueFrom` pointing at a Secrets Manager secret."]),
])
def test_environment_entries_missing_a_name_or_a_value(entry, messages):
    props = {"containerDefinitions": json.dumps([{"name": "app", "image": DIGEST, "environment": [entry]}])}
    assert resource_violations(ecs.no_plaintext_secrets, TD, props) == messages


def test_a_container_without_image_is_not_pinned_and_its_task_definition_is_blamed():
    task = stack_resource(TD, "app", {"family": "app", "containerDefinitions": json.dumps([
        {"name": "app", "image": DIGEST}, {"name": "sidecar"}])})
    service = stack_resource(SERVICE, "svc", {"taskDefinition": "app:3"})  # family:revision, no dependency
    assert stack_findings(ecs.images_pinned_by_digest, [task, service]) == [(
        "Container 'sidecar' of app (run by svc) uses image '', a tag that can move. Reference the pushed image by "
        "digest (<repository>@sha256:<digest>).", "app")]


def test_a_migrating_container_is_blamed_on_its_task_definition_found_by_family():
    task = stack_resource(TD, "app", {"family": "app", "containerDefinitions": json.dumps([
        {"name": "app", "image": DIGEST, "command": ["npx", "prisma", "migrate", "deploy"]}])})
    service = stack_resource(SERVICE, "svc", {"taskDefinition": "app"})  # by family, no dependency
    assert stack_findings(ecs.no_migrations_at_start, [task, service]) == [(
        "Service svc runs task definition app whose container 'app' command runs database migrations at container "
        "start: `npx prisma migrate deploy` -> `prisma migrate deploy` runs Prisma migrations. Migrations must run "
        "once per release as a separate one-off task (run by no service), never at container start.", "app")]



@pytest.mark.parametrize("memory", ["", "2 TB", "lots"])
def test_task_memory_in_a_unit_ecs_does_not_take_is_not_a_size(memory):
    # ECS takes task memory in MiB ("1024") or GB ("1GB", "1 GB"); anything else is no size at all.
    assert ecs.fargate_memory_mib(memory) is None
    props = {"requiresCompatibilities": ["FARGATE"], "cpu": "512", "memory": memory}
    assert resource_violations(ecs.fargate_task_size, TD, props) == [
        "Fargate task definitions need task-level `cpu` and `memory`."]

# ----------------------------------------------------------------------------- rolling updates: ECS's defaults


ROLLING_BEHIND_ALB = {"loadBalancers": [{"targetGroupArn": APP_TG}], "deploymentCircuitBreaker": {
    "enable": True, "rollback": True}}


@pytest.mark.parametrize(("config", "messages"), [
    # Unset, ECS starts up to 200 % of the desired count (ECS DeploymentConfiguration.maximumPercent).
    ({"maximumPercent": 200.0, "healthCheckGracePeriodSeconds": 0.0}, []),
    ({"maximumPercent": 250.0, "healthCheckGracePeriodSeconds": 0.0},
     ["deploymentMaximumPercent is 200; needs >= 250 so new tasks start before old ones stop."]),
    # Unset, the grace period is 0 s: any positive threshold asks for one.
    ({"healthCheckGracePeriodSeconds": 1.0},
     ["healthCheckGracePeriodSeconds is 0; needs >= 1 so slow starts are not killed by load balancer health checks."]),
    # Unset, the minimum is 100 %, the highest threshold the schema allows.
    ({"minimumHealthyPercent": 100.0, "healthCheckGracePeriodSeconds": 0.0}, []),
], ids=["maximum-200", "maximum-250", "grace-1s", "minimum-100"])
def test_unset_rolling_parameters_are_ecs_defaults(config, messages):
    assert resource_violations(ecs.zero_downtime_rolling, SERVICE, ROLLING_BEHIND_ALB, config) == messages

