"""The policies' rules called directly, edge by edge: the ECS, secrets, IAM, network, load balancer, registry,
scaling, tag and budget policies, the stack index and the analyzer engine. In process, so `make mutate` sees
them; the same behaviour is driven over gRPC in test_classes.py and test_stack_policies.py."""

from __future__ import annotations

import json

import pytest
from google.protobuf import struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

from tests.policies.harness import resource_violations, stack_findings, stack_resource, stack_violations

from costing import estimator, live  # isort: skip
from costing import policy as budget  # isort: skip
from guardrails import cloudwatch, common, docker, ecs, engine, secretsmanager, tags  # isort: skip

TD = "aws:ecs/taskDefinition:TaskDefinition"
SVC = "aws:ecs/service:Service"
DIGEST = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/app@sha256:" + "a" * 64


# ----------------------------------------------------------------------------- common


def test_config_value_defaults_and_float_integers():
    class Args:
        def __init__(self, config):
            self.config = config

        def get_config(self):
            return self.config

    assert common.config_value(Args({}), "x", 7) == 7
    assert common.config_value(Args({"x": 14.0}), "x", 7) == 14 and isinstance(
        common.config_value(Args({"x": 14.0}), "x", 7), int)
    assert common.config_value(Args({"x": 1.5}), "x", 1.0) == 1.5
    assert common.config_value(Args({"x": True}), "x", False) is True
    assert common.config_value(Args({"x": 2.0}), "x", True) == 2.0


@pytest.mark.parametrize(("value", "parsed"), [(None, None), ("3", 3.0), (2, 2.0), ("x", None), ([1], None)])
def test_number(value, parsed):
    assert common.number(value) == parsed


@pytest.mark.parametrize(("value", "parsed"), [
    ('{"a": 1}', {"a": 1}), ("  ", None), ("", None), ("{oops", None), ({"a": 1}, {"a": 1}), (None, None)])
def test_json_document(value, parsed):
    assert common.json_document(value) == parsed


@pytest.mark.parametrize(("definitions", "found"), [
    (json.dumps([{"name": "a"}, 3, "x"]), [{"name": "a"}]), ("{}", []), ('"text"', []), (None, []), ("nope", []),
])
def test_containers(definitions, found):
    assert common.containers({"containerDefinitions": definitions}) == found


@pytest.mark.parametrize(("reference", "family"), [
    ("web", "web"), ("web:3", "web"), ("arn:aws:ecs:eu-central-1:1:task-definition/web:3", "web"),
    (" web:1 ", "web"), ("arn:aws:ecs:eu-central-1:1:service/web", "arn"),
])
def test_task_definition_family(reference, family):
    assert common.task_definition_family(reference) == family


def test_service_task_definitions_by_dependency_arn_or_family():
    web = stack_resource(TD, "web", {"family": "web", "arn": "arn:td:web:2"})
    other = stack_resource(TD, "other", {"family": "other"})
    by_dependency = stack_resource(SVC, "a", {"taskDefinition": "other"}, {"taskDefinition": [web]})
    assert common.service_task_definitions(by_dependency, [web, other]) == [web]
    assert common.service_task_definitions(stack_resource(SVC, "b", {"taskDefinition": "arn:td:web:2"}),
                                           [web, other]) == [web]
    assert common.service_task_definitions(stack_resource(SVC, "c", {"taskDefinition": "other:9"}),
                                           [web, other]) == [other]
    assert common.service_task_definitions(stack_resource(SVC, "d", {}), [web]) == []
    assert common.service_task_definitions(stack_resource(SVC, "e", {"taskDefinition": ""}), [web]) == []


def test_the_stack_index_is_shared_per_list_and_rebuilt_when_it_changes():
    a = stack_resource(TD, "a", {"family": "f"})
    resources = [a]
    first = common.stack_index(resources)
    assert common.stack_index(resources) is first and common.stack_index(first) is first
    resources.append(stack_resource(SVC, "s", {}))
    second = common.stack_index(resources)
    assert second is not first and second.of_type(SVC)
    assert second.task_definitions_of_family("f") == [a] and second.task_definitions_of_family("g") == []
    assert common.stack_index(iter([a])).of_type(TD) == [a]
    assert common.of_type(resources, TD, SVC) == resources and common.of_type(resources, TD) == [a]


def test_related_and_short_urn():
    a = stack_resource(TD, "a", {})
    b = stack_resource(SVC, "b", {}, {"taskDefinition": [a]})
    assert common.related(b, "taskDefinition") == [a] and common.related(b, "taskDefinition", SVC) == []
    assert common.related(b, "other") == []
    assert common.short_urn("urn:pulumi:s::p::t::name") == "name"


def test_resource_policies_only_see_their_types():
    seen = []
    policy = common.resource_policy("p", "d", [TD], lambda args, report: seen.append(args.resource_type))
    assert policy.resource_types == frozenset({TD})
    resource_violations(policy, SVC, {})
    resource_violations(policy, TD, {})
    assert seen == [TD]
    assert policy.enforcement_level == EnforcementLevel.MANDATORY


# ----------------------------------------------------------------------------- ECS


@pytest.mark.parametrize(("value", "units"), [
    ("512", 512), (1024.0, 1024), ("0.25 vCPU", 256), ("1 vcpu", 1024), ("2vCPU", 2048), ("x vcpu", None),
    (None, None), ("", None),
])
def test_fargate_cpu_units(value, units):
    assert ecs.fargate_cpu_units(value) == units


@pytest.mark.parametrize(("value", "mib"), [
    ("1024", 1024), (2048.0, 2048), ("2GB", 2048), ("0.5 GB", 512), ("1 gb", 1024), ("x GB", None), (None, None),
])
def test_fargate_memory_mib(value, mib):
    assert ecs.fargate_memory_mib(value) == mib


def test_fargate_size_problem_messages():
    assert ecs.fargate_size_problem(512, 1024) is None
    assert ecs.fargate_size_problem(300, 1024) == (
        "cpu = 300 is not a Fargate size: use one of [256, 512, 1024, 2048, 4096, 8192, 16384].")
    assert ecs.fargate_size_problem(256, 4096) == (
        "memory = 4096 MiB is not valid with cpu = 256 on Fargate: use one of 512, 1024, 2048.")


@pytest.mark.parametrize(("props", "messages"), [
    ({"requiresCompatibilities": ["FARGATE"], "cpu": "1 vCPU", "memory": "2 GB"}, []),
    ({"requiresCompatibilities": ["EC2"], "cpu": "1", "memory": "1"}, []),
    ({"requiresCompatibilities": ["FARGATE"], "memory": "1024"},
     ["Fargate task definitions need task-level `cpu` and `memory`."]),
    ({"requiresCompatibilities": ["FARGATE"], "cpu": "512"},
     ["Fargate task definitions need task-level `cpu` and `memory`."]),
    ({"requiresCompatibilities": ["FARGATE"], "cpu": "512", "memory": "512"},
     ["memory = 512 MiB is not valid with cpu = 512 on Fargate: use one of 1024, 2048, 3072, 4096."]),
])
def test_fargate_task_size_policy(props, messages):
    assert resource_violations(ecs.fargate_task_size, TD, props) == messages


def task(command=None, entry_point=None, environment=None, image=DIGEST, name="app", **container):
    definition = {"name": "app", "image": image, **container}
    for key, value in (("command", command), ("entryPoint", entry_point), ("environment", environment)):
        if value is not None:
            definition[key] = value
    return stack_resource(TD, name, {"family": name, "containerDefinitions": json.dumps([definition])})


def service_of(task_resource, **props):
    return stack_resource(SVC, "svc", {"loadBalancers": [{}], **props}, {"taskDefinition": [task_resource]})


def test_migration_message_names_service_task_container_field_and_reason():
    app = task(command=["npx", "prisma", "migrate", "deploy"])
    (message,) = stack_violations(ecs.no_migrations_at_start, [app, service_of(app)])
    assert message == ("Service svc runs task definition app whose container 'app' command runs database migrations "
                       "at container start: `npx prisma migrate deploy` -> `prisma migrate deploy` runs Prisma "
                       "migrations. Migrations must run once per release as a separate one-off task (run by no "
                       "service), never at container start.")


def test_entry_point_and_command_are_read_together_as_docker_runs_them():
    app = task(command=["migrate"], entry_point=["npm", "run"])
    (message,) = stack_violations(ecs.no_migrations_at_start, [app, service_of(app)])
    assert "entryPoint + command runs database migrations" in message
    app = task(command=["node", "x"], entry_point=["prisma", "db", "push"])
    (message,) = stack_violations(ecs.no_migrations_at_start, [app, service_of(app)])
    assert "'app' entryPoint runs database migrations" in message
    assert stack_violations(ecs.no_migrations_at_start, [task(["prisma", "db", "push"])]) == []  # no service


