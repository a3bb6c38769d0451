"""A Dockerfile as the builder reads it: stages, what the target stage starts, where its files come from.

Parsed with ``dockerfile-parse`` into instructions; stages are split at ``FROM`` (``FROM <stage>``
inherits the stage's files, WORKDIR, ENV, SHELL, CMD and ENTRYPOINT); the target is ``build.target``
or the last stage. CMD/ENTRYPOINT follow Docker's rules: exec form is a JSON array, anything else
runs through the stage's SHELL (``/bin/sh -c`` by default), and an ENTRYPOINT set in a stage clears a
CMD inherited from an earlier one. A path inside the image is traced back through the COPY/ADD
instructions that wrote it (``--from=<stage>`` followed into that stage) to a file of the build
context, so scripts and package.json copied into the image can be read from the project.
"""

from __future__ import annotations

import fnmatch
import io
import json
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from dockerfile_parse import DockerfileParser

DEFAULT_SHELL = ["/bin/sh", "-c"]
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MAX_HOPS = 32


class DockerfileError(Exception):
    """The Dockerfile cannot be used as given (unknown target stage, ...)."""


@dataclass
class Copy:
    sources: list[str]
    destination: str  # absolute in the image
    into_directory: bool
    stage: str | None  # --from=<stage name or index>; None: the build context


@dataclass
class Stage:
    index: int
    name: str | None
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)  # (KEYWORD, value)


@dataclass
class StartCommand:
    entrypoint: list[str] | None
    cmd: list[str] | None
    workdir: str
    path: str  # PATH for looking up bare program names


def _substitute(text: str, values: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return values.get(name, "")
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-+][^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)", replace, text)


def _json_array(value: str) -> list[str] | None:
    stripped = value.strip()
    if not stripped.startswith("["):
        return None
    try:
        parsed = json.loads(stripped)  # valid JSON starting with "[" is an array
    except json.JSONDecodeError:
        return None  # Docker runs an invalid JSON array in shell form
    return [str(v) for v in parsed]


def _copy(value: str, workdir: str) -> Copy | None:
    words = value.split()
    flags = {}
    while words and words[0].startswith("--"):
        key, _, flag_value = words.pop(0)[2:].partition("=")
        flags[key] = flag_value
    array = _json_array(" ".join(words))
    words = array if array is not None else words
    if len(words) < 2 or any(w.startswith("<<") for w in words):
        return None  # heredoc or malformed: no file of the context
    *sources, destination = words
    target = posixpath.normpath(posixpath.join(workdir, destination))
    into_directory = destination.endswith("/") or destination == "." or len(sources) > 1 or any(
        is_glob(s) for s in sources)
    return Copy([s for s in sources if not re.match(r"^[a-z]+://", s)], target, into_directory, flags.get("from"))


