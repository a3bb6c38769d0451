"""The locked toolchain: pyproject.toml + uv.lock for the program, the same for the policy pack.

The Pulumi CLI (toolchain uv), `make plan` and `make test` share `.venv`; the pack's own environment
is `policies/.venv`. One resolution must satisfy the program and the pack (pulumi-policy caps
protobuf below 6), and the plan environment holds no test tool.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import tomllib

import pytest
import yaml

from tests.conftest import ROOT

PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
PACK = yaml.safe_load((ROOT / "policies" / "PulumiPolicy.yaml").read_text())
PYPROJECTS = {"program": ROOT / "pyproject.toml", "pack": ROOT / "policies" / "pyproject.toml"}
EXACT = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)(?:\[[a-z0-9,_-]+\])?==(?P<version>[0-9][0-9A-Za-z.]*)$")


def pyproject(which: str) -> dict:
    return tomllib.loads(PYPROJECTS[which].read_text())


@functools.cache
def lock(which: str) -> dict[str, dict]:
    document = tomllib.loads(PYPROJECTS[which].with_name("uv.lock").read_text())
    return {p["name"]: p for p in document["package"]}


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(packages: dict[str, dict], roots: list[str]) -> set[str]:
    """Every package `roots` pull in, following the lock's dependency edges (extras included)."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = normalized(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        entry = packages[name]
        edges = list(entry.get("dependencies", []))
        for extra in entry.get("optional-dependencies", {}).values():
            edges += extra
        todo += [d["name"] for d in edges]
    return seen


def test_the_program_and_the_pack_run_under_uv_in_their_own_virtualenvs():
    assert PROJECT["runtime"] == {"name": "python", "options": {"toolchain": "uv", "virtualenv": ".venv"}}
    assert PACK["runtime"] == {"name": "python", "options": {"toolchain": "uv", "virtualenv": ".venv"}}
    for which in PYPROJECTS:
        assert PYPROJECTS[which].with_name("uv.lock").is_file(), which


def test_make_and_pulumi_share_the_virtualenv_pulumi_yaml_names():
    dry_run = subprocess.run(["make", "-n", "--always-make", "plan"], cwd=ROOT, capture_output=True, text=True,
                             env={"PATH": "/usr/bin:/bin"}, check=True).stdout
    venv = PROJECT["runtime"]["options"]["virtualenv"]
    (sync,) = [line for line in dry_run.splitlines() if " sync " in line]
    assert "--locked" in sync and "--group" not in sync and "--all-groups" not in sync
    assert f"{venv}/bin/python -m offline.plan --stack prod" in dry_run
    make_env = subprocess.run(["make", "-s", "-f", "Makefile", "-f", "-", "print-env"], cwd=ROOT, text=True,
                              input="print-env:\n\t@echo $$UV_PROJECT_ENVIRONMENT\n", capture_output=True,
                              check=True).stdout.strip()
    assert make_env == venv


def test_make_keeps_the_bytecode_python_compiles():
    """`make test` starts ~50 Python processes (workers, packs as the CLI starts them, plans); where the caller's
    environment says PYTHONDONTWRITEBYTECODE (this one does), each compiled pulumi, botocore and moto again."""
    seen = subprocess.run(["make", "-s", "-f", "Makefile", "-f", "-", "print-env"], cwd=ROOT, text=True,
                          input='print-env:\n\t@echo "[$$PYTHONDONTWRITEBYTECODE]"\n', capture_output=True,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}, check=True).stdout.strip()
    assert seen == "[]"


@pytest.mark.parametrize("which", PYPROJECTS)
def test_direct_dependencies_are_pinned_exactly(which):
    document = pyproject(which)
    requirements = document["project"]["dependencies"] + [
        r for group in document.get("dependency-groups", {}).values() for r in group]
    assert requirements
    for requirement in requirements:
        match = EXACT.match(requirement)
        assert match, f"{PYPROJECTS[which]}: {requirement!r} is not pinned with =="
        locked = lock(which)[normalized(match["name"])]
        assert locked["version"] == match["version"], requirement


@pytest.mark.parametrize("which", PYPROJECTS)
def test_every_locked_distribution_has_a_hash(which):
    for name, entry in lock(which).items():
        if entry.get("source", {}).get("virtual") or entry.get("source", {}).get("editable"):
            continue  # the project itself
        files = entry.get("wheels", []) + ([entry["sdist"]] if "sdist" in entry else [])
        assert files, name
        for file in files:
            assert re.fullmatch(r"sha256:[0-9a-f]{64}", file.get("hash", "")), (name, file.get("url"))


def test_one_resolution_serves_the_program_and_the_pack():
    program, pack = lock("program"), lock("pack")
    shared = set(program) & set(pack) - {"truecaller-backend", "truecaller-backend-policies"}
    assert {"pulumi", "pulumi-policy", "protobuf", "grpcio"} <= shared
    differing = {n: (program[n]["version"], pack[n]["version"]) for n in shared
                 if program[n]["version"] != pack[n]["version"]}
    assert not differing, f"`make plan` would test other versions than the CLI runs the pack with: {differing}"
    assert int(program["protobuf"]["version"].split(".")[0]) < 6  # pulumi-policy 1.21's cap
    pack_direct = {normalized(EXACT.match(r)["name"]) for r in pyproject("pack")["project"]["dependencies"]}
    program_direct = {normalized(EXACT.match(r)["name"]) for r in pyproject("program")["project"]["dependencies"]}
    assert pack_direct <= program_direct, "`make plan` starts the pack from .venv: it needs the pack's dependencies"


def test_the_plan_environment_holds_no_test_tool():
    document = pyproject("program")
    assert set(document["dependency-groups"]) == {"test"}  # no `dev` group: uv would install it by default
    assert "default-groups" not in document.get("tool", {}).get("uv", {})
    packages = lock("program")
    plan = closure(packages, [EXACT.match(r)["name"] for r in document["project"]["dependencies"]])
    tools = {normalized(EXACT.match(r)["name"]) for r in document["dependency-groups"]["test"]}
    assert not plan & tools, f"the plan environment would install {sorted(plan & tools)}"
    assert {"pulumi", "pulumi-aws", "pulumi-policy", "boto3"} <= plan
    assert "pytest" not in plan and "moto" not in plan