def test_container_files_come_from_the_image_the_task_definition_is_built_from(tmp_path, monkeypatch):
    (tmp_path / "Pulumi.yaml").write_text("name: demo\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "package.json").write_text(json.dumps({"scripts": {"start": "prisma db push"}}))
    (tmp_path / "Dockerfile").write_text("FROM node\nWORKDIR /srv\nCOPY . .\n")
    monkeypatch.setenv("PULUMI_PROJECT_DIR", str(tmp_path))
    image = stack_resource(docker.IMAGE, "img", {"build": {"context": "app", "dockerfile": "Dockerfile"},
                                                 "repoDigest": DIGEST})
    other = stack_resource(docker.IMAGE, "other", {"build": {"context": "nope"}, "repoDigest": "x@sha256:b"})
    app = task(command=["npm", "start"])
    app.property_dependencies = {"containerDefinitions": [other, image]}
    files, cwd = ecs._container_files(app, {"image": DIGEST})
    assert cwd == "/srv" and files.package(None, cwd).scripts == {"start": "prisma db push"}
    files, cwd = ecs._container_files(app, {"image": DIGEST, "workingDirectory": "/w"})
    assert cwd == "/w"
    app.property_dependencies = {"containerDefinitions": [other]}
    files, _ = ecs._container_files(app, {"image": "x@sha256:b"})
    assert files.strict and files.package(None, None) is None  # built here but unreadable: reported
    app.property_dependencies = {}
    files, cwd = ecs._container_files(app, {"image": "nginx", "workingDirectory": "/w"})
    assert files is ecs.NO_FILES and cwd == "/w"
    problems = ecs.container_start_problems(task(), {"command": ["npm", "start"]})
    assert problems == []


@pytest.mark.parametrize(("overrides", "messages"), [
    ({}, []),
    ({"deploymentMinimumHealthyPercent": 50}, ["deploymentMinimumHealthyPercent is 50; needs >= 100 so old tasks "
                                              "keep serving until new ones are healthy."]),
    ({"deploymentMaximumPercent": 150}, ["deploymentMaximumPercent is 150; needs >= 200 so new tasks start before "
                                         "old ones stop."]),
    ({"deploymentMinimumHealthyPercent": None, "deploymentMaximumPercent": None}, []),
    ({"healthCheckGracePeriodSeconds": 119}, ["healthCheckGracePeriodSeconds is 119; needs >= 120 so slow starts are "
                                              "not killed by load balancer health checks."]),
    ({"deploymentCircuitBreaker": {"enable": False, "rollback": True}},
     ["deploymentCircuitBreaker must be {enable: true, rollback: true} so a failing deployment rolls back to the "
      "last working one."]),
    ({"deploymentController": {"type": "CODE_DEPLOY"}, "healthCheckGracePeriodSeconds": 0}, []),
    ({"deploymentController": {"type": "ECS"}, "healthCheckGracePeriodSeconds": 0},
     ["healthCheckGracePeriodSeconds is 0; needs >= 120 so slow starts are not killed by load balancer health "
      "checks."]),
    ({"loadBalancers": []}, []),
])
def test_zero_downtime_rolling(overrides, messages):
    props = {"loadBalancers": [{}], "deploymentMinimumHealthyPercent": 100, "deploymentMaximumPercent": 200,
             "healthCheckGracePeriodSeconds": 120, "deploymentCircuitBreaker": {"enable": True, "rollback": True},
             **overrides}
    assert resource_violations(ecs.zero_downtime_rolling, SVC, props) == messages


def test_zero_downtime_thresholds_from_config():
    props = {"loadBalancers": [{}], "deploymentMinimumHealthyPercent": 50, "deploymentMaximumPercent": 150,
             "healthCheckGracePeriodSeconds": 60, "deploymentCircuitBreaker": {"enable": True, "rollback": True}}
    config = {"minimumHealthyPercent": 50.0, "maximumPercent": 150.0, "healthCheckGracePeriodSeconds": 60.0}
    assert resource_violations(ecs.zero_downtime_rolling, SVC, props, config) == []
    assert len(resource_violations(ecs.zero_downtime_rolling, SVC, props, {"maximumPercent": 151.0})) == 3


def test_digest_policy_message():
    tagged = task(image="nginx:1.27")
    (message,) = stack_violations(ecs.images_pinned_by_digest, [tagged, service_of(tagged)])
    assert message == ("Container 'app' of app (run by svc) uses image 'nginx:1.27', a tag that can move. Reference "
                       "the pushed image by digest (<repository>@sha256:<digest>).")
    assert stack_violations(ecs.images_pinned_by_digest, [task(image=DIGEST + "0")]) == []


def test_plaintext_message_never_echoes_the_value():
    (message,) = resource_violations(ecs.no_plaintext_secrets, TD, task(environment=[
        {"name": "DB_PASS", "value": "hunter2"}, {"name": "PORT", "value": "3000"}]).props)
    assert message == ("Container 'app' has environment variable DB_PASS in plain text (its name marks a credential). "
                       "Move it to `secrets` with `valueFrom` pointing at a Secrets Manager secret.")


# ----------------------------------------------------------------------------- CloudWatch


@pytest.mark.parametrize(("days", "wanted", "message"), [
    (7, 7, None), (7.0, 7, None), (14, 14, None),
    (None, 7, "Log group never expires its logs (retentionInDays unset or 0). Set retentionInDays = 7."),
    (0, 7, "Log group never expires its logs (retentionInDays unset or 0). Set retentionInDays = 7."),
    (30, 7, "Log group keeps logs 30 days; the guideline is exactly 7. Set retentionInDays = 7."),
    (7, 14, "Log group keeps logs 7 days; the guideline is exactly 14. Set retentionInDays = 14."),
])
def test_retention_problem(days, wanted, message):
    assert cloudwatch.retention_problem(days, wanted) == message


def test_retention_default_is_seven_and_schema_lists_cloudwatchs_values():
    assert cloudwatch.retention_problem(7) is None and cloudwatch.DEFAULT_RETENTION_DAYS == 7
    schema = cloudwatch.log_retention.config_schema.properties["retentionDays"]
    assert schema["default"] == 7 and schema["enum"] == list(cloudwatch.log_retention_days())


# ----------------------------------------------------------------------------- Secrets Manager

ARN = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:app/db-AbCdEf"


@pytest.mark.parametrize(("value_from", "reference"), [
    (ARN, ARN), (f"{ARN}:key::", ARN), (f"{ARN}:key:AWSPREVIOUS:", ARN), (f" {ARN} ", ARN),
    ("app/db", "app/db"), ("arn:aws:ssm:eu-central-1:1:parameter/x", "arn:aws:ssm:eu-central-1:1:parameter/x"),
    # Only a Secrets Manager ARN is cut after its name; any other reference is kept whole.
    ("arn:aws:ssm:eu-central-1:1:parameter/x:a:b:c", "arn:aws:ssm:eu-central-1:1:parameter/x:a:b:c"),
])
def test_secret_reference(value_from, reference):
    assert secretsmanager.secret_reference(value_from) == reference


@pytest.mark.parametrize(("reference", "name", "names"), [
    (ARN, "app/db", True), ("arn:aws:secretsmanager:r:1:secret:app/db", "app/db", True),
    ("arn:aws:secretsmanager:r:1:secret:app/db-AbCdE", "app/db", False),
    ("arn:aws:secretsmanager:r:1:secret:app/dbx-AbCdEf", "app/db", False), (ARN, None, False),
    ("app/db", "app/db", False),
])
def test_names_secret(reference, name, names):
    assert secretsmanager._names_secret(reference, name) is names


def stack_with(value_from, version=None, secret_tags=None, parameters=()):
    secret = stack_resource(secretsmanager.SECRET, "db", {"name": "app/db", "arn": ARN, "tags": secret_tags or {}})
    definition = {"name": "app", "image": DIGEST, "secrets": [{"name": "X", "valueFrom": value_from}]}
    td = stack_resource(TD, "app", {"containerDefinitions": json.dumps([definition])})
    resources = [secret, td, *parameters]
    if version == "by-arn":
        resources.append(stack_resource(secretsmanager.SECRET_VERSION, "v", {"secretId": ARN}))
    elif version == "by-name":
        resources.append(stack_resource(secretsmanager.SECRET_VERSION, "v", {"secretId": "app/db"}))
    elif version == "by-dependency":
        resources.append(stack_resource(secretsmanager.SECRET_VERSION, "v", {}, {"secretId": [secret]}))
    return resources


@pytest.mark.parametrize("version", ["by-arn", "by-name", "by-dependency"])
def test_a_version_linked_any_one_way_gives_the_secret_a_value(version):
    assert stack_violations(secretsmanager.referenced_secrets_have_values, stack_with(ARN, version)) == []


def test_secret_without_value_message_and_external_tag():
    (message,) = stack_violations(secretsmanager.referenced_secrets_have_values, stack_with(f"{ARN}:k::"))
    assert message == ("Task definition app reads secret app/db, which has no value in this stack. Fix: give it a "
                       "secret version, or tag it secret-source=external when it is populated out of band.")
    tagged = stack_with(ARN, secret_tags={"secret-source": "external"})
    assert stack_violations(secretsmanager.referenced_secrets_have_values, tagged) == []
    assert stack_violations(secretsmanager.referenced_secrets_have_values,
                            stack_with(ARN, secret_tags={"secret-source": "managed"}))


def test_parameters_of_the_stack_are_managed():
    parameter = stack_resource(secretsmanager.PARAMETER, "p", {"name": "/app/x",
                                                               "arn": "arn:aws:ssm:r:1:parameter/app/x"})
    for value_from in ("arn:aws:ssm:r:1:parameter/app/x", "/app/x"):
        assert stack_violations(secretsmanager.referenced_secrets_have_values,
                                stack_with(value_from, "by-arn", parameters=[parameter])) == []
    (message,) = stack_violations(secretsmanager.referenced_secrets_have_values,
                                  stack_with("arn:aws:ssm:r:1:parameter/other", "by-arn", parameters=[parameter]))
    assert message == ("Task definition app reads arn:aws:ssm:r:1:parameter/other, a secret this stack does not "
                       "manage. Fix: add its ARN pattern to this policy's externalSecretPatterns so the choice is "
                       "explicit.")


HAS_NO_VALUE = ("Task definition app reads secret {}, which has no value in this stack. Fix: give it a secret version, "
                "or tag it secret-source=external when it is populated out of band.")


def unmanaged(reference):
    return (f"Task definition app reads {reference}, a secret this stack does not manage. Fix: add its ARN pattern to "
            "this policy's externalSecretPatterns so the choice is explicit.")


def task_reading(*value_froms, deps=None):
    definition = {"name": "app", "image": DIGEST,
                  "secrets": [{"name": f"S{i}", "valueFrom": v} if v else {"name": f"S{i}"}
                              for i, v in enumerate(value_froms)]}
    return stack_resource(TD, "app", {"containerDefinitions": json.dumps([definition])}, deps)


def test_a_secret_whose_arn_is_not_known_yet_is_found_by_the_name_in_its_arn():
    preview = stack_resource(secretsmanager.SECRET, "db", {"name": "app/db"})  # arn computed at creation
    assert stack_violations(secretsmanager.referenced_secrets_have_values, [preview, task_reading(ARN)]) == [
        HAS_NO_VALUE.format("app/db")]


def test_a_secret_named_by_its_id():
    by_id = stack_resource(secretsmanager.SECRET, "db", {"id": ARN})  # pulumi-aws: a secret's id is its ARN
    assert stack_violations(secretsmanager.referenced_secrets_have_values, [by_id, task_reading(ARN)]) == [
        HAS_NO_VALUE.format("db")]  # no name property: the resource's name


def test_secrets_the_container_definitions_depend_on_are_referenced_even_when_not_spelled_out():
    secret = stack_resource(secretsmanager.SECRET, "db", {"name": "app/db"})
    log_group = stack_resource("aws:cloudwatch/logGroup:LogGroup", "logs", {"name": "/ecs/app"})
    task = task_reading(deps={"containerDefinitions": [secret, log_group]})
    assert stack_violations(secretsmanager.referenced_secrets_have_values, [secret, log_group, task]) == [
        HAS_NO_VALUE.format("app/db")]  # the log group is no secret
    version = stack_resource(secretsmanager.SECRET_VERSION, "v", {}, {"secretId": [secret]})
    assert stack_violations(secretsmanager.referenced_secrets_have_values, [secret, log_group, task, version]) == []


def test_a_secrets_entry_without_value_from_names_nothing():
    assert stack_violations(secretsmanager.referenced_secrets_have_values, [task_reading(None)]) == []


def test_every_secret_without_a_value_is_reported_and_blamed():
    first = stack_resource(secretsmanager.SECRET, "first", {"name": "app/first"})
    second = stack_resource(secretsmanager.SECRET, "second", {"name": "app/second"})
    task = task_reading("app/first", "app/second")
    assert stack_findings(secretsmanager.referenced_secrets_have_values, [first, second, task]) == [
        (HAS_NO_VALUE.format("app/first"), "first"), (HAS_NO_VALUE.format("app/second"), "second")]
    first_has_value = stack_resource(secretsmanager.SECRET_VERSION, "v", {"secretId": "app/first"})
    assert stack_findings(secretsmanager.referenced_secrets_have_values, [first, second, task, first_has_value]) == [
        (HAS_NO_VALUE.format("app/second"), "second")]


def test_versions_linked_by_dependency_give_each_their_secret_a_value():
    secrets = [stack_resource(secretsmanager.SECRET, key, {"name": f"app/{key}"}) for key in ("a", "b")]
    versions = [stack_resource(secretsmanager.SECRET_VERSION, f"v-{s.name}", {}, {"secretId": [s]}) for s in secrets]
    assert stack_violations(secretsmanager.referenced_secrets_have_values,
                            [*secrets, *versions, task_reading("app/a", "app/b")]) == []


def test_unmanaged_references_are_each_judged_against_the_patterns_and_blame_the_task():
    shared = "arn:aws:secretsmanager:eu-central-1:1:secret:shared/api-key-AbCdEf"
    other = "arn:aws:secretsmanager:eu-central-1:1:secret:other/key-AbCdEf"
    findings = stack_findings(secretsmanager.referenced_secrets_have_values, [task_reading(shared, other)],
                              {"externalSecretPatterns": [":secret:other/"]})  # the first of the two, sorted
    assert findings == [(unmanaged(shared), "app")]


@pytest.mark.parametrize(("parameter", "value_from"), [
    ({"name": "/app/x"}, "arn:aws:ssm:r:1:parameter/app/x"),  # arn not known yet: the path in the ARN
    ({"name": "x"}, "arn:aws:ssm:r:1:parameter/x"),  # a name without a slash: its ARN adds one
    ({"arn": "arn:aws:ssm:r:1:parameter/app/x"}, "arn:aws:ssm:r:1:parameter/app/x"),
    ({"name": "/app/x"}, "/app/x"), ({"name": "x"}, "x"),
])
def test_parameters_of_the_stack_named_by_name_or_arn(parameter, value_from):
    resources = [stack_resource(secretsmanager.PARAMETER, "p", parameter), task_reading(value_from)]
    assert stack_violations(secretsmanager.referenced_secrets_have_values, resources) == []


@pytest.mark.parametrize(("parameter", "value_from"), [
    ({"name": "/app/x"}, "arn:aws:ssm:r:1:parameter/app/y"), ({"name": "x"}, "arn:aws:ssm:r:1:parameter/y"),
    ({"name": "/app/x"}, "/app/y"),
])
def test_other_parameters_are_unmanaged(parameter, value_from):
    resources = [stack_resource(secretsmanager.PARAMETER, "p", parameter), task_reading(value_from)]
    assert stack_violations(secretsmanager.referenced_secrets_have_values, resources) == [unmanaged(value_from)]


def test_external_secret_check_is_skipped_without_aws_credentials(monkeypatch, tmp_path):
    import boto3

    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # another test's session keeps the credentials it found
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert secretsmanager._aws_secret_is_populated("app/db") == "skip"
    external = stack_with(ARN, secret_tags={"secret-source": "external"})
    assert stack_violations(secretsmanager.referenced_secrets_have_values, external,
                            {"verifyExternalWithAws": True}) == []


def test_external_secrets_verified_with_aws(monkeypatch):
    answers = {"app/db": "its current value is empty"}
    monkeypatch.setattr(secretsmanager, "_aws_secret_is_populated", lambda name: answers.get(name))
    external = stack_with(ARN, secret_tags={"secret-source": "external"})
    (message,) = stack_violations(secretsmanager.referenced_secrets_have_values, external,
                                  {"verifyExternalWithAws": True})
    assert message == "External secret app/db: its current value is empty. Populate it before deploying."
    assert stack_findings(secretsmanager.referenced_secrets_have_values, external, {"verifyExternalWithAws": True}) == [
        (message, "db")]
    answers["app/db"] = "skip"
    assert stack_violations(secretsmanager.referenced_secrets_have_values, external,
                            {"verifyExternalWithAws": True}) == []


@pytest.mark.parametrize(("days", "minimum", "messages"), [
    (30, 7, []), (None, 7, []), (7, 7, []), (6, 7, ["recoveryWindowInDays is 6; use at least 7 days."]),
    (0, 7, ["recoveryWindowInDays is 0: a deleted secret is gone immediately. Use at least 7 days (30 recommended)."]),
    (29, 30, ["recoveryWindowInDays is 29; use at least 30 days."]),
])
def test_recovery_window_messages(days, minimum, messages):
    policy = (secretsmanager.recovery_window_minimum if minimum == 7 else secretsmanager.recovery_window_recommended)
    assert resource_violations(policy, secretsmanager.SECRET, {"recoveryWindowInDays": days}) == messages


def test_recovery_window_from_config():
    assert resource_violations(secretsmanager.recovery_window_minimum, secretsmanager.SECRET,
                               {"recoveryWindowInDays": 10}, {"minimumDays": 14.0}) == [
        "recoveryWindowInDays is 10; use at least 14 days."]
    assert resource_violations(secretsmanager.recovery_window_recommended, secretsmanager.SECRET,
                               {"recoveryWindowInDays": 30}, {"minimumDays": 45.0}) == [
        "recoveryWindowInDays is 30; use at least 45 days."]


@pytest.mark.parametrize(("props", "ok"), [
    ({"secretString": "x"}, True), ({"secretBinary": "eA=="}, True), ({"secretString": ""}, False),
    ({"secretString": " \n"}, False), ({}, False),
])
def test_secret_version_value(props, ok):
    found = resource_violations(secretsmanager.version_not_empty, secretsmanager.SECRET_VERSION, props)
    assert (found == []) is ok
    if not ok:
        assert found == ["The secret version's value is empty or blank; tasks fail to start with "
                         "ResourceInitializationError. Fix: set the value (pulumi config set --secret <key>: "
                         "the CLI asks for it without echoing it)."]


# ----------------------------------------------------------------------------- tags


def test_required_tags_from_config():
    props = {"tags": {"team": "x", "project": "p"}}
    assert resource_violations(tags.required_tags, "aws:ecs/cluster:Cluster", props, {"requiredTags": ["team"]}) == []
    assert resource_violations(tags.required_tags, "aws:ecs/cluster:Cluster", {"tags": {"project": ""}},
                               {"requiredTags": ["project"]}) == [
        "Missing tags ['project']. Tag every resource with ['project']."]
    assert resource_violations(tags.required_tags, "aws:ecs/cluster:Cluster", {}) == [
        "Missing tags ['project', 'environment', 'managed-by']. Tag every resource with ['project', 'environment', "
        "'managed-by']."]


# ----------------------------------------------------------------------------- cost


def cost(type_, name, props, deps=None):
    return estimator.CostResource(f"urn:{type_}::{name}", type_, name, props, deps or {})


def fargate_stack(insights="enabled", desired=2, containers=1, cluster_ref=True):
    cluster = cost("aws:ecs/cluster:Cluster", "c", {"settings": [{"name": "containerInsights", "value": insights}],
                                                   "arn": "arn:cluster"})
    td = cost(estimator.TASK_DEFINITION, "td", {"family": "web", "cpu": "1024", "memory": "2048",
                                                "containerDefinitions": json.dumps([{}] * containers)})
    service = cost(estimator.SERVICE, "svc", {"desiredCount": desired, **({"cluster": "arn:cluster"} if cluster_ref
                                                                            else {})},
                   {"taskDefinition": [td.urn]})
    return [cluster, td, service]


def line(result, prefix):
    return next(item for item in result.lines if item.item.startswith(prefix))


def test_container_insights_metrics_and_events_by_hand():
    result = estimator.estimate(fargate_stack(), "us-east-1")
    metrics = line(result, "Container Insights metrics")
    # 12 (cluster) + 15 (service) + 10 (one task family) = 37 metrics x $0.30
    assert (metrics.quantity, metrics.unit_price) == (37, 0.30)
    events = line(result, "Container Insights performance events")
    # (2 x (1,303 + 645) + 541 + 371) B/min x 60 x 730 = 0.210590 GB, at us-east-1's $0.50
    assert events.quantity == pytest.approx(0.2105904) and events.unit_price == 0.50
    two_containers = line(estimator.estimate(fargate_stack(containers=2), "us-east-1"),
                          "Container Insights performance events")
    assert two_containers.quantity == pytest.approx(0.2105904 + 2 * 645 * 43800 / 1e9)


def test_container_insights_off_enhanced_or_unmatched():
    assert not any(i.item.startswith("Container Insights") for i in
                   estimator.estimate(fargate_stack("disabled"), "us-east-1").lines)
    enhanced = estimator.estimate(fargate_stack("enhanced"), "us-east-1")
    assert enhanced.unknown == ["Container Insights with enhanced observability on c (priced per observation, not "
                                "modelled)"]
    no_setting = fargate_stack()
    no_setting[0] = cost("aws:ecs/cluster:Cluster", "c", {})
    assert not any(i.item.startswith("Container Insights") for i in
                   estimator.estimate(no_setting, "us-east-1").lines)
    # a service without a cluster reference still belongs to the stack's only cluster
    only = line(estimator.estimate(fargate_stack(cluster_ref=False), "us-east-1"), "Container Insights metrics")
    assert only.quantity == 37
    second_cluster = [*fargate_stack(cluster_ref=False), cost("aws:ecs/cluster:Cluster", "c2", {"settings": [
        {"name": "containerInsights", "value": "enabled"}]})]
    lines = estimator.estimate(second_cluster, "us-east-1").lines
    assert line(estimator.Estimate("r", "d", lines, []), "Container Insights metrics").quantity == 24  # clusters only


def test_target_tracking_alarms_by_hand():
    predefined = cost(estimator.SCALING_POLICY, "cpu", {"policyType": "TargetTrackingScaling"})
    metrics = [{"metricStat": {}}, {"metricStat": {}}, {"expression": "a"}]
    math = cost(estimator.SCALING_POLICY, "math", {"policyType": "TargetTrackingScaling",
                                                   "targetTrackingScalingPolicyConfiguration": {
                                                       "customizedMetricSpecification": {"metrics": metrics}}})
    step = cost(estimator.SCALING_POLICY, "step", {"policyType": "StepScaling"})
    alarms = line(estimator.estimate([predefined, math, step], "us-east-1"), "Target tracking alarms")
    assert (alarms.item, alarms.quantity, alarms.unit_price) == (
        "Target tracking alarms AWS creates (2 policies x 2)", 6, 0.10)  # 2 x 1 + 2 x 2 alarm metrics


def test_services_find_task_definitions_by_family():
    td = cost(estimator.TASK_DEFINITION, "td", {"family": "web", "cpu": "512", "memory": "1024"})
    for reference in ("web", "web:4", "arn:aws:ecs:r:1:task-definition/web:4"):
        service = cost(estimator.SERVICE, "svc", {"desiredCount": 1, "taskDefinition": reference})
        assert line(estimator.estimate([td, service], "us-east-1"), "Fargate vCPU").quantity == 365
    by_arn = cost(estimator.TASK_DEFINITION, "td2", {"arn": "arn:td", "cpu": "1024", "memory": "2048"})
    service = cost(estimator.SERVICE, "svc", {"desiredCount": 1, "taskDefinition": "arn:td"})
    assert line(estimator.estimate([td, by_arn, service], "us-east-1"), "Fargate vCPU").quantity == 730
    lonely = cost(estimator.SERVICE, "svc", {"desiredCount": 1, "taskDefinition": "nope"})
    assert estimator.estimate([td, lonely], "us-east-1").unknown


def test_region_fallback_takes_the_highest_price_of_each_item():
    prices = {"regions": {"a": {"x": {"y": 1.0}, "z": 5.0}, "b": {"x": {"y": 2.0}, "z": 3.0}}}
    table, note = estimator.region_prices("c", prices)
    assert table == {"x": {"y": 2.0}, "z": 5.0}
    assert note.startswith("no list prices for c in the bundled table (it has a, b): priced at the highest listed "
                           "price of each item, so the figure is approximate")
    assert estimator.region_prices("a", prices) == ({"x": {"y": 1.0}, "z": 5.0}, None)
    noted = {**prices, "regionNotes": {"a": "from the API", "c": "the AWS Pricing API failed (x)"}}
    assert estimator.region_prices("a", noted)[1] == "from the API"
    assert estimator.region_prices("c", noted)[1].startswith("the AWS Pricing API failed (x); no list prices for c")


def test_estimate_document_and_text():
    result = estimator.estimate(fargate_stack(), "nowhere-1")
    document = result.to_dict()
    assert document["approximate"].startswith("no list prices for nowhere-1")
    assert document["totalMonthlyUsd"] == round(result.total, 2) and document["region"] == "nowhere-1"
    assert "approximate: no list prices for nowhere-1" in estimator.format_estimate(result)
    assert "approximate" not in estimator.format_estimate(estimator.estimate(fargate_stack(), "us-east-1"))


def test_prices_for_a_listed_region_never_ask_the_api():
    prices = estimator.load_prices()
    assert live.prices_for_region("us-east-1", prices) is prices
    assert live.prices_for_region("ap-south-2", prices, use_api=False) is prices


def test_prices_for_an_unlisted_region_without_credentials_are_the_table(monkeypatch):
    monkeypatch.setattr(live, "credentials_available", lambda: False)
    prices = estimator.load_prices()
    assert live.prices_for_region("ap-south-2", prices) is prices


class FailingPaginator:
    def paginate(self, **_kwargs):
        import botocore.exceptions

        raise botocore.exceptions.EndpointConnectionError(endpoint_url="https://api.pricing.us-east-1.amazonaws.com")


class FailingClient:
    def get_paginator(self, _name):
        return FailingPaginator()


def test_a_failing_pricing_api_falls_back_with_the_reason():
    prices = estimator.load_prices()
    document = live.prices_for_region("ap-south-2", prices, client=FailingClient())
    assert "ap-south-2" not in document["regions"]
    note = estimator.region_prices("ap-south-2", document)[1]
    assert note.startswith("the AWS Pricing API failed (Could not connect to the endpoint URL")
    assert "approximate" in note


def test_budget_policies(monkeypatch):
    monkeypatch.setattr(live, "credentials_available", lambda: False)
    td = stack_resource(TD, "td", {"cpu": "4096", "memory": "8192"})
    svc = stack_resource(SVC, "svc", {"desiredCount": 10}, {"taskDefinition": [td]})
    (message,) = stack_violations(budget.budget_policy, [td, svc], {"maxMonthlyUsd": 100.0, "region": "us-east-1"})
    assert message.startswith("Estimated $") and "exceeds the budget of $100.00/month." in message
    assert message.endswith("Fix: the lean profile (natMode none, FARGATE_SPOT, arm64), fewer tasks, or a higher "
                            "maxMonthlyUsd.")
    assert stack_violations(budget.budget_policy, [td, svc], {"maxMonthlyUsd": 10000.0}) == []
    (note,) = stack_violations(budget.price_coverage_policy, [td, svc], {"region": "af-south-1"})
    assert note.startswith("The monthly cost estimate for af-south-1 is approximate: no list prices for af-south-1")
    assert stack_violations(budget.price_coverage_policy, [td, svc], {"region": "eu-west-1"}) == []


@pytest.mark.parametrize(("environment", "region"), [
    ({"PULUMI_CONFIG": '{"aws:region": "us-east-1"}'}, "us-east-1"), ({"PULUMI_CONFIG": "not json"}, "eu-central-1"),
    ({"PULUMI_CONFIG": "[1]"}, "eu-central-1"), ({}, "eu-central-1"), ({"PULUMI_CONFIG": "{}"}, "eu-central-1"),
])
def test_stack_region(monkeypatch, environment, region):
    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    assert budget.stack_region(None) == region
    assert budget.stack_region("ap-east-1") == "ap-east-1"


def test_budget_assumptions_from_config():
    assumptions = budget.assumptions_from({"logGbPerMonth": 9.0, "natGbPerMonth": 90.0, "albLcu": 3.0})
    assert (assumptions.log_gb_per_month, assumptions.nat_gb_per_month, assumptions.alb_lcu) == (9.0, 90.0, 3.0)
    defaults = budget.assumptions_from({})
    assert (defaults.log_gb_per_month, defaults.nat_gb_per_month, defaults.alb_lcu) == (5.0, 20.0, 1.0)
    assert defaults.deploys_per_month == 20.0
    assert budget.assumptions_from({"deploysPerMonth": 4.0}).deploys_per_month == 4.0


def _budget_stack():
    td = stack_resource(TD, "td", {"cpu": "1024", "memory": "2048"})
    return [td, stack_resource(SVC, "svc", {"desiredCount": 2}, {"taskDefinition": [td]})]


def test_budget_default_limit_is_150_usd(monkeypatch):
    monkeypatch.setattr(live, "credentials_available", lambda: False)
    assert stack_violations(budget.budget_policy, _budget_stack(), {}) == []  # two 1 vCPU tasks: about $80
    td = stack_resource(TD, "td", {"cpu": "4096", "memory": "8192"})
    big = [td, stack_resource(SVC, "svc", {"desiredCount": 10}, {"taskDefinition": [td]})]
    (message,) = stack_violations(budget.budget_policy, big, {})
    assert "exceeds the budget of $150.00/month." in message


def test_budget_at_exactly_the_limit_passes(monkeypatch):
    monkeypatch.setattr(live, "credentials_available", lambda: False)
    from pulumi_policy.policy import StackValidationArgs

    total = budget.stack_estimate(StackValidationArgs(_budget_stack(), {})).total
    assert stack_violations(budget.budget_policy, _budget_stack(), {"maxMonthlyUsd": total}) == []
    assert len(stack_violations(budget.budget_policy, _budget_stack(), {"maxMonthlyUsd": total - 0.01})) == 1


def test_budget_reads_the_usage_assumptions_from_its_config(monkeypatch):
    monkeypatch.setattr(live, "credentials_available", lambda: False)
    resources = [*_budget_stack(), stack_resource("aws:cloudwatch/logGroup:LogGroup", "logs", {"retentionInDays": 30})]
    assert stack_violations(budget.budget_policy, resources, {"maxMonthlyUsd": 100.0}) == []
    (message,) = stack_violations(budget.budget_policy, resources, {"maxMonthlyUsd": 100.0, "logGbPerMonth": 500.0})
    assert "CloudWatch Logs ingestion (assumed 500 GB)" in message  # the configured volume, not the default 5 GB


def test_budget_message_names_a_service_it_cannot_price(monkeypatch):
    monkeypatch.setattr(live, "credentials_available", lambda: False)
    pending = stack_resource(SVC, "pending-svc", {"desiredCount": 1})  # no task definition known yet
    (message,) = stack_violations(budget.budget_policy, [*_budget_stack(), pending], {"maxMonthlyUsd": 1.0})
    assert "not priced: Fargate for pending-svc: task size or desired count not known until deployment" in message


def test_budget_prices_an_unlisted_region_from_the_pricing_api_unless_live_prices_is_off(monkeypatch):
    asked = []

    def pricing_api(region, base, client=None):
        asked.append(region)
        return base

    monkeypatch.setattr(live, "credentials_available", lambda: True)
    monkeypatch.setattr(live, "live_region_table", pricing_api)
    monkeypatch.setattr(live, "_LIVE", {})
    (note,) = stack_violations(budget.price_coverage_policy, _budget_stack(), {"region": "ap-south-2"})
    assert asked == ["ap-south-2"]
    assert note.startswith("The monthly cost estimate for ap-south-2 is approximate: on-demand Fargate, NAT and ALB "
                           "prices for ap-south-2 from the AWS Pricing API")
    monkeypatch.setattr(live, "_LIVE", {})
    (note,) = stack_violations(budget.price_coverage_policy, _budget_stack(),
                               {"region": "ap-south-2", "livePrices": False})
    assert asked == ["ap-south-2"]  # not asked again
    assert note.startswith("The monthly cost estimate for ap-south-2 is approximate: no list prices for ap-south-2")


# ----------------------------------------------------------------------------- engine


def servicer_with(*policies, config=None):
    servicer = engine.SharedConversionServicer("pack", "1.0.0", list(policies), EnforcementLevel.MANDATORY)
    if config:
        servicer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=config), None)
    return servicer


