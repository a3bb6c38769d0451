"""Does a container's start command run database migrations? Read it the way it would run.

A command (an exec-form argv, or a shell script) is taken apart step by step:

* shell scripts are parsed into simple commands through any control flow (``guardrails.shell``);
* wrappers are peeled with their own options: ``exec``, ``env`` (assignments, ``-u``, ``-S``),
  ``timeout``, ``nice``, ``nohup``, ``stdbuf``, ``setsid``, ``ionice``, ``gosu``/``su-exec``,
  ``sudo``, init shims (``tini``, ``dumb-init`` with ``--``), ``eval``;
* shells run their ``-c`` script whatever flags come first (``-ec``, ``-lc``, ``-o pipefail -c``),
  or a script file, which is read from the image when the caller can read files;
* package runners become the package's program, version pins dropped: ``npx [--yes] prisma@6``,
  ``npm exec [--package=..] -- prisma``, ``pnpm dlx|exec``, ``pnpx``, ``yarn dlx|exec``, ``bunx``,
  ``bun x``; a CLI started by path becomes its package (``node node_modules/prisma/build/index.js``,
  ``./node_modules/.bin/prisma``);
* package scripts are resolved from package.json, hooks and workspaces included
  (``guardrails.packages``); without a readable package.json a script is judged by its name;
* what is left is compared with the migration commands of the common tools (``migration_tools``).

The caller supplies the files (``Files``): the Dockerfile policy and the ECS policy both read them
from the image's build context through the Dockerfile's COPY instructions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import pairwise

from guardrails.packages import ALL, Package, ScriptRequest, script_request, scripts_to_run, selects
from guardrails.shell import looks_like_script, simple_commands

MAX_DEPTH = 16


@dataclass(frozen=True)
class MigrationTool:
    name: str
    programs: tuple[str, ...]  # executable or package names, version pins and paths removed
    commands: tuple[tuple[str, ...], ...]  # argument sequences that change the schema


def migration_tools() -> tuple[MigrationTool, ...]:
    """Schema-changing commands of the common migration tools (read-only ones such as `migrate status`,
    `migration:generate`, `update-sql` are deliberately absent)."""
    return (
        MigrationTool("Prisma", ("prisma",), (("migrate", "deploy"), ("migrate", "dev"), ("migrate", "reset"),
                                               ("migrate", "resolve"), ("db", "push"), ("db", "execute"))),
        MigrationTool("TypeORM", ("typeorm", "typeorm-ts-node-commonjs", "typeorm-ts-node-esm"),
                      (("migration:run",), ("migration:revert",), ("schema:sync",), ("schema:drop",))),
        MigrationTool("Knex", ("knex",), (("migrate:latest",), ("migrate:up",), ("migrate:down",),
                                          ("migrate:rollback",))),
        MigrationTool("Sequelize", ("sequelize", "sequelize-cli"),
                      (("db:migrate",), ("db:migrate:undo",), ("db:migrate:undo:all",))),
        MigrationTool("Drizzle", ("drizzle-kit",), (("migrate",), ("push",), ("push:pg",), ("push:mysql",),
                                                    ("push:sqlite",))),
        MigrationTool("MikroORM", ("mikro-orm", "mikro-orm-esm", "@mikro-orm/cli"),
                      (("migration:up",), ("migration:down",), ("migration:fresh",), ("schema:update",),
                       ("schema:create",), ("schema:fresh",), ("schema:drop",))),
        MigrationTool("Flyway", ("flyway",), (("migrate",), ("baseline",), ("repair",), ("clean",), ("undo",))),
        MigrationTool("Liquibase", ("liquibase",),
                      (("update",), ("update-count",), ("update-to-tag",), ("updateCount",), ("updateToTag",),
                       ("rollback",), ("rollback-count",), ("drop-all",))),
        MigrationTool("node-pg-migrate", ("node-pg-migrate",), (("up",), ("down",), ("redo",))),
        MigrationTool("db-migrate", ("db-migrate",), (("up",), ("down",), ("reset",))),
        MigrationTool("Alembic", ("alembic",), (("upgrade",), ("downgrade",))),
        MigrationTool("Django", ("manage.py", "django-admin", "django"), (("migrate",),)),
        MigrationTool("Flask-Migrate", ("flask",), (("db", "upgrade"), ("db", "downgrade"))),
        MigrationTool("Rails", ("rails", "rake"), (("db:migrate",), ("db:prepare",), ("db:setup",),
                                                  ("db:schema:load",), ("db:reset",))),
        MigrationTool("Laravel", ("artisan",), (("migrate",), ("migrate:fresh",), ("migrate:refresh",),
                                                ("migrate:reset",), ("migrate:rollback",))),
        MigrationTool("Ecto", ("mix",), (("ecto.migrate",), ("ecto.setup",), ("ecto.reset",), ("ecto.rollback",))),
        MigrationTool("golang-migrate", ("migrate",), (("up",), ("down",), ("goto",), ("force",))),
        MigrationTool("goose", ("goose",), (("up",), ("up-by-one",), ("up-to",), ("down",), ("reset",),
                                            ("redo",))),
        MigrationTool("dbmate", ("dbmate",), (("up",), ("migrate",), ("rollback",), ("down",))),
        MigrationTool("Atlas", ("atlas",), (("migrate", "apply"), ("schema", "apply"))),
        MigrationTool("Diesel", ("diesel",), (("migration", "run"), ("database", "setup"), ("database", "reset"))),
        MigrationTool("sqlx", ("sqlx",), (("migrate", "run"), ("database", "setup"), ("database", "reset"))),
    )


def _contains(words: list[str], sequence: tuple[str, ...]) -> bool:
    width = len(sequence)
    return any(tuple(words[i:i + width]) == sequence for i in range(len(words) - width + 1))


def tool_migration(argv: list[str]) -> str | None:
    """The migration tool ``argv`` (program first, wrappers already peeled) runs, or None."""
    program = program_name(argv[0])
    positional = [w for w in argv[1:] if not w.startswith("-")]
    for tool in migration_tools():
        if program in tool.programs and any(_contains(positional, command) for command in tool.commands):
            return tool.name
    return None


# --------------------------------------------------------------------------- names and paths


def strip_version(spec: str) -> str:
    """``prisma@6.19.3`` -> ``prisma``; ``@mikro-orm/cli@6`` -> ``@mikro-orm/cli``."""
    at = spec.find("@", 1)
    return spec[:at] if at > 0 else spec


def program_name(word: str) -> str:
    """The program a word names: the package of a path into node_modules, else the file's base name."""
    if re.fullmatch(r"(@[^/@\s]+/)?[^/@\s]+@[^/\s]*", word):
        word = strip_version(word)  # a package spec with a version pin: prisma@6, @mikro-orm/cli@6
    if re.fullmatch(r"@[^/@\s]+/[^/@\s]+", word):
        return word  # a scoped package name (@mikro-orm/cli)
    parts = [p for p in word.split("/") if p and p != "."]
    if "node_modules" in parts:
        index = len(parts) - 1 - parts[::-1].index("node_modules")  # the innermost package
        rest = parts[index + 1:]
        if rest[:1] == [".bin"] and len(rest) > 1:
            return rest[1]
        if rest and rest[0].startswith("@") and len(rest) > 1:
            return f"{rest[0]}/{rest[1]}"
        if rest:
            return rest[0]
    return parts[-1] if parts else word


