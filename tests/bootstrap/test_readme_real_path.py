"""The README's real-cloud path, read as the shell runs it (the policy pack's shell parser): the order of
the commands that decide whether CI's first deploy can work, and the interpreter the ops commands need."""

from __future__ import annotations

import json
import shutil
import subprocess
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


# Every external command of the block, as a stand-in: records its words (and for `pulumi config set`, what it
# read on stdin) and prints what the real one prints where the block reads it.
STAND_IN = """#!{python} -S
import json, os, sys
name, args = os.path.basename(sys.argv[0]), sys.argv[1:]
stdin = sys.stdin.read() if name == "pulumi" and args[:2] == ["config", "set"] else None
with open(os.environ["STAND_IN_LOG"], "a") as log:
    log.write(json.dumps([name, *args, stdin]) + "\\n")
answers = {{
    ("aws", "route53"): "/hostedzone/Z0EXAMPLE00000000000",
    ("pulumi", "stack", "output", "backendUrl"): "s3://acme-state?region=eu-central-1",
    ("pulumi", "stack", "output", "secretsProviders"): json.dumps({{
        "staging": "awskms://alias/acme-staging-secrets?region=eu-central-1",
        "prod": "awskms://alias/acme-prod-secrets?region=eu-central-1"}}),
    ("pulumi", "stack", "output", "repositoryVariables"): json.dumps({{"AWS_PREVIEW_STACKS": "[\\"staging\\"]"}}),
    ("gh", "api", "users/my-github-login"): "4242",
    ("openssl", "rand"): "a-random-jwt-secret",
}}
for key, answer in answers.items():
    if (name, *args)[:len(key)] == key:
        print(answer)
"""


def test_the_block_runs_as_printed_and_gives_each_stack_its_own_firebase_key(tmp_path):
    """The block run by bash with stand-ins for aws, pulumi, gh, git, openssl and the project's Python: it
    completes, and prod's Firebase key never goes to staging, whose secrets pull requests can read."""
    if shutil.which("jq") is None:
        pytest.skip("jq (the block's JSON filter) is not installed")
    section = README[README.index("### From an empty account to the first release"):]
    script = section[section.index("```bash") + len("```bash"):]
    script = script[:script.index("```")]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("aws", "pulumi", "gh", "git", "openssl"):
        (bin_dir / name).write_text(STAND_IN.format(python=sys.executable))
        (bin_dir / name).chmod(0o755)
    clone = tmp_path / "clone"
    (clone / "bootstrap").mkdir(parents=True)
    (clone / ".venv" / "bin").mkdir(parents=True)
    (clone / ".venv" / "bin" / "python").symlink_to(bin_dir / "pulumi")  # records `-m ops ...` the same way
    (clone / "firebase-staging.json").write_text('{"project_id": "acme-staging"}')
    (clone / "firebase-prod.json").write_text('{"project_id": "acme-prod"}')
    log = tmp_path / "calls.log"
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "STAND_IN_LOG": str(log)}
    done = subprocess.run(["bash", "-eu", "-c", script], cwd=clone, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    firebase = {call[-2]: call[-1] for call in calls
                if call[:5] == ["pulumi", "config", "set", "--secret", "firebaseCredentials"]}
    assert firebase == {"staging": '{"project_id": "acme-staging"}', "prod": '{"project_id": "acme-prod"}'}
    inits = {call[3]: call[5] for call in calls if call[:3] == ["pulumi", "stack", "init"] and call[3] != "account"}
    assert inits == {"staging": "awskms://alias/acme-staging-secrets?region=eu-central-1",
                     "prod": "awskms://alias/acme-prod-secrets?region=eu-central-1"}
    assert (tmp_path / ".pulumi-bootstrap").is_dir()
    assert ["python", "-m", "ops", "rollback", "-s", "prod", None] in calls