def request(resource_type="t", props=None):
    struct = struct_pb2.Struct()
    struct.update(props or {})
    return analyzer_pb2.AnalyzeRequest(type=resource_type, urn="urn:x", name="x", properties=struct)


def test_engine_converts_once_and_skips_policies_for_other_types(monkeypatch):
    calls = []
    monkeypatch.setattr(engine, "_properties", lambda struct: calls.append(struct) or {"a": 1})
    first = common.resource_policy("one", "d", ["t"], lambda args, report: report("one"))
    second = common.resource_policy("two", "d", ["t"], lambda args, report: report(f"two {args.props['a']}"))
    other = common.resource_policy("three", "d", ["u"], lambda args, report: report("three"))
    stack = StackValidationPolicy(name="s", description="d", validate=lambda args, report: report("stack"))
    response = servicer_with(other, stack, first, second).Analyze(request(), None)  # skipped ones first
    assert [(d.policyName, d.message) for d in response.diagnostics] == [("one", "d\none"), ("two", "d\ntwo 1")]
    assert len(calls) == 1
    calls.clear()
    servicer_with(other).Analyze(request(), None)
    assert calls == []  # nothing wanted the resource: not even converted


def test_engine_levels_not_applicable_and_stack_policies():
    def not_applicable(args, report):
        args.not_applicable("not here")

    resource = ResourceValidationPolicy(name="r", description="d", validate=not_applicable)
    stack = StackValidationPolicy(name="s", description="d", validate=lambda args, report: report("seen", "urn:y"))
    remediated = {"s": analyzer_pb2.PolicyConfig(enforcementLevel=analyzer_pb2.REMEDIATE)}
    servicer = servicer_with(resource, stack, config=remediated)
    response = servicer.Analyze(request(), None)
    assert [(n.policy_name, n.reason) for n in response.not_applicable] == [("r", "not here")]
    stack_response = servicer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(), None)
    (diagnostic,) = stack_response.diagnostics
    assert (diagnostic.enforcementLevel, diagnostic.urn) == (analyzer_pb2.MANDATORY, "urn:y")
    disabled = {"s": analyzer_pb2.PolicyConfig(enforcementLevel=analyzer_pb2.DISABLED)}
    assert servicer_with(stack, config=disabled).AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(), None).diagnostics \
        == []


