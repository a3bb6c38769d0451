"""What a package-manager command line asks for, and which package.json scripts that runs.

``npm``, ``yarn``, ``pnpm`` and ``bun`` are read as their CLIs read them: global flags (workspace
selectors, ``--prefix``/``--cwd``/``--dir``), the command (``run``/``run-script``, lifecycle
commands such as ``start`` and ``test``, a bare script name for yarn/pnpm/bun), then the script and
its arguments. Running a script also runs its ``pre<name>`` and ``post<name>`` hooks. npm and yarn 1
do that; pnpm (without ``enable-pre-post-scripts``), yarn 2+ and bun do not, but a migration in a
hook next to the start script is a migration at start however the image is run, so hooks count for
every manager.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from typing import Any

ALL = "*"  # every workspace


@dataclass
class ScriptRequest:
    manager: str
    names: list[str]  # scripts to run, in order (before hooks)
    directory: str | None = None  # --prefix / --cwd / --dir / -C
    workspaces: list[str] = field(default_factory=list)  # selectors; [ALL] for every workspace
    bin_fallback: bool = False  # yarn/pnpm/bun run a binary of that name when there is no script
    arguments: list[str] = field(default_factory=list)


@dataclass
class Package:
    """A package.json as the policies need it."""

    directory: str  # where it lives (an in-image path, or a label when read from disk directly)
    name: str | None
    scripts: dict[str, str]
    workspace_patterns: list[str]

    @classmethod
    def from_json(cls, directory: str, text: str) -> Package:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"{directory}/package.json is not valid JSON: {error}") from error
        if not isinstance(document, dict):
            raise ValueError(f"{directory}/package.json is not a JSON object")
        scripts = document.get("scripts") or {}
        return cls(directory, document.get("name"),
                   {str(k): str(v) for k, v in scripts.items()} if isinstance(scripts, dict) else {},
                   workspace_patterns(document))


def workspace_patterns(document: dict[str, Any]) -> list[str]:
    """npm/yarn ``workspaces`` as a list, or yarn's ``{"packages": [...]}``."""
    workspaces = document.get("workspaces") or []
    if isinstance(workspaces, dict):
        workspaces = workspaces.get("packages") or []
    return [str(w) for w in workspaces if isinstance(w, str)]


def lifecycle(scripts: dict[str, str], name: str) -> list[str]:
    """The scripts a run of ``name`` executes, hooks included, in order."""
    if name not in scripts:
        return []
    return [n for n in (f"pre{name}", name, f"post{name}") if n in scripts]


def npm_restart(scripts: dict[str, str]) -> list[str]:
    """`npm restart` runs the restart script, or stop and then start when there is none."""
    if "restart" in scripts:
        return lifecycle(scripts, "restart")
    return lifecycle(scripts, "stop") + lifecycle(scripts, "start")


def selects(selector: str, package: Package) -> bool:
    """A workspace selector (name, path or glob of either) that picks ``package``."""
    if selector == ALL:
        return True
    path = package.directory.rstrip("/")
    candidates = [package.name or "", path, path.rsplit("/", 1)[-1]]
    cleaned = selector.strip("./").rstrip("/") if not selector.startswith("@") else selector
    return any(fnmatch.fnmatch(c, cleaned) or c.endswith("/" + cleaned) for c in candidates if c)


# --------------------------------------------------------------------------- command lines


def _value_flags(manager: str) -> frozenset[str]:
    """Flags that take the next word as their value, per manager."""
    return {
        "npm": frozenset({"-w", "--workspace", "--prefix", "-C", "--loglevel", "--script-shell", "--userconfig"}),
        "yarn": frozenset({"--cwd"}),
        "pnpm": frozenset({"--filter", "-F", "-C", "--dir", "--reporter", "--workspace-concurrency"}),
        "bun": frozenset({"--cwd", "--filter", "-F", "--shell"}),
    }.get(manager, frozenset())