def _words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w.lower() for w in re.split(r"[\s:_\-.]+", spaced) if w]


def looks_like_migration_script(name: str) -> bool:
    """Judge a package script by its name alone (used only when package.json cannot be read)."""
    words = _words(name)
    read_only = {"status", "create", "make", "generate", "new", "list", "diff", "check", "info", "validate"}
    if read_only & set(words):
        return False
    if any(w.startswith("migrat") for w in words):
        return True
    pairs = {("db", "push"), ("db", "deploy"), ("db", "setup"), ("db", "prepare"), ("db", "reset"),
             ("schema", "sync"), ("schema", "push"), ("schema", "update")}
    return any(pair in pairs for pair in pairwise(words))


# --------------------------------------------------------------------------- files


class Files:
    """What the analysis may read. The default reads nothing: scripts are judged by their names."""

    strict = False  # True when files should be readable (the image is built by this stack)

    def package(self, directory: str | None, cwd: str | None) -> Package | None:
        """The package.json in ``directory`` (relative to ``cwd``; None: ``cwd``, None: the working directory)."""
        return None

    def workspaces(self, root: Package) -> list[Package]:
        return []

    def script(self, path: str, cwd: str | None, executed: bool) -> str | None:
        """A script file the command runs: a path inside the image (relative to ``cwd``), or a bare name, which
        exec looks up on PATH only (``executed``) and a shell or ``source`` in ``cwd`` first, then on PATH."""
        return None


NO_FILES = Files()


@dataclass
class Verdict:
    migration: str | None = None  # why the command runs migrations
    unverified: list[str] = field(default_factory=list)  # what could not be checked, and why


