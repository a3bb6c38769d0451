"""Recognise database migrations in a container's start command, whatever shape it takes.

A command is split the way a shell would run it (exec arrays, `sh -c` scripts, chains with
`&&`, `||`, `;`, `|`), wrappers are peeled off (`exec`, `env`, `npx`, package-manager `run`,
`python -m`, `bundle exec`, `node_modules/.bin/`), and what is left is matched against the
migration commands of the common tools.
"""

from __future__ import annotations

import re
import shlex

SHELLS = {"sh", "bash", "ash", "dash", "zsh"}
_CHAIN = re.compile(r"&&|\|\||;|\||\n")
_ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# Package-manager script names that run migrations (npm run migrate:deploy, yarn db:push, ...).
MIGRATION_SCRIPT = re.compile(r"migrat|db[:_-]?push|db:deploy|schema[:_-]?(sync|push)|db:setup|db:prepare", re.I)

# (tool, predicate over the peeled argv) — argv[0] is the tool's base name.
_TOOLS: list[tuple[str, re.Pattern[str]]] = [
    ("Prisma", re.compile(r"^prisma (migrate (deploy|dev|reset|resolve)|db push)\b")),
    ("Knex", re.compile(r"^knex (migrate:(latest|up|rollback)|migrate)\b")),
    ("Sequelize", re.compile(r"^(sequelize|sequelize-cli) db:migrate\b")),
    ("TypeORM", re.compile(r"^(typeorm|typeorm-ts-node-commonjs|typeorm-ts-node-esm) (migration:run|schema:sync)\b")),
    ("MikroORM", re.compile(r"^mikro-orm (migration:up|schema:update)\b")),
    ("node-pg-migrate", re.compile(r"^node-pg-migrate( up)?\b")),
    ("db-migrate", re.compile(r"^db-migrate up\b")),
    ("Drizzle", re.compile(r"^drizzle-kit (migrate|push)\b")),
    ("Alembic", re.compile(r"^alembic( .*)? upgrade\b")),
    ("Django", re.compile(r"^(manage\.py|django-admin)( .*)? migrate\b")),
    ("Flask-Migrate", re.compile(r"^flask db upgrade\b")),
    ("Rails", re.compile(r"^(rails|rake) db:(migrate|prepare|setup|schema:load)\b")),
    ("Laravel", re.compile(r"^artisan migrate\b")),
    ("Ecto", re.compile(r"^mix ecto\.migrate\b")),
    ("Flyway", re.compile(r"^flyway( .*)? migrate\b")),
    ("Liquibase", re.compile(r"^liquibase( .*)? update\b")),
    ("golang-migrate", re.compile(r"^migrate( .*)? up\b")),
    ("goose", re.compile(r"^goose( .*)? up\b")),
    ("dbmate", re.compile(r"^dbmate( .*)? (up|migrate)\b")),
    ("Atlas", re.compile(r"^atlas (migrate apply|schema apply)\b")),
    ("Diesel", re.compile(r"^diesel migration run\b")),
    ("sqlx", re.compile(r"^sqlx migrate run\b")),
]


def _split_script(script: str) -> list[list[str]]:
    commands = []
    for part in _CHAIN.split(script):
        try:
            tokens = shlex.split(part, comments=True)
        except ValueError:
            tokens = part.split()
        if tokens:
            commands.append(tokens)
    return commands


def _peel(tokens: list[str]) -> list[str]:
    """Drop wrappers until the real program is first."""
    tokens = list(tokens)
    while tokens:
        head = tokens[0].rsplit("/", 1)[-1]
        if _ENV_ASSIGNMENT.match(tokens[0]) or head in ("exec", "env", "time", "nohup", "dumb-init", "tini", "--"):
            tokens = tokens[1:]
        elif head in ("npx", "bunx", "pnpx"):
            tokens = [t for t in tokens[1:] if not t.startswith("-")]
        elif head in ("pnpm", "yarn") and len(tokens) > 1 and tokens[1] in ("dlx", "exec"):
            tokens = tokens[2:]
        elif head in ("python", "python3") and len(tokens) > 2 and tokens[1] == "-m":
            tokens = tokens[2:]
        elif head in ("python", "python3", "node", "php", "ruby") and len(tokens) > 1 and not tokens[1].startswith("-"):
            tokens = tokens[1:]  # `python manage.py migrate`, `php artisan migrate`, `node node_modules/.bin/x`
        elif head == "bundle" and len(tokens) > 1 and tokens[1] == "exec":
            tokens = tokens[2:]
        else:
            break
    if tokens:
        tokens[0] = tokens[0].rsplit("/", 1)[-1]
    return tokens


def _package_script(tokens: list[str]) -> str | None:
    """The script a package manager is asked to run, if any."""
    head = tokens[0]
    rest = [t for t in tokens[1:] if not t.startswith("-")]
    if head in ("npm", "bun") and len(rest) >= 2 and rest[0] in ("run", "run-script"):
        return rest[1]
    if head == "npm" and rest and rest[0] in ("start", "test"):
        return rest[0]
    if head in ("yarn", "pnpm") and rest:
        return rest[1] if rest[0] == "run" and len(rest) > 1 else rest[0]
    return None


def find_migration(argv: list[str] | None, scripts: dict[str, str] | None = None) -> str | None:
    """Why ``argv`` (a container command or entry point) runs a migration, or None.

    ``scripts`` are the package.json scripts, used to look inside `npm run <name>`.
    """
    if not argv:
        return None
    queue = [list(argv)]
    seen = 0
    while queue and seen < 50:
        seen += 1
        raw = queue.pop(0)
        if raw and (" " in raw[0].strip() or _CHAIN.search(raw[0])):
            queue.extend(_split_script(" ".join(raw)))  # a whole script passed as one exec-array element
            continue
        tokens = _peel(raw)
        if not tokens:
            continue
        head = tokens[0]
        if head in SHELLS:
            script_index = next((i for i, t in enumerate(tokens[1:], 1) if t.startswith("-") and "c" in t), None)
            if script_index is not None and script_index + 1 < len(tokens):
                queue.extend(_split_script(tokens[script_index + 1]))
            continue
        script = _package_script(tokens)
        if script is not None:
            if MIGRATION_SCRIPT.search(script):
                return f"`{' '.join(tokens)}` runs the package script {script!r}"
            if scripts and script in scripts:
                queue.extend(_split_script(scripts[script]))
            continue
        joined = " ".join(tokens)
        for tool, pattern in _TOOLS:
            if pattern.search(joined):
                return f"`{joined}` runs {tool} migrations"
    return None


def find_migration_in_script(text: str) -> str | None:
    """A shell script's lines (an entrypoint script), checked command by command."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            reason = find_migration(["sh", "-c", stripped])
            if reason:
                return reason
    return None