def _split(manager: str, words: list[str], passthrough: bool = True) -> tuple[dict[str, list[str]], list[str]]:
    """Options (flag -> values) and positional words, up to ``--`` (the rest become arguments).

    yarn, pnpm and bun hand the words after their command to it unread (``passthrough``)."""
    options: dict[str, list[str]] = {}
    positional: list[str] = []
    takes_value = _value_flags(manager)
    index = 0
    while index < len(words):
        word = words[index]
        if word == "--":
            positional.append("--")
            positional += words[index + 1:]
            break
        if positional and passthrough and manager != "npm":
            positional.append(word)  # after the command, yarn/pnpm/bun pass flags on to the script
        elif word.startswith("-") and len(word) > 1:
            if "=" in word and word.startswith("--"):
                key, value = word.split("=", 1)
                options.setdefault(key, []).append(value)
            elif word in takes_value and index + 1 < len(words):
                options.setdefault(word, []).append(words[index + 1])
                index += 1
            else:
                options.setdefault(word, []).append("")
        else:
            positional.append(word)
        index += 1
    return options, positional


def _arguments(rest: list[str]) -> list[str]:
    return rest[1:] if rest[:1] == ["--"] else rest


def _first(options: dict[str, list[str]], *names: str) -> str | None:
    for name in names:
        if options.get(name):
            return options[name][0]
    return None


def _named_script(manager: str, words: list[str]) -> tuple[str | None, dict[str, list[str]], list[str]]:
    """The script name after ``run`` (its own flags skipped), the flags, and the script's arguments."""
    options, positional = _split(manager, words, passthrough=False)
    names = [w for w in positional if w != "--"][:1]
    if not names:
        return None, options, []
    return names[0], options, _arguments(positional[positional.index(names[0]) + 1:])


def _npm(words: list[str]) -> ScriptRequest | None:
    options, positional = _split("npm", words)
    if not positional:
        return None
    command, rest = positional[0], positional[1:]
    workspaces = options.get("-w", []) + options.get("--workspace", [])
    if "-ws" in options or "--workspaces" in options:
        workspaces = [ALL]
    directory = _first(options, "--prefix", "-C")
    if command in ("run", "run-script", "rum", "urn"):
        name = next((w for w in rest if w != "--"), None)
        if name is None:
            return None
        return ScriptRequest("npm", [name], directory, workspaces, arguments=_arguments(rest[rest.index(name) + 1:]))
    if command in ("start", "stop", "test", "t", "tst", "restart"):
        name = "test" if command in ("t", "tst") else command
        return ScriptRequest("npm", [name], directory, workspaces, arguments=_arguments(rest))
    return None


def _builtin(manager: str) -> frozenset[str]:
    """Commands of the manager itself, which are never script names."""
    return {
        "yarn": frozenset({"install", "add", "remove", "upgrade", "init", "info", "config", "cache", "link",
                           "unlink", "why", "pack", "publish", "set", "plugin", "version", "audit", "outdated",
                           "login", "logout", "list", "global", "import", "licenses", "autoclean", "check",
                           "generate-lock-entry", "owner", "tag", "team", "policies", "node", "bin", "dedupe",
                           "explain", "constraints", "npm", "patch", "patch-commit", "rebuild", "search", "stage",
                           "up", "dlx", "exec", "create"}),
        "pnpm": frozenset({"install", "i", "add", "remove", "rm", "update", "up", "link", "unlink", "import",
                           "rebuild", "prune", "fetch", "install-test", "dedupe", "patch", "patch-commit", "audit",
                           "list", "ls", "outdated", "why", "licenses", "pack", "publish", "root", "store", "bin",
                           "env", "setup", "init", "deploy", "doctor", "config", "server", "dlx", "exec", "create",
                           "cat-file", "cat-index", "find-hash"}),
        "bun": frozenset({"install", "i", "add", "a", "remove", "rm", "update", "link", "unlink", "pm", "build",
                          "init", "create", "upgrade", "test", "x", "publish", "outdated", "patch", "audit",
                          "info", "why", "repl", "exec"}),
    }.get(manager, frozenset())


