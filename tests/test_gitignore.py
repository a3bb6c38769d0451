"""What the commands, the Makefile, the Pulumi CLI and CI write is ignored by git; what the repository tracks is not.

git itself judges, in a scratch repository holding only the project's .gitignore files, with the user's global
and system git configuration (their own excludes file) left out: a path that only a developer's global ignore
hides would still show up in `git status` on a colleague's machine or in CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

WRITTEN = [
    # make plan / make test / the Pulumi CLI: environments and tools
    ".venv/x", "policies/.venv/x", ".tools/uv/bin/uv", ".tools/node/bin/node",
    # caches
    "some/__pycache__/x.pyc", ".pytest_cache/x", ".ruff_cache/x",
    # builds: make app-build, make test's build log, make mutate
    "build/x", "app/node_modules/x", "app/dist/x",
    # the commands' output: `pulumi stack output --json > outputs.json`, make plan-json
    "outputs.json", "plan-staging.json",
    # the PR preview job (.github/workflows/preview.yml)
    "plan-head.json", "plan-base.json", "plan-head.log", "plan-base.log", "comment/x", ".base/x",
]
TRACKED = ["Pulumi.prod.yaml", "Pulumi.staging.yaml", "uv.lock", "policies/uv.lock", "pyproject.toml",
           "bootstrap/Pulumi.account.yaml", "app/package-lock.json", "README.md"]


def git(*args: str, cwd, stdin: str = "") -> subprocess.CompletedProcess:
    environment = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
                   "XDG_CONFIG_HOME": str(cwd), "HOME": str(cwd)}
    return subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, text=True, env=environment)


def tracked_files() -> list[str] | None:
    """What git tracks in this checkout (None outside a git checkout, an unpacked archive say)."""
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    return listed.stdout.splitlines() if listed.returncode == 0 else None


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A git repository with the project's .gitignore files (the root's and any nested one) and nothing else."""
    repository = tmp_path_factory.mktemp("gitignore")
    assert git("init", "--quiet", cwd=repository).returncode == 0
    ignore_files = [p for p in tracked_files() or [".gitignore"] if p.rsplit("/", 1)[-1] == ".gitignore"]
    assert ".gitignore" in ignore_files
    for name in ignore_files:
        (repository / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, repository / name)
    return repository


def ignored(repository, paths: list[str]) -> set[str]:
    """The paths git ignores (--no-index: as git judges them whether or not they are tracked)."""
    done = git("check-ignore", "--no-index", "--stdin", cwd=repository, stdin="\n".join(paths) + "\n")
    assert done.returncode in (0, 1), done.stderr  # 1: none of them is ignored
    return set(done.stdout.splitlines())


def test_what_the_commands_write_is_ignored(scratch):
    assert sorted(set(WRITTEN) - ignored(scratch, WRITTEN)) == []


def test_what_the_repository_tracks_is_not_ignored(scratch):
    assert ignored(scratch, TRACKED) == set()
    tracked = tracked_files()
    if tracked is None:
        pytest.skip("not a git checkout: only the files named above were checked")
    assert len(tracked) > 100
    assert ignored(scratch, tracked) == set()


def test_make_clean_removes_what_the_makefile_and_the_tests_build(tmp_path):
    built = [".venv/bin/python", ".tools/uv/bin/uv", ".tools/node/bin/node", "policies/.venv/bin/python",
             "app/node_modules/x/index.js", "app/dist/src/main.js", "build/app-build.log", "build/mutation/report.md",
             ".pytest_cache/v/x", ".ruff_cache/x"]
    kept = ["Pulumi.yaml", "app/src/main.ts", "policies/uv.lock"]
    for path in built + kept:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("")
    subprocess.run(["make", "-s", "-C", str(tmp_path), "-f", str(ROOT / "Makefile"), "clean"], check=True,
                   capture_output=True, env={k: v for k, v in os.environ.items() if not k.startswith("MAKE")})
    assert [p for p in built if (tmp_path / p).exists()] == []
    assert [p for p in kept if not (tmp_path / p).exists()] == []