# --------------------------------------------------------------------------- wrappers


@dataclass(frozen=True)
class Wrapper:
    value_flags: frozenset[str] = frozenset()  # flags taking the next word
    positionals: int = 0  # words before the wrapped command (timeout's duration, gosu's user)
    assignments: bool = False  # NAME=value words (env)


def wrappers() -> dict[str, Wrapper]:
    """Programs that run the rest of their arguments as another command."""
    return {
        "exec": Wrapper(frozenset({"-a"})),
        "env": Wrapper(frozenset({"-u", "--unset", "-C", "--chdir", "-S", "--split-string"}), assignments=True),
        "timeout": Wrapper(frozenset({"-s", "--signal", "-k", "--kill-after"}), positionals=1),
        "nice": Wrapper(frozenset({"-n", "--adjustment"})),
        "nohup": Wrapper(),
        "setsid": Wrapper(),
        "stdbuf": Wrapper(frozenset({"-i", "-o", "-e", "--input", "--output", "--error"})),
        "ionice": Wrapper(frozenset({"-c", "-n", "--class", "--classdata"})),
        "chrt": Wrapper(positionals=1),
        "taskset": Wrapper(positionals=1),
        "time": Wrapper(frozenset({"-f", "--format", "-o", "--output"})),
        "tini": Wrapper(frozenset({"-p", "-e"})),
        "tini-static": Wrapper(frozenset({"-p", "-e"})),
        "dumb-init": Wrapper(frozenset({"-r", "--rewrite"})),
        "catatonit": Wrapper(),
        "gosu": Wrapper(positionals=1),
        "su-exec": Wrapper(positionals=1),
        "sudo": Wrapper(frozenset({"-u", "--user", "-g", "--group", "-C", "-D", "--chdir"})),
        "xargs": Wrapper(frozenset({"-I", "-n", "-P", "-d", "-a", "-E", "-L", "-s"})),
        "command": Wrapper(),
        "builtin": Wrapper(),
    }


def _split_string(argv: list[str]) -> str | None:
    """``env -S "cmd args"``: the string env splits into the command."""
    for index, word in enumerate(argv):
        if word in ("-S", "--split-string") and index + 1 < len(argv):
            return " ".join(argv[index + 1:])
        if word.startswith("--split-string="):
            return " ".join([word.split("=", 1)[1], *argv[index + 1:]])
    return None


def peel_wrapper(argv: list[str]) -> list[str] | None:
    """``argv`` without its first program when that program is a wrapper, else None."""
    spec = wrappers().get(program_name(argv[0]))
    if spec is None:
        return None
    index = 1
    while index < len(argv):
        word = argv[index]
        if word == "--":
            index += 1
            break
        if word in spec.value_flags:
            index += 2
        elif word.startswith("-"):  # a lone "-" too: `env -` is `env -i`
            index += 1
        elif spec.assignments and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", word):
            index += 1
        else:
            break
    return argv[index + spec.positionals:]


# --------------------------------------------------------------------------- shells and runners


def shells() -> frozenset[str]:
    return frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox"})


def shell_script(argv: list[str]) -> tuple[str, str] | None:
    """(``"inline"``, script) for ``sh [flags] -c script``, (``"file"``, path) for ``sh [flags] file``."""
    words = argv[1:]
    if program_name(argv[0]) == "busybox":
        if not words or program_name(words[0]) not in shells():
            return None
        words = words[1:]
    runs_inline = False
    index = 0
    while index < len(words):
        word = words[index]
        if word in ("-o", "+o", "-O", "+O", "--rcfile", "--init-file"):
            index += 2
            continue
        if word in ("--", "-"):  # POSIX sh: a lone "-" ends the options as "--" does
            index += 1
            break
        if word.startswith(("-", "+")) and not word.startswith("--"):
            runs_inline = runs_inline or "c" in word[1:]
            index += 1
            continue
        if word.startswith("--"):
            index += 1
            continue
        break
    if index >= len(words):
        return None
    return ("inline", words[index]) if runs_inline else ("file", words[index])


