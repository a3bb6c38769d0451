"""Every policy with a passing and a failing input, called directly."""

from __future__ import annotations

import json
import os

import pytest

from tests.policies.harness import resource_violations, stack_resource, stack_violations

from costing.policy import budget_policy  # isort: skip
from guardrails import cloudwatch, docker, ec2, ecr, ecs, elb, iam, scaling, secretsmanager, tags  # isort: skip
from guardrails import project as project_module  # isort: skip

TD = "aws:ecs/taskDefinition:TaskDefinition"
SVC = "aws:ecs/service:Service"
DIGEST = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/app@sha256:" + "a" * 64


def task_definition(command=None, entry_point=None, environment=None, image=DIGEST, name="app", **props):
    container = {"name": "app", "image": image, "environment": environment or [], "secrets": []}
    if command is not None:
        container["command"] = command
    if entry_point is not None:
        container["entryPoint"] = entry_point
    return stack_resource(TD, name, {"containerDefinitions": json.dumps([container]), "cpu": "512", "memory": "1024",
                                     "requiresCompatibilities": ["FARGATE"], **props})


def service_running(task, name="svc", **props):
    return stack_resource(SVC, name, {"loadBalancers": [{"containerPort": 3000}], **props},
                          {"taskDefinition": [task]})


# ----------------------------------------------------------------------------- ECS


@pytest.mark.parametrize("command", [
    ["node", "dist/src/main"], ["sh", "-c", "exec node dist/src/main"], ["npm", "run", "start:prod"], None,
])
def test_no_migrations_passes_plain_starts(command):
    task = task_definition(command=command)
    assert stack_violations(ecs.no_migrations_at_start, [task, service_running(task)]) == []


@pytest.mark.parametrize(("field", "argv"), [
    ("command", ["npx", "prisma", "migrate", "deploy"]),
    ("command", ["sh", "-c", "npx prisma migrate deploy && node dist/src/main"]),
    ("command", ["/bin/bash", "-lc", "cd /app; npm run migrate:prod; node main.js"]),
    ("command", ["sh", "-c", "yarn db:push || true"]),
    ("command", ["pnpm", "run", "db:migrate"]),
    ("command", ["npx prisma db push --accept-data-loss && node dist/src/main"]),
    ("entryPoint", ["npx", "knex", "migrate:latest"]),
    ("entryPoint", ["npx", "sequelize-cli", "db:migrate"]),
    ("command", ["npx", "typeorm", "migration:run"]),
    ("command", ["alembic", "upgrade", "head"]),
    ("command", ["sh", "-c", "python manage.py migrate && gunicorn app.wsgi"]),
    ("command", ["bundle", "exec", "rake", "db:migrate"]),
    ("command", ["flyway", "-url=jdbc:postgresql://db/app", "migrate"]),
    ("command", ["liquibase", "--changelog-file=db.xml", "update"]),
    ("command", ["migrate", "-path", "/migrations", "-database", "postgres://db", "up"]),
    ("command", ["DATABASE_URL=x", "exec", "node_modules/.bin/prisma", "migrate", "deploy"]),
])
def test_no_migrations_catches_every_disguise(field, argv):
    task = task_definition(**{"command" if field == "command" else "entry_point": argv})
    (message,) = stack_violations(ecs.no_migrations_at_start, [task, service_running(task)])
    assert f"{field} runs database migrations" in message


def test_dedicated_migration_task_run_by_no_service_is_allowed():
    app = task_definition(command=["node", "dist/src/main"])
    migrate = task_definition(command=["npx", "prisma", "migrate", "deploy"], name="migrate")
    assert stack_violations(ecs.no_migrations_at_start, [app, migrate, service_running(app)]) == []
    assert len(stack_violations(ecs.no_migrations_at_start, [app, migrate, service_running(migrate)])) == 1


def test_service_found_by_arn_when_dependencies_are_missing():
    task = task_definition(command=["npx", "prisma", "migrate", "deploy"], arn="arn:td:1")
    service = stack_resource(SVC, "svc", {"taskDefinition": "arn:td:1", "loadBalancers": []})
    assert len(stack_violations(ecs.no_migrations_at_start, [task, service])) == 1


