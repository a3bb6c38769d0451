"""The pack's models called directly: shell parsing, wrappers, package scripts, Dockerfile stages, credential
names, IAM documents. Fast and in process: these are the tests mutation testing (`make mutate`) relies on, so
each table entry has its own case and messages are asserted."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import pytest

from guardrails import credentials, iam, migrations, packages, shell  # isort: skip
from guardrails import project as project_module  # isort: skip
from guardrails.common import as_list  # isort: skip
from guardrails.dockerfile import DEFAULT_PATH, MAX_HOPS, Dockerfile, DockerfileError  # isort: skip
from guardrails.migrations import Files, analyse, find_migration  # isort: skip
from guardrails.packages import Package  # isort: skip

# ----------------------------------------------------------------------------- shell


@pytest.mark.parametrize(("script", "commands"), [
    ("a && b || c; d | e", [["a"], ["b"], ["c"], ["d"], ["e"]]),
    ("if x; then y; elif z; then w; else v; fi", [["x"], ["y"], ["z"], ["w"], ["v"]]),
    ("while a; do b; done; until c; do d; done", [["a"], ["b"], ["c"], ["d"]]),
    ("for i in 1 2; do run $i; done", [["run", "$i"]]),
    ("(cd /app && go) | tee log", [["cd", "/app"], ["go"], ["tee", "log"]]),
    ("{ one; two; }", [["one"], ["two"]]),
    ("X=1 Y=2 cmd arg > out 2>&1", [["cmd", "arg"]]),
    ("v=$(inner arg)", [["inner", "arg"]]),
    ("f() { body; }; f", [["body"], ["f"]]),
    ("# only a comment\n\n", []),
    ("", []),
    ("   ", []),
    ("echo 'a && b'", [["echo", "a && b"]]),
    ("case $x in a) run;; esac", [["$x", "in", "a"], ["run"]]),
    ("[[ -n $x ]] && run", [["-n", "$x", "]]"], ["run"]]),
    ("time run fast", [["run", "fast"]]),
    ("if a; then\n  b\nfi\n[[ x ]] && c", [["a"], ["b"], ["x", "]]"], ["c"]]),
    ("echo \"unbalanced", [["echo", "\"unbalanced"]]),
    ("x; ; y", [["x"], ["y"]]),
    ("! a", [["a"]]),
    # Parsed whole before line by line: a here-document is data, a quoted line break is one word.
    ("cat <<EOF\nnpx prisma migrate deploy\nEOF\n", [["cat"]]),
    ("echo \"a\nb\"", [["echo", "a\nb"]]),
    # Line by line (bashlex cannot read `[[ ]]`): blank lines skipped, parsable lines still parsed.
    ("[[ x ]]\n\nrun", [["x", "]]"], ["run"]]),
    ("[[ x ]]\nv=$(inner arg)", [["x", "]]"], ["inner", "arg"]]),
    # The fallback tokenizer: quotes removed, comments dropped, a run of operators is one separator.
    ("[[ x ]] && echo \"two words\"", [["x", "]]"], ["echo", "two words"]]),
    ("[[ -n $XDG ]] && run  # a comment", [["-n", "$XDG", "]]"], ["run"]]),
    ("[[ x ]] ;&|()<> y", [["x", "]]"], ["y"]]),
])
def test_simple_commands(script, commands):
    assert shell.simple_commands(script) == commands


def test_reserved_words_are_the_shells():
    assert {"if", "then", "fi", "do", "done", "while", "until", "case", "esac", "{", "}", "!", "time", "elif",
            "else", "for", "in", "[[", "]]", "select", "function", "coproc"} == set(shell.reserved_words())


@pytest.mark.parametrize(("word", "script"), [
    ("npx prisma migrate deploy", True), ("a&&b", True), ("a||b", True), ("a;b", True), ("a|b", True),
    ("line\nbreak", True), ("node", False), ("  node  ", False), ("dist/src/main", False),
])
def test_looks_like_script(word, script):
    assert shell.looks_like_script(word) is script


# ----------------------------------------------------------------------------- names


@pytest.mark.parametrize(("word", "program"), [
    ("prisma", "prisma"), ("prisma@6.19.3", "prisma"), ("@mikro-orm/cli", "@mikro-orm/cli"),
    ("@mikro-orm/cli@6.1", "@mikro-orm/cli"), ("/usr/local/bin/node", "node"), ("./node_modules/.bin/knex", "knex"),
    ("node_modules/prisma/build/index.js", "prisma"), ("/app/node_modules/@mikro-orm/cli/cli.js", "@mikro-orm/cli"),
    ("/a/node_modules/.pnpm/prisma@6/node_modules/prisma/build/index.js", "prisma"), ("node_modules/", "node_modules"),
    ("node_modules/.bin", ".bin"), ("./", "./"), ("bin/rails", "rails"),
    ("./node_modules/@mikro-orm/cli", "@mikro-orm/cli"), ("node_modules/@mikro-orm", "@mikro-orm"),
])
def test_program_name(word, program):
    assert migrations.program_name(word) == program


@pytest.mark.parametrize(("spec", "name"), [
    ("prisma@6", "prisma"), ("@scope/x@1", "@scope/x"), ("@scope/x", "@scope/x"), ("x", "x"), ("@x", "@x"),
    ("x@1", "x")])
def test_strip_version(spec, name):
    assert migrations.strip_version(spec) == name


@pytest.mark.parametrize(("name", "migrating"), [
    ("migrate", True), ("migrate:deploy", True), ("db:migrate", True), ("migrations", True), ("runMigrations", True),
    ("db:push", True), ("db-deploy", True), ("db_setup", True), ("db.prepare", True), ("db:reset", True),
    ("schema:sync", True), ("schema:push", True), ("schema:update", True),
    ("migrate:status", False), ("migration:create", False), ("migrate:make", False), ("migration:generate", False),
    ("migrate:new", False), ("migrate:list", False), ("migrate:diff", False), ("migrate:check", False),
    ("migrate:info", False), ("migrate:validate", False), ("start", False), ("db:seed", False), ("build", False),
    ("push", False), ("schema:lint", False),
])
def test_looks_like_migration_script(name, migrating):
    assert migrations.looks_like_migration_script(name) is migrating


# ----------------------------------------------------------------------------- migration tools, one case each

TOOL_CASES = [
    (["prisma", "migrate", "deploy"], "Prisma"), (["prisma", "migrate", "dev"], "Prisma"),
    (["prisma", "migrate", "reset", "--force"], "Prisma"),
    (["prisma", "migrate", "resolve", "--applied", "x"], "Prisma"),
    (["prisma", "db", "push"], "Prisma"), (["prisma", "db", "execute", "--file", "x.sql"], "Prisma"),
    (["typeorm", "migration:run"], "TypeORM"), (["typeorm-ts-node-commonjs", "migration:revert"], "TypeORM"),
    (["typeorm-ts-node-esm", "schema:sync"], "TypeORM"), (["typeorm", "schema:drop"], "TypeORM"),
    (["knex", "migrate:latest"], "Knex"), (["knex", "migrate:up"], "Knex"), (["knex", "migrate:down"], "Knex"),
    (["knex", "--knexfile", "k.js", "migrate:rollback"], "Knex"),
    (["sequelize", "db:migrate"], "Sequelize"), (["sequelize-cli", "db:migrate:undo"], "Sequelize"),
    (["sequelize", "db:migrate:undo:all"], "Sequelize"),
    (["drizzle-kit", "migrate"], "Drizzle"), (["drizzle-kit", "push"], "Drizzle"),
    (["drizzle-kit", "push:pg"], "Drizzle"),
    (["drizzle-kit", "push:mysql"], "Drizzle"), (["drizzle-kit", "push:sqlite"], "Drizzle"),
    (["mikro-orm", "migration:up"], "MikroORM"), (["mikro-orm-esm", "migration:down"], "MikroORM"),
    (["@mikro-orm/cli", "migration:fresh"], "MikroORM"), (["mikro-orm", "schema:update", "--run"], "MikroORM"),
    (["mikro-orm", "schema:create"], "MikroORM"), (["mikro-orm", "schema:fresh"], "MikroORM"),
    (["mikro-orm", "schema:drop"], "MikroORM"),
    (["flyway", "migrate"], "Flyway"), (["flyway", "baseline"], "Flyway"), (["flyway", "repair"], "Flyway"),
    (["flyway", "clean"], "Flyway"), (["flyway", "undo"], "Flyway"),
    (["liquibase", "update"], "Liquibase"), (["liquibase", "update-count", "3"], "Liquibase"),
    (["liquibase", "update-to-tag", "v1"], "Liquibase"), (["liquibase", "updateCount", "1"], "Liquibase"),
    (["liquibase", "updateToTag", "v1"], "Liquibase"), (["liquibase", "rollback", "v1"], "Liquibase"),
    (["liquibase", "rollback-count", "1"], "Liquibase"), (["liquibase", "drop-all"], "Liquibase"),
    (["node-pg-migrate", "up"], "node-pg-migrate"), (["node-pg-migrate", "down"], "node-pg-migrate"),
    (["node-pg-migrate", "redo"], "node-pg-migrate"),
    (["db-migrate", "up"], "db-migrate"), (["db-migrate", "down"], "db-migrate"),
    (["db-migrate", "reset"], "db-migrate"),
    (["alembic", "upgrade", "head"], "Alembic"), (["alembic", "-c", "a.ini", "downgrade", "-1"], "Alembic"),
    (["manage.py", "migrate"], "Django"), (["django-admin", "migrate"], "Django"), (["django", "migrate"], "Django"),
    (["flask", "db", "upgrade"], "Flask-Migrate"), (["flask", "db", "downgrade"], "Flask-Migrate"),
    (["rails", "db:migrate"], "Rails"), (["rake", "db:prepare"], "Rails"), (["rails", "db:setup"], "Rails"),
    (["rails", "db:schema:load"], "Rails"), (["rails", "db:reset"], "Rails"),
    (["artisan", "migrate", "--force"], "Laravel"), (["artisan", "migrate:fresh"], "Laravel"),
    (["artisan", "migrate:refresh"], "Laravel"), (["artisan", "migrate:reset"], "Laravel"),
    (["artisan", "migrate:rollback"], "Laravel"),
    (["mix", "ecto.migrate"], "Ecto"), (["mix", "ecto.setup"], "Ecto"), (["mix", "ecto.reset"], "Ecto"),
    (["mix", "ecto.rollback"], "Ecto"),
    (["migrate", "-path", "m", "up"], "golang-migrate"), (["migrate", "down", "1"], "golang-migrate"),
    (["migrate", "goto", "3"], "golang-migrate"), (["migrate", "force", "3"], "golang-migrate"),
    (["goose", "up"], "goose"), (["goose", "up-by-one"], "goose"), (["goose", "up-to", "5"], "goose"),
    (["goose", "down"], "goose"), (["goose", "reset"], "goose"), (["goose", "redo"], "goose"),
    (["dbmate", "up"], "dbmate"), (["dbmate", "migrate"], "dbmate"), (["dbmate", "rollback"], "dbmate"),
    (["dbmate", "down"], "dbmate"),
    (["atlas", "migrate", "apply"], "Atlas"), (["atlas", "schema", "apply"], "Atlas"),
    (["diesel", "migration", "run"], "Diesel"), (["diesel", "database", "setup"], "Diesel"),
    (["diesel", "database", "reset"], "Diesel"),
    (["sqlx", "migrate", "run"], "sqlx"), (["sqlx", "database", "setup"], "sqlx"),
    (["sqlx", "database", "reset"], "sqlx"),
]


@pytest.mark.parametrize(("argv", "tool"), TOOL_CASES, ids=[" ".join(c[0]) for c in TOOL_CASES])
def test_every_migration_command_of_every_tool(argv, tool):
    assert migrations.tool_migration(argv) == tool
    assert find_migration(argv) == f"`{' '.join(argv)}` runs {tool} migrations"


def test_the_tool_table_has_a_case_for_every_entry():
    covered = {(tool, command) for argv, tool in TOOL_CASES for entry in migrations.migration_tools()
               if entry.name == tool for command in entry.commands if migrations._contains(argv[1:], command)}
    table = {(entry.name, command) for entry in migrations.migration_tools() for command in entry.commands}
    assert table == covered
    programs = {(entry.name, program) for entry in migrations.migration_tools() for program in entry.programs}
    assert programs == {(tool, migrations.program_name(argv[0])) for argv, tool in TOOL_CASES} | {
        (t, p) for t, p in programs if False}


@pytest.mark.parametrize("argv", [
    ["prisma", "migrate", "status"], ["prisma", "migrate", "diff"], ["prisma", "generate"], ["prisma", "db", "seed"],
    ["prisma", "migrate"], ["prisma", "deploy", "migrate"], ["knex", "migrate:make", "x"], ["knex", "migrate:status"],
    ["sequelize", "db:migrate:status"], ["typeorm", "migration:generate"], ["typeorm", "schema:log"],
    ["drizzle-kit", "generate"], ["drizzle-kit", "studio"], ["mikro-orm", "migration:create"], ["flyway", "info"],
    ["liquibase", "update-sql"], ["liquibase", "status"], ["alembic", "history"], ["manage.py", "runserver"],
    ["rails", "server"], ["artisan", "migrate:status"], ["migrate", "version"], ["goose", "status"],
    ["atlas", "migrate", "diff"], ["node", "migrate-up.js"], ["rails", "--", "db:migrate"],
])
def test_read_only_and_unrelated_commands_pass(argv):
    assert migrations.tool_migration(argv) is None or argv == ["rails", "--", "db:migrate"]


def test_options_are_not_positional_arguments():
    assert migrations.tool_migration(["prisma", "--migrate", "deploy"]) is None
    assert migrations.tool_migration(["prisma", "migrate", "--schema=x", "deploy"]) == "Prisma"
    assert migrations.tool_migration(["prisma"]) is None
    assert migrations._contains(["a", "b", "c"], ("b", "c")) and not migrations._contains(["a", "b"], ("b", "c"))
    assert migrations._contains(["x"], ("x",)) and not migrations._contains([], ("x",))


# ----------------------------------------------------------------------------- wrappers, one case each

WRAPPED = [
    ["exec", "-a", "name", "prisma", "migrate", "deploy"],
    ["env", "-u", "HOME", "A=1", "prisma", "migrate", "deploy"],
    ["env", "--unset", "HOME", "prisma", "migrate", "deploy"],
    ["env", "-C", "/app", "prisma", "migrate", "deploy"],
    ["env", "--chdir", "/app", "prisma", "migrate", "deploy"],
    ["env", "-i", "--", "prisma", "migrate", "deploy"],
    ["timeout", "60", "prisma", "migrate", "deploy"],
    ["timeout", "-s", "KILL", "60", "prisma", "migrate", "deploy"],
    ["timeout", "--signal", "KILL", "60", "prisma", "migrate", "deploy"],
    ["timeout", "-k", "5", "60", "prisma", "migrate", "deploy"],
    ["timeout", "--kill-after", "5", "60", "prisma", "migrate", "deploy"],
    ["timeout", "--preserve-status", "60", "prisma", "migrate", "deploy"],
    ["nice", "-n", "10", "prisma", "migrate", "deploy"],
    ["nice", "--adjustment", "10", "prisma", "migrate", "deploy"],
    ["nohup", "prisma", "migrate", "deploy"],
    ["setsid", "prisma", "migrate", "deploy"],
    ["stdbuf", "-o", "L", "prisma", "migrate", "deploy"],
    ["stdbuf", "-i", "0", "prisma", "migrate", "deploy"],
    ["stdbuf", "-e", "0", "prisma", "migrate", "deploy"],
    ["stdbuf", "--input", "0", "prisma", "migrate", "deploy"],
    ["stdbuf", "--output", "L", "prisma", "migrate", "deploy"],
    ["stdbuf", "--error", "L", "prisma", "migrate", "deploy"],
    ["ionice", "-c", "2", "-n", "7", "prisma", "migrate", "deploy"],
    ["ionice", "--class", "2", "--classdata", "7", "prisma", "migrate", "deploy"],
    ["chrt", "10", "prisma", "migrate", "deploy"],
    ["taskset", "0x1", "prisma", "migrate", "deploy"],
    ["time", "-f", "%e", "prisma", "migrate", "deploy"],
    ["time", "--format", "%e", "prisma", "migrate", "deploy"],
    ["time", "-o", "t.txt", "prisma", "migrate", "deploy"],
    ["time", "--output", "t.txt", "prisma", "migrate", "deploy"],
    ["tini", "-p", "SIGTERM", "--", "prisma", "migrate", "deploy"],
    ["tini", "-e", "143", "prisma", "migrate", "deploy"],
    ["tini-static", "-p", "SIGTERM", "--", "prisma", "migrate", "deploy"],
    ["tini-static", "-e", "143", "prisma", "migrate", "deploy"],
    ["/sbin/tini", "-s", "-g", "--", "prisma", "migrate", "deploy"],
    ["dumb-init", "-r", "15:2", "prisma", "migrate", "deploy"],
    ["dumb-init", "--rewrite", "15:2", "--", "prisma", "migrate", "deploy"],
    ["catatonit", "--", "prisma", "migrate", "deploy"],
    ["gosu", "node", "prisma", "migrate", "deploy"],
    ["su-exec", "node:node", "prisma", "migrate", "deploy"],
    ["sudo", "-u", "app", "prisma", "migrate", "deploy"],
    ["sudo", "--user", "app", "prisma", "migrate", "deploy"],
    ["sudo", "-g", "app", "prisma", "migrate", "deploy"],
    ["sudo", "--group", "app", "prisma", "migrate", "deploy"],
    ["sudo", "-C", "3", "prisma", "migrate", "deploy"],
    ["sudo", "-D", "/app", "prisma", "migrate", "deploy"],
    ["sudo", "--chdir", "/app", "prisma", "migrate", "deploy"],
    ["xargs", "-I", "{}", "prisma", "migrate", "deploy"],
    ["xargs", "-n", "1", "prisma", "migrate", "deploy"],
    ["xargs", "-P", "2", "prisma", "migrate", "deploy"],
    ["xargs", "-d", ",", "prisma", "migrate", "deploy"],
    ["xargs", "-a", "f", "prisma", "migrate", "deploy"],
    ["xargs", "-E", "x", "prisma", "migrate", "deploy"],
    ["xargs", "-L", "1", "prisma", "migrate", "deploy"],
    ["xargs", "-s", "99", "prisma", "migrate", "deploy"],
    ["command", "prisma", "migrate", "deploy"],
    ["builtin", "exec", "prisma", "migrate", "deploy"],
    ["nice", "-5", "prisma", "migrate", "deploy"],
]


@pytest.mark.parametrize("argv", WRAPPED, ids=[" ".join(a[:3]) for a in WRAPPED])
def test_every_wrapper_is_peeled(argv):
    assert find_migration(argv) == "`prisma migrate deploy` runs Prisma migrations"


def test_the_wrapper_table_has_cases_for_every_entry_and_value_flag():
    table = migrations.wrappers()
    programs = {migrations.program_name(a[0]) for a in WRAPPED}
    assert set(table) == programs
    for name, spec in table.items():
        for flag in spec.value_flags - {"-S", "--split-string"}:  # env's split string: test_env_split_string
            assert any(migrations.program_name(a[0]) == name and flag in a for a in WRAPPED), (name, flag)


@pytest.mark.parametrize(("argv", "rest"), [
    (["exec", "node", "x"], ["node", "x"]),
    (["env"], []),
    (["env", "A=1"], []),
    (["timeout", "5"], []),
    (["node", "x"], None),
    (["env", "1A=x", "node"], ["1A=x", "node"]),
])
def test_peel_wrapper(argv, rest):
    assert migrations.peel_wrapper(argv) == rest


@pytest.mark.parametrize(("argv", "script"), [
    (["env", "-S", "prisma migrate deploy"], "prisma migrate deploy"),
    (["env", "-S", "prisma", "migrate"], "prisma migrate"),
    (["env", "--split-string", "a b"], "a b"),
    (["env", "--split-string=a b", "c"], "a b c"),
    (["env", "A=1", "b"], None),
    (["env", "-S"], None),
])
def test_env_split_string(argv, script):
    assert migrations._split_string(argv) == script


# ----------------------------------------------------------------------------- shells, runners, interpreters


@pytest.mark.parametrize(("argv", "target"), [
    (["sh", "-c", "x y"], ("inline", "x y")),
    (["bash", "-ec", "x"], ("inline", "x")),
    (["bash", "-lc", "x"], ("inline", "x")),
    (["bash", "-e", "-c", "x"], ("inline", "x")),
    (["bash", "-c", "-e", "x"], ("inline", "x")),
    (["bash", "-o", "pipefail", "-c", "x"], ("inline", "x")),
    (["bash", "+o", "posix", "-c", "x"], ("inline", "x")),
    (["bash", "-O", "extglob", "-c", "x"], ("inline", "x")),
    (["bash", "+O", "extglob", "-c", "x"], ("inline", "x")),
    (["bash", "--rcfile", "r", "-c", "x"], ("inline", "x")),
    (["bash", "--init-file", "r", "-c", "x"], ("inline", "x")),
    (["bash", "--noprofile", "-c", "x"], ("inline", "x")),
    (["bash", "+x", "-c", "x"], ("inline", "x")),
    (["sh", "--", "start.sh"], ("file", "start.sh")),
    (["sh", "start.sh", "arg"], ("file", "start.sh")),
    (["sh", "-e", "start.sh"], ("file", "start.sh")),
    (["sh", "-e", "--", "start.sh"], ("file", "start.sh")),
    (["sh", "-", "start.sh"], ("file", "start.sh")),
    (["bash", "-e", "-o", "pipefail", "-c", "x"], ("inline", "x")),
    (["bash", "--norc", "start.sh"], ("file", "start.sh")),
    (["sh"], None),
    (["sh", "-c"], None),
    (["busybox", "sh", "-c", "x"], ("inline", "x")),
    (["busybox", "ls"], None),
    (["busybox"], None),
])
def test_shell_script(argv, target):
    assert migrations.shell_script(argv) == target


def test_shells_table():
    assert set(migrations.shells()) == {"sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox"}
    for name in ("dash", "ash", "zsh", "ksh", "mksh"):
        assert find_migration([name, "-c", "prisma db push"]), name


@pytest.mark.parametrize(("argv", "target"), [
    (["npx", "prisma", "x"], ("argv", ["prisma", "x"])),
    (["npx", "--yes", "prisma@6", "x"], ("argv", ["prisma@6", "x"])),
    (["npx", "-p", "@mikro-orm/cli", "mikro-orm", "x"], ("argv", ["mikro-orm", "x"])),
    (["npx", "--package", "p", "bin"], ("argv", ["bin"])),
    (["npx", "--package=p", "bin"], ("argv", ["bin"])),
    (["npx", "-c", "a b"], ("script", ["a b"])),
    (["npx", "--call", "a b"], ("script", ["a b"])),
    (["npx", "--call=a b"], ("script", ["a b"])),
    (["npx", "--prefix", "d", "x"], ("argv", ["x"])),
    (["npx", "-w", "ws", "x"], ("argv", ["x"])),
    (["npx", "--workspace", "ws", "x"], ("argv", ["x"])),
    (["npx", "--cache", "c", "x"], ("argv", ["x"])),
    (["npx", "--registry", "r", "x"], ("argv", ["x"])),
    (["npx", "--userconfig", "u", "x"], ("argv", ["x"])),
    (["npx", "--", "x", "-y"], ("argv", ["x", "-y"])),
    (["npm", "exec", "--", "x"], ("argv", ["x"])),
    (["npm", "x", "x"], ("argv", ["x"])),
    (["pnpm", "dlx", "x"], ("argv", ["x"])),
    (["pnpm", "exec", "x"], ("argv", ["x"])),
    (["pnpm", "-C", "d", "exec", "x"], None),
    (["pnpm", "dlx", "-C", "d", "x"], ("argv", ["x"])),
    (["pnpm", "dlx", "--dir", "d", "x"], ("argv", ["x"])),
    (["pnpm", "exec", "--filter", "f", "x"], ("argv", ["x"])),
    (["pnpm", "exec", "-F", "f", "x"], ("argv", ["x"])),
    (["pnpx", "x"], ("argv", ["x"])),
    (["yarn", "dlx", "x"], ("argv", ["x"])),
    (["yarn", "exec", "x"], ("argv", ["x"])),
    (["bunx", "x"], ("argv", ["x"])),
    (["bun", "x", "x"], ("argv", ["x"])),
    (["npx"], None),
    (["npx", "--yes"], None),
    (["npx", "-c"], None),
    (["npx", "--yes", "-c", "a b"], ("script", ["a b"])),
    (["npx", "--yes", "-p", "ts-node", "x"], ("argv", ["x"])),
    (["npx", "-p", "ts-node", "--yes", "x"], ("argv", ["x"])),
    (["npx", "--yes", "--", "x"], ("argv", ["x"])),
    (["npm", "run", "x"], None),
    (["node", "x"], None),
])
def test_runner_target(argv, target):
    assert migrations.runner_target(argv) == target


@pytest.mark.parametrize(("argv", "target"), [
    (["node", "x.js", "a"], ["x.js", "a"]),
    (["nodejs", "x.js"], ["x.js"]),
    (["node", "-r", "ts-node/register", "x.ts"], ["x.ts"]),
    (["node", "--require", "m", "x"], ["x"]),
    (["node", "--import", "m", "x"], ["x"]),
    (["node", "--loader", "m", "x"], ["x"]),
    (["node", "--experimental-loader", "m", "x"], ["x"]),
    (["node", "-C", "c", "x"], ["x"]),
    (["node", "--conditions", "c", "x"], ["x"]),
    (["node", "--env-file", ".env", "x"], ["x"]),
    (["node", "--title", "t", "x"], ["x"]),
    (["ts-node", "-P", "tsconfig.json", "x"], ["x"]),
    (["ts-node", "--project", "tsconfig.json", "x"], ["x"]),
    (["node", "--max-old-space-size=512", "x"], ["x"]),
    (["node", "-e", "code"], None), (["node", "--eval", "code"], None), (["node", "-p", "1"], None),
    (["node", "--print", "1"], None), (["node"], None), (["node", "--inspect"], None),
    (["tsx", "x"], ["x"]), (["ts-node-esm", "x"], ["x"]), (["bun", "x"], ["x"]), (["deno", "x"], ["x"]),
    (["php", "artisan", "migrate"], ["artisan", "migrate"]), (["ruby", "bin/rails"], ["bin/rails"]),
    (["python", "-m", "alembic", "upgrade"], ["alembic", "upgrade"]),
    (["python3.12", "-u", "manage.py", "migrate"], ["manage.py", "migrate"]),
    (["python"], None), (["python", "-u"], None),
    (["bundle", "exec", "rake", "x"], ["rake", "x"]), (["bundle", "install"], None), (["bundle", "exec"], None),
    (["bundle", "exec", "rake"], ["rake"]),
    (["node", "--enable-source-maps", "-r", "dotenv/config", "dist/main.js"], ["dist/main.js"]),
    (["node", "-r", "dotenv/config", "--enable-source-maps", "dist/main.js"], ["dist/main.js"]),
    (["java", "-jar", "x"], None),
])
def test_interpreter_target(argv, target):
    assert migrations.interpreter_target(argv) == target


# ----------------------------------------------------------------------------- package scripts


@pytest.mark.parametrize(("manager", "words", "names", "directory", "workspaces", "bin_fallback", "arguments"), [
    ("npm", ["run", "migrate"], ["migrate"], None, [], False, []),
    ("npm", ["run-script", "x", "--", "--force"], ["x"], None, [], False, ["--force"]),
    ("npm", ["rum", "x"], ["x"], None, [], False, []),
    ("npm", ["urn", "x"], ["x"], None, [], False, []),
    ("npm", ["run", "--if-present", "x"], ["x"], None, [], False, []),
    ("npm", ["--prefix", "srv", "run", "x"], ["x"], "srv", [], False, []),
    ("npm", ["-C", "srv", "start"], ["start"], "srv", [], False, []),
    ("npm", ["--prefix=srv", "start"], ["start"], "srv", [], False, []),
    ("npm", ["-w", "api", "run", "x"], ["x"], None, ["api"], False, []),
    ("npm", ["--workspace", "api", "run", "x"], ["x"], None, ["api"], False, []),
    ("npm", ["--workspace=api", "run", "x"], ["x"], None, ["api"], False, []),
    ("npm", ["run", "x", "-ws"], ["x"], None, ["*"], False, []),
    ("npm", ["run", "x", "--workspaces"], ["x"], None, ["*"], False, []),
    ("npm", ["start"], ["start"], None, [], False, []),
    ("npm", ["test"], ["test"], None, [], False, []),
    ("npm", ["t"], ["test"], None, [], False, []),
    ("npm", ["tst"], ["test"], None, [], False, []),
    ("npm", ["stop"], ["stop"], None, [], False, []),
    ("npm", ["restart"], ["restart"], None, [], False, []),
    ("npm", ["start", "--", "x"], ["start"], None, [], False, ["x"]),
    ("npm", ["--loglevel", "warn", "start"], ["start"], None, [], False, []),
    ("yarn", ["boot"], ["boot"], None, [], True, []),
    ("yarn", ["boot", "--x"], ["boot"], None, [], True, ["--x"]),
    ("yarn", ["run", "boot", "a"], ["boot"], None, [], True, ["a"]),
    ("yarn", ["run", "--cwd", "d", "boot"], ["boot"], "d", [], True, []),
    ("yarn", ["--cwd", "d", "boot"], ["boot"], "d", [], True, []),
    ("yarn", ["workspace", "api", "start"], ["start"], None, ["api"], True, []),
    ("yarn", ["workspaces", "foreach", "run", "build"], ["build"], None, ["*"], True, []),
    ("yarn", ["workspaces", "run", "build", "x"], ["build"], None, ["*"], True, ["x"]),
    ("pnpm", ["run", "x"], ["x"], None, [], False, []),
    ("pnpm", ["run-script", "x"], ["x"], None, [], False, []),
    ("pnpm", ["run", "--filter", "api", "x"], ["x"], None, ["api"], False, []),
    ("pnpm", ["run", "-F", "api", "x"], ["x"], None, ["api"], False, []),
    ("pnpm", ["run", "-r", "x"], ["x"], None, ["*"], False, []),
    ("pnpm", ["run", "--recursive", "x"], ["x"], None, ["*"], False, []),
    ("pnpm", ["run", "-C", "d", "x"], ["x"], "d", [], False, []),
    ("pnpm", ["run", "--dir", "d", "x"], ["x"], "d", [], False, []),
    ("pnpm", ["--filter", "api", "start"], ["start"], None, ["api"], False, []),
    ("pnpm", ["-F", "api", "start"], ["start"], None, ["api"], False, []),
    ("pnpm", ["-r", "start"], ["start"], None, ["*"], False, []),
    ("pnpm", ["--recursive", "start"], ["start"], None, ["*"], False, []),
    ("pnpm", ["-C", "d", "start"], ["start"], "d", [], False, []),
    ("pnpm", ["--dir", "d", "start"], ["start"], "d", [], False, []),
    ("pnpm", ["t"], ["test"], None, [], False, []),
    ("pnpm", ["test"], ["test"], None, [], False, []),
    ("pnpm", ["restart"], ["restart"], None, [], False, []),
    ("pnpm", ["stop"], ["stop"], None, [], False, []),
    ("pnpm", ["boot", "x"], ["boot"], None, [], True, ["x"]),
    ("bun", ["run", "x"], ["x"], None, [], True, []),
    ("bun", ["run", "--cwd", "d", "x"], ["x"], "d", [], True, []),
    ("bun", ["run", "--filter", "api", "x"], ["x"], None, ["api"], True, []),
    ("bun", ["run", "-F", "api", "x"], ["x"], None, ["api"], True, []),
    ("bun", ["--cwd", "d", "go"], ["go"], "d", [], True, []),
    ("bun", ["--filter", "api", "go"], ["go"], None, ["api"], True, []),
    ("bun", ["-F", "api", "go"], ["go"], None, ["api"], True, []),
    ("bun", ["boot"], ["boot"], None, [], True, []),
])
def test_script_request(manager, words, names, directory, workspaces, bin_fallback, arguments):
    request = packages.script_request(manager, words)
    assert (request.names, request.directory, request.workspaces, request.bin_fallback, request.arguments) == (
        names, directory, workspaces, bin_fallback, arguments)
    assert request.manager == manager


def test_start_without_a_script_runs_no_migration():
    # npm and pnpm run `node server.js` then: never a migration command.
    files = FakeFiles({"/app/package.json": pkg(), "/app/server.js": "prisma db push"})
    assert analyse(["npm", "start"], files).migration is None
    assert not packages.script_request("npm", ["start"]).bin_fallback


def test_a_binary_run_through_the_package_manager_names_the_trail():
    files = FakeFiles({"/app/package.json": pkg(start="node x")})
    assert analyse(["yarn", "prisma", "migrate", "deploy"], files).migration == (
        "`yarn prisma migrate deploy` -> `prisma migrate deploy` runs Prisma migrations")
    assert analyse(["yarn", "prisma", "migrate", "deploy"], FakeFiles({})).migration == (
        "`yarn prisma migrate deploy` -> `prisma migrate deploy` runs Prisma migrations")
    assert analyse(["npm", "run", "go"], FakeFiles({"/app/package.json": pkg(go="prisma db push")})).migration == (
        "`npm run go` -> script 'go' (`prisma db push`) -> `prisma db push` runs Prisma migrations")


def test_every_selected_workspace_is_checked():
    files = FakeFiles({
        "/app/package.json": json.dumps({"workspaces": ["p/*"]}),
        "/app/p/a/package.json": json.dumps({"name": "a", "scripts": {"build": "tsc"}}),
        "/app/p/b/package.json": json.dumps({"name": "b", "scripts": {"start": "prisma db push"}}),
    })
    assert "'start'" in analyse(["npm", "start", "-ws"], files).migration
    assert "Prisma" in analyse(["yarn", "workspaces", "run", "prisma", "db", "push"], files).migration


@pytest.mark.parametrize(("manager", "words"), [
    ("npm", []), ("npm", ["install"]), ("npm", ["ci"]), ("npm", ["run"]), ("npm", ["run", "--"]),
    ("npm", ["exec", "x"]), ("yarn", []), ("yarn", ["install"]), ("yarn", ["add", "x"]), ("yarn", ["run"]),
    ("yarn", ["--frozen-lockfile"]), ("yarn", ["dlx", "x"]), ("yarn", ["workspaces", "info"]),
    ("yarn", ["workspace", "api"]), ("pnpm", []), ("pnpm", ["install"]), ("pnpm", ["run"]), ("pnpm", ["dlx", "x"]),
    ("pnpm", ["exec", "x"]), ("bun", []), ("bun", ["install"]), ("bun", ["test"]), ("bun", ["x", "y"]),
    ("bun", ["run"]), ("deno", ["task", "x"]),
])
def test_commands_that_run_no_package_script(manager, words):
    assert packages.script_request(manager, words) is None


@pytest.mark.parametrize(("manager", "command"), [
    (m, c) for m in ("yarn", "pnpm", "bun") for c in sorted(packages._builtin(m))])
def test_builtin_commands_are_not_scripts(manager, command):
    assert packages.script_request(manager, [command]) is None


def test_value_flags_table():
    assert packages._value_flags("npm") >= {"-w", "--workspace", "--prefix", "-C"}
    assert packages._value_flags("deno") == frozenset()
    for manager in ("npm", "yarn", "pnpm", "bun"):
        for flag in packages._value_flags(manager):
            options, positional = packages._split(manager, [flag, "v", "cmd"])
            assert options == {flag: ["v"]} and positional == ["cmd"], (manager, flag)


def test_split_keeps_flags_after_the_command_for_yarn_pnpm_bun_only():
    assert packages._split("yarn", ["boot", "--x"]) == ({}, ["boot", "--x"])
    assert packages._split("yarn", ["boot", "--x"], passthrough=False) == ({"--x": [""]}, ["boot"])
    assert packages._split("npm", ["run", "x", "--if-present"]) == ({"--if-present": [""]}, ["run", "x"])
    assert packages._split("npm", ["run", "x", "--", "--y"]) == ({}, ["run", "x", "--", "--y"])
    assert packages._split("npm", ["-w"]) == ({"-w": [""]}, [])


@pytest.mark.parametrize(("scripts", "name", "order"), [
    ({"start": "s"}, "start", ["start"]),
    ({"prestart": "p", "start": "s", "poststart": "q"}, "start", ["prestart", "start", "poststart"]),
    ({"prestart": "p"}, "start", []),
    ({"premigrate": "p", "migrate": "m"}, "migrate", ["premigrate", "migrate"]),
])
def test_lifecycle(scripts, name, order):
    assert packages.lifecycle(scripts, name) == order


def test_npm_restart():
    assert packages.npm_restart({"restart": "r", "prerestart": "p"}) == ["prerestart", "restart"]
    assert packages.npm_restart({"stop": "s", "start": "t", "prestart": "p"}) == ["stop", "prestart", "start"]
    package = Package("/app", "a", {"stop": "s", "start": "t"}, [])
    request = packages.script_request("npm", ["restart"])
    assert packages.scripts_to_run(request, package) == ["stop", "start"]
    assert packages.scripts_to_run(packages.script_request("yarn", ["restart"]), package) == []


@pytest.mark.parametrize(("selector", "selected"), [
    ("api", True), ("@acme/api", True), ("@acme/*", True), ("packages/api", True), ("./packages/api", True),
    ("packages/api/", True), ("*", True), ("web", False), ("@acme/web", False), ("pack", False),
])
def test_workspace_selectors(selector, selected):
    assert packages.selects(selector, Package("/app/packages/api", "@acme/api", {}, [])) is selected


def test_package_json_reading():
    package = Package.from_json("/app", json.dumps({"name": "a", "scripts": {"start": "node x", "n": 1},
                                                    "workspaces": {"packages": ["p/*", 3]}}))
    assert (package.name, package.scripts, package.workspace_patterns) == ("a", {"start": "node x", "n": "1"},
                                                                          ["p/*"])
    assert Package.from_json("/app", "{}").scripts == {}
    assert Package.from_json("/app", '{"scripts": []}').scripts == {}
    assert Package.from_json("/app", '{"workspaces": ["a"]}').workspace_patterns == ["a"]
    with pytest.raises(ValueError, match="/app/package.json is not valid JSON"):
        Package.from_json("/app", "{")
    with pytest.raises(ValueError, match="/app/package.json is not a JSON object"):
        Package.from_json("/app", "[]")


# ----------------------------------------------------------------------------- the analysis with files


class FakeFiles(Files):
    """Files of an image as a dict: {"/app/package.json": "...", "/usr/local/bin/x.sh": "..."}."""

    def __init__(self, files: dict[str, str], strict: bool = True, workdir: str = "/app"):
        self.files, self.strict, self.workdir = files, strict, workdir

    def _path(self, path, cwd):
        return str(Path(cwd or self.workdir, path)) if not path.startswith("/") else path

    def package(self, directory, cwd):
        text = self.files.get(str(Path(self._path(directory or ".", cwd)) / "package.json"))
        return Package.from_json(str(Path(self._path(directory or ".", cwd))), text) if text else None

    def workspaces(self, root):
        return [Package.from_json(str(Path(k).parent), v) for k, v in self.files.items()
                if k.endswith("/package.json") and k != f"{root.directory}/package.json"]

    def script(self, path, cwd, executed):
        if "/" not in path and executed:
            return self.files.get(f"/usr/local/bin/{path}")
        return self.files.get(self._path(path, cwd)) or self.files.get(f"/usr/local/bin/{path}")


def pkg(**scripts) -> str:
    return json.dumps({"name": "app", "scripts": scripts})


@pytest.mark.parametrize(("argv", "files", "expected"), [
    (["npm", "start"], {"/app/package.json": pkg(start="prisma migrate deploy")}, "script 'start'"),
    (["npm", "start"], {"/app/package.json": pkg(prestart="knex migrate:latest", start="node x")}, "'prestart'"),
    (["npm", "start"], {"/app/package.json": pkg(start="node x", poststart="flyway migrate")}, "'poststart'"),
    (["npm", "start"], {"/app/package.json": pkg(start="npm run db")}, None),
    (["npm", "start"], {"/app/package.json": pkg(start="npm run db", db="prisma db push")}, "script 'db'"),
    (["npm", "start"], {"/app/package.json": pkg(start="npm start")}, None),  # a loop ends
    (["npm", "start"], {"/app/package.json": pkg()}, None),  # node server.js
    (["npm", "start"], {"/app/package.json": pkg(), "/app/server.js": ""}, None),
    (["npm", "restart"], {"/app/package.json": pkg(stop="x", start="prisma migrate deploy")}, "'start'"),
    (["npm", "--prefix", "api", "start"], {"/app/api/package.json": pkg(start="prisma db push")}, "'start'"),
    (["npm", "--prefix", "/srv", "start"], {"/srv/package.json": pkg(start="prisma db push")}, "'start'"),
    (["yarn", "prisma", "migrate", "deploy"], {"/app/package.json": pkg()}, "Prisma"),
    (["yarn", "prisma", "migrate", "deploy"], {}, "Prisma"),
    (["yarn", "go"], {"/app/package.json": pkg(go="prisma migrate deploy")}, "script 'go'"),
    (["npm", "run", "-w", "api", "start"], {"/app/package.json": json.dumps({"workspaces": ["p/*"]}),
                                           "/app/p/api/package.json": json.dumps(
                                               {"name": "api", "scripts": {"start": "prisma db push"}})}, "'start'"),
    (["npm", "run", "-ws", "start"], {"/app/package.json": json.dumps({"workspaces": ["p/*"]}),
                                      "/app/p/web/package.json": json.dumps(
                                          {"name": "web", "scripts": {"start": "prisma db push"}})}, "'start'"),
    (["npm-run-all", "migrate", "start"], {"/app/package.json": pkg(migrate="prisma db push", start="node x")},
     "'migrate'"),
    (["run-s", "db:*", "start"], {"/app/package.json": pkg(**{"db:up": "prisma db push", "start": "x"})}, "'db:up'"),
    (["run-p", "start"], {"/app/package.json": pkg(start="x")}, None),
    (["concurrently", "npm:migrate", "node x"], {"/app/package.json": pkg(migrate="prisma db push")}, "'migrate'"),
    (["concurrently", "--kill-others", "prisma migrate deploy"], {}, "Prisma"),
    (["concurrently", "yarn:go"], {"/app/package.json": pkg(go="prisma db push")}, "'go'"),
    (["sh", "/app/start.sh"], {"/app/start.sh": "#!/bin/sh\nprisma migrate deploy\n"}, "script /app/start.sh"),
    (["./start.sh"], {"/app/start.sh": "prisma migrate deploy\n"}, "script ./start.sh"),
    (["start.sh"], {"/usr/local/bin/start.sh": "set -e\nprisma db push\nexec \"$@\"\n"}, "Prisma"),
    (["bash", "start.sh"], {"/app/start.sh": "#!/usr/bin/env bash\nprisma db push\n"}, "Prisma"),
    (["start.sh"], {"/app/start.sh": "prisma db push\n"}, None),  # exec of a bare name: PATH only, not cwd
    (["/app/start"], {"/app/start": "#!/usr/bin/env node\nrequire('x')\n"}, None),
    (["/app/start"], {"/app/start": ""}, None),
    ([". /app/env.sh"], {"/app/env.sh": "prisma db push"}, "Prisma"),
    (["source", "/app/env.sh"], {"/app/env.sh": "prisma db push"}, "Prisma"),
    (["source"], {}, None),
    (["sh", "-c", "exec \"$@\""], {}, None),
    (["sh", "$SCRIPT"], {"/app/$SCRIPT": "prisma db push"}, None),
    (["/app/start"], {"/app/start": " \n"}, None),
    (["migrate.bash"], {"/usr/local/bin/migrate.bash": "prisma db push"}, "Prisma"),
    (["concurrently", "npm:db:migrate"], {"/app/package.json": pkg(**{"db:migrate": "prisma db push"})},
     "'db:migrate'"),
    (["env", "-", "prisma", "migrate", "deploy"], {}, "Prisma"),  # env - is env -i
    ("npm run prestart; npm start", {"/app/package.json": pkg(prestart="echo", start="prisma db push")}, "'start'"),
    (["eval", "prisma", "migrate", "deploy"], {}, "Prisma"),
    (["bun", "run", "x"], {"/app/package.json": pkg(x="prisma db push")}, "'x'"),
    (["bun", "server.ts"], {}, None),
    (["bun", "migrate.ts"], {}, "judged by the script's name"),  # a file named so is judged like a script
    (["bun", "prisma", "migrate", "deploy"], {}, "Prisma"),
    (["bun", "-v"], {}, None),
    (["node", "dist/src/main"], {"/app/dist/src/main": "prisma migrate deploy"}, None),  # node runs JS, not sh
    (["python", "start.sh"], {"/app/start.sh": "prisma migrate deploy"}, None),
])
def test_analysis_follows_scripts_and_files(argv, files, expected):
    verdict = analyse(argv, FakeFiles(files))
    if expected is None:
        assert verdict.migration is None, verdict.migration
    else:
        assert verdict.migration and expected in verdict.migration, verdict.migration


def test_each_script_file_is_read_once():
    files = FakeFiles({"/app/a.sh": "sh /app/a.sh\nnode x"})
    assert analyse(["sh", "/app/a.sh"], files).migration is None


def test_unreadable_package_json_is_reported_only_when_files_should_be_readable():
    strict = analyse(["npm", "start"], FakeFiles({}, strict=True))
    assert strict.migration is None
    assert strict.unverified == ["`npm start`: package.json is not in the image's build context, so the script it "
                                 "runs cannot be checked"]
    assert analyse(["npm", "--prefix", "api", "start"], FakeFiles({})).unverified == [
        "`npm --prefix api start`: package.json in api is not in the image's build context, so the script it runs "
        "cannot be checked"]
    assert analyse(["npm", "start"], FakeFiles({}, strict=False)).unverified == []
    assert analyse(["npm", "start"]).unverified == []


def test_a_missing_workspace_is_reported():
    files = FakeFiles({"/app/package.json": json.dumps({"workspaces": ["p/*"]})})
    verdict = analyse(["npm", "run", "-w", "nope", "start"], files)
    assert verdict.unverified == ["`npm run -w nope start`: no workspace matches ['nope']"]
    assert analyse(["npm", "run", "-ws", "start"], files).unverified == []


def test_without_package_json_scripts_are_judged_by_name():
    assert "judged by the script's name" in find_migration(["npm", "run", "migrate:deploy"])
    assert find_migration(["npm", "run", "start:prod"]) is None


def test_the_depth_limit_stops_runaway_nesting():
    nested = ["prisma", "migrate", "deploy"]
    for _ in range(migrations.MAX_DEPTH + 2):
        nested = ["nohup", *nested]
    assert find_migration(nested) is None
    assert find_migration(["nohup"] * (migrations.MAX_DEPTH - 1) + ["prisma", "db", "push"])


def test_analyse_takes_shell_form_strings_and_nothing():
    assert analyse("prisma db push && node x").migration
    assert analyse(None).migration is None and analyse([]).migration is None
    assert analyse(["A=1", "B=2"]).migration is None
    assert analyse([None, "prisma", "db", "push"]).migration


def test_found_reasons_name_the_whole_trail():
    reason = find_migration(["sh", "-c", "timeout 9 npx --yes prisma@6 migrate deploy"])
    assert reason == ("`sh -c timeout 9 npx --yes prisma@6 migrate deploy` -> `npx --yes prisma@6 migrate deploy` "
                      "-> `prisma@6 migrate deploy` runs Prisma migrations")


def test_default_files_read_nothing():
    files = Files()
    assert files.package(None, None) is None and files.workspaces(Package("/", None, {}, [])) == []
    assert files.script("x", None, True) is None and files.strict is False


IN_SRV = {"/srv/migrate.sh": "npx prisma migrate deploy\n", "/srv/seed.sh": "echo seed\n",
          "/srv/outer.sh": "sh migrate.sh\n",
          "/srv/package.json": pkg(migrate="prisma migrate deploy", start="node main",
                                   **{"db:deploy": "prisma db push"}),
          "/srv/tool": "#!/usr/bin/env node\nrequire('./seed')\n"}
DEPLOY = "`prisma migrate deploy` runs Prisma migrations"
PRISMA = f"`npx prisma migrate deploy` -> {DEPLOY}"


@pytest.mark.parametrize(("argv", "reason"), [
    ("sh migrate.sh", f"`sh migrate.sh` (script migrate.sh) -> {PRISMA}"),
    (["sh", "migrate.sh"], f"`sh migrate.sh` (script migrate.sh) -> {PRISMA}"),
    (["sh migrate.sh"], f"`sh migrate.sh` (script migrate.sh) -> {PRISMA}"),  # a whole script as one word
    (["sh", "-c", "sh migrate.sh"], f"`sh -c sh migrate.sh` -> `sh migrate.sh` (script migrate.sh) -> {PRISMA}"),
    (["./outer.sh"], f"`./outer.sh` (script ./outer.sh) -> `sh migrate.sh` (script migrate.sh) -> {PRISMA}"),
    ("./seed.sh; ./migrate.sh", f"`./migrate.sh` (script ./migrate.sh) -> {PRISMA}"),
    (["npx", "--yes", "./migrate.sh"], f"`npx --yes ./migrate.sh` -> `./migrate.sh` (script ./migrate.sh) -> {PRISMA}"),
    (["node", "/usr/local/lib/node_modules/npm/bin/npm-cli.js", "run", "migrate"],
     "`node /usr/local/lib/node_modules/npm/bin/npm-cli.js run migrate` -> `/usr/local/lib/node_modules/npm/bin/"
     "npm-cli.js run migrate` -> script 'migrate' (`prisma migrate deploy`) -> `prisma migrate deploy` runs Prisma "
     "migrations"),
    (["sh", "-c", ". migrate.sh"], f"`sh -c . migrate.sh` -> `. migrate.sh` (script migrate.sh) -> {PRISMA}"),
    (["source", "migrate.sh"], f"`source migrate.sh` (script migrate.sh) -> {PRISMA}"),
    (["./migrate.sh"], f"`./migrate.sh` (script ./migrate.sh) -> {PRISMA}"),
    (["env", "-S", "sh migrate.sh"], f"`env -S sh migrate.sh` -> `sh migrate.sh` (script migrate.sh) -> {PRISMA}"),
    (["env", "--split-string=sh migrate.sh"],
     f"`env --split-string=sh migrate.sh` -> `sh migrate.sh` (script migrate.sh) -> {PRISMA}"),
    (["npx", "-c", "sh migrate.sh"], f"`npx -c sh migrate.sh` -> `sh migrate.sh` (script migrate.sh) -> {PRISMA}"),
    (["timeout", "30", "sh", "migrate.sh"], f"`sh migrate.sh` (script migrate.sh) -> {PRISMA}"),
    (["eval", "sh migrate.sh"], f"`eval sh migrate.sh` -> `sh migrate.sh` (script migrate.sh) -> {PRISMA}"),
    (["bun", "./migrate.sh"], f"`bun ./migrate.sh` -> `./migrate.sh` (script ./migrate.sh) -> {PRISMA}"),
    (["bun", "exec", "sh migrate.sh"],  # bun exec runs a shell script
     f"`bun exec sh migrate.sh` -> `sh migrate.sh` (script migrate.sh) -> {PRISMA}"),
    (["run-s", "db:*"], "`run-s db:*` -> `npm run db:deploy` -> script 'db:deploy' (`prisma db push`) -> `prisma db "
                        "push` runs Prisma migrations"),
    (["npm", "run", "migrate"],
     "`npm run migrate` -> script 'migrate' (`prisma migrate deploy`) -> `prisma migrate deploy` runs Prisma "
     "migrations"),
    (["npm-run-all", "migrate"], "`npm-run-all migrate` -> `npm run migrate` -> script 'migrate' "
                                 "(`prisma migrate deploy`) -> `prisma migrate deploy` runs Prisma migrations"),
])
def test_the_working_directory_follows_the_command_into_every_step(argv, reason):
    """The files are in /srv, the command's working directory; the image's WORKDIR is /: a step that lost the
    working directory would look in / and find nothing."""
    verdict = analyse(argv, FakeFiles(IN_SRV, workdir="/"), "/srv")
    assert (verdict.migration, verdict.unverified) == (reason, [])
    assert analyse(argv, FakeFiles(IN_SRV, workdir="/")).migration != reason


@pytest.mark.parametrize("first", [
    'sh "$ENTRY"',  # a script named by a variable: its arguments are checked where they come from
    "./missing.sh",  # not in the build context
    "./tool",  # a node script
    "./seed.sh; ./seed.sh",  # the second run of a script already read
    "sh", "sh -e",  # a shell with nothing to run
    "npm --version", "bun -v",  # no script
    "npm run --prefix /nowhere build",  # package.json unreadable, a script name that migrates nothing
    "bun",
])
def test_a_step_that_runs_nothing_does_not_end_the_analysis(first):
    verdict = analyse(f"{first}; npx prisma migrate deploy", FakeFiles(IN_SRV, workdir="/", strict=False), "/srv")
    assert verdict.migration == PRISMA


@pytest.mark.parametrize(("first", "files", "reason"), [
    ("npx prisma migrate deploy", {}, PRISMA),
    ("yarn prisma migrate deploy", {}, f"`yarn prisma migrate deploy` -> {DEPLOY}"),
    ("yarn prisma migrate deploy", {"/app/package.json": pkg()}, f"`yarn prisma migrate deploy` -> {DEPLOY}"),
    ("npm run db", {"/app/package.json": pkg(db="prisma db push")},
     "`npm run db` -> script 'db' (`prisma db push`) -> `prisma db push` runs Prisma migrations"),
])
def test_the_first_migration_found_ends_the_analysis(first, files, reason):
    """Nothing after it is read: no note about a later step that could not be checked."""
    verdict = analyse(f"{first} && npm run --prefix /nowhere seed && npx knex migrate:latest", FakeFiles(files))
    assert (verdict.migration, verdict.unverified) == (reason, [])


def test_a_binary_run_by_yarn_without_package_json_is_looked_up_in_the_working_directory():
    files = FakeFiles({"/srv/setup.sh": "npx prisma migrate deploy\n"}, workdir="/")
    assert analyse(["yarn", "./setup.sh"], files, "/srv").migration == (
        f"`yarn ./setup.sh` -> `./setup.sh` (script ./setup.sh) -> {PRISMA}")


def test_find_migration_reads_files_in_the_working_directory():
    assert find_migration(["sh", "migrate.sh"], FakeFiles(IN_SRV, workdir="/"), "/srv") == (
        f"`sh migrate.sh` (script migrate.sh) -> {PRISMA}")


def test_the_nesting_limit_is_max_depth_steps():
    """A command MAX_DEPTH steps deep is still read (each wrapper is one step); one more is not."""
    at_limit = ["nohup"] * migrations.MAX_DEPTH + ["prisma", "db", "push"]
    assert find_migration(at_limit) == "`prisma db push` runs Prisma migrations"
    assert find_migration(["nohup", *at_limit]) is None
    script = " ".join(["nohup"] * (migrations.MAX_DEPTH - 1) + ["prisma", "db", "push"])  # the script is a step
    assert find_migration(script) == "`prisma db push` runs Prisma migrations"
    assert find_migration(f"nohup {script}") is None


@pytest.mark.parametrize(("argv", "reason"), [
    # an `=` inside the value belongs to the value
    (["npx", "--call=DATABASE_URL=x prisma migrate deploy"],
     "`npx --call=DATABASE_URL=x prisma migrate deploy` -> `prisma migrate deploy` runs Prisma migrations"),
    (["sudo", "-S", "prisma", "migrate", "deploy"], "`prisma migrate deploy` runs Prisma migrations"),  # not env's -S
    (["env", "--split-string=NODE_ENV=production prisma migrate deploy"],
     "`env --split-string=NODE_ENV=production prisma migrate deploy` -> `prisma migrate deploy` runs Prisma "
     "migrations"),
    (["python", "-m", "alembic", "upgrade", "head"], "`python -m alembic upgrade head` -> `alembic upgrade head` runs "
                                                    "Alembic migrations"),
    (["bundle", "exec", "rake", "db:migrate"], "`bundle exec rake db:migrate` -> `rake db:migrate` runs Rails "
                                              "migrations"),
])
def test_values_and_targets_are_read_whole(argv, reason):
    assert find_migration(argv) == reason


# ----------------------------------------------------------------------------- Dockerfile model

STAGES = """\
ARG BASE=node:22
FROM ${BASE} AS base
WORKDIR /app
ENV PATH=/app/bin:$PATH
CMD ["node", "main"]
FROM base AS build
COPY . .
RUN npm ci
FROM base AS runtime
ENTRYPOINT ["tini", "--"]
FROM runtime AS final
CMD node final
"""


def test_stages_and_targets():
    dockerfile = Dockerfile(STAGES)
    assert [(s.index, s.name, s.base) for s in dockerfile.stages] == [
        (0, "base", "node:22"), (1, "build", "base"), (2, "runtime", "base"), (3, "final", "runtime")]
    assert dockerfile.target(None).name == "final"
    assert dockerfile.target("BUILD").name == "build"
    assert dockerfile.stage("1").name == "build" and dockerfile.stage(3).name == "final"
    assert dockerfile.stage(9) is None and dockerfile.stage(None) is None and dockerfile.stage(-1) is None
    assert [s.name for s in dockerfile.chain(dockerfile.target(None))] == ["base", "runtime", "final"]
    with pytest.raises(DockerfileError, match=r"the build target 'nope' is not a stage of it \(stages: \['base', "):
        dockerfile.target("nope")
    assert Dockerfile("FROM a\nFROM b\n", {}).target("").index == 1


def test_build_args_pick_the_base():
    assert Dockerfile(STAGES, {"BASE": "node:20"}).stages[0].base == "node:20"
    assert Dockerfile("ARG B\nFROM $B\n", {"B": "x"}).stages[0].base == "x"
    assert Dockerfile('ARG B="y"\nFROM ${B:-z}\n').stages[0].base == "y"
    assert Dockerfile("FROM --platform=$BUILDPLATFORM node AS n\n").stages[0].name == "n"


def test_start_commands_follow_dockers_rules():
    dockerfile = Dockerfile(STAGES)
    final = dockerfile.start_command(dockerfile.target(None))
    assert final.entrypoint == ["tini", "--"] and final.cmd == ["/bin/sh", "-c", "node final"]
    assert final.workdir == "/app" and final.path.startswith("/app/bin:/usr/local/sbin")
    runtime = dockerfile.start_command(dockerfile.target("runtime"))
    assert runtime.entrypoint == ["tini", "--"] and runtime.cmd is None  # ENTRYPOINT resets the inherited CMD
    build = dockerfile.start_command(dockerfile.target("build"))
    assert build.entrypoint is None and build.cmd == ["node", "main"]


def test_shell_instruction_and_invalid_json():
    dockerfile = Dockerfile('FROM x\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\nCMD [not json\n'
                            'ENTRYPOINT ["a"]\nCMD ["b"]\n')
    start = dockerfile.start_command(dockerfile.target(None))
    assert start.cmd == ["b"] and start.entrypoint == ["a"]
    dockerfile = Dockerfile('FROM x\nSHELL ["/bin/bash", "-c"]\nCMD [not json\n')
    assert dockerfile.start_command(dockerfile.target(None)).cmd == ["/bin/bash", "-c", "[not json"]
    assert Dockerfile('FROM x\nSHELL {"a": 1}\nCMD y\n').start_command(Dockerfile('FROM x\nCMD y\n').stages[0]).cmd == [
        "/bin/sh", "-c", "y"]


def test_workdir_and_env():
    dockerfile = Dockerfile("FROM x\nWORKDIR /a\nWORKDIR b\nENV D=/d\nWORKDIR $D/e\nENV PATH /p\n")
    start = dockerfile.start_command(dockerfile.target(None))
    assert start.workdir == "/d/e" and start.path == "/p"
    quoted = Dockerfile('FROM x\nENV A="/q r"\nENV PATH=$A:/bin B=$A\n')
    assert quoted.start_command(quoted.target(None)).path == "/q r:/bin"
    same_line = Dockerfile('FROM x\nENV A=/a PATH=$A:/bin\n')  # Docker: $A is the value before this ENV
    assert same_line.start_command(same_line.target(None)).path == ":/bin"


def test_a_dockerfile_without_from_is_an_error():
    with pytest.raises(DockerfileError, match="it has no FROM instruction"):
        Dockerfile("RUN x\n")


ORIGINS = """\
FROM node AS deps
WORKDIR /src
COPY package.json lock.json ./
COPY scripts/ /opt/scripts/
FROM node AS runtime
WORKDIR /app
COPY --from=deps /src/package.json ./
COPY --from=0 /opt/scripts /usr/local/bin
COPY entry.sh /entry
COPY *.sh /bin/
COPY ["a b.txt", "/x/"]
ADD https://example.com/x.tgz /tmp/
COPY <<EOF /etc/x
EOF
COPY --chown=node:node src ./src
"""


def in_context(files: set[str]):
    """`matches` as the Docker policy gives it: the context files at a path or a COPY glob, matched segment
    by segment (Go's filepath.Match), sorted."""
    def matches(pattern: str) -> list[str]:
        parts = pattern.split("/")
        return sorted(f for f in files if len(f.split("/")) == len(parts)
                      and all(fnmatch.fnmatchcase(name, part) for name, part in zip(f.split("/"), parts, strict=True)))
    return matches


@pytest.mark.parametrize(("path", "origins"), [
    ("/app/package.json", ["package.json"]),
    ("/usr/local/bin/run.sh", ["scripts/run.sh"]),
    ("/entry", ["entry.sh"]),
    ("/bin/go.sh", ["go.sh"]),
    ("/x/a b.txt", ["a b.txt"]),
    ("/app/src/main.ts", ["src/main.ts"]),
    ("/app/src", []),
    ("/app/other.json", []),
    ("/tmp/x.tgz", []),
    ("/etc/x", []),
])
def test_origins_trace_files_back_to_the_build_context(path, origins):
    dockerfile = Dockerfile(ORIGINS)
    existing = {"package.json", "scripts/run.sh", "entry.sh", "go.sh", "a b.txt", "src/main.ts", "lock.json"}
    assert dockerfile.origins(path, dockerfile.target(None), in_context(existing)) == origins


def test_origins_follow_inheritance_and_stop_on_loops():
    dockerfile = Dockerfile("FROM node AS a\nCOPY x /x\nFROM a AS b\nRUN y\n")
    assert dockerfile.origins("/x", dockerfile.target("b"), lambda p: [p]) == ["x"]
    looping = Dockerfile("FROM node AS a\nCOPY --from=b /y /x\nFROM node AS b\nCOPY --from=a /x /y\n")
    assert looping.origins("/x", looping.target("a"), lambda p: [p]) == []
    itself = Dockerfile("FROM node AS a\nCOPY --from=a /y /x\n")
    assert itself.origins("/x", itself.target("a"), lambda p: [p]) == []
    escape = Dockerfile("FROM node\nCOPY ../secret /x\n")
    assert escape.origins("/x", escape.target(None), lambda p: [p]) == []
    assert Dockerfile("FROM n\nCOPY onlyone\n").copies(Dockerfile("FROM n\nCOPY onlyone\n").stages[0]) == []


@pytest.mark.parametrize(("dockerfile", "path", "origins"), [
    ('FROM node\nCOPY docker-entrypoint.sh /\nENTRYPOINT ["/docker-entrypoint.sh"]\n', "/docker-entrypoint.sh",
     ["docker-entrypoint.sh"]),  # into the root directory
    ("FROM node\nWORKDIR /app\nADD start.sh ./\n", "/app/start.sh", ["start.sh"]),
    ("FROM node\nCOPY migrate.sh start.sh /app\n", "/app/start.sh", ["start.sh"]),  # several sources: a directory
    ("FROM node\nCOPY start.sh /app\n", "/app", ["start.sh"]),  # one file, no slash: the file itself
])
def test_origins_of_common_copies(dockerfile, path, origins):
    parsed = Dockerfile(dockerfile)
    existing = {"docker-entrypoint.sh", "start.sh", "migrate.sh"}
    assert parsed.origins(path, parsed.target(None), in_context(existing)) == origins


def test_variables_as_docker_expands_them():
    dockerfile = Dockerfile('ARG BASE="node:22-slim"\nFROM ${BASE}\nENV app_dir=/srv\nWORKDIR $app_dir/api\n'
                            "WORKDIR tools/$UNSET\n")
    assert dockerfile.stages[0].base == "node:22-slim"  # quotes of an ARG default are not part of the value
    assert dockerfile.start_command(dockerfile.stages[0]).workdir == "/srv/api/tools"  # lower case, unset, relative
    assert Dockerfile("ARG tag=22\nFROM node:$tag\n").stages[0].base == "node:22"
    assert Dockerfile("FROM --platform=linux/arm64\n").stages[0].base == ""  # no image named


def test_legacy_env_and_the_default_workdir():
    dockerfile = Dockerfile("FROM node\nENV PATH /opt/bin:$PATH\nENV APP_HOME /srv/my app\nWORKDIR $APP_HOME\n")
    start = dockerfile.start_command(dockerfile.stages[0])
    assert (start.path, start.workdir) == (f"/opt/bin:{DEFAULT_PATH}", "/srv/my app")  # `ENV KEY value with spaces`
    assert Dockerfile("FROM node\n").start_command(Dockerfile("FROM node\n").stages[0]).workdir == "/"
    relative = Dockerfile("FROM node\nWORKDIR app\n")
    assert relative.start_command(relative.stages[0]).workdir == "/app"


def test_a_heredoc_is_no_file_of_the_build_context():
    dockerfile = Dockerfile("FROM node\nCOPY <<EOF /etc/x\nhello\nEOF\n")
    assert dockerfile.origins("/etc/x", dockerfile.stages[0], lambda p: [p]) == []


def test_a_stage_built_from_its_own_name_is_built_from_an_image():
    dockerfile = Dockerfile("FROM app AS app\nCMD [\"node\", \"main\"]\n")
    assert dockerfile.chain(dockerfile.stages[0]) == [dockerfile.stages[0]]


def test_a_cmd_before_the_entrypoint_of_the_same_stage_is_kept():
    dockerfile = Dockerfile('FROM node\nCMD ["node", "main"]\nENTRYPOINT ["tini", "--"]\n')
    start = dockerfile.start_command(dockerfile.stages[0])
    assert (start.entrypoint, start.cmd) == (["tini", "--"], ["node", "main"])


def test_a_base_named_like_a_later_stage_is_an_image():
    """Docker resolves FROM against the stages defined so far: `migrator` below is an image from a registry."""
    dockerfile = Dockerfile('FROM migrator AS app\nCMD ["node", "main"]\n'
                            'FROM node AS migrator\nENTRYPOINT ["npx", "prisma", "migrate", "deploy"]\n')
    app = dockerfile.target("app")
    assert dockerfile.parent(app) is None
    assert dockerfile.start_command(app).entrypoint is None


def test_a_stage_index_past_the_last_stage_is_no_stage():
    with pytest.raises(DockerfileError, match="the build target '2' is not a stage of it"):
        Dockerfile("FROM a AS one\nFROM b AS two\n").target("2")


def chain_of_stages(count: int, copy_from_previous: bool) -> Dockerfile:
    lines = ["FROM node AS s0", "COPY f /f"]
    for index in range(1, count):
        lines += ([f"FROM node AS s{index}", f"COPY --from=s{index - 1} /f /f"] if copy_from_previous
                  else [f"FROM s{index - 1} AS s{index}"])
    return Dockerfile("\n".join(lines) + "\n")


@pytest.mark.parametrize("copy_from_previous", [True, False])
def test_files_are_traced_through_at_most_max_hops_stages(copy_from_previous):
    within = chain_of_stages(MAX_HOPS + 1, copy_from_previous)
    assert within.origins("/f", within.target(None), lambda p: [p]) == ["f"]
    beyond = chain_of_stages(MAX_HOPS + 2, copy_from_previous)
    assert beyond.origins("/f", beyond.target(None), lambda p: [p]) == []


def test_inheritance_is_followed_through_at_most_max_hops_stages():
    dockerfile = chain_of_stages(MAX_HOPS + 5, copy_from_previous=False)
    assert len(dockerfile.chain(dockerfile.target(None))) == MAX_HOPS


# ----------------------------------------------------------------------------- project


def test_project_found_by_name_upwards(tmp_path, monkeypatch):
    (tmp_path / "Pulumi.yaml").write_text("name: demo\nmain: src/\n")
    (tmp_path / "src").mkdir()
    pack = tmp_path / "policies"
    pack.mkdir()
    monkeypatch.setattr(project_module, "PACK_DIR", pack)
    monkeypatch.setenv("PULUMI_PROJECT", "demo")
    monkeypatch.delenv("PULUMI_PROJECT_DIR", raising=False)
    monkeypatch.delenv("PWD", raising=False)
    found = project_module.find_project()
    assert found.root == tmp_path.resolve() and found.program_dir == (tmp_path / "src").resolve()
    monkeypatch.setenv("PULUMI_PROJECT", "other")
    assert project_module.find_project() is None


def test_project_found_through_the_clis_working_directory(tmp_path, monkeypatch):
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "Pulumi.yaml").write_text("name: demo\nmain: missing.py\n")
    monkeypatch.setattr(project_module, "PACK_DIR", tmp_path / "elsewhere")
    monkeypatch.setenv("PULUMI_PROJECT", "demo")
    monkeypatch.delenv("PULUMI_PROJECT_DIR", raising=False)
    monkeypatch.setenv("PWD", str(tmp_path / "proj"))
    assert project_module.find_project().program_dir == (tmp_path / "proj").resolve()