def runner_target(argv: list[str]) -> tuple[str, list[str]] | None:
    """(kind, rest) for a package runner: ``("argv", [program, args...])`` or ``("script", [text])``."""
    program = program_name(argv[0])
    words = argv[1:]
    if program in ("npm", "pnpm", "yarn", "bun") and words[:1] and words[0] in ("exec", "x", "dlx"):
        words = words[1:]
    elif program not in ("npx", "pnpx", "bunx"):
        return None
    value_flags = {"-p", "--package", "--prefix", "-w", "--workspace", "--cache", "--registry",
                   "--userconfig", "-C", "--dir", "--filter", "-F"}
    index = 0
    call = None
    while index < len(words):
        word = words[index]
        if word == "--":
            index += 1
            break
        if word in ("-c", "--call") and index + 1 < len(words):
            call = words[index + 1]
            index += 2
        elif word.startswith("--call="):
            call = word.split("=", 1)[1]
            index += 1
        elif word in value_flags:
            index += 2
        elif word.startswith("-"):
            index += 1
        else:
            break
    if call is not None:
        return "script", [call]
    rest = words[index:]
    return ("argv", rest) if rest else None


def interpreter_target(argv: list[str]) -> list[str] | None:
    """The program an interpreter runs: ``node x.js args`` -> [x.js, args]; ``python -m alembic`` -> [alembic]."""
    program = program_name(argv[0])
    words = argv[1:]
    if re.fullmatch(r"python[0-9.]*", program):  # python [-u ...] [-m] module-or-file args
        return next((words[index:] for index, word in enumerate(words) if not word.startswith("-")), None)
    if program == "bundle":
        return words[1:] if words[:1] == ["exec"] and len(words) > 1 else None
    if program not in {"node", "nodejs", "ts-node", "tsx", "ts-node-esm", "bun", "deno", "php", "ruby"}:
        return None
    value_flags = {"-r", "--require", "--import", "--loader", "--experimental-loader", "-C", "--conditions",
                   "--env-file", "--title", "-P", "--project"}
    index = 0
    while index < len(words):
        word = words[index]
        if word in ("-e", "--eval", "-p", "--print"):
            return None  # inline code: not a command line
        if word in value_flags:
            index += 2
        elif word.startswith("-"):
            index += 1
        else:
            return words[index:]
    return None


# --------------------------------------------------------------------------- the analysis