def test_engine_reports_a_policy_without_validate_and_runs_the_ones_after_it():
    without = ResourceValidationPolicy(name="fixer", description="d", remediate=lambda args: None)  # remediation only
    after = ResourceValidationPolicy(name="after", description="d", validate=lambda args, report: report("ran"))
    response = servicer_with(without, after).Analyze(request(), None)
    assert [(n.policy_name, n.reason) for n in response.not_applicable] == [
        ("fixer", "Policy does not implement validate")]  # the SDK's words
    assert [d.policyName for d in response.diagnostics] == ["after"]


def test_engine_gives_stack_policies_each_resource_as_the_sdk_builds_it_and_their_config():
    seen = []
    policy = StackValidationPolicy(name="s", description="d", validate=lambda args, report: seen.append(args))
    properties = struct_pb2.Struct()
    properties.update({"size": 3})
    provider = analyzer_pb2.AnalyzerProviderResource(type="pulumi:providers:aws", urn="urn:provider", name="aws")
    resource = analyzer_pb2.AnalyzerResource(
        type="aws:s3/bucket:Bucket", urn="urn:bucket", name="bucket", properties=properties,
        options=analyzer_pb2.AnalyzerResourceOptions(protect=True), provider=provider)
    limit = struct_pb2.Struct()
    limit.update({"limit": 2})
    config = {"s": analyzer_pb2.PolicyConfig(enforcementLevel=analyzer_pb2.MANDATORY, properties=limit)}
    servicer_with(policy, config=config).AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=[resource]), None)
    ((args),) = seen
    assert args.get_config() == {"limit": 2}
    (converted,) = args.resources
    assert (converted.resource_type, dict(converted.props), converted.urn, converted.name) == (
        "aws:s3/bucket:Bucket", {"size": 3}, "urn:bucket", "bucket")
    assert converted.opts.protect is True
    assert (converted.provider.resource_type, converted.provider.urn, converted.provider.name) == (
        "pulumi:providers:aws", "urn:provider", "aws")