def test_explicit_project_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PULUMI_PROJECT_DIR", str(tmp_path))
    assert project_module.find_project() is None
    assert "has no Pulumi.yaml" in project_module.not_found_message()
    (tmp_path / "Pulumi.yaml").write_text("name: x\nmain: ../outside\n")
    assert project_module.find_project().program_dir == tmp_path.resolve()  # main outside the root is ignored


@pytest.mark.parametrize("text", ["name: [unclosed", "- a list", "", "name: demo\nmain: 3\n"])
def test_odd_project_files_do_not_crash(tmp_path, text):
    (tmp_path / "Pulumi.yaml").write_text(text)
    assert project_module._project_name(tmp_path / "Pulumi.yaml") in (None, "demo")
    assert project_module._program_dir(tmp_path) == tmp_path


def test_contained_paths(tmp_path):
    root = tmp_path.resolve()
    (root / "app").mkdir()
    project = project_module.Project(root, root)
    assert project_module.contained(project, "app") == root / "app"
    assert project_module.contained(project, str(root / "app")) == root / "app"
    assert project_module.contained(project, "Dockerfile", base=root / "app") == root / "app" / "Dockerfile"
    with pytest.raises(project_module.ProjectFileError, match=r"the Dockerfile '\.\./x' resolves to .*, outside the "
                                                             r"project .*Fix: keep the build context"):
        project_module.contained(project, "../x", what="Dockerfile")
    (root / "link").symlink_to("/etc")
    with pytest.raises(project_module.ProjectFileError, match="outside the project"):
        project_module.contained(project, "link/hostname")