def _yarn(words: list[str]) -> ScriptRequest | None:
    options, positional = _split("yarn", words)
    directory = _first(options, "--cwd")
    if not positional:
        return None  # bare `yarn` installs
    command = positional[0]
    if command == "workspace":
        inner = _yarn(positional[2:]) if len(positional) >= 3 else None
        if inner is not None:
            inner.workspaces = [positional[1]]
            inner.directory = inner.directory or directory
        return inner
    if command == "workspaces":  # yarn 1: workspaces run <x>; yarn 2+: workspaces foreach [flags] run <x>
        if "run" not in positional:
            return None
        name, _flags, arguments = _named_script("yarn", positional[positional.index("run") + 1:])
        return ScriptRequest("yarn", [name], directory, [ALL], bin_fallback=True, arguments=arguments) if name \
            else None
    if command == "run":
        name, flags, arguments = _named_script("yarn", positional[1:])
        if name is None:
            return None
        return ScriptRequest("yarn", [name], _first(flags, "--cwd") or directory, bin_fallback=True,
                             arguments=arguments)
    if command in _builtin("yarn") or command.startswith("-"):
        return None
    return ScriptRequest("yarn", [command], directory, bin_fallback=True, arguments=_arguments(positional[1:]))


def _pnpm(words: list[str]) -> ScriptRequest | None:
    options, positional = _split("pnpm", words)
    directory = _first(options, "-C", "--dir")
    workspaces = options.get("--filter", []) + options.get("-F", [])
    if "-r" in options or "--recursive" in options:
        workspaces = [ALL]
    if not positional:
        return None
    command = positional[0]
    if command in ("run", "run-script"):
        name, flags, arguments = _named_script("pnpm", positional[1:])
        if name is None:
            return None
        workspaces += flags.get("--filter", []) + flags.get("-F", [])
        if "-r" in flags or "--recursive" in flags:
            workspaces = [ALL]
        return ScriptRequest("pnpm", [name], _first(flags, "-C", "--dir") or directory, workspaces,
                             arguments=arguments)
    if command in ("start", "test", "t", "restart", "stop"):
        name = "test" if command == "t" else command
        return ScriptRequest("pnpm", [name], directory, workspaces, arguments=_arguments(positional[1:]))
    if command in _builtin("pnpm"):
        return None
    return ScriptRequest("pnpm", [command], directory, workspaces, bin_fallback=True,
                         arguments=_arguments(positional[1:]))


def _bun(words: list[str]) -> ScriptRequest | None:
    options, positional = _split("bun", words)
    directory = _first(options, "--cwd")
    workspaces = options.get("--filter", []) + options.get("-F", [])
    if not positional:
        return None
    command = positional[0]
    if command == "run":
        name, flags, arguments = _named_script("bun", positional[1:])
        if name is None:
            return None
        workspaces += flags.get("--filter", []) + flags.get("-F", [])
        return ScriptRequest("bun", [name], _first(flags, "--cwd") or directory, workspaces, bin_fallback=True,
                             arguments=arguments)
    if command in _builtin("bun"):
        return None
    return ScriptRequest("bun", [command], directory, workspaces, bin_fallback=True,
                         arguments=_arguments(positional[1:]))


def script_request(manager: str, words: list[str]) -> ScriptRequest | None:
    """What ``<manager> <words...>`` asks for, or None when it runs no package script."""
    reader = {"npm": _npm, "yarn": _yarn, "pnpm": _pnpm, "bun": _bun}.get(manager)
    return reader(words) if reader else None


def scripts_to_run(request: ScriptRequest, package: Package) -> list[str]:
    """The scripts of ``package`` that ``request`` executes, hooks included."""
    names: list[str] = []
    for name in request.names:
        if request.manager == "npm" and name == "restart":
            names += npm_restart(package.scripts)
        else:
            names += lifecycle(package.scripts, name)
    return names