@pytest.mark.parametrize(("name", "value", "why"), [
    ("DATABASE_URL", "postgresql://app@db/app", "name marks a credential"),
    ("JWT_SECRET", "x", "name marks a credential"),
    ("ADMIN_PASSWORD", "x", "name marks a credential"),
    ("GITHUB_TOKEN", "x", "name marks a credential"),
    ("UPSTREAM", "https://user:hunter2@api.example.com", "connection string with a password"),
    ("SIGNING", "-----BEGIN RSA PRIVATE KEY-----\nabc", "a private key"),
    ("FIREBASE", '{"type": "service_account", "private_key": "x"}', "service-account JSON"),
    ("SESSION", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl", "a JWT"),
])
def test_plaintext_secrets_in_environment_are_caught(name, value, why):
    task = task_definition(environment=[{"name": name, "value": value}])
    (message,) = resource_violations(ecs.no_plaintext_secrets, TD, task.props)
    assert name in message and why in message and "Move it to `secrets`" in message


def test_plain_environment_passes():
    task = task_definition(environment=[{"name": "NODE_ENV", "value": "production"}, {"name": "PORT", "value": "3000"}])
    assert resource_violations(ecs.no_plaintext_secrets, TD, task.props) == []


@pytest.mark.parametrize(("cpu", "memory", "ok"), [
    ("512", "1024", True), ("256", "512", True), ("4096", "30720", True),
    ("512", "512", False), ("300", "1024", False), ("1024", "1024", False),
])
def test_fargate_task_sizes(cpu, memory, ok):
    found = resource_violations(ecs.fargate_task_size, TD, {"requiresCompatibilities": ["FARGATE"], "cpu": cpu,
                                                            "memory": memory})
    assert (found == []) is ok, found


@pytest.mark.parametrize(("image", "ok"), [
    (DIGEST, True),
    ("123456789012.dkr.ecr.eu-central-1.amazonaws.com/app:latest", False),
    ("123456789012.dkr.ecr.eu-central-1.amazonaws.com/app:v1.2.3", False),
    ("nginx", False),
])
def test_service_images_pinned_by_digest(image, ok):
    task = task_definition(image=image)
    assert (stack_violations(ecs.images_pinned_by_digest, [task, service_running(task)]) == []) is ok


def good_service(**overrides):
    props = {"loadBalancers": [{"containerPort": 3000}], "deploymentMinimumHealthyPercent": 100,
             "deploymentMaximumPercent": 200, "healthCheckGracePeriodSeconds": 120,
             "deploymentCircuitBreaker": {"enable": True, "rollback": True}}
    props.update(overrides)
    return props


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"deploymentMinimumHealthyPercent": 50}, "deploymentMinimumHealthyPercent is 50"),
    ({"deploymentMaximumPercent": 150}, "deploymentMaximumPercent is 150"),
    ({"healthCheckGracePeriodSeconds": 30}, "healthCheckGracePeriodSeconds is 30"),
    ({"healthCheckGracePeriodSeconds": None}, "healthCheckGracePeriodSeconds is 0"),
    ({"deploymentCircuitBreaker": {"enable": True, "rollback": False}}, "deploymentCircuitBreaker"),
])
def test_rolling_parameters(overrides, expected):
    assert resource_violations(ecs.zero_downtime_rolling, SVC, good_service()) == []
    (message,) = resource_violations(ecs.zero_downtime_rolling, SVC, good_service(**overrides))
    assert expected in message


def test_rolling_thresholds_are_configurable_and_skip_services_without_load_balancer():
    assert resource_violations(ecs.zero_downtime_rolling, SVC, good_service(), {"healthCheckGracePeriodSeconds": 180.0})
    assert resource_violations(ecs.zero_downtime_rolling, SVC, {"deploymentMinimumHealthyPercent": 0}) == []