def test_not_found_message_names_the_project_and_the_fix(monkeypatch):
    monkeypatch.delenv("PULUMI_PROJECT_DIR", raising=False)
    monkeypatch.setenv("PULUMI_PROJECT", "demo")
    message = project_module.not_found_message()
    assert "'demo'" in message and "run `pulumi` from the project's folder" in message
    monkeypatch.delenv("PULUMI_PROJECT")
    assert "(PULUMI_PROJECT not set)" in project_module.not_found_message()


# ----------------------------------------------------------------------------- credentials


@pytest.mark.parametrize(("name", "words"), [
    ("DATABASE_URL", ["database", "url"]), ("apiKey", ["api", "key"]), ("OAuthToken", ["o", "auth", "token"]),
    ("my-secret.key", ["my", "secret", "key"]), ("JWTSecret", ["jwt", "secret"]), ("a:b/c", ["a", "b", "c"]),
])
def test_name_words(name, words):
    assert credentials.name_words(name) == words


@pytest.mark.parametrize("noun", sorted(credentials.credential_nouns()))
def test_every_credential_noun_marks_a_name(noun):
    assert credentials.is_credential_name(f"APP_{noun.upper()}")


@pytest.mark.parametrize("qualifier", sorted(credentials.public_qualifiers()))
def test_every_public_qualifier_neutralises_key_and_token(qualifier):
    assert not credentials.is_credential_name(f"{qualifier.upper()}_KEY")
    assert not credentials.is_credential_name(f"{qualifier.upper()}_TOKEN")
    assert credentials.is_credential_name(f"{qualifier.upper()}_SECRET")


