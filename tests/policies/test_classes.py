"""Issue 12's classes of evasion and false positives, each with bad cases caught and look-alikes passing,
driven through the analyzer protocol: the pack started as the CLI starts it, Analyze/AnalyzeStack over gRPC.

The Dockerfile and ECS cases read files from a throw-away Pulumi project (PULUMI_PROJECT_DIR), one folder
per case, so every case builds exactly the project it describes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from offline.policy_client import PACK_DIR, PolicyPackServer
from tests.policies.protocol import R, analyze, analyze_stack, of

IMAGE = "docker:index/image:Image"
TD = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
DIGEST = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/app@sha256:" + "a" * 64
PLAIN_START = {"start": "node dist/src/main", "build": "tsc"}




def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def case_folder(project: Path, request) -> Path:
    folder = project / request.node.name.replace("[", "_").replace("]", "").replace("/", "_")[:80]
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    return folder


def package_json(scripts: dict[str, str], **extra) -> str:
    return json.dumps({"name": "app", "scripts": scripts, **extra})


SIMPLE_DOCKERFILE = "FROM node:22-slim\nWORKDIR /app\nCOPY . .\n{start}\n"


def image(folder: Path, project: Path, **build) -> R:
    relative = folder.relative_to(project)
    return R(IMAGE, f"image-{folder.name}", {"build": {"context": str(relative / "app"),
                                                        "dockerfile": str(relative / "Dockerfile"), **build}})


# ----------------------------------------------------------------------------- class 1: Dockerfile


DOCKER_BAD = [
    # (id, Dockerfile start line(s), app files)
    ("shell-form-chain", "CMD npx prisma migrate deploy && node dist/src/main", {}),
    ("npx-yes-version-pin", 'CMD ["npx", "--yes", "prisma@6.19.3", "migrate", "deploy"]', {}),
    ("npm-exec-dashdash", 'CMD ["npm", "exec", "--", "prisma", "migrate", "deploy"]', {}),
    ("cli-by-path", 'CMD ["node", "node_modules/prisma/build/index.js", "migrate", "deploy"]', {}),
    ("timeout-wrapper", 'CMD ["timeout", "120", "npx", "prisma", "migrate", "deploy"]', {}),
    ("env-wrapper", 'CMD ["env", "-u", "HOME", "NODE_ENV=production", "npx", "prisma", "migrate", "deploy"]', {}),
    ("tini-sh-ec", 'ENTRYPOINT ["tini", "--", "sh", "-ec", "npx prisma migrate deploy; exec node dist/src/main"]', {}),
    ("dumb-init-bash-lc",
     'ENTRYPOINT ["dumb-init", "bash", "-lc", "until npx prisma migrate deploy; do sleep 2; done"]', {}),
    ("if-then",
     'CMD ["sh", "-c", "if [ -n \\"$DATABASE_URL\\" ]; then npx prisma migrate deploy; fi && node main"]', {}),
    ("npm-start-script", 'CMD ["npm", "start"]',
     {"package.json": package_json({"start": "prisma migrate deploy && node dist/src/main"})}),
    ("prestart-hook", 'CMD ["npm", "start"]',
     {"package.json": package_json({**PLAIN_START, "prestart": "npm run db:setup", "db:setup": "prisma db push"})}),
    ("postinstall-like-pre-hook-of-run", 'CMD ["npm", "run", "serve"]',
     {"package.json": package_json({"serve": "node dist/src/main", "preserve": "knex migrate:latest"})}),
    ("workspace-flag", 'CMD ["npm", "run", "-w", "api", "start"]',
     {"package.json": package_json({}, workspaces=["packages/*"]),
      "packages/api/package.json": json.dumps({"name": "api",
                                               "scripts": {"start": "typeorm migration:run && node x"}})}),
    ("prefix-flag", 'CMD ["npm", "--prefix", "server", "start"]',
     {"server/package.json": package_json({"start": "sequelize db:migrate && node index.js"})}),
    ("yarn-bare-script", 'CMD ["yarn", "boot"]',
     {"package.json": package_json({"boot": "drizzle-kit migrate; node x"})}),
    ("pnpm-filter", 'CMD ["pnpm", "--filter", "api", "start"]',
     {"package.json": package_json({}, workspaces=["apps/*"]),
      "apps/api/package.json": json.dumps({"name": "api", "scripts": {"start": "mikro-orm migration:up && node x"}})}),
    ("bun-run", 'CMD ["bun", "run", "go"]', {"package.json": package_json({"go": "flyway migrate && node x"})}),
    ("entrypoint-script-copied", 'COPY scripts/boot.sh /usr/local/bin/boot.sh\nENTRYPOINT ["boot.sh"]\n'
                                 'CMD ["node", "dist/src/main"]',
     {"scripts/boot.sh": "#!/bin/sh\nset -e\nliquibase --changelog-file=db.xml update\nexec \"$@\"\n"}),
    # A glob that matches a directory copies its contents, not the directory (moby/moby#15858):
    # scripts/bin/boot.sh lands at /usr/local/bin/boot.sh.
    ("entrypoint-script-from-a-globbed-directory", 'COPY scripts/* /usr/local/bin/\nENTRYPOINT ["boot.sh"]\n'
                                                  'CMD ["node", "dist/src/main"]',
     {"scripts/bin/boot.sh": "#!/bin/sh\nnpx prisma migrate deploy\nexec \"$@\"\n", "scripts/README": "tools"}),
]


@pytest.mark.parametrize(("start", "files"), [c[1:] for c in DOCKER_BAD], ids=[c[0] for c in DOCKER_BAD])
def test_dockerfile_migrations_are_caught_however_spelled(stub, project, request, start, files):
    folder = case_folder(project, request)
    write(folder, {"Dockerfile": SIMPLE_DOCKERFILE.format(start=start),
                   **{f"app/{k}": v for k, v in files.items()}})
    write(folder, {"app/.keep": ""})
    found = of(analyze(stub, image(folder, project)), "docker-no-migrations-at-start")
    assert len(found) >= 1 and found[0].level == "mandatory"
    assert "runs database migrations at container start" in found[0].message


DOCKER_GOOD = [
    ("plain-node", 'CMD ["node", "dist/src/main"]', {}),
    ("read-only-prisma", 'CMD ["sh", "-c", "npx prisma migrate status; exec node dist/src/main"]', {}),
    ("generate-not-migrate", 'CMD ["npx", "--yes", "prisma@6.19.3", "generate"]', {}),
    ("npm-start-plain", 'CMD ["npm", "start"]', {"package.json": package_json(PLAIN_START)}),
    ("migration-script-exists-but-not-run", 'CMD ["npm", "start"]',
     {"package.json": package_json({**PLAIN_START, "migrate:deploy": "prisma migrate deploy"})}),
    ("entrypoint-script-without-migration", 'COPY scripts/boot.sh /usr/local/bin/\nENTRYPOINT ["boot.sh"]',
     {"scripts/boot.sh": "#!/bin/sh\necho starting\nexec node dist/src/main\n"}),
    ("knex-make", 'CMD ["sh", "-c", "npx knex migrate:make add_users || true; node x"]', {}),
    # A globbed directory's contents land in the destination: /usr/local/bin/bin/start.sh is
    # scripts/bin/bin/start.sh (harmless), not scripts/bin/start.sh (which lands at /usr/local/bin/start.sh).
    ("globbed-directory-keeps-only-its-contents", 'COPY scripts/* /usr/local/bin/\n'
                                                 'ENTRYPOINT ["/usr/local/bin/bin/start.sh"]',
     {"scripts/bin/bin/start.sh": "#!/bin/sh\nexec node dist/src/main\n",
      "scripts/bin/start.sh": "#!/bin/sh\nnpx prisma migrate deploy\n"}),
]


@pytest.mark.parametrize(("start", "files"), [c[1:] for c in DOCKER_GOOD], ids=[c[0] for c in DOCKER_GOOD])
def test_dockerfile_look_alikes_pass(stub, project, request, start, files):
    folder = case_folder(project, request)
    write(folder, {"Dockerfile": SIMPLE_DOCKERFILE.format(start=start), "app/.keep": "",
                   **{f"app/{k}": v for k, v in files.items()}})
    assert of(analyze(stub, image(folder, project)), "docker-no-migrations-at-start") == []


MULTI_STAGE = """\
FROM node:22-slim AS base
WORKDIR /app
CMD ["node", "dist/src/main"]
FROM base AS migrator
CMD ["npx", "prisma", "migrate", "deploy"]
FROM base AS runtime
COPY . .
"""


def test_the_build_target_stage_is_the_one_checked(stub, project, request):
    folder = case_folder(project, request)
    write(folder, {"Dockerfile": MULTI_STAGE, "app/.keep": ""})
    # The last stage (runtime) inherits base's CMD: fine. Targeting the migrator stage is caught.
    assert of(analyze(stub, image(folder, project)), "docker-no-migrations-at-start") == []
    found = of(analyze(stub, image(folder, project, target="migrator")), "docker-no-migrations-at-start")
    assert found and "target migrator" in found[0].message
    unknown = of(analyze(stub, image(folder, project, target="nope")), "docker-no-migrations-at-start")
    assert unknown and "'nope' is not a stage" in unknown[0].message


def test_inherited_cmd_of_a_stage_is_caught(stub, project, request):
    folder = case_folder(project, request)
    write(folder, {"Dockerfile": "FROM node:22 AS base\nCMD [\"sh\", \"-c\", \"npx prisma db push && node x\"]\n"
                                 "FROM base\nRUN true\n", "app/.keep": ""})
    assert of(analyze(stub, image(folder, project)), "docker-no-migrations-at-start")


def test_dockerfile_with_any_name_and_package_json_copied_from_a_build_stage(stub, project, request):
    folder = case_folder(project, request)
    write(folder, {
        "docker/api.Containerfile": "FROM node:22 AS deps\nWORKDIR /src\nCOPY package.json ./\n"
                                    "FROM node:22-slim\nWORKDIR /srv\nCOPY --from=deps /src/package.json ./\n"
                                    "CMD [\"npm\", \"start\"]\n",
        "app/package.json": package_json({"start": "npx prisma migrate deploy && node x"}),
    })
    relative = folder.relative_to(project)
    resource = R(IMAGE, "named", {"build": {"context": str(relative / "app"),
                                            "dockerfile": str(relative / "docker/api.Containerfile")}})
    found = of(analyze(stub, resource), "docker-no-migrations-at-start")
    assert found and "api.Containerfile CMD" in found[0].message and "script 'start'" in found[0].message


# ----------------------------------------------------------------------------- unreadable, outside, no project


@pytest.mark.parametrize(("build", "expected"), [
    ({"context": "missing-app"}, "is not a directory"),
    ({"context": ".", "dockerfile": "no/such/Dockerfile"}, "does not exist"),
    ({"context": "..", "dockerfile": "Dockerfile"}, "outside the project"),
    ({"context": ".", "dockerfile": "/etc/hostname"}, "outside the project"),
    ({"context": ".", "dockerfile": "."}, "is a directory, not a file"),
    ({"context": ".", "dockerfile": "Pulumi.yaml"}, "it has no FROM instruction"),
])
def test_unreadable_or_escaping_paths_are_violations_not_crashes(stub, build, expected):
    found = of(analyze(stub, R(IMAGE, "img", {"build": build})), "docker-no-migrations-at-start")
    assert len(found) == 1 and found[0].level == "mandatory"
    assert expected in found[0].message and "Cannot check" in found[0].message


def test_a_pack_run_away_from_the_project_reports_instead_of_passing(tmp_path):
    # A pack published to Pulumi Cloud runs from its own download folder, with the CLI's working directory.
    pack = tmp_path / "downloaded-pack"
    shutil.copytree(PACK_DIR, pack, ignore=shutil.ignore_patterns("__pycache__", "venv", ".venv"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with PolicyPackServer(pack_dir=pack, env={"PULUMI_PROJECT": "demo", "PULUMI_PROJECT_DIR": "",
                                              "PWD": str(elsewhere)}) as away:
        found = of(analyze(away, R(IMAGE, "img", {"build": {"context": "app"}})), "docker-no-migrations-at-start")
    assert len(found) == 1
    assert "not beside the policy pack" in found[0].message and "PULUMI_PROJECT_DIR" in found[0].message


def test_a_pack_run_away_from_the_project_finds_it_through_the_cli_working_directory(tmp_path, project, request):
    folder = case_folder(project, request)
    write(folder, {"Dockerfile": 'FROM node:22\nCMD ["npx", "prisma", "migrate", "deploy"]\n', "app/.keep": ""})
    pack = tmp_path / "downloaded-pack"
    shutil.copytree(PACK_DIR, pack, ignore=shutil.ignore_patterns("__pycache__", "venv", ".venv"))
    with PolicyPackServer(pack_dir=pack, env={"PULUMI_PROJECT": "demo", "PULUMI_PROJECT_DIR": "",
                                              "PWD": str(folder)}) as away:
        found = of(analyze(away, image(folder, project)), "docker-no-migrations-at-start")
    assert found and "runs database migrations" in found[0].message


# ----------------------------------------------------------------------------- class 1 and 2: ECS


def task_definition(name: str, command=None, entry_point=None, family: str | None = None, **container) -> R:
    definition = {"name": "app", "image": DIGEST, **container}
    if command is not None:
        definition["command"] = command
    if entry_point is not None:
        definition["entryPoint"] = entry_point
    return R(TD, name, {"family": family or name, "containerDefinitions": json.dumps([definition]),
                        "requiresCompatibilities": ["FARGATE"], "cpu": "512", "memory": "1024"})


def service(task: R | None, reference: str | None = None) -> R:
    props = {"name": "svc", "loadBalancers": [{"containerPort": 3000}]}
    if reference is not None:
        props["taskDefinition"] = reference
    return R(SERVICE, "svc", props, {"taskDefinition": [task.name]} if task else {})


ECS_BAD = [
    ("sh-c", None, ["sh", "-c", "npx prisma migrate deploy && node dist/src/main"]),
    ("entrypoint-bash-ec", ["bash", "-ec"], ["npx prisma migrate deploy; node x"]),
    ("pnpm-dlx", None, ["pnpm", "dlx", "prisma@6.19.3", "migrate", "deploy"]),
    ("bunx", ["bunx", "--bun"], ["prisma", "db", "push"]),
    ("nice-exec", None, ["exec", "nice", "-n", "5", "npx", "-y", "prisma", "migrate", "deploy"]),
    ("until-loop", None, ["sh", "-c", "until npx prisma migrate deploy; do sleep 5; done; exec node x"]),
    ("or-chain", None, ["sh", "-c", "npx prisma migrate deploy || exit 1"]),
    ("npm-script-by-name", None, ["npm", "run", "migrate:prod"]),
]


@pytest.mark.parametrize(("entry_point", "command"), [c[1:] for c in ECS_BAD], ids=[c[0] for c in ECS_BAD])
def test_ecs_migrations_are_caught_however_spelled(stub, entry_point, command):
    task = task_definition("app", command, entry_point)
    found = of(analyze_stack(stub, [task, service(task)]), "ecs-no-migrations-at-start")
    assert found and found[0].urn == task.urn and found[0].level == "mandatory"


def test_ecs_reads_package_scripts_from_the_image_the_stack_builds(stub, project, request):
    folder = case_folder(project, request)
    write(folder, {"Dockerfile": SIMPLE_DOCKERFILE.format(start='CMD ["node", "main"]'),
                   "app/package.json": package_json({**PLAIN_START, "prestart": "npx prisma migrate deploy"})})
    built = image(folder, project)
    task = task_definition("app", ["npm", "start"])
    task.deps = {"containerDefinitions": [built.name]}
    found = of(analyze_stack(stub, [built, task, service(task)]), "ecs-no-migrations-at-start")
    assert found and "script 'prestart'" in found[0].message
    write(folder, {"app/package.json": package_json(PLAIN_START)})
    assert of(analyze_stack(stub, [built, task, service(task)]), "ecs-no-migrations-at-start") == []


@pytest.mark.parametrize("reference_of", [
    lambda family: family,
    lambda family: f"{family}:7",
    lambda family: f"arn:aws:ecs:eu-central-1:123456789012:task-definition/{family}:7",
], ids=["family", "family-revision", "arn"])
def test_services_referencing_task_definitions_indirectly_are_checked(stub, reference_of):
    migrate = task_definition("migrate-td", ["npx", "prisma", "migrate", "deploy"], family="backend-migrate")
    app = task_definition("app-td", ["node", "dist/src/main"], family="backend")
    runs_migration = service(None, reference_of("backend-migrate"))
    found = analyze_stack(stub, [migrate, app, runs_migration])
    assert of(found, "ecs-no-migrations-at-start") and of(found, "ecs-no-migrations-at-start")[0].urn == migrate.urn
    runs_app = service(None, reference_of("backend"))
    assert of(analyze_stack(stub, [migrate, app, runs_app]), "ecs-no-migrations-at-start") == []


def test_indirect_references_reach_the_digest_policy_too(stub):
    tagged = task_definition("tagged", ["node", "x"], family="web", image="nginx:latest")
    found = analyze_stack(stub, [tagged, service(None, "web:3")])
    assert of(found, "ecs-images-pinned-by-digest")


# ----------------------------------------------------------------------------- class 3: secret names


@pytest.mark.parametrize("name", ["STRIPE_API_KEY", "SMTP_PASS", "DB_PASSWD", "SLACK_BOT_TOKEN",
                                  "GOOGLE_CREDENTIALS", "SESSION_SECRET", "SECRET_KEY_BASE", "sendgridApiKey",
                                  "MONGO_URI", "SENTRY_DSN"])
def test_credentials_in_plain_environment_are_caught(stub, name):
    task = task_definition("app", environment=[{"name": name, "value": "s3cr3t-value"}])
    found = of(analyze(stub, task), "ecs-no-plaintext-secrets")
    assert len(found) == 1 and name in found[0].message and "s3cr3t-value" not in found[0].message


@pytest.mark.parametrize(("name", "value"), [
    ("NODE_ENV", "production"), ("PORT", "3000"), ("PUBLIC_KEY_URL", "https://example.com/jwks.json"),
    ("AWS_ACCESS_KEY_ID_PARAMETER", "x"), ("KEY_ID", "k-1"), ("TOKEN_TTL_SECONDS", "900"), ("CACHE_KEY_PREFIX", "v1"),
    ("JWT_SECRET_ARN", "arn:aws:secretsmanager:eu-central-1:123456789012:secret:jwt-AbCdEf"),
    ("GOOGLE_APPLICATION_CREDENTIALS", "/var/run/secrets/sa.json"), ("PUBLIC_KEY", "ssh-ed25519 AAAA"),
])
def test_look_alike_environment_names_pass(stub, name, value):
    task = task_definition("app", environment=[{"name": name, "value": value}])
    assert of(analyze(stub, task), "ecs-no-plaintext-secrets") == []


# ----------------------------------------------------------------------------- class 4: IAM


def document(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


IAM_BAD = [
    ("role-managed-arn", R("aws:iam/role:Role", "r", {"managedPolicyArns": [
        "arn:aws:iam::aws:policy/AdministratorAccess"]})),
    ("attachment-poweruser", R("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "a", {
        "role": "r", "policyArn": "arn:aws:iam::aws:policy/PowerUserAccess"})),
    ("policy-attachment-fullaccess", R("aws:iam/policyAttachment:PolicyAttachment", "p", {
        "roles": ["r"], "policyArn": "arn:aws:iam::aws:policy/AmazonS3FullAccess"})),
    ("exclusive-secrets-readwrite", R("aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive", "x", {
        "roleName": "r", "policyArns": ["arn:aws:iam::aws:policy/SecretsManagerReadWrite"]})),
    ("inline-role-star", R("aws:iam/role:Role", "r2", {"inlinePolicies": [{"name": "i", "policy": document(
        {"Effect": "Allow", "Action": "*", "Resource": "*"})}]})),
    ("prefix-wildcard", R("aws:iam/rolePolicy:RolePolicy", "rp", {"policy": document(
        {"Effect": "Allow", "Action": ["s3:Get*"], "Resource": "*"})})),
    ("service-wildcard", R("aws:iam/rolePolicy:RolePolicy", "rp2", {"policy": document(
        {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "arn:aws:secretsmanager:*:*:secret:*"})})),
    ("every-secret-of-the-account", R("aws:iam/rolePolicy:RolePolicy", "rp3", {"policy": document(
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
         "Resource": "arn:aws:secretsmanager:eu-central-1:123456789012:secret:*"})})),
    ("deny-then-broad-allow", R("aws:iam/policy:Policy", "pol", {"policy": document(
        {"Effect": "Deny", "Action": "iam:*", "Resource": "*"},
        {"Effect": "Allow", "Action": "Get*", "Resource": "*"})})),
]


@pytest.mark.parametrize("resource", [c[1] for c in IAM_BAD], ids=[c[0] for c in IAM_BAD])
def test_broad_iam_is_caught_however_attached(stub, resource):
    found = of(analyze(stub, resource), "iam-least-privilege")
    assert found and found[0].level == "mandatory"


IAM_GOOD = [
    ("execution-role-managed", R("aws:iam/role:Role", "r", {"managedPolicyArns": [
        "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"]})),
    ("read-only-registry", R("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "a", {
        "role": "r", "policyArn": "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"})),
    ("resourceless-on-star", R("aws:iam/rolePolicy:RolePolicy", "rp", {"policy": document(
        {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
         "Resource": ["arn:aws:secretsmanager:eu-central-1:123456789012:secret:db-AbCdEf"]})})),
    ("deny-everything", R("aws:iam/policy:Policy", "deny", {"policy": document(
        {"Effect": "Deny", "Action": "*", "Resource": "*"})})),
]


@pytest.mark.parametrize("resource", [c[1] for c in IAM_GOOD], ids=[c[0] for c in IAM_GOOD])
def test_least_privilege_look_alikes_pass(stub, resource):
    assert of(analyze(stub, resource), "iam-least-privilege") == []


# ----------------------------------------------------------------------------- false positive: valueFrom JSON key

SECRET_ARN = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:app/db-AbCdEf"


def secrets_stack(value_from: str, with_version: bool = True) -> list[R]:
    secret = R("aws:secretsmanager/secret:Secret", "db", {"name": "app/db", "arn": SECRET_ARN})
    task = R(TD, "app", {"family": "app", "containerDefinitions": json.dumps(
        [{"name": "app", "image": DIGEST, "secrets": [{"name": "DATABASE_URL", "valueFrom": value_from}]}])})
    resources = [secret, task]
    if with_version:
        resources.append(R("aws:secretsmanager/secretVersion:SecretVersion", "db-v", {"secretId": SECRET_ARN}))
    return resources


@pytest.mark.parametrize("value_from", [SECRET_ARN, f"{SECRET_ARN}:url::", f"{SECRET_ARN}:url:AWSCURRENT:",
                                        "app/db"])
def test_secret_references_with_json_keys_or_names_resolve_to_the_secret(stub, value_from):
    assert of(analyze_stack(stub, secrets_stack(value_from)), "secrets-have-values") == []
    missing = of(analyze_stack(stub, secrets_stack(value_from, with_version=False)), "secrets-have-values")
    assert missing and "has no value in this stack" in missing[0].message


def test_a_secret_the_stack_does_not_manage_is_still_reported(stub):
    other = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:other-XyZ123:key::"
    found = of(analyze_stack(stub, secrets_stack(other)), "secrets-have-values")
    assert found and "secret:other-XyZ123" in found[0].message and ":key::" not in found[0].message


# ----------------------------------------------------------------------------- any region


def budget_stack() -> list[R]:
    task = R(TD, "td", {"family": "td", "cpu": "1024", "memory": "2048", "containerDefinitions": "[]"})
    return [task, R(SERVICE, "svc", {"desiredCount": 2}, {"taskDefinition": ["td"]})]


def test_a_region_outside_the_price_table_gets_an_approximate_figure_not_a_crash(tmp_path):
    environment = {"PULUMI_CONFIG": json.dumps({"aws:region": "ap-southeast-4"}), "AWS_ACCESS_KEY_ID": "",
                   "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": "", "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "x"),
                   "AWS_CONFIG_FILE": str(tmp_path / "x"), "AWS_EC2_METADATA_DISABLED": "true"}
    with PolicyPackServer(env=environment) as away:
        found = analyze_stack(away, budget_stack())
    (approximate,) = of(found, "monthly-budget-prices")
    assert approximate.level == "advisory" and "ap-southeast-4" in approximate.message
    assert "approximate" in approximate.message and "highest listed price" in approximate.message
    assert of(found, "monthly-budget") == []  # 2 small tasks: within the default budget


def test_a_listed_region_is_exact(stub):
    assert of(analyze_stack(stub, budget_stack()), "monthly-budget-prices") == []


def test_the_pack_module_imports_without_the_project(tmp_path):
    # The pack's own modules must not need anything outside policies/ (published packs ship only that folder).
    pack = tmp_path / "pack"
    shutil.copytree(PACK_DIR, pack, ignore=shutil.ignore_patterns("__pycache__", "venv", ".venv"))
    script = "import guardrails, costing.policy; print(len(guardrails.all_policies()))"
    result = subprocess.run([sys.executable, "-c", script], cwd=pack, capture_output=True, text=True, check=True)
    assert int(result.stdout) >= 26
