"""The adapter config is for local checks only: the image and its one-off task run Prisma as before."""

from __future__ import annotations

import json

from dockerfile_parse import DockerfileParser

from infra.containers import MIGRATION_COMMAND
from ops.prisma import ADAPTER_CONFIG, APP_DIR
from tests.conftest import ROOT

ADAPTER_PACKAGES = ("@prisma/adapter-pg", "@prisma/driver-adapter-utils", "pg", "pg-connection-string")


def context_copy_sources() -> set[str]:
    """What the Dockerfile copies from the build context (app/), not from another stage."""
    sources = set()
    for instruction in DockerfileParser(path=str(ROOT / "Dockerfile")).structure:
        words = instruction["value"].split()
        if instruction["instruction"] in ("COPY", "ADD") and not any(w.startswith("--from=") for w in words):
            sources |= {w.removeprefix("./") for w in words[:-1] if not w.startswith("--")}
    return sources


def test_the_image_copies_only_what_it_did_before():
    # A wider COPY (`COPY . .`) would carry the adapter config into the image.
    assert context_copy_sources() == {"package.json", "package-lock.json", "tsconfig.json", "prisma", "src"}
    assert (APP_DIR / ADAPTER_CONFIG).exists()
    assert ADAPTER_CONFIG in (APP_DIR / ".dockerignore").read_text().splitlines()


def test_the_task_runs_plain_prisma_migrate_deploy():
    # No `--config`: the image's CLI uses its native engine and the schema's `url`.
    assert MIGRATION_COMMAND == ["npx", "prisma", "migrate", "deploy"]
    # Prisma loads `prisma.config.ts` by itself when it exists; the adapter config must keep its own name.
    assert not list(APP_DIR.glob("prisma.config.*"))


def test_the_adapter_is_a_pinned_dev_dependency_that_the_image_prunes():
    package = json.loads((APP_DIR / "package.json").read_text())
    lock = json.loads((APP_DIR / "package-lock.json").read_text())["packages"]
    for name in ADAPTER_PACKAGES:
        version = package["devDependencies"][name]
        assert version[0].isdigit() and lock[f"node_modules/{name}"]["version"] == version, name
        assert lock[f"node_modules/{name}"].get("dev") is True, f"{name} must not be a production dependency"
        assert name not in package["dependencies"]
    # The same Prisma CLI as the image's (a production dependency there).
    assert package["dependencies"]["prisma"] == lock["node_modules/prisma"]["version"]
