"""Container images built by the stack: the Dockerfile must not run migrations at start."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import yaml
from dockerfile_parse import DockerfileParser
from pulumi_policy import Severity

from guardrails.common import resource_policy
from guardrails.migrations import find_migration, find_migration_in_script

IMAGE = "docker:index/image:Image"
PACK_DIR = Path(__file__).resolve().parent.parent


def project_directory(start: Path | None = None) -> Path | None:
    """Where the Pulumi project is. The CLI starts the pack in the pack's own folder and tells it
    only the project's name (PULUMI_PROJECT), so look upwards for that project's Pulumi.yaml.
    PULUMI_PROJECT_DIR overrides the search (a pack kept outside the project's repository)."""
    if os.environ.get("PULUMI_PROJECT_DIR"):
        return Path(os.environ["PULUMI_PROJECT_DIR"])
    wanted = os.environ.get("PULUMI_PROJECT")
    start = start or PACK_DIR
    for directory in (start, *start.parents):
        project_file = directory / "Pulumi.yaml"
        if project_file.is_file():
            try:
                name = (yaml.safe_load(project_file.read_text()) or {}).get("name")
            except yaml.YAMLError:
                continue
            if wanted is None or name == wanted:
                return directory
    return None


def _resolve(path: str, project: Path | None) -> Path | None:
    candidate = Path(path)
    if candidate.is_absolute():
        return candidate
    return project / candidate if project else None


def _final_stage(parser: DockerfileParser) -> list[dict]:
    stage: list[dict] = []
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            stage = []
        stage.append(instruction)
    return stage


def _argv(value: str) -> list[str]:
    value = value.strip()
    if value.startswith("["):
        try:
            return [str(v) for v in json.loads(value)]
        except json.JSONDecodeError:
            pass
    return ["sh", "-c", value]  # shell form


def _scripts_run(argv: list[str], context: Path) -> list[Path]:
    """Shell scripts from the build context that the command runs (entrypoint scripts)."""
    found = []
    for token in argv:
        if re.search(r"\.(sh|bash)$", token) or token.endswith("entrypoint"):
            name = token.lstrip("./").split("/")[-1]
            found += [p for p in context.rglob(name) if "node_modules" not in p.parts]
    return found


def _check_image(args, report_violation):
    build = args.props.get("build") or {}
    if isinstance(build, str):
        build = {"context": build}
    project = project_directory()
    context = _resolve(build.get("context") or ".", project)
    dockerfile = _resolve(build.get("dockerfile") or os.path.join(build.get("context") or ".", "Dockerfile"), project)
    if dockerfile is None or not dockerfile.is_file():
        report_violation(
            f"Cannot read the Dockerfile {build.get('dockerfile') or 'Dockerfile'!r} (resolved to {dockerfile}) to "
            "check its start command. Run the pack from the project's repository or set PULUMI_PROJECT_DIR."
        )
        return
    parser = DockerfileParser(path=str(dockerfile))
    package_json = context / "package.json" if context else None
    scripts = {}
    if package_json and package_json.is_file():
        scripts = json.loads(package_json.read_text()).get("scripts") or {}
    commands = [(i["instruction"], _argv(i["value"])) for i in _final_stage(parser)
                if i["instruction"] in ("CMD", "ENTRYPOINT")]
    for instruction, argv in commands:
        reason = find_migration(argv, scripts)
        for script in _scripts_run(argv, context) if context and context.is_dir() else []:
            reason = reason or find_migration_in_script(script.read_text(errors="replace"))
            if reason:
                reason += f" (in {script.name})"
        if reason:
            report_violation(
                f"{dockerfile.name} {instruction} runs database migrations at container start: {reason}. "
                "Start only the application (CMD [\"node\", \"dist/src/main\"]) and run migrations as a one-off task."
            )


no_migrations_in_dockerfile = resource_policy(
    "docker-no-migrations-at-start",
    "The Dockerfile an image resource builds must not run database migrations in CMD/ENTRYPOINT, directly or "
    "through an entrypoint script or package script. A Dockerfile the policy cannot read is reported. Fix: "
    "`CMD [\"node\", \"dist/src/main\"]` and a separate migration task.",
    [IMAGE],
    _check_image,
    severity=Severity.CRITICAL,
)

POLICIES = [no_migrations_in_dockerfile]