def test_engine_runs_awaitable_policies():
    async def later(args, report):
        report("awaited")

    policy = StackValidationPolicy(name="a", description="d", validate=later)
    (diagnostic,) = servicer_with(policy).AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(), None).diagnostics
    assert diagnostic.message == "d\nawaited"


def test_engine_configures_the_runtime_once(monkeypatch):
    calls = []
    monkeypatch.setattr(engine.sdk._PolicyAnalyzerServicer, "_configure_runtime_settings",
                        lambda self: calls.append(1))
    servicer = servicer_with(StackValidationPolicy(name="a", description="d", validate=lambda a, r: None))
    servicer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(), None)
    servicer.Analyze(request(), None)
    assert calls == [1]


def test_install_swaps_the_sdks_servicer(monkeypatch):
    monkeypatch.setattr(engine.sdk, "_PolicyAnalyzerServicer", engine.sdk._PolicyAnalyzerServicer)
    original = engine.sdk._PolicyAnalyzerServicer
    engine.install()
    assert engine.sdk._PolicyAnalyzerServicer is engine.SharedConversionServicer
    assert issubclass(engine.SharedConversionServicer, original)


def test_stack_resources_keep_parents_dependencies_and_property_dependencies():
    resources = [
        analyzer_pb2.AnalyzerResource(type="t", urn="urn:a", name="a"),
        analyzer_pb2.AnalyzerResource(type="t", urn="urn:b", name="b", parent="urn:a", dependencies=["urn:a", "urn:z"],
                                      propertyDependencies={"p": analyzer_pb2.AnalyzerPropertyDependencies(
                                          urns=["urn:a", "urn:z"])}),
    ]
    a, b = servicer_with(StackValidationPolicy(name="s", description="d", validate=lambda x, y: None)) \
        ._stack_resources(analyzer_pb2.AnalyzeStackRequest(resources=resources))
    assert b.parent is a and b.dependencies == [a] and b.property_dependencies == {"p": [a]}
    assert a.parent is None and a.dependencies == [] and a.property_dependencies == {}
    # A child listed before its parent is linked too.
    b, a = servicer_with(StackValidationPolicy(name="s", description="d", validate=lambda x, y: None)) \
        ._stack_resources(analyzer_pb2.AnalyzeStackRequest(resources=resources[::-1]))
    assert (b.name, a.name) == ("b", "a") and b.parent is a and b.dependencies == [a]


