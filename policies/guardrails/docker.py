"""Container images built by the stack: the image must not run migrations when a container starts.

The policy reads the Dockerfile the image resource builds (any name or path), evaluates the
stage the build targets (``build.target``, else the last one, CMD/ENTRYPOINT inherited through
``FROM <stage>``), and analyses its ENTRYPOINT and CMD with ``guardrails.migrations``. Files the
commands run (entrypoint scripts, package.json and its scripts and workspaces) are read from the
build context by tracing their path in the image back through COPY/ADD. Every path is resolved
inside the Pulumi project; nothing outside it is read and no directory tree is walked.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi_policy import Severity

from guardrails.common import resource_policy
from guardrails.dockerfile import Dockerfile, DockerfileError, Stage, StartCommand, is_glob
from guardrails.migrations import Files, analyse
from guardrails.packages import Package
from guardrails.project import Project, ProjectFileError, contained, find_project, not_found_message

IMAGE = "docker:index/image:Image"
MAX_FILE_BYTES = 1_000_000  # a Dockerfile, script or package.json larger than this is not one we read
MAX_WORKSPACES = 200


def _read(path: Path, what: str) -> str:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ProjectFileError(f"the {what} {path} is larger than {MAX_FILE_BYTES} bytes")
        return path.read_text(errors="replace")
    except FileNotFoundError as error:
        raise ProjectFileError(f"the {what} {path} does not exist") from error
    except IsADirectoryError as error:
        raise ProjectFileError(f"the {what} {path} is a directory, not a file") from error
    except OSError as error:
        raise ProjectFileError(f"the {what} {path} cannot be read ({error.strerror})") from error


_PARSED: dict[tuple, Dockerfile] = {}


def parse_dockerfile(path: Path, build_args: dict[str, str]) -> Dockerfile:
    """The Dockerfile at ``path``, parsed once per content (images sharing a Dockerfile share the parse)."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size, tuple(sorted(build_args.items())))
    if key not in _PARSED:
        _PARSED[key] = Dockerfile(_read(path, "Dockerfile"), build_args)
    return _PARSED[key]


@dataclass
class ImageBuild:
    """What an image resource builds, resolved inside the project."""

    context: Path
    dockerfile_path: Path
    dockerfile: Dockerfile
    target: Stage

    @property
    def start(self) -> StartCommand:
        return self.dockerfile.start_command(self.target)

    def files(self) -> ImageFiles:
        return ImageFiles(self)


def image_build(props: Any, project: Project | None = None) -> ImageBuild:
    """The build of a ``docker:index/image:Image`` from its inputs; ProjectFileError says what is wrong."""
    build = props.get("build") or {}
    if isinstance(build, str):
        build = {"context": build}
    project = project or find_project()
    if project is None:
        raise ProjectFileError(f"cannot read the Dockerfile: {not_found_message()}")
    context = contained(project, str(build.get("context") or "."), what="build context")
    if not context.is_dir():
        raise ProjectFileError(f"the build context {context} is not a directory")
    dockerfile_path = (contained(project, str(build["dockerfile"]), what="Dockerfile") if build.get("dockerfile")
                       else contained(project, "Dockerfile", base=context, what="Dockerfile"))
    args = {str(k): str(v) for k, v in (build.get("args") or {}).items()}
    try:
        dockerfile = parse_dockerfile(dockerfile_path, args)
    except FileNotFoundError as error:
        raise ProjectFileError(f"the Dockerfile {dockerfile_path} does not exist") from error
    except OSError as error:
        raise ProjectFileError(f"the Dockerfile {dockerfile_path} cannot be read ({error.strerror})") from error
    except DockerfileError as error:
        raise ProjectFileError(f"the Dockerfile {dockerfile_path} cannot be used: {error}") from error
    try:
        target = dockerfile.target(build.get("target"))
    except DockerfileError as error:
        raise ProjectFileError(f"the Dockerfile {dockerfile_path} cannot be used: {error}") from error
    return ImageBuild(context, dockerfile_path, dockerfile, target)