@pytest.mark.parametrize("suffix", sorted(credentials.metadata_words()))
def test_every_metadata_suffix_makes_a_name_descriptive(suffix):
    if suffix in ("url", "uri", "urls"):
        assert credentials.is_credential_name(f"DATABASE_{suffix.upper()}")
        assert not credentials.is_credential_name(f"JWKS_{suffix.upper()}")
    else:
        assert not credentials.is_credential_name(f"API_KEY_{suffix.upper()}")


@pytest.mark.parametrize("store", sorted(credentials.data_store_words()))
def test_every_data_store_makes_a_connection_string(store):
    for last in ("URL", "URI", "DSN", "STRING"):
        assert credentials.is_credential_name(f"{store.upper()}_{last}")
    assert not credentials.is_credential_name(f"{store.upper()}_HOST")


@pytest.mark.parametrize(("name", "secret"), [
    ("", False), ("PWD", False), ("APP_PWD", True), ("TOKEN", True), ("KEYS", True), ("REFRESH_TOKEN", True),
    ("CSRF_TOKEN", False), ("PAGE_TOKEN", False), ("URL", False), ("DSN", True), ("CONNECTION_STRING", True),
])
def test_credential_name_edges(name, secret):
    assert credentials.is_credential_name(name) is secret


@pytest.mark.parametrize(("value", "reference"), [
    ("", True), ("  ", True), ("arn:aws:secretsmanager:r:1:secret:x", True), ("arn:aws:x y", False),
    ("/var/run/secrets/x.json", True), ("/not a path", False), ("relative/path", False), ("hunter2", False),
])
def test_value_is_reference(value, reference):
    assert credentials.value_is_reference(value) is reference