# ----------------------------------------------------------------------------- IAM through the policy


def test_iam_wildcard_resource_actions_from_config():
    from guardrails import iam

    props = {"policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets",
                                                  "Resource": "*"}]})}
    (message,) = resource_violations(iam.least_privilege, iam.ROLE_POLICY, props)
    assert message == "statement 0 allows ['s3:ListAllMyBuckets'] on Resource '*'. Name the exact actions and " \
                      "resource ARNs."
    assert resource_violations(iam.least_privilege, iam.ROLE_POLICY, props,
                               {"wildcardResourceActions": ["s3:ListAllMyBuckets"]}) == []


@pytest.mark.parametrize("resource_type", ["aws:iam/userPolicy:UserPolicy", "aws:iam/groupPolicy:GroupPolicy",
                                           "aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy"])
def test_iam_documents_of_every_policy_resource(resource_type):
    from guardrails import iam

    props = {"policy": json.dumps({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "arn:x"}})}
    assert resource_violations(iam.least_privilege, resource_type, props) == [
        "statement 0 allows the wildcard action '*'. Name the exact actions and resource ARNs."]


@pytest.mark.parametrize(("resource_type", "props"), [
    ("aws:iam/role:Role", {"managedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]}),
    ("aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
     {"policyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]}),
    ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    ("aws:iam/policyAttachment:PolicyAttachment", {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    ("aws:iam/userPolicyAttachment:UserPolicyAttachment", {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    ("aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
     {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
])
def test_broad_managed_policies_by_every_attachment(resource_type, props):
    from guardrails import iam

    assert resource_violations(iam.least_privilege, resource_type, props) == [
        "Attaches the AWS-managed policy AdministratorAccess, which grants far more than a service needs. Write a "
        "policy with the exact actions and resource ARNs instead."]
    assert resource_violations(iam.least_privilege, resource_type, {}) == []
    assert resource_violations(iam.least_privilege, "aws:s3/bucket:Bucket", props) == []


# ----------------------------------------------------------------------------- policy factories


def test_policy_factories_keep_every_setting():
    from pulumi_policy import PolicyConfigSchema, Severity

    def check(args, report):
        report("x")

    schema = PolicyConfigSchema(properties={"a": {"type": "integer"}})
    stack = common.stack_policy("s", "desc", check, level=EnforcementLevel.ADVISORY, severity=Severity.LOW,
                                config_schema=schema)
    assert (stack.name, stack.description, stack.enforcement_level, stack.severity, stack.config_schema) == (
        "s", "desc", EnforcementLevel.ADVISORY, Severity.LOW, schema)
    assert stack_violations(stack, []) == ["x"]
    default = common.stack_policy("s", "desc", check)
    assert (default.enforcement_level, default.severity, default.config_schema) == (
        EnforcementLevel.MANDATORY, Severity.HIGH, None)
    resource = common.resource_policy("r", "desc", ["t"], check, level=EnforcementLevel.ADVISORY,
                                      severity=Severity.LOW, config_schema=schema)
    assert (resource.name, resource.description, resource.enforcement_level, resource.severity,
            resource.config_schema) == ("r", "desc", EnforcementLevel.ADVISORY, Severity.LOW, schema)
    assert resource_violations(resource, "t", {}) == ["x"] and resource_violations(resource, "u", {}) == []
    plain = common.resource_policy("r", "desc", ["t"], check)
    assert (plain.enforcement_level, plain.severity, plain.config_schema) == (
        EnforcementLevel.MANDATORY, Severity.HIGH, None)


@pytest.mark.parametrize(("days", "wanted", "message"), [
    (None, 7, None), (30, 30, None), (7, 7, None), (6, 7, "recoveryWindowInDays is 6; use at least 7 days."),
    (0, 7, "recoveryWindowInDays is 0: a deleted secret is gone immediately. Use at least 7 days (30 recommended)."),
    (None, 31, "recoveryWindowInDays is 30; use at least 31 days."),
])
def test_recovery_window_problem(days, wanted, message):
    assert secretsmanager.recovery_window_problem(days, wanted) == message


# ----------------------------------------------------------------------------- image files


@pytest.fixture
def built(tmp_path, monkeypatch):
    """An image built from a project: a workspace monorepo, scripts on PATH, a build stage."""
    (tmp_path / "Pulumi.yaml").write_text("name: demo\n")
    monkeypatch.setenv("PULUMI_PROJECT_DIR", str(tmp_path))
    files = {
        "app/package.json": json.dumps({"name": "root", "workspaces": ["packages/*", "tools/cli"]}),
        "app/packages/api/package.json": json.dumps({"name": "@acme/api", "scripts": {"start": "node a"}}),
        "app/packages/web/package.json": json.dumps({"name": "@acme/web", "scripts": {"start": "node w"}}),
        "app/packages/empty/readme": "no package.json here",
        "app/packages/node_modules/package.json": json.dumps({"name": "dep"}),
        "app/tools/cli/package.json": "{ not json",
        "app/bin/boot.sh": "prisma db push\n",
        "app/scripts/local.sh": "echo local\n",
        "Dockerfile": "FROM node AS base\nENV PATH=/opt/bin:$PATH\nWORKDIR /srv\nCOPY . .\n"
                      "COPY bin/ /opt/bin/\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return docker.image_build({"build": {"context": "app", "dockerfile": "Dockerfile"}})


def test_image_files_read_packages_and_workspaces(built):
    files = built.files()
    root = files.package(None, None)
    assert (root.directory, root.name) == ("/srv", "root")
    assert [p.name for p in files.workspaces(root)] == ["@acme/api", "@acme/web"]
    assert [p.directory for p in files.workspaces(root)] == ["/srv/packages/api", "/srv/packages/web"]
    assert files.package("packages/api", None).name == "@acme/api"
    assert files.package("/srv/packages/web", "/elsewhere").name == "@acme/web"
    assert files.package("tools/cli", None) is None  # invalid JSON: treated as unreadable
    assert files.package("missing", None) is None
    assert files.workspaces(bare_package("/nowhere")) == []


def test_image_files_resolve_paths_against_the_callers_directory(built):
    files = built.files()
    assert files.package(None, "/srv/packages/api").name == "@acme/api"
    assert files.script("./local.sh", "/srv/scripts", executed=True) == "echo local\n"
    elsewhere = docker.ImageFiles(built, workdir="/")  # members are found under the root package, not the workdir
    assert [p.name for p in elsewhere.workspaces(elsewhere.package("/srv", None))] == ["@acme/api", "@acme/web"]


def test_workspace_patterns_pathlib_refuses_are_skipped_not_raised(built):
    from guardrails.packages import Package

    root = Package("/srv", "root", {}, ["", "/srv/packages/*", "packages/*/"])
    assert [p.name for p in built.files().workspaces(root)] == ["@acme/api", "@acme/web"]


def bare_package(directory):
    from guardrails.packages import Package

    return Package(directory, None, {}, ["*"])


def test_image_files_find_scripts_by_path_on_path_and_in_the_working_directory(built):
    files = built.files()
    assert files.script("boot.sh", None, executed=True) == "prisma db push\n"  # /opt/bin is on PATH
    assert files.script("/opt/bin/boot.sh", None, executed=True) == "prisma db push\n"
    assert files.script("scripts/local.sh", None, executed=True) == "echo local\n"  # relative to WORKDIR /srv
    assert files.script("local.sh", "/srv/scripts", executed=False) == "echo local\n"
    assert files.script("local.sh", "/srv/scripts", executed=True) is None  # exec looks on PATH only
    assert files.script("nope.sh", None, executed=False) is None
    assert files.read("/srv/bin/boot.sh") == "prisma db push\n" and files.read("/etc/passwd") is None
    assert files.workdir == "/srv" and "/opt/bin" in files.path_dirs
    assert docker.ImageFiles(built, workdir="/w").workdir == "/w"


def test_image_build_messages(tmp_path, monkeypatch):
    (tmp_path / "Pulumi.yaml").write_text("name: demo\n")
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM node AS a\nCMD x\n")
    monkeypatch.setenv("PULUMI_PROJECT_DIR", str(tmp_path))
    assert docker.image_build({"build": "ctx"}).dockerfile_path == tmp_path / "ctx" / "Dockerfile"
    assert docker.image_build({"build": {"context": "ctx", "target": "a"}}).target.name == "a"
    assert docker.image_build({"build": {"context": "ctx", "args": {"X": 1}}}).start.cmd == ["/bin/sh", "-c", "x"]
    with pytest.raises(docker.ProjectFileError, match=r"the build context .*/nope is not a directory"):
        docker.image_build({"build": {"context": "nope"}})
    with pytest.raises(docker.ProjectFileError, match=r"cannot be used: the build target 'b' is not a stage"):
        docker.image_build({"build": {"context": "ctx", "target": "b"}})
    (tmp_path / "big").write_text("x" * (docker.MAX_FILE_BYTES + 1))
    with pytest.raises(docker.ProjectFileError, match=r"the Dockerfile .*big is larger than 1000000 bytes"):
        docker.image_build({"build": {"context": "ctx", "dockerfile": "big"}})
    monkeypatch.setenv("PULUMI_PROJECT_DIR", str(tmp_path / "ctx"))
    with pytest.raises(docker.ProjectFileError, match="cannot read the Dockerfile: PULUMI_PROJECT_DIR="):
        docker.image_build({"build": {"context": "."}})


def test_dockerfile_parses_are_shared(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text("FROM a\n")
    first = docker.parse_dockerfile(path, {})
    assert docker.parse_dockerfile(path, {}) is first
    assert docker.parse_dockerfile(path, {"A": "1"}) is not first
    path.write_text("FROM bb\n")
    assert docker.parse_dockerfile(path, {}).stages[0].base == "bb"


def test_start_problems_messages():
    from guardrails.migrations import NO_FILES

    assert docker.start_problems(["node", "x"], NO_FILES, None, "CMD") == []
    assert docker.start_problems(["prisma", "db", "push"], NO_FILES, None, "CMD") == [
        "CMD runs database migrations at container start: `prisma db push` runs Prisma migrations."]


def test_every_line_of_a_small_stack_by_hand():
    """us-east-1 list prices (prices.json), 730 h; each figure worked out by hand."""
    td = cost(estimator.TASK_DEFINITION, "td", {"cpu": "512", "memory": "1024",
                                                "runtimePlatform": {"cpuArchitecture": "ARM64"}})
    resources = [
        td,
        cost(estimator.SERVICE, "svc", {"desiredCount": 3, "networkConfiguration": {"assignPublicIp": True},
                                        "capacityProviderStrategies": [{"capacityProvider": "FARGATE_SPOT"}]},
             {"taskDefinition": [td.urn]}),
        cost(estimator.LOAD_BALANCER, "alb", {"subnets": ["a", "b"]}),
        cost(estimator.LOAD_BALANCER, "internal", {"subnets": ["a", "b"], "internal": True}),
        cost(estimator.LOAD_BALANCER, "nlb", {"loadBalancerType": "network", "subnets": ["a"]}),
        cost(estimator.NAT_GATEWAY, "nat1", {}), cost(estimator.NAT_GATEWAY, "nat2", {}),
        cost(estimator.EIP, "eip", {}),
        cost(estimator.SECRET, "s1", {}), cost(estimator.SECRET, "s2", {}),
        cost(estimator.LOG_GROUP, "logs", {"retentionInDays": 14}), cost(estimator.LOG_GROUP, "other", {}),
        cost(estimator.REPOSITORY, "repo", {}),
        cost(estimator.VPC_ENDPOINT, "ecr", {"vpcEndpointType": "Interface", "subnetIds": ["a", "b"]}),
        cost(estimator.VPC_ENDPOINT, "logs-ep", {"vpcEndpointType": "Interface"}),
        cost(estimator.VPC_ENDPOINT, "s3", {"vpcEndpointType": "Gateway"}),
        cost(estimator.METRIC_ALARM, "a1", {}),
        cost(estimator.METRIC_ALARM, "a2", {"metricQueries": [
            {"metric": {"metricName": "m"}}, {"metric": {"metricName": "n"}}, {"expression": "x"}]}),
        cost(estimator.DASHBOARD, "d", {}),
    ]
    result = estimator.estimate(resources, "us-east-1",
                                estimator.Assumptions(log_gb_per_month=10, nat_gb_per_month=100, alb_lcu=2,
                                                      endpoint_gb_per_month=50))
    by_hand = {
        "Fargate vCPU (arm64, Spot, 3 task(s))": (1095.0, 0.00995),   # 3 tasks x 0.5 vCPU x 730 h
        "Fargate memory (arm64, Spot, 3 task(s))": (2190.0, 0.00109),  # 3 x 1 GB x 730 h
        "ALB (2)": (1460, 0.0225),                                     # 2 ALBs x 730 h (the NLB is not an ALB)
        "ALB capacity units (assumed 2 LCU)": (2920.0, 0.008),         # 2 ALBs x 2 LCU x 730 h
        "NAT gateway (2)": (1460, 0.045),
        "NAT data processed (assumed 100 GB)": (100.0, 0.045),
        "Public IPv4 (1 EIP, 2 ALB, 3 task)": (4380.0, 0.005),         # (1 + 2 internet-facing ALB AZs + 3) x 730
        "Secrets Manager secrets (2)": (2, 0.40),
        "Secrets Manager API calls (assumed 10000)": (1.0, 0.05),
        "CloudWatch Logs ingestion (assumed 10 GB)": (10.0, 0.50),
        "CloudWatch Logs storage (365-day retention)": (10 * 365 / 30, 0.03),  # a never-expiring group: a year
        "ECR storage (assumed 3 GB per repository)": (3.0, 0.10),
        "VPC interface endpoints (2, 3 AZ-attachments)": (2190, 0.01),  # 2 + 1 (no subnets listed: one AZ) x 730
        "VPC interface endpoint data": (50, 0.01),
        "CloudWatch alarms (2, 3 metrics)": (3, 0.10),
        "CloudWatch dashboards (1)": (1, 3.00),
    }
    assert {item.item: (pytest.approx(item.quantity), item.unit_price) for item in result.lines} == by_hand
    assert [item.unit for item in result.lines] == [
        "vCPU-hour", "GB-hour", "hour", "LCU-hour", "hour", "GB", "IP-hour", "secret-month", "10k calls", "GB",
        "GB-month", "GB-month", "endpoint-AZ-hour", "GB", "alarm-metric-month", "dashboard-month"]
    assert result.total == pytest.approx(
        10.89525 + 2.3871 + 32.85 + 23.36 + 65.7 + 4.5 + 21.9 + 0.8 + 0.05 + 5.0 + 3.65 + 0.3 + 21.9 + 0.5 + 0.3 + 3.0)
    assert result.unknown == [] and result.approximate is None and result.region == "us-east-1"


def test_log_storage_follows_the_longest_retention_and_spot_x86():
    td = cost(estimator.TASK_DEFINITION, "td", {"cpu": "1024", "memory": "2048"})
    resources = [td, cost(estimator.SERVICE, "svc", {"desiredCount": 1, "capacityProviderStrategies": [
        {"capacityProvider": "FARGATE_SPOT"}]}, {"taskDefinition": [td.urn]}),
        cost(estimator.LOG_GROUP, "a", {"retentionInDays": 7}), cost(estimator.LOG_GROUP, "b", {"retentionInDays": 30})]
    result = estimator.estimate(resources, "us-east-1")
    assert line(result, "CloudWatch Logs storage").item == "CloudWatch Logs storage (30-day retention)"
    assert line(result, "CloudWatch Logs storage").quantity == pytest.approx(5.0)  # 5 GB x 30/30
    assert line(result, "Fargate vCPU").unit_price == 0.01244  # x86 Spot
    unknown = estimator.estimate([cost(estimator.SERVICE, "svc", {"desiredCount": 1})], "us-east-1")
    assert unknown.unknown == ["Fargate for svc: task size or desired count not known until deployment"]


def test_estimate_document_and_table_exactly():
    td = cost(estimator.TASK_DEFINITION, "td", {"cpu": "1024", "memory": "2048"})
    result = estimator.estimate([td, cost(estimator.SERVICE, "svc", {"desiredCount": 1}, {"taskDefinition": [td.urn]}),
                                 cost(estimator.DASHBOARD, "d", {})], "us-east-1")
    assert result.to_dict() == {
        "region": "us-east-1", "pricesRetrieved": "2026-11-24", "unknown": [], "approximate": None,
        "totalMonthlyUsd": 39.04,  # 730 x $0.04048 + 1,460 x $0.004445 + $3
        "lines": [
            {"item": "Fargate vCPU (x86_64, on-demand, 1 task(s))", "quantity": 730.0, "unit": "vCPU-hour",
             "unit_price": 0.04048, "monthly": 29.5504},
            {"item": "Fargate memory (x86_64, on-demand, 1 task(s))", "quantity": 1460.0, "unit": "GB-hour",
             "unit_price": 0.004445, "monthly": 6.4897},
            {"item": "CloudWatch dashboards (1)", "quantity": 1, "unit": "dashboard-month", "unit_price": 3.0,
             "monthly": 3.0},
        ],
    }
    table = estimator.format_estimate(result).splitlines()
    assert table[0] == "Monthly cost estimate (us-east-1, list prices of 2026-11-24)"
    assert table[1] == ("  Fargate vCPU (x86_64, on-demand, 1 task(s))        730.00 vCPU-hour          x $0.04048   "
                        "= $   29.55")
    assert table[2] == ("  Fargate memory (x86_64, on-demand, 1 task(s))     1460.00 GB-hour            x $0.004445  "
                        "= $    6.49")
    assert table[3] == ("  CloudWatch dashboards (1)                            1.00 dashboard-month    x $3         "
                        "= $    3.00")
    assert table[4] == "  Total" + " " * 85 + "= $   39.04 / month"
    empty = estimator.format_estimate(estimator.Estimate("r", "d", [], ["x"]))
    assert empty.splitlines() == ["Monthly cost estimate (r, list prices of d)",
                                  "  Total" + " " * 50 + "= $    0.00 / month",
                                  "  not priced: x"]


def test_services_are_matched_to_their_clusters():
    def cluster(logical, **props):
        return cost("aws:ecs/cluster:Cluster", logical, {"settings": [{"name": "containerInsights",
                                                                       "value": "enabled"}], **props})

    a, b = cluster("a", arn="arn:a", name="ca"), cluster("b", arn="arn:b", name="cb")
    td = cost(estimator.TASK_DEFINITION, "td", {"family": "web", "cpu": "256", "memory": "512"})
    by_arn = cost(estimator.SERVICE, "s1", {"desiredCount": 1, "cluster": "arn:b"}, {"taskDefinition": [td.urn]})
    by_name = cost(estimator.SERVICE, "s2", {"desiredCount": 1, "cluster": "cb"}, {"taskDefinition": [td.urn]})
    by_dependency = cost(estimator.SERVICE, "s3", {"desiredCount": 1}, {"taskDefinition": [td.urn],
                                                                        "cluster": [b.urn]})
    metrics = line(estimator.estimate([a, b, td, by_arn, by_name, by_dependency], "us-east-1"),
                   "Container Insights metrics")
    # a: 12; b: 12 + 3 services x 15 + one shared task family x 10 = 67
    assert metrics.quantity == 12 + 67
    assert estimator._cluster_of(by_arn, [a, b]) is b and estimator._cluster_of(by_name, [a, b]) is b
    assert estimator._cluster_of(cost(estimator.SERVICE, "x", {"cluster": "arn:c"}), [a, b]) is None
    assert estimator._insights_mode(cost("c", "c", {"settings": [{"name": "other", "value": "x"}]})) == "disabled"
    assert estimator._insights_mode(cost("c", "c", {"settings": [{"name": "containerInsights"}]})) == "disabled"
    assert estimator._containers(cost("t", "t", {"containerDefinitions": "not json"})) == []
    assert estimator._containers(cost("t", "t", {"containerDefinitions": '{"a": 1}'})) == []
    assert estimator._containers(cost("t", "t", {"containerDefinitions": [{"name": "a"}]})) == [{"name": "a"}]