class Dockerfile:
    def __init__(self, text: str, build_args: dict[str, str] | None = None):
        parser = DockerfileParser(fileobj=io.BytesIO(text.encode()))
        self.stages: list[Stage] = []
        global_args: dict[str, str] = {}
        for instruction in parser.structure:
            keyword, value = instruction["instruction"].upper(), instruction["value"]
            if keyword == "FROM":
                words = _substitute(value, {**global_args, **(build_args or {})}).split()
                words = [w for w in words if not w.startswith("--")]  # --platform=...
                name = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else None
                self.stages.append(Stage(len(self.stages), name, words[0] if words else ""))
            elif not self.stages:
                if keyword == "ARG":
                    key, _, default = value.partition("=")
                    global_args[key.strip()] = default.strip().strip('"')
            else:
                self.stages[-1].instructions.append((keyword, value))
        if not self.stages:
            raise DockerfileError("it has no FROM instruction")

    # ----------------------------------------------------------------- stages

    def stage(self, reference: str | int | None) -> Stage | None:
        """A stage by name (case-insensitive) or index."""
        if isinstance(reference, int) or (isinstance(reference, str) and reference.isdigit()):
            index = int(reference)
            return self.stages[index] if 0 <= index < len(self.stages) else None
        if reference is None:
            return None
        return next((s for s in self.stages if s.name == reference.lower()), None)

    def target(self, name: str | None) -> Stage:
        if not name:
            return self.stages[-1]
        stage = self.stage(name)
        if stage is None:
            names = [s.name for s in self.stages if s.name]
            raise DockerfileError(f"the build target {name!r} is not a stage of it (stages: {names})")
        return stage

    def parent(self, stage: Stage) -> Stage | None:
        """The earlier stage ``stage`` is built FROM, if any."""
        parent = self.stage(stage.base)
        return parent if parent is not None and parent.index < stage.index else None

    def chain(self, stage: Stage) -> list[Stage]:
        """The stages ``stage`` inherits from, oldest first, ``stage`` last."""
        stages = [stage]
        while (parent := self.parent(stages[0])) is not None and len(stages) < MAX_HOPS:
            stages.insert(0, parent)
        return stages

    def _walk(self, stage: Stage) -> tuple[list[tuple[Stage, str, str, str, dict]], str, dict[str, str]]:
        """The chain's instructions in build order, each with the WORKDIR and ENV in force before it,
        and the WORKDIR and ENV after the last one."""
        steps = []
        workdir, env = "/", {"PATH": DEFAULT_PATH}
        for member in self.chain(stage):
            for keyword, value in member.instructions:
                steps.append((member, keyword, value, workdir, env))
                if keyword == "WORKDIR":
                    workdir = posixpath.normpath(posixpath.join(workdir, _substitute(value.strip(), env)))
                elif keyword == "ENV":
                    env = {**env, **_env_pairs(value, env)}
        return steps, workdir, env

    def start_command(self, stage: Stage) -> StartCommand:
        shell = list(DEFAULT_SHELL)
        entrypoint = cmd = None
        cmd_stage = None
        steps, workdir, env = self._walk(stage)
        for member, keyword, value, _workdir, _env in steps:
            if keyword == "SHELL":
                shell = _json_array(value) or shell
            elif keyword in ("CMD", "ENTRYPOINT"):
                argv = _json_array(value)
                argv = argv if argv is not None else [*shell, value.strip()]
                if keyword == "CMD":
                    cmd, cmd_stage = argv, member.index
                else:
                    entrypoint = argv
                    if cmd_stage is not None and cmd_stage != member.index:
                        cmd = cmd_stage = None  # Docker: ENTRYPOINT resets a CMD inherited from the base
        return StartCommand(entrypoint, cmd, workdir, env["PATH"])  # _walk starts from Docker's default PATH

    # ----------------------------------------------------------------- files

    def copies(self, stage: Stage) -> list[Copy]:
        """COPY/ADD instructions of ``stage`` itself (not inherited), in order."""
        found = []
        for member, keyword, value, workdir, _env in self._walk(stage)[0]:
            if member is stage and keyword in ("COPY", "ADD"):
                copy = _copy(value, workdir)
                if copy is not None:
                    found.append(copy)
        return found

    def origins(self, path: str, stage: Stage, matches: Callable[[str], list[str]], hops: int = 0) -> list[str]:
        """Build-context paths (relative, ``/``-separated) that the image file ``path`` was copied from,
        the one Docker leaves there first.

        The last COPY writing ``path`` wins, and within it the last source. ``matches`` returns the
        context files at a path or a COPY glob (sorted, as Docker copies a glob's matches); a candidate
        that is still a glob inside another stage cannot be listed and is not followed."""
        if hops > MAX_HOPS:
            return []
        path = posixpath.normpath(path)
        for copy in reversed(self.copies(stage)):
            found: list[str] = []
            for source in reversed(copy.sources):
                for candidate in _candidates(path, source, copy):
                    if copy.stage is None:
                        relative = posixpath.normpath(candidate.lstrip("/"))
                        if not relative.startswith(".."):
                            found += reversed(matches(relative))
                    elif (literal := _unescape(candidate)) is not None:
                        other = self.stage(copy.stage)
                        if other is not None and other.index != stage.index:
                            found += self.origins(posixpath.join("/", literal), other, matches, hops + 1)
            if found:
                return found
        parent = self.parent(stage)
        return self.origins(path, parent, matches, hops + 1) if parent is not None else []


def _env_pairs(value: str, env: dict[str, str]) -> dict[str, str]:
    pairs = {}
    if "=" not in value.split(maxsplit=1)[0]:
        key, _, rest = value.strip().partition(" ")  # legacy `ENV KEY value`
        return {key: _substitute(rest.strip(), env)}
    for match in re.finditer(r'([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)', value):
        pairs[match.group(1)] = _substitute(match.group(2).strip('"'), env)
    return pairs


def is_glob(path: str) -> bool:
    return any(c in path for c in "*?[")


def _candidates(path: str, source: str, copy: Copy) -> list[str]:
    """Where in the copy's source ``path`` would come from, as globs (literal names escaped),
    latest-copied first (existence decides)."""
    source = source.rstrip("/") or "/"
    destination = copy.destination
    if path == destination and not copy.into_directory:
        return [source if is_glob(source) else _escape(source)]
    prefix = destination.rstrip("/") + "/"
    if not path.startswith(prefix):
        return []
    relative = path[len(prefix):]
    if is_glob(source):
        # Each match is copied on its own: a file by its name, a directory as its contents, not as
        # the directory (moby/moby#15858: COPY dir/* /dest/ puts dir/sub/x at /dest/x).
        candidates = [posixpath.join(source, _escape(relative))]
        if "/" not in relative and fnmatch.fnmatchcase(relative, posixpath.basename(source)):
            candidates.append(posixpath.join(posixpath.dirname(source), _escape(relative)))
        return candidates
    candidates = [_escape(posixpath.join(source, relative))]  # a directory's contents copied into the destination
    if copy.into_directory and relative == posixpath.basename(source):
        candidates.append(_escape(source))  # a file copied into the destination directory
    return candidates


ESCAPED_CHARACTER = re.compile(r"\[([*?\[])\]")  # what _escape writes for a literal *, ? or [


def _escape(name: str) -> str:
    """A literal path inside a glob (a file may be called ``[1].sh``)."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def _unescape(pattern: str) -> str | None:
    """The path a glob names when it has no wildcard left, else None."""
    return None if is_glob(ESCAPED_CHARACTER.sub("", pattern)) else ESCAPED_CHARACTER.sub(r"\1", pattern)