@pytest.mark.parametrize(("name", "value", "why"), [
    ("UPSTREAM", "https://user:pw@host/x", "its value looks like a connection string with a password"),
    ("UPSTREAM", "postgres://:pw@host/x", "its value looks like a connection string with a password"),
    ("K", "-----BEGIN EC PRIVATE KEY-----", "its value looks like a private key"),
    ("K", '{"private_key" : "x"}', "its value looks like service-account JSON"),
    ("S", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig", "its value looks like a JWT"),
    ("ID", "AKIAABCDEFGHIJKLMNOP", "its value looks like an AWS access key"),
    ("ID", "ASIAABCDEFGHIJKLMNOP", "its value looks like an AWS access key"),
    ("DB_PASSWORD", "x", "its name marks a credential"),
    ("DB_PASSWORD", "", None), ("URL", "https://host/x", None), ("S", "eyJ.short.x", None),
    ("GOOGLE_APPLICATION_CREDENTIALS", "/secrets/sa.json", None),
])
def test_credential_in(name, value, why):
    assert credentials.credential_in(name, value) == why


# ----------------------------------------------------------------------------- IAM


@pytest.mark.parametrize(("resource", "broad"), [
    ("*", True), ("arn:aws:s3:::*", True), ("arn:aws:secretsmanager:*:*:secret:*", True),
    ("arn:aws:iam::*:role/*", True), ("arn:aws:logs:*:*:*", True), ("arn:aws:s3:::bucket/*", False),
    ("arn:aws:secretsmanager:eu-central-1:1:secret:*", False),
    ("arn:aws:secretsmanager:*:123456789012:secret:*", False), ("arn:aws:sqs:*:*:queue", False), ("x:y", False),
    ("arn:aws:s3", False),
])
def test_broad_resources(resource, broad):
    assert iam.is_broad_resource(resource) is broad


@pytest.mark.parametrize(("arn", "name"), [
    ("arn:aws:iam::aws:policy/AdministratorAccess", "AdministratorAccess"),
    ("arn:aws:iam::aws:policy/PowerUserAccess", "PowerUserAccess"),
    ("arn:aws:iam::aws:policy/IAMFullAccess", "IAMFullAccess"),
    ("arn:aws:iam::aws:policy/SecretsManagerReadWrite", "SecretsManagerReadWrite"),
    ("arn:aws:iam::aws:policy/ReadOnlyAccess", "ReadOnlyAccess"),
    ("arn:aws:iam::aws:policy/AWSCodeCommitPowerUser", "AWSCodeCommitPowerUser"),
    ("arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser", "AmazonEC2ContainerRegistryPowerUser"),
    ("arn:aws:iam::aws:policy/AmazonS3FullAccess", "AmazonS3FullAccess"),
    ("arn:aws:iam::aws:policy/AmazonDynamoDBReadWrite", "AmazonDynamoDBReadWrite"),
    ("arn:aws:iam::aws:policy/SomethingPowerUserAccess", "SomethingPowerUserAccess"),
    ("arn:aws:iam::aws:policy/AdministratorAccess-Amplify", "AdministratorAccess-Amplify"),
    ("arn:aws:iam::aws:policy/job-function/SystemAdministrator", "SystemAdministrator"),
    ("arn:aws-us-gov:iam::aws:policy/AdministratorAccess", "AdministratorAccess"),
    ("arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy", None),
    ("arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly", None),
    ("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess", None),
    ("arn:aws:iam::123456789012:policy/AdministratorAccess", None),
    ("not-an-arn", None),
])
def test_broad_managed_policies(arn, name):
    assert iam.broad_managed_policy(arn) == name


def test_resourceless_actions_are_allowed_on_star_and_only_those():
    for action in iam.resourceless_actions():
        document = {"Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}
        assert iam.statement_problems(document, iam.resourceless_actions()) == [], action
        assert iam.statement_problems(document, []) == [f"statement 0 allows ['{action}'] on Resource '*'"]


@pytest.mark.parametrize(("statement", "problems"), [
    ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:x"},
     ["statement 0 allows NotAction ['iam:*'], which grants every other action"]),
    ({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": ["arn:x"]},
     ["statement 0 allows on NotResource ['arn:x'], which grants every other resource"]),
    ({"Sid": "S", "Effect": "Allow", "Action": "s3:Get?bject", "Resource": "arn:x"},
     ["S allows the wildcard action 's3:Get?bject'"]),
    ({"Effect": "Allow", "Action": "ECR:GETAUTHORIZATIONTOKEN", "Resource": "*"}, []),
    ({"Effect": "Allow", "Action": "ecr:GetAuth*", "Resource": "*"},
     ["statement 0 allows the wildcard action 'ecr:GetAuth*'", "statement 0 allows ['ecr:GetAuth*'] on Resource '*'"]),
    ({"Effect": "Allow", "Resource": "*"}, ["statement 0 allows its actions on Resource '*'"]),
    ({"Effect": "allow", "Action": "*", "Resource": "arn:x"}, ["statement 0 allows the wildcard action '*'"]),
    ({"Effect": "Deny", "NotAction": "*", "NotResource": "*"}, []),
])
def test_statement_problems(statement, problems):
    assert iam.statement_problems({"Statement": statement}, iam.resourceless_actions()) == problems


def test_documents_of_any_shape():
    assert iam.statement_problems(None, []) == [] and iam.statement_problems("x", []) == []
    assert iam.statement_problems({"Statement": ["x", 3]}, []) == []
    assert iam.statement_problems({}, []) == []
    assert as_list(None) == [] and as_list("a") == ["a"] and as_list(("a",)) == ["a"]


# ----------------------------------------------------------------------------- script lists and selectors


@pytest.mark.parametrize(("argv", "scripts", "found"), [
    (["run-s", "db:*"], {"db:up": "prisma db push", "dbx": "x"}, "'db:up'"),
    (["run-s", "db:*"], {"db:a:b": "prisma db push"}, None),  # * does not cross a colon
    (["run-s", "db:**"], {"db:a:b": "prisma db push"}, "'db:a:b'"),
    (["run-p", "--race", "start"], {"start": "prisma db push"}, "'start'"),
    (["npm-run-all", "-s", "a", "b"], {"a": "node x", "b": "knex migrate:latest"}, "'b'"),
    (["npm-run-all2", "a"], {"a": "knex migrate:latest"}, "'a'"),
    (["run-s", "missing"], {}, None),
    (["concurrently", "pnpm:go"], {"go": "prisma db push"}, "'go'"),
    (["concurrently", "bun:go"], {"go": "prisma db push"}, "'go'"),
    (["concurrently", "npm:go", "-n", "x"], {"go": "node x"}, None),
])
def test_script_lists(argv, scripts, found):
    verdict = analyse(argv, FakeFiles({"/app/package.json": pkg(**scripts)}))
    assert (verdict.migration is None) if found is None else (found in verdict.migration), verdict.migration


def test_script_lists_without_package_json_run_the_names():
    assert "judged by the script's name" in find_migration(["run-s", "migrate"])
    assert find_migration(["run-s", "build"]) is None


def test_workspaces_run_only_the_selected_members():
    files = FakeFiles({
        "/app/package.json": json.dumps({"workspaces": ["p/*"]}),
        "/app/p/api/package.json": json.dumps({"name": "api", "scripts": {"start": "node x"}}),
        "/app/p/db/package.json": json.dumps({"name": "db", "scripts": {"start": "prisma db push"}}),
    })
    assert analyse(["npm", "run", "-w", "api", "start"], files).migration is None
    assert "'start'" in analyse(["npm", "run", "-w", "db", "start"], files).migration
    assert "'start'" in analyse(["yarn", "workspace", "db", "start"], files).migration
    assert "'start'" in analyse(["pnpm", "-r", "start"], files).migration
    assert analyse(["npm", "start", "-w", "api"], files).migration is None  # no node server.js in a workspace


def test_scripts_run_in_their_packages_directory():
    files = FakeFiles({"/app/package.json": pkg(start="sh run.sh"), "/app/run.sh": "prisma db push",
                       "/srv/package.json": pkg(start="sh run.sh")})
    assert "Prisma" in analyse(["npm", "start"], files).migration
    assert analyse(["npm", "--prefix", "/srv", "start"], files).migration is None  # /srv/run.sh does not exist


def test_script_files_with_a_shell_shebang_are_read():
    for shebang in ("#!/bin/sh", "#!/bin/bash", "#!/usr/bin/env bash", "#!/bin/ash -e"):
        files = FakeFiles({"/app/s": f"{shebang}\nprisma db push\n"})
        assert analyse(["/app/s"], files).migration, shebang
    assert analyse(["/app/s"], FakeFiles({"/app/s": "#!/usr/bin/env python3\nprisma db push\n"})).migration is None
    assert analyse(["/app/s"], FakeFiles({"/app/s": "\n\n  #!/bin/sh\nprisma db push\n"})).migration


@pytest.mark.parametrize(("dockerfile", "path", "existing", "origins"), [
    ("FROM n\nWORKDIR /app\nCOPY entry.sh .\n", "/app/entry.sh", {"entry.sh"}, ["entry.sh"]),
    ("FROM n\nWORKDIR /app\nCOPY entry.sh ./\n", "/app/entry.sh", {"entry.sh"}, ["entry.sh"]),
    ("FROM n\nCOPY entry.sh /bin/entry\n", "/bin/entry", {"entry.sh"}, ["entry.sh"]),
    ("FROM n\nCOPY XFILE /opt\n", "/opt", {"XFILE"}, ["XFILE"]),  # a single file copied to a new name
    ("FROM node:22 AS deps\nCOPY --from=node:22 /usr/bin/x /x\n", "/x", {"usr/bin/x"}, []),  # external image
    ("FROM n AS a\nWORKDIR /w\nCOPY x.sh /src/x.sh\nFROM n\nCOPY --from=a src/x.sh /x.sh\n", "/x.sh", {"x.sh"},
     ["x.sh"]),  # a relative --from source is relative to the stage's root
    ("FROM n\nADD https://host/a.sh /a.sh\n", "/a.sh", {"a.sh", "https:/host/a.sh"}, []),
    ("FROM n\nCOPY --link --chmod=755 a.sh /a.sh\n", "/a.sh", {"a.sh"}, ["a.sh"]),
    ("FROM n\nCOPY ./dir/ /opt/dir/\n", "/opt/dir/s.sh", {"dir/s.sh"}, ["dir/s.sh"]),
    ("FROM n\nCOPY / /root-copy\n", "/root-copy/a", {"a"}, ["a"]),
])
def test_origins_edge_cases(dockerfile, path, existing, origins):
    model = Dockerfile(dockerfile)
    assert model.origins(path, model.target(None), in_context(existing)) == origins


@pytest.mark.parametrize(("dockerfile", "path", "existing", "origins"), [
    # a glob copies each match on its own: a file by its name, a directory as its contents
    ("FROM n\nCOPY scripts/* /usr/local/bin/\n", "/usr/local/bin/boot.sh", {"scripts/bin/boot.sh"},
     ["scripts/bin/boot.sh"]),
    ("FROM n\nCOPY scripts/* /usr/local/bin/\n", "/usr/local/bin/bin/boot.sh", {"scripts/bin/boot.sh"}, []),
    ("FROM n\nCOPY scripts/* /usr/local/bin/\n", "/usr/local/bin/a.sh", {"scripts/a.sh", "scripts/b/c.sh"},
     ["scripts/a.sh"]),
    ("FROM n\nCOPY s*/*.sh /opt/\n", "/opt/a.sh", {"s1/a.sh", "s2/a.sh", "t/a.sh"}, ["s2/a.sh", "s1/a.sh"]),
    ("FROM n\nCOPY *.sh /bin/\n", "/bin/[x].sh", {"[x].sh", "x.sh"}, ["[x].sh"]),  # a name is no pattern
    # several sources: the last one copied is the file left in the image
    ("FROM n\nCOPY a/start.sh b/start.sh /app/\n", "/app/start.sh", {"a/start.sh", "b/start.sh"},
     ["b/start.sh", "a/start.sh"]),
    # through another stage a matched file is followed; a directory's contents cannot be listed there
    ("FROM n AS a\nCOPY x /s/x\nFROM n\nCOPY --from=a /s/* /d/\n", "/d/x", {"x"}, ["x"]),
    ("FROM n AS a\nCOPY x /s/sub/x\nFROM n\nCOPY --from=a /s/* /d/\n", "/d/x", {"x"}, []),
    # a name with glob characters copied by a plain COPY is that name, in the context and through a stage
    ("FROM n\nCOPY scripts /opt/\n", "/opt/[x].sh", {"scripts/[x].sh", "scripts/x.sh"}, ["scripts/[x].sh"]),
    ("FROM n\nCOPY scripts /opt/\n", "/opt/*.sh", {"scripts/x.sh"}, []),
    ("FROM n AS a\nCOPY s /s\nFROM n\nCOPY --from=a /s /d\n", "/d/[x]?.sh", {"s/[x]?.sh", "s/x1.sh"},
     ["s/[x]?.sh"]),
])
def test_origins_of_globs(dockerfile, path, existing, origins):
    model = Dockerfile(dockerfile)
    assert model.origins(path, model.target(None), in_context(existing)) == origins