class _Analysis:
    def __init__(self, files: Files):
        self.files = files
        self.verdict = Verdict()
        self.seen_scripts: set[tuple[str, str]] = set()

    def found(self, reason: str) -> bool:
        self.verdict.migration = self.verdict.migration or reason
        return True

    def script(self, text: str, trail: str, depth: int, cwd: str | None) -> bool:
        return any(self.command(words, trail, depth + 1, cwd) for words in simple_commands(text))

    def command(self, argv: list[str], trail: str, depth: int, cwd: str | None = None,
                interpreted: bool = False) -> bool:
        """True when ``argv`` runs a migration (recorded in the verdict). ``interpreted``: argv[0] is a
        file an interpreter (node, python) runs, never a shell script."""
        argv = [str(w) for w in argv if w is not None]
        while argv and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", argv[0]):
            argv = argv[1:]  # leading assignments, as a shell reads them
        if not argv or depth > MAX_DEPTH:
            return False
        if len(argv) == 1 and looks_like_script(argv[0]):
            return self.script(argv[0], trail, depth, cwd)
        here = f"{trail} -> `{' '.join(argv)}`" if trail else f"`{' '.join(argv)}`"
        program = program_name(argv[0])
        split = _split_string(argv) if program == "env" else None
        if split is not None:
            return self.script(split, here, depth, cwd)
        peeled = peel_wrapper(argv)
        if peeled is not None:
            return self.command(peeled, trail, depth + 1, cwd)
        if program in ("eval",):
            return self.script(" ".join(argv[1:]), here, depth, cwd)
        if program in shells():
            return self.shell(argv, here, depth, cwd)
        if program in ("source", "."):
            return len(argv) > 1 and self.script_file(argv[1], here, depth, cwd, executed=False)
        runner = runner_target(argv)
        if runner is not None:
            kind, rest = runner
            if kind == "script":
                return self.script(rest[0], here, depth, cwd)
            return self.command(rest, here, depth + 1, cwd)
        if program in ("npm", "yarn", "pnpm", "bun"):
            request = script_request(program, argv[1:])
            if request is not None:
                return self.package_scripts(request, here, depth, cwd)
            return False  # a builtin (install, build, test...): `bun exec`/`bun x` are runners, read above
        if program in ("npm-run-all", "run-s", "run-p", "npm-run-all2", "concurrently"):
            return self.script_list(program, argv[1:], here, depth, cwd)
        target = None if interpreted else interpreter_target(argv)
        if target is not None:
            return self.command(target, here, depth + 1, cwd, interpreted=True)
        tool = tool_migration(argv)
        if tool:
            return self.found(f"{here} runs {tool} migrations")
        if not interpreted and ("/" in argv[0] or argv[0].endswith((".sh", ".bash"))):
            return self.script_file(argv[0], here, depth, cwd, executed=True)
        return False

    def shell(self, argv: list[str], here: str, depth: int, cwd: str | None) -> bool:
        target = shell_script(argv)
        if target is None:
            return False
        kind, value = target
        if kind == "inline":
            return self.script(value, here, depth, cwd)
        return self.script_file(value, here, depth, cwd, executed=False)

    def script_file(self, path: str, here: str, depth: int, cwd: str | None, executed: bool) -> bool:
        if "$" in path:
            return False  # "$@" and friends: the arguments are checked where they come from
        key = ("file", path)
        if key in self.seen_scripts:
            return False
        self.seen_scripts.add(key)
        text = self.files.script(path, cwd, executed)
        if text is None:
            # Not copied from the build context: a binary or a script of the base image, or one a RUN
            # step wrote. The pack cannot see those; they are not reported.
            return False
        first = text.lstrip().splitlines()[0] if text.strip() else ""
        if first.startswith("#!") and "sh" not in first:  # sh, bash, dash, zsh... all end in "sh"
            return False  # a node/python script: not shell
        return self.script(text, f"{here} (script {path})", depth, cwd)

    def package_scripts(self, request: ScriptRequest, here: str, depth: int, cwd: str | None) -> bool:
        root = self.files.package(request.directory, cwd)
        if root is None:
            if any(looks_like_migration_script(name) for name in request.names):
                return self.found(f"{here} runs the package script {request.names[0]!r} (package.json not "
                                  "readable; judged by the script's name)")
            if request.bin_fallback and self.command(request.names + request.arguments, here, depth + 1, cwd):
                return True
            if self.files.strict:
                self.verdict.unverified.append(
                    f"{here}: package.json{' in ' + request.directory if request.directory else ''} is not in "
                    "the image's build context, so the script it runs cannot be checked")
            return False
        packages = [root]
        if request.workspaces:
            members = self.files.workspaces(root)
            packages = [p for p in members if any(selects(s, p) for s in request.workspaces)]
            if not packages and request.workspaces != [ALL]:
                self.verdict.unverified.append(f"{here}: no workspace matches {request.workspaces}")
        for package in packages:
            names = scripts_to_run(request, package)
            # No such script: `npm start` runs `node server.js` (never a migration command); yarn, pnpm and bun
            # run a binary of that name.
            if not names and request.bin_fallback and self.command(request.names + request.arguments, here, depth + 1,
                                                                   package.directory):
                return True
            for name in names:
                key = (package.directory, name)
                if key in self.seen_scripts:
                    continue
                self.seen_scripts.add(key)
                body = package.scripts[name]
                if self.script(body, f"{here} -> script {name!r} (`{body}`)", depth, package.directory):
                    return True
        return False

    def script_list(self, program: str, words: list[str], here: str, depth: int, cwd: str | None) -> bool:
        """npm-run-all / run-s / run-p script names (globs allowed), concurrently's commands and npm:names."""
        names, commands = [], []
        for word in words:
            if word.startswith("-"):
                continue
            if program == "concurrently":
                if word.startswith(("npm:", "yarn:", "pnpm:", "bun:")):
                    manager, name = word.split(":", 1)
                    commands.append([manager, "run", name])
                else:
                    commands.append([word])
            else:
                names.append(word)
        package = self.files.package(None, cwd)
        for name in names:
            matched = [n for n in (package.scripts if package else {}) if re.fullmatch(
                re.escape(name).replace(r"\*\*", ".*").replace(r"\*", "[^:]*"), n)] or [name]
            commands += [["npm", "run", n] for n in matched]
        return any(self.command(c, here, depth + 1, cwd) for c in commands)


def analyse(argv: list[str] | str | None, files: Files = NO_FILES, cwd: str | None = None) -> Verdict:
    """Whether a start command (exec-form argv, or a shell-form string) runs migrations."""
    analysis = _Analysis(files)
    if isinstance(argv, str):
        analysis.script(argv, "", 0, cwd)
    elif argv:
        analysis.command(list(argv), "", 0, cwd)
    return analysis.verdict


def find_migration(argv: list[str] | str | None, files: Files = NO_FILES, cwd: str | None = None) -> str | None:
    """Why ``argv`` runs a database migration, or None."""
    return analyse(argv, files, cwd).migration
