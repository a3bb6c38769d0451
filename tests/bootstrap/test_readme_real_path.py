"""The README's real-cloud path, read as the shell runs it (the policy pack's shell parser): the order of
the commands that decide whether CI's first deploy can work, and the interpreter the ops commands need."""

from __future__ import annotations

import sys

import pytest

from offline.ci_env import stack_names
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "policies"))
from guardrails.shell import simple_commands  # noqa: E402

README = (ROOT / "README.md").read_text()


def real_path_commands() -> list[list[str]]:
    section = README[README.index("### From an empty account to the first release"):]
    script = section[section.index("```bash") + len("```bash"):]
    return simple_commands(script[:script.index("```")])


COMMANDS = real_path_commands()


def index_of(prefix: list[str]) -> int:
    return next(i for i, words in enumerate(COMMANDS) if words[:len(prefix)] == prefix)


def test_the_ops_commands_run_with_the_projects_python():
    ops = [words for words in COMMANDS if words[1:3] == ["-m", "ops"]]
    assert [words[3] for words in ops] == ["deploy", "deploy", "status", "rollback"]
    assert all(words[0] == ".venv/bin/python" for words in ops), ops


def test_the_bootstrap_is_previewed_with_the_pack_and_knows_the_zone_before_its_up():
    up = index_of(["pulumi", "up", "-s", "account"])
    assert index_of(["pulumi", "config", "set", "hostedZoneId"]) < up
    assert index_of(["pulumi", "config", "set", "githubRepository"]) < up
    preview = COMMANDS[index_of(["pulumi", "preview", "-s", "account"])]
    assert "--policy-pack" in preview and index_of(preview) < up
    # prod's domain lives in the zone the deploy role may write: the same value feeds both.
    assert COMMANDS[index_of(["pulumi", "config", "set", "hostedZone"])][4] == "$zone_id"
    assert COMMANDS[index_of(["pulumi", "config", "set", "hostedZoneId"])][4] == "$zone_id"


def stack_loops() -> list[tuple[list[str], str]]:
    """Each `for stack in A B; do ... done` of the block: the stacks it names and its body."""
    section = README[README.index("### From an empty account to the first release"):]
    script = section[section.index("```bash"):]
    script = script[:script.index("\n```\n")]
    loops = []
    for head in script.split("\nfor stack in ")[1:]:
        names, _, body = head.partition("; do\n")
        loops.append((names.split(), body[:body.index("\ndone")]))
    return loops


@pytest.mark.parametrize("stack", stack_names())
def test_every_committed_stack_is_initialised_with_its_secrets_before_ci_meets_it(stack):
    # CI deploys staging before prod and previews every committed Pulumi.<stack>.yaml: each needs the KMS
    # provider and all four secrets.
    done = set()
    for names, body in stack_loops():
        if stack in names:
            for words in simple_commands(body):
                if words[:3] == ["pulumi", "stack", "init"] and "--secrets-provider" in words:
                    done.add("init")
                if words[:4] == ["pulumi", "config", "set", "--secret"]:
                    done.add(words[4])
    assert done == {"init", "databaseUrl", "redisUrl", "jwtSecret", "firebaseCredentials"}


def test_each_stack_is_initialised_with_its_own_key_from_the_bootstraps_output():
    """One key for every stack would let the preview role, which may open staging's key, open prod's secrets."""
    assert ["pulumi", "stack", "output", "secretsProviders", "--json", "-s", "account"] in COMMANDS
    inits = 0
    for _names, body in stack_loops():
        commands = simple_commands(body)
        for i, words in enumerate(commands):
            if words[:3] == ["pulumi", "stack", "init"]:
                assert words[3] == "$stack" and words[words.index("--secrets-provider") + 1] == "$provider"
                # the provider is the loop's own stack's entry of that output, looked up just before
                assert commands[i - 1] == ["jq", "-er", "--arg", "stack", "$stack", ".[$stack]"]
                inits += 1
    assert inits == 1
