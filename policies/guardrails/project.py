"""Where the Pulumi project is, and paths that stay inside it.

The CLI starts a Python pack in the pack's own folder and tells it only the project's name
(``PULUMI_PROJECT``), inheriting the environment of the ``pulumi`` command (``PWD``). The project
is the nearest ``Pulumi.yaml`` with that name above, in order: ``PULUMI_PROJECT_DIR`` (explicit),
the pack's folder (a pack kept in the project's repository), the directory ``pulumi`` was started
in (a pack published to Pulumi Cloud and downloaded elsewhere). Only ancestors are looked at, never
a directory tree. Paths the program gave (build context, Dockerfile) resolve against the program's
directory (``main:`` in Pulumi.yaml) and must stay inside the project root.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

PACK_DIR = Path(__file__).resolve().parent.parent


class ProjectFileError(Exception):
    """A file the policy needs cannot be used; the message says which, why, and the fix."""


@dataclass(frozen=True)
class Project:
    root: Path  # the folder of Pulumi.yaml
    program_dir: Path  # where the program runs: relative paths in its resources start here


def _project_name(project_file: Path) -> str | None:
    try:
        document = yaml.safe_load(project_file.read_text())
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return None
    return document.get("name") if isinstance(document, dict) else None


def _program_dir(root: Path) -> Path:
    try:
        document = yaml.safe_load((root / "Pulumi.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return root
    main = document.get("main") if isinstance(document, dict) else None
    if isinstance(main, str) and main:
        candidate = (root / main).resolve()
        directory = candidate if candidate.is_dir() else candidate.parent
        if directory.is_relative_to(root):
            return directory
    return root


def search_starts() -> list[Path]:
    """Where to look upwards from: the pack's folder, then the folder ``pulumi`` ran in."""
    starts = [PACK_DIR]
    if os.environ.get("PWD"):
        starts.append(Path(os.environ["PWD"]))
    return starts


_FOUND: dict[tuple, Project] = {}  # found projects only: a project created later is still found


def _locate(explicit: str | None, wanted: str | None, starts: tuple[Path, ...]) -> Project | None:
    key = (explicit, wanted, starts)
    if key not in _FOUND:
        project = _search(explicit, wanted, starts)
        if project is None:
            return None
        _FOUND[key] = project
    return _FOUND[key]


def _search(explicit: str | None, wanted: str | None, starts: tuple[Path, ...]) -> Project | None:
    if explicit:
        root = Path(explicit).resolve()
        return Project(root, _program_dir(root)) if (root / "Pulumi.yaml").is_file() else None
    for start in starts:
        for directory in (start, *start.parents):
            project_file = directory / "Pulumi.yaml"
            if project_file.is_file() and (wanted is None or _project_name(project_file) == wanted):
                root = directory.resolve()
                return Project(root, _program_dir(root))
    return None


def find_project() -> Project | None:
    """The Pulumi project the pack is checking, or None when it is not on this machine."""
    return _locate(os.environ.get("PULUMI_PROJECT_DIR"), os.environ.get("PULUMI_PROJECT"),
                   tuple(p.resolve() for p in search_starts()))


def not_found_message() -> str:
    wanted = os.environ.get("PULUMI_PROJECT") or "(PULUMI_PROJECT not set)"
    if os.environ.get("PULUMI_PROJECT_DIR"):
        return (f"PULUMI_PROJECT_DIR={os.environ['PULUMI_PROJECT_DIR']} has no Pulumi.yaml. Fix: point it at the "
                "folder of the project's Pulumi.yaml.")
    return (f"the Pulumi project {wanted!r} is not beside the policy pack nor above the directory `pulumi` ran in "
            "(a pack published to Pulumi Cloud runs from its own download folder). Fix: run `pulumi` from the "
            "project's folder, or set PULUMI_PROJECT_DIR to it.")


def contained(project: Project, path: str, base: Path | None = None, what: str = "path") -> Path:
    """``path`` (absolute, or relative to ``base``/the program directory) resolved inside the project root.

    Raises ProjectFileError for a path that leaves the project (``..``, an absolute path elsewhere, a
    symlink pointing out)."""
    candidate = Path(path)
    resolved = (candidate if candidate.is_absolute() else (base or project.program_dir) / candidate).resolve()
    if not resolved.is_relative_to(project.root):
        raise ProjectFileError(
            f"the {what} {path!r} resolves to {resolved}, outside the project {project.root}; the pack reads only "
            "files inside the project. Fix: keep the build context and Dockerfile inside the project.")
    return resolved