class ImageFiles(Files):
    """Files inside the image, read from the build context through the Dockerfile's COPY instructions."""

    strict = True

    def __init__(self, build: ImageBuild, workdir: str | None = None):
        self.build = build
        start = build.start
        self.workdir = workdir or start.workdir
        self.path_dirs = [d for d in start.path.split(":") if d.startswith("/")]
        self._cache: dict[str, Path | None] = {}

    def _context_file(self, image_path: str) -> Path | None:
        image_path = posixpath.normpath(image_path)
        if image_path not in self._cache:
            context = self.build.context

            def is_file(relative: str) -> bool:
                candidate = (context / relative).resolve()
                try:
                    return candidate.is_relative_to(context) and candidate.is_file()
                except OSError:  # unreadable: as good as absent
                    return False

            def matches(relative: str) -> list[str]:
                if not is_glob(relative):
                    return [relative] if is_file(relative) else []
                # Docker matches each path segment with Go's filepath.Match, where ** is just *: never
                # pathlib's recursive walk. One directory listed per wildcard segment.
                pattern = re.sub(r"\*{2,}", "*", relative)
                try:
                    found = sorted(p.relative_to(context).as_posix() for p in context.glob(pattern))
                except (OSError, ValueError, NotImplementedError):
                    return []
                return [f for f in found if is_file(f)]

            origins = self.build.dockerfile.origins(image_path, self.build.target, matches)
            self._cache[image_path] = (context / origins[0]).resolve() if origins else None
        return self._cache[image_path]

    def _absolute(self, path: str, cwd: str | None) -> str:
        return posixpath.normpath(posixpath.join(cwd or self.workdir, path))

    def read(self, image_path: str) -> str | None:
        source = self._context_file(image_path)
        if source is None:
            return None
        try:
            return _read(source, "file")
        except ProjectFileError:
            return None

    def package(self, directory: str | None, cwd: str | None) -> Package | None:
        folder = self._absolute(directory or ".", cwd)
        text = self.read(posixpath.join(folder, "package.json"))
        if text is None:
            return None
        try:
            return Package.from_json(folder, text)
        except ValueError:
            return None

    def workspaces(self, root: Package) -> list[Package]:
        source = self._context_file(posixpath.join(root.directory, "package.json"))
        if source is None:
            return []
        base = source.parent
        members: list[Package] = []
        for pattern in root.workspace_patterns:
            if not pattern or posixpath.isabs(pattern):
                continue  # workspaces are folders under the root package; pathlib's glob refuses these patterns
            for folder in sorted(base.glob(pattern))[:MAX_WORKSPACES]:
                if "node_modules" in folder.parts or not folder.resolve().is_relative_to(self.build.context):
                    continue
                image_folder = posixpath.join(root.directory, folder.relative_to(base).as_posix())
                package = self.package(image_folder, None)
                if package is not None:
                    members.append(package)
        return members[:MAX_WORKSPACES]

    def script(self, path: str, cwd: str | None, executed: bool) -> str | None:
        if "/" in path:
            return self.read(self._absolute(path, cwd))
        folders = self.path_dirs if executed else [cwd or self.workdir, *self.path_dirs]
        for folder in folders:
            text = self.read(posixpath.join(folder, path))
            if text is not None:
                return text
        return None


def start_problems(argv: list[str] | None, files: Files, cwd: str | None, label: str) -> list[str]:
    """Messages for one start command (an ENTRYPOINT, CMD, entryPoint or command)."""
    verdict = analyse(argv, files, cwd)
    problems = []
    if verdict.migration:
        problems.append(f"{label} runs database migrations at container start: {verdict.migration}.")
    problems += [f"{label} cannot be fully checked: {note}." for note in verdict.unverified]
    return problems


def _check_image(args, report_violation):
    try:
        build = image_build(args.props)
    except ProjectFileError as error:
        report_violation(f"Cannot check the image's start command: {error}")
        return
    start = build.start
    files = build.files()
    name = build.dockerfile_path.name
    stage = build.target.name or f"stage {build.target.index}"
    for keyword, argv in (("ENTRYPOINT", start.entrypoint), ("CMD", start.cmd)):
        for problem in start_problems(argv, files, start.workdir, f"{name} {keyword} (target {stage})"):
            report_violation(f"{problem} Start only the application (CMD [\"node\", \"dist/src/main\"]) and run "
                             "migrations as a one-off task.")


no_migrations_in_dockerfile = resource_policy(
    "docker-no-migrations-at-start",
    "The Dockerfile an image resource builds must not run database migrations in the CMD/ENTRYPOINT of the stage "
    "it targets, directly, through wrappers, shells, package runners, entrypoint scripts copied into the image, "
    "or package.json scripts (hooks and workspaces included). A Dockerfile the policy cannot read, or a path "
    "outside the project, is reported. Fix: `CMD [\"node\", \"dist/src/main\"]` and a separate migration task.",
    [IMAGE],
    _check_image,
    severity=Severity.CRITICAL,
)

POLICIES = [no_migrations_in_dockerfile]