# ----------------------------------------------------------------------------- Docker


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A Pulumi project of its own for each test: the Docker policy reads only inside the project."""
    (tmp_path / "Pulumi.yaml").write_text("name: demo\nruntime: python\n")
    monkeypatch.setenv("PULUMI_PROJECT_DIR", str(tmp_path))
    monkeypatch.setenv("PULUMI_PROJECT", "demo")
    return tmp_path


def image_props(project, dockerfile: str, files: dict[str, str] | None = None, **build):
    context = project / "ctx"
    context.mkdir(exist_ok=True)
    for name, text in (files or {}).items():
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        (context / name).write_text(text)
    (project / "Dockerfile").write_text(dockerfile)
    return {"build": {"context": "ctx", "dockerfile": "Dockerfile", **build}}


def test_dockerfile_starting_the_app_passes(project):
    props = image_props(project, 'FROM node:22-slim\nCMD ["node", "dist/src/main"]\n')
    assert resource_violations(docker.no_migrations_in_dockerfile, docker.IMAGE, props) == []


@pytest.mark.parametrize(("dockerfile", "files"), [
    ('FROM node:22-slim\nCMD npx prisma migrate deploy && node dist/src/main\n', {}),
    ('FROM node:22-slim\nENTRYPOINT ["sh", "-c", "npm run migrate:deploy && exec node dist/src/main"]\n', {}),
    ('FROM node:22-slim\nWORKDIR /app\nCOPY package.json ./\nCMD ["npm", "start"]\n',
     {"package.json": json.dumps({"scripts": {"start": "prisma migrate deploy && node dist/src/main"}})}),
    ('FROM node:22-slim\nWORKDIR /app\nCOPY docker-entrypoint.sh ./\nENTRYPOINT ["./docker-entrypoint.sh"]\n'
     'CMD ["node", "dist/src/main"]\n',
     {"docker-entrypoint.sh": "#!/bin/sh\nset -e\nnpx prisma migrate deploy\nexec \"$@\"\n"}),
    ('FROM node:22 AS build\nRUN npm ci\nFROM node:22-slim\nCMD ["sh", "-c", "npx prisma db push; node main"]\n', {}),
])
def test_dockerfile_migrations_are_caught(project, dockerfile, files):
    props = image_props(project, dockerfile, files)
    (message,) = resource_violations(docker.no_migrations_in_dockerfile, docker.IMAGE, props)
    assert "runs database migrations at container start" in message


def test_unreadable_dockerfile_is_reported_not_passed(project):
    props = {"build": {"context": ".", "dockerfile": "missing.Dockerfile"}}
    (message,) = resource_violations(docker.no_migrations_in_dockerfile, docker.IMAGE, props)
    assert "Cannot check the image's start command" in message and "does not exist" in message


def test_relative_paths_resolve_against_the_pulumi_project(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "policies").mkdir(parents=True)
    (project / "app").mkdir()
    (project / "Pulumi.yaml").write_text("name: demo\nruntime: python\n")
    (project / "Dockerfile").write_text('FROM node:22-slim\nCMD ["sh", "-c", "npx prisma migrate deploy"]\n')
    monkeypatch.setenv("PULUMI_PROJECT", "demo")
    monkeypatch.delenv("PULUMI_PROJECT_DIR", raising=False)
    monkeypatch.setenv("PWD", str(tmp_path))
    monkeypatch.setattr(project_module, "PACK_DIR", project / "policies")
    assert project_module.find_project().root == project.resolve()
    (message,) = resource_violations(docker.no_migrations_in_dockerfile, docker.IMAGE,
                                     {"build": {"context": "app", "dockerfile": "Dockerfile"}})
    assert "Prisma" in message
    monkeypatch.setenv("PULUMI_PROJECT", "another-project")  # a Pulumi.yaml of another project is not ours
    (message,) = resource_violations(docker.no_migrations_in_dockerfile, docker.IMAGE,
                                     {"build": {"context": "app", "dockerfile": "Dockerfile"}})
    assert "not beside the policy pack" in message


FIX = "Start only the application (CMD [\"node\", \"dist/src/main\"]) and run migrations as a one-off task."


def dockerfile_findings(props) -> list[str]:
    return resource_violations(docker.no_migrations_in_dockerfile, docker.IMAGE, props)


def test_dockerfile_findings_name_the_file_the_instruction_and_the_target(project):
    (project / "ctx").mkdir()
    (project / "ctx" / "docker-entrypoint.sh").write_text("#!/bin/sh\nnpx prisma migrate deploy\nexec \"$@\"\n")
    (project / "api.Dockerfile").write_text(
        'FROM node:22-slim\nWORKDIR /app\nCOPY docker-entrypoint.sh ./\nENTRYPOINT ["./docker-entrypoint.sh"]\n'
        'CMD ["npx", "prisma", "db", "push"]\nFROM node:22-slim AS app\nCMD ["npx", "knex", "migrate:latest"]\n')
    build = {"context": "ctx", "dockerfile": "api.Dockerfile"}
    assert dockerfile_findings({"build": {**build, "target": "0"}}) == [
        "api.Dockerfile ENTRYPOINT (target stage 0) runs database migrations at container start: "
        "`./docker-entrypoint.sh` (script ./docker-entrypoint.sh) -> `npx prisma migrate deploy` -> "
        f"`prisma migrate deploy` runs Prisma migrations. {FIX}",
        "api.Dockerfile CMD (target stage 0) runs database migrations at container start: `npx prisma db push` -> "
        f"`prisma db push` runs Prisma migrations. {FIX}"]
    assert dockerfile_findings({"build": build}) == [
        "api.Dockerfile CMD (target app) runs database migrations at container start: `npx knex migrate:latest` -> "
        f"`knex migrate:latest` runs Knex migrations. {FIX}"]


def test_build_args_and_the_default_context_reach_the_dockerfile(project):
    (project / "Dockerfile").write_text(
        'ARG BASE=node:22-slim\nFROM node:22 AS migrator\nCMD ["npx", "prisma", "migrate", "deploy"]\n'
        'FROM ${BASE} AS app\n')
    assert dockerfile_findings({"build": {}}) == []  # context "." is the project, its Dockerfile the default
    (message,) = dockerfile_findings({"build": {"args": {"BASE": "migrator"}}})
    assert message.startswith("Dockerfile CMD (target app) runs database migrations at container start")


@pytest.mark.parametrize(("build", "message"), [
    ({"context": "../elsewhere"}, "the build context '../elsewhere' resolves to {outside}, outside the project "
                                  "{project}"),
    ({"dockerfile": "../elsewhere/Dockerfile"}, "the Dockerfile '../elsewhere/Dockerfile' resolves to "
                                                "{outside}/Dockerfile, outside the project {project}"),
    ({"context": "linked"}, "the Dockerfile 'Dockerfile' resolves to {outside}/Dockerfile, outside the project "
                            "{project}"),
    ({"dockerfile": "folder"}, "the Dockerfile {project}/folder is a directory, not a file"),
    ({"dockerfile": "empty"}, "the Dockerfile {project}/empty cannot be used: it has no FROM instruction"),
    ({"dockerfile": "x" * 300}, "the Dockerfile {project}/" + "x" * 300 + " cannot be read (File name too long)"),
])
def test_a_dockerfile_the_policy_cannot_read_is_reported_with_its_cause(project, build, message):
    outside = project.parent / "elsewhere"
    outside.mkdir(exist_ok=True)
    (outside / "Dockerfile").write_text('FROM node\nCMD ["node", "main"]\n')
    (project / "linked").mkdir()
    (project / "linked" / "Dockerfile").symlink_to(outside / "Dockerfile")  # a symlink out of the project
    (project / "folder").mkdir()
    (project / "empty").write_text("# no stage\n")
    (finding,) = dockerfile_findings({"build": build})
    assert finding.startswith("Cannot check the image's start command: "
                              + message.format(outside=outside, project=project)), finding


def test_files_the_image_reads_are_read_up_to_the_size_limit_whatever_their_bytes(project):
    entrypoint = "#!/bin/sh\n# \xe9t\xe9 (latin-1)\nnpx prisma migrate deploy\n".encode("latin-1")
    props = image_props(project, 'FROM node:22-slim\nCOPY entrypoint.sh /\nENTRYPOINT ["/entrypoint.sh"]\n',
                        {"entrypoint.sh": ""})
    script = project / "ctx" / "entrypoint.sh"
    script.write_bytes(entrypoint + b"#" * (docker.MAX_FILE_BYTES - len(entrypoint)))  # exactly the limit
    (message,) = dockerfile_findings(props)
    assert "`/entrypoint.sh` (script /entrypoint.sh) -> `npx prisma migrate deploy`" in message
    script.write_bytes(entrypoint + b"#" * (docker.MAX_FILE_BYTES + 1 - len(entrypoint)))  # larger: not read
    assert dockerfile_findings(props) == []


def test_read_errors_name_what_was_read_and_why(tmp_path):
    with pytest.raises(docker.ProjectFileError, match=r"^the script .*/missing.sh does not exist$"):
        docker._read(tmp_path / "missing.sh", "script")
    with pytest.raises(docker.ProjectFileError, match=r"^the script .* is a directory, not a file$"):
        docker._read(tmp_path / "", "script")
    with pytest.raises(docker.ProjectFileError, match=r"^the script .*x cannot be read \(File name too long\)$"):
        docker._read(tmp_path / ("x" * 300), "script")


def test_the_parse_cache_tells_dockerfiles_apart_by_path(tmp_path):
    first, second = tmp_path / "a.Dockerfile", tmp_path / "b.Dockerfile"
    first.write_text("FROM aa\n")
    second.write_text("FROM bb\n")
    for path in (first, second):  # same size, same modification time
        os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    assert [docker.parse_dockerfile(p, {}).stages[0].base for p in (first, second)] == ["aa", "bb"]


def test_an_ecs_container_reads_its_scripts_in_its_working_directory(project):
    """The task definition's workingDirectory, not the image's WORKDIR, is where `npm run` finds package.json."""
    (project / "app" / "tools").mkdir(parents=True)
    (project / "app" / "package.json").write_text(json.dumps({"scripts": {"setup": "node setup"}}))
    (project / "app" / "tools" / "package.json").write_text(json.dumps({"scripts": {"setup": "prisma db push"}}))
    (project / "Dockerfile").write_text("FROM node:22-slim\nWORKDIR /srv\nCOPY . .\n")
    image = stack_resource(docker.IMAGE, "img", {"build": {"context": "app", "dockerfile": "Dockerfile"},
                                                 "repoDigest": DIGEST})
    container = {"name": "app", "image": DIGEST, "command": ["npm", "run", "setup"], "workingDirectory": "/srv/tools"}
    task = stack_resource(TD, "app", {"containerDefinitions": json.dumps([container]), "cpu": "512", "memory": "1024"},
                          {"containerDefinitions": [image]})
    (message,) = stack_violations(ecs.no_migrations_at_start, [image, task, service_running(task)])
    assert "command runs database migrations at container start: `npm run setup` -> script 'setup' (`prisma db " \
           "push`)" in message
    container.pop("workingDirectory")
    task.props["containerDefinitions"] = json.dumps([container])
    assert stack_violations(ecs.no_migrations_at_start, [image, task, service_running(task)]) == []


# ----------------------------------------------------------------------------- Secrets Manager


@pytest.mark.parametrize(("value", "ok"), [("postgresql://u:p@h/db", True), ("", False), ("   ", False), (None, False)])
def test_secret_version_value(value, ok):
    props = {"secretString": value}
    found = resource_violations(secretsmanager.version_not_empty, secretsmanager.SECRET_VERSION, props)
    assert (found == []) is ok


def secrets_stack(with_version: bool, tags_: dict | None = None, extra_arn: str | None = None):
    secret = stack_resource(secretsmanager.SECRET, "db", {"name": "p/s/database-url", "arn": "arn:secret:db",
                                                          "tags": tags_ or {}})
    arns = ["arn:secret:db"] + ([extra_arn] if extra_arn else [])
    container = {"name": "app", "image": DIGEST, "secrets": [{"name": f"S{i}", "valueFrom": a}
                                                            for i, a in enumerate(arns)]}
    task = stack_resource(TD, "app", {"containerDefinitions": json.dumps([container])},
                          {"containerDefinitions": [secret]})
    resources = [secret, task]
    if with_version:
        resources.append(stack_resource(secretsmanager.SECRET_VERSION, "db", {"secretId": "arn:secret:db"},
                                        {"secretId": [secret]}))
    return resources


def test_referenced_secrets_have_values():
    assert stack_violations(secretsmanager.referenced_secrets_have_values, secrets_stack(True)) == []
    (message,) = stack_violations(secretsmanager.referenced_secrets_have_values, secrets_stack(False))
    assert "has no value in this stack" in message
    external = secrets_stack(False, {"secret-source": "external"})
    assert stack_violations(secretsmanager.referenced_secrets_have_values, external) == []


def test_unmanaged_secret_arns_must_be_declared():
    resources = secrets_stack(True, extra_arn="arn:aws:secretsmanager:eu-central-1:1:secret:shared/api-key")
    (message,) = stack_violations(secretsmanager.referenced_secrets_have_values, resources)
    assert "does not manage" in message
    assert stack_violations(secretsmanager.referenced_secrets_have_values, resources,
                            {"externalSecretPatterns": [":secret:shared/"]}) == []


@pytest.mark.parametrize(("days", "mandatory_ok", "advisory_ok"), [
    (30, True, True), (None, True, True), (7, True, False), (3, False, False), (0, False, False),
])
def test_recovery_windows(days, mandatory_ok, advisory_ok):
    props = {"recoveryWindowInDays": days}
    assert (resource_violations(secretsmanager.recovery_window_minimum, secretsmanager.SECRET, props) == []) \
        is mandatory_ok
    assert (resource_violations(secretsmanager.recovery_window_recommended, secretsmanager.SECRET, props) == []) \
        is advisory_ok


# ----------------------------------------------------------------------------- CloudWatch


@pytest.mark.parametrize(("days", "config", "ok"), [
    (7, None, True), (14, None, False), (None, None, False), (0, None, False), (14, {"retentionDays": 14.0}, True),
])
def test_log_retention(days, config, ok):
    found = resource_violations(cloudwatch.log_retention, cloudwatch.LOG_GROUP, {"retentionInDays": days}, config)
    assert (found == []) is ok, found


@pytest.mark.parametrize(("actions", "ok"), [
    (["arn:aws:sns:eu-central-1:1:alarms"], True), ([], False), (["arn:aws:automate:eu-central-1:ec2:stop"], False),
])
def test_alarm_actions(actions, ok):
    found = resource_violations(cloudwatch.alarm_actions_to_topic, cloudwatch.METRIC_ALARM, {"alarmActions": actions})
    assert (found == []) is ok


# ----------------------------------------------------------------------------- ELB


@pytest.mark.parametrize(("health_check", "expected"), [
    ({"enabled": True, "path": "/api/health", "matcher": "200"}, None),
    (None, "relies on default health checks"),
    ({"enabled": False, "path": "/api/health", "matcher": "200"}, "disabled"),
    ({"enabled": True, "matcher": "200"}, "no path"),
    ({"enabled": True, "path": "/api/health"}, "no matcher"),
])
def test_target_group_health_check(health_check, expected):
    found = resource_violations(elb.target_group_health_check, elb.TARGET_GROUP,
                                {"protocol": "HTTP", "healthCheck": health_check})
    assert found == [] if expected is None else any(expected in m for m in found)


def test_alb_hardening(monkeypatch):
    good = {"loadBalancerType": "application", "dropInvalidHeaderFields": True, "enableDeletionProtection": True}
    monkeypatch.setenv("PULUMI_STACK", "prod")
    assert resource_violations(elb.alb_hardening, elb.LOAD_BALANCER, good) == []
    assert resource_violations(elb.alb_hardening, elb.LOAD_BALANCER, {**good, "dropInvalidHeaderFields": False})
    assert resource_violations(elb.alb_hardening, elb.LOAD_BALANCER, {**good, "enableDeletionProtection": False})
    monkeypatch.setenv("PULUMI_STACK", "staging")
    assert resource_violations(elb.alb_hardening, elb.LOAD_BALANCER, {**good, "enableDeletionProtection": False}) == []


def test_https_listener_requires_http_redirect():
    lb = stack_resource(elb.LOAD_BALANCER, "alb", {})
    https = stack_resource(elb.LISTENER, "https", {"protocol": "HTTPS", "port": 443}, {"loadBalancerArn": [lb]})
    redirect = [{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443"}}]
    http_ok = stack_resource(elb.LISTENER, "http", {"protocol": "HTTP", "defaultActions": redirect},
                             {"loadBalancerArn": [lb]})
    http_bad = stack_resource(elb.LISTENER, "http", {"protocol": "HTTP", "defaultActions": [{"type": "forward"}]},
                              {"loadBalancerArn": [lb]})
    assert stack_violations(elb.https_when_certificate, [lb, https, http_ok]) == []
    assert stack_violations(elb.https_when_certificate, [lb, https, http_bad])
    certificate = stack_resource(elb.CERTIFICATE, "cert", {})
    assert stack_violations(elb.https_when_certificate, [lb, certificate, http_bad])


# ----------------------------------------------------------------------------- ECR


def test_ecr_repository_policies():
    good = {"imageScanningConfiguration": {"scanOnPush": True}, "imageTagMutability": "IMMUTABLE", "name": "app"}
    assert resource_violations(ecr.scan_on_push, ecr.REPOSITORY, good) == []
    assert resource_violations(ecr.scan_on_push, ecr.REPOSITORY, {**good, "imageScanningConfiguration": {}})
    assert resource_violations(ecr.immutable_tags, ecr.REPOSITORY, good) == []
    assert resource_violations(ecr.immutable_tags, ecr.REPOSITORY, {**good, "imageTagMutability": "MUTABLE"})
    repository = stack_resource(ecr.REPOSITORY, "repo", good)
    lifecycle = stack_resource(ecr.LIFECYCLE_POLICY, "keep", {"repository": "app"}, {"repository": [repository]})
    assert stack_violations(ecr.lifecycle_policy, [repository, lifecycle]) == []
    assert stack_violations(ecr.lifecycle_policy, [repository])


# ----------------------------------------------------------------------------- network


def network(rule_props: dict, rule_group: str = "alb", source: str | None = None, inline: list | None = None):
    alb_sg = stack_resource(ec2.SECURITY_GROUP, "alb", {})
    task_sg = stack_resource(ec2.SECURITY_GROUP, "tasks", {"ingress": inline or []})
    groups = {"alb": alb_sg, "tasks": task_sg}
    deps = {"securityGroupId": [groups[rule_group]]}
    if source:
        deps["referencedSecurityGroupId"] = [groups[source]]
    rule = stack_resource(ec2.INGRESS_RULE, "rule", rule_props, deps)
    lb = stack_resource(ec2.LOAD_BALANCER, "lb", {}, {"securityGroups": [alb_sg]})
    service = stack_resource(SVC, "svc", {}, {"networkConfiguration": [task_sg]})
    return [alb_sg, task_sg, rule, lb, service]


@pytest.mark.parametrize(("props", "group", "source", "ok_public", "ok_tasks"), [
    ({"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"}, "alb", None, True, True),
    ({"ipProtocol": "tcp", "fromPort": 80, "toPort": 80, "cidrIpv6": "::/0"}, "alb", None, True, True),
    ({"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "cidrIpv4": "0.0.0.0/0"}, "alb", None, False, True),
    ({"ipProtocol": "-1", "cidrIpv4": "0.0.0.0/0"}, "alb", None, False, True),
    ({"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"}, "tasks", None, False, False),
    ({"ipProtocol": "tcp", "fromPort": 3000, "toPort": 3000}, "tasks", "alb", True, True),
    ({"ipProtocol": "tcp", "fromPort": 3000, "toPort": 3000, "cidrIpv4": "10.0.0.0/16"}, "tasks", None, True, False),
    ({"ipProtocol": "tcp", "fromPort": 3000, "toPort": 3000}, "tasks", "tasks", True, False),
])
def test_network_exposure(props, group, source, ok_public, ok_tasks):
    resources = network(props, group, source)
    assert (stack_violations(ec2.public_ingress, resources) == []) is ok_public
    assert (stack_violations(ec2.task_ingress_from_load_balancer, resources) == []) is ok_tasks


def test_inline_ingress_blocks_are_checked():
    inline = [{"protocol": "tcp", "fromPort": 5432, "toPort": 5432, "cidrBlocks": ["0.0.0.0/0"]}]
    resources = network({"ipProtocol": "tcp", "fromPort": 3000, "toPort": 3000}, "tasks", "alb", inline)
    assert stack_violations(ec2.public_ingress, resources)
    assert stack_violations(ec2.task_ingress_from_load_balancer, resources)


# ----------------------------------------------------------------------------- IAM


def iam_policy(*statements):
    return {"policy": json.dumps({"Version": "2012-10-17", "Statement": list(statements)})}


@pytest.mark.parametrize(("statement", "expected"), [
    ({"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}, None),
    ({"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": ["arn:secret:a"]}, None),
    ({"Effect": "Allow", "Action": "*", "Resource": "arn:x"}, "allows the wildcard action '*'"),
    ({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:x"}, "allows the wildcard action 's3:*'"),
    ({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}, "on Resource '*'"),
    ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:x"}, "NotAction"),
    ({"Effect": "Deny", "Action": "*", "Resource": "*"}, None),
])
def test_iam_least_privilege(statement, expected):
    found = resource_violations(iam.least_privilege, iam.ROLE_POLICY, iam_policy(statement))
    assert found == [] if expected is None else any(expected in m for m in found), found


def test_iam_inline_role_policies_and_admin_attachments():
    role = {"inlinePolicies": [{"name": "x", **iam_policy({"Effect": "Allow", "Action": "*", "Resource": "*"})}]}
    assert resource_violations(iam.least_privilege, iam.ROLE, role)
    attachment = {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}
    assert resource_violations(iam.least_privilege, iam.ATTACHMENT, attachment)


# ----------------------------------------------------------------------------- scaling, tags, budget


def test_autoscaling_and_error_alarm_policies():
    service = stack_resource(SVC, "svc", {"name": "svc", "loadBalancers": [{}],
                                          "alarms": {"alarmNames": ["svc-5xx"], "enable": True, "rollback": True}})
    target = stack_resource(scaling.SCALABLE_TARGET, "t", {"resourceId": "service/c/svc"}, {"resourceId": [service]})
    policy = stack_resource(scaling.SCALING_POLICY, "p", {}, {"resourceId": [target]})
    alarm = stack_resource(scaling.METRIC_ALARM, "a", {"name": "svc-5xx", "metricQueries": [
        {"id": "e", "metric": {"metricName": "HTTPCode_Target_5XX_Count"}}]})
    assert stack_violations(scaling.service_autoscaling, [service, target, policy]) == []
    assert stack_violations(scaling.service_autoscaling, [service, target])  # no policy
    assert stack_violations(scaling.service_autoscaling, [service])  # no target
    assert stack_violations(scaling.service_error_alarms, [service, alarm]) == []
    assert stack_violations(scaling.service_error_alarms, [service])
    unguarded = stack_resource(SVC, "svc", {"name": "svc", "loadBalancers": [{}]})
    assert stack_violations(scaling.service_error_alarms, [unguarded, alarm])


def test_required_tags():
    good = {"tags": {"project": "p", "environment": "prod", "managed-by": "pulumi"}}
    assert resource_violations(tags.required_tags, "aws:ecs/cluster:Cluster", good) == []
    (message,) = resource_violations(tags.required_tags, "aws:ecs/cluster:Cluster", {"tags": {"project": "p"}})
    assert "['environment', 'managed-by']" in message
    assert resource_violations(tags.required_tags, "aws:ec2/route:Route", {}) == []  # not taggable


def test_budget_policy():
    task = stack_resource(TD, "td", {"cpu": "4096", "memory": "8192"})
    service = stack_resource(SVC, "svc", {"desiredCount": 10}, {"taskDefinition": [task]})
    (message,) = stack_violations(budget_policy, [task, service], {"maxMonthlyUsd": 100.0, "region": "eu-central-1"})
    assert "exceeds the budget of $100.00/month" in message and "Fargate vCPU" in message
    assert stack_violations(budget_policy, [task, service], {"maxMonthlyUsd": 10000.0}) == []


def test_the_pack_and_the_program_agree_on_fargate_sizes():
    # The pack is published on its own (its folder and virtualenv), so it keeps its own copy of shared facts.
    from infra.config import FARGATE_TASK_SIZES

    assert ecs.fargate_task_sizes() == FARGATE_TASK_SIZES


def test_the_pack_and_the_program_agree_on_log_retentions():
    from infra.config import LOG_RETENTION_DAYS

    assert cloudwatch.log_retention_days() == tuple(LOG_RETENTION_DAYS)


def test_every_secret_the_program_manages_is_a_credential_name_to_the_pack():
    from infra.config import SECRET_SPECS

    from guardrails.credentials import is_credential_name  # isort: skip

    assert SECRET_SPECS
    for environment_name, _config_key in SECRET_SPECS.values():
        assert is_credential_name(environment_name), environment_name
