"""The CI workflows: what each job runs, with which rights, pinned how.

actionlint and zizmor (`make lint`) check the workflows' syntax, expressions, shell and security
in general; these tests check the project's own contract: deploys go through `python -m ops deploy`
(so the migration runs before the rollout), region and CLI version come from the repository's
files, the plan comment is one per stack and edited in place.
"""

from __future__ import annotations

import copy
import fcntl
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from offline.ci_env import stack_names
from offline.plan import plan_document
from offline.policy_client import Diagnostic, PolicyReport
from offline.pr_comment import Side, build_comment, marker
from ops.cli import build_parser, run
from tests.conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
NAMES = sorted(p.name for p in WORKFLOWS.glob("*.yml"))
# `uses: owner/repo@<40 hex> # vX.Y.Z`, as the raw line reads (YAML drops the comment).
PINNED = re.compile(
    r"^\s*(?:- )?uses: (?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40}) # (?P<version>v\d+\.\d+\.\d+)$")
AWS_REGION = re.compile(r"\b(?:us|eu|ap|sa|ca|me|af|il|mx)-(?:north|south|east|west|central|northeast|southeast)-\d\b")
GITHUB_BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]  # how a runner starts `run:` scripts


def load(name: str) -> dict:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    document["on"] = document.pop(True)  # YAML 1.1 reads the key `on` as a boolean
    return document


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def step_running(job: dict, text: str) -> dict:
    (found,) = [s for s in steps(job) if text in s.get("run", "")]
    return found


def step_using(job: dict, action: str) -> list[dict]:
    return [s for s in steps(job) if s.get("uses", "").split("@")[0] == action]


def deploy_jobs() -> dict[str, tuple[dict, dict]]:
    """stack -> (the calling job in deploy.yml, the reusable workflow's job it runs)."""
    callers = load("deploy.yml")["jobs"]
    result = {}
    for job in callers.values():
        if "uses" in job:
            called = load(Path(job["uses"].removeprefix("$/")).name)
            (inner,) = called["jobs"].values()
            result[job["with"]["stack"]] = (job, inner)
    return result


# --------------------------------------------------------------------------- every workflow


def test_every_action_is_pinned_to_a_commit_with_its_release_in_a_comment():
    pins: dict[str, set[tuple[str, str]]] = {}
    for name in NAMES:
        for number, text in enumerate((WORKFLOWS / name).read_text().splitlines(), 1):
            if not re.match(r"^\s*(?:- )?uses:", text) or "uses: $/" in text:
                continue
            match = PINNED.match(text)
            assert match, f"{name}:{number}: `{text.strip()}` is not `owner/repo@<commit SHA> # vX.Y.Z`"
            pins.setdefault(match["action"], set()).add((match["sha"], match["version"]))
    assert len(pins) >= 8
    for action, versions in pins.items():
        assert len(versions) == 1, f"{action} is pinned to different commits: {versions}"


@pytest.mark.parametrize("name", NAMES)
def test_no_permissions_by_default_and_each_job_states_its_own(name):
    workflow = load(name)
    assert workflow["permissions"] == {}, f"{name}: top-level permissions must be {{}}"
    for job_name, job in workflow["jobs"].items():
        # Stated, even when nothing ({}: a job that reads no repository content, like the previews' filter).
        assert isinstance(job.get("permissions"), dict), f"{name}: {job_name}"
        writes = {scope for scope, level in job["permissions"].items() if level == "write"}
        # Only the manual rollback pushes: the commit that records its pin (it runs main's code, started
        # by a maintainer, in the protected environment of its stack).
        allowed = {"id-token", "pull-requests"} | ({"contents"} if name == "rollback.yml" else set())
        assert writes <= allowed, f"{name}: {job_name} writes {writes}"
        if "pull-requests" in writes and name != "rollback.yml":  # the PR comment job runs none of the PR's code
            assert not step_using(job, "actions/checkout") and writes == {"pull-requests"}, job_name


@pytest.mark.parametrize("name", NAMES)
def test_every_checkout_leaves_no_credentials_behind(name):
    for job_name, job in load(name)["jobs"].items():
        for step in step_using(job, "actions/checkout"):
            assert step.get("with", {}).get("persist-credentials") is False, f"{name}: {job_name}"


@pytest.mark.parametrize("name", NAMES)
def test_no_region_is_spelled_in_a_workflow(name):
    assert not AWS_REGION.search((WORKFLOWS / name).read_text()), f"{name} names an AWS region"


def aws_and_pulumi_steps_read_the_stack_config(job: dict, stack_expression: str) -> None:
    """Region and CLI version come from `offline.ci_env stack` for the job's own stack."""
    facts = step_running(job, "-m offline.ci_env stack")
    assert facts["id"] == "stack"
    assert shlex.split(facts["run"])[-2:] == ["--stack", "$STACK"] and job["env"]["STACK"] == stack_expression
    (aws,) = step_using(job, "aws-actions/configure-aws-credentials")
    assert aws["with"]["aws-region"] == "${{ steps.stack.outputs.region }}"
    (cli,) = step_using(job, "pulumi/actions")
    assert cli["with"] == {"pulumi-version": "${{ steps.stack.outputs.pulumi-version }}"}  # install only
    order = steps(job)
    assert order.index(facts) < order.index(cli) < order.index(aws)


# --------------------------------------------------------------------------- deploy


def test_main_deploys_every_stack_staging_then_prod_behind_an_approval():
    workflow = load("deploy.yml")
    assert workflow["on"] == {"push": {"branches": ["main"]}}
    assert "make test" in [s.get("run") for s in steps(workflow["jobs"]["test"])]
    jobs = deploy_jobs()
    assert sorted(jobs) == stack_names()  # every committed stack, and only those
    staging, prod = jobs["staging"][0], jobs["prod"][0]
    assert staging["needs"] == "test" and prod["needs"] == "staging"
    assert staging["with"]["environment"] == "staging" and prod["with"]["environment"] == "production"


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_each_stack_deploys_alone_and_a_running_deploy_is_never_cancelled(stack):
    caller, job = deploy_jobs()[stack]
    assert job["environment"] == "${{ inputs.environment }}"
    assert job["concurrency"] == {"group": "deploy-${{ inputs.stack }}", "cancel-in-progress": False}
    assert caller["permissions"] == job["permissions"] == {"contents": "read", "id-token": "write"}
    aws_and_pulumi_steps_read_the_stack_config(job, "${{ inputs.stack }}")
    (aws,) = step_using(job, "aws-actions/configure-aws-credentials")
    assert aws["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    assert job["env"]["PULUMI_BACKEND_URL"] == "${{ vars.PULUMI_BACKEND_URL }}"


def assert_deploys_through_ops(job: dict, stack: str, monkeypatch) -> None:
    """The job's last step is `python -m ops deploy` for its stack: preflight, image, migration task,
    `up` with the policy pack, health; tests/ops prove that sequence and that a failed migration stops
    it before the service rolls out. Nothing else in the job changes the stack."""
    deploying = [s for s in steps(job) if "-m ops" in s.get("run", "")]
    assert deploying, "no step runs `python -m ops deploy`: the migration would be skipped"
    (step,) = deploying
    assert steps(job)[-1] is step, "the deploy is the job's last step"
    for other in steps(job):
        assert not re.search(r"\bpulumi (up|destroy|refresh|import)\b", other.get("run", "")), other
        assert "command" not in other.get("with", {}), f"{other.get('uses')} runs a Pulumi command itself"
    argv = shlex.split(step["run"].replace("$STACK", stack))
    assert argv[:3] == [".venv/bin/python", "-m", "ops"]
    args = build_parser().parse_args(argv[3:])
    assert (args.command, args.stack) == ("deploy", stack)

    # The parsed command reaches the deploy sequence itself, with the stack's region.
    calls = []
    monkeypatch.setattr("ops.deploy.deploy", lambda adapter, aws, stack_name, printer, **kw: calls.append(stack_name))

    class Adapter:
        def __init__(self, name):
            self.name = name

        def outputs(self):
            return {"region": "from-the-stack-outputs"}

    assert run(args, adapter_factory=Adapter, printer=lambda *_: None) == 0
    assert calls == [stack]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_deploy_runs_the_migration_before_the_rollout_through_ops_deploy(stack, monkeypatch):
    _caller, job = deploy_jobs()[stack]
    env = dict(job["env"], STACK=stack)
    assert env["PULUMI_BACKEND_URL"].startswith("${{ vars.")
    assert_deploys_through_ops(job, stack, monkeypatch)
    # What `ops deploy` needs is in place before it: uv on PATH for the CLI's toolchain, buildx for the image,
    # and a preview with the pack and CI's config, whose stack policies `up --skip-preview` would run too late.
    order = steps(job)
    gate = shlex.split(step_running(job, "pulumi preview")["run"])
    assert order.index(step_running(job, "pulumi preview")) == len(order) - 2
    assert gate[:4] == ["pulumi", "preview", "--stack", "$STACK"]
    assert gate[gate.index("--policy-pack") + 1] == "policies"
    preview = shlex.split(step_running(load("preview.yml")["jobs"]["preview"], "pulumi preview")["run"])
    assert gate[gate.index("--policy-pack-config") + 1] == preview[preview.index("--policy-pack-config") + 1]
    uv_on_path = step_running(job, ".tools/uv/bin")
    assert "$GITHUB_PATH" in uv_on_path["run"] and "make venv" in uv_on_path["run"]
    (buildx,) = step_using(job, "docker/setup-buildx-action")
    assert order.index(uv_on_path) < order.index(buildx) < len(order) - 1


def test_a_deploy_job_without_its_ops_step_fails_the_check(monkeypatch):
    """The check above is not vacuous: a bare `pulumi up`, or no deploy step at all, fails it."""
    _caller, job = deploy_jobs()["prod"]
    without = copy.deepcopy(job)
    without["steps"] = [s for s in steps(without) if "-m ops" not in s.get("run", "")]
    with pytest.raises(AssertionError, match="migration would be skipped"):
        assert_deploys_through_ops(without, "prod", monkeypatch)
    bare_up = copy.deepcopy(without)
    bare_up["steps"].append({"run": "pulumi up --yes --stack prod --policy-pack policies"})
    with pytest.raises(AssertionError):
        assert_deploys_through_ops(bare_up, "prod", monkeypatch)


# --------------------------------------------------------------------------- rollback


def assert_rollback_is_recorded_in_git(job: dict) -> None:
    """`ops rollback --commit` (its pin committed in Pulumi.<stack>.yaml), then that commit pushed with
    a pull request: a rollback that left only an uncommitted file on the runner would be rolled
    forward by the next deploy."""
    (rolling,) = [s for s in steps(job) if "-m ops" in s.get("run", "")]
    assert "rollback" in rolling["run"] and "--commit" in rolling["run"], "the pin would not be committed"
    argv = shlex.split(rolling["run"].splitlines()[0].split("=(", 1)[1].rstrip(")").replace("$STACK", "prod"))
    args = build_parser().parse_args(argv)
    assert (args.command, args.stack, args.commit) == ("rollback", "prod", True)
    pushing = step_running(job, "git push")
    assert "gh pr create" in pushing["run"] and steps(job).index(rolling) < steps(job).index(pushing)


def test_a_manual_rollback_records_its_pin_in_a_pull_request():
    workflow = load("rollback.yml")
    assert "workflow_dispatch" in workflow["on"]
    assert workflow["on"]["workflow_dispatch"]["inputs"]["stack"]["options"] == sorted(stack_names(), reverse=True)
    (job,) = workflow["jobs"].values()
    # The stack's own deploy lane: same concurrency group, same environment rules, the deploy role.
    assert job["concurrency"] == {"group": "deploy-${{ inputs.stack }}", "cancel-in-progress": False}
    assert job["environment"] == "${{ inputs.stack == 'prod' && 'production' || 'staging' }}"
    aws_and_pulumi_steps_read_the_stack_config(job, "${{ inputs.stack }}")
    (aws,) = step_using(job, "aws-actions/configure-aws-credentials")
    assert aws["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    assert_rollback_is_recorded_in_git(job)


def test_a_rollback_job_that_does_not_commit_fails_the_check():
    (job,) = load("rollback.yml")["jobs"].values()
    without = copy.deepcopy(job)
    for step in steps(without):
        step["run"] = step.get("run", "").replace(" --commit", "")
    with pytest.raises(AssertionError, match="the pin would not be committed"):
        assert_rollback_is_recorded_in_git(without)


# --------------------------------------------------------------------------- pull requests


def test_pull_requests_run_the_tests_and_check_migrations_against_postgresql():
    workflow = load("preview.yml")
    assert workflow["on"] == {"pull_request": {"branches": ["main"]}}
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert "make test" in [s.get("run") for s in steps(workflow["jobs"]["test"])]
    migrations = workflow["jobs"]["migrations"]
    postgres = migrations["services"]["postgres"]
    assert postgres["image"].startswith("postgres:") and postgres["ports"] == ["5432:5432"]
    check = shlex.split(step_running(migrations, "ops migrate")["run"])
    assert check == [".venv/bin/python", "-m", "ops", "migrate", "--check", "--database-url",
                     f"postgresql://postgres:{postgres['env']['POSTGRES_PASSWORD']}@localhost:5432/postgres"]


def test_mutation_testing_runs_weekly_and_keeps_its_report_whatever_the_score():
    workflow = load("mutation.yml")
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}  # too slow for a pull request
    (schedule,) = workflow["on"]["schedule"]
    minute, hour, day, month, weekday = schedule["cron"].split()
    assert (day, month) == ("*", "*") and weekday.isdigit() and minute.isdigit() and hour.isdigit()  # once a week
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "read"}
    order = steps(job)
    run = [s for s in order if s.get("run")]
    assert [s["run"] for s in run] == ["make mutate"]
    (upload,) = step_using(job, "actions/upload-artifact")
    assert order.index(run[0]) < order.index(upload)
    assert upload["with"]["path"] == "build/mutation/report.md" and upload["with"]["if-no-files-found"] == "error"
    assert upload["if"] == "${{ !cancelled() }}"  # a failing score is when the survivors matter most
    # The full run takes ~70 minutes on 2 cores (README); the job must outlast it.
    assert job["timeout-minutes"] >= 120


def test_pull_requests_plan_every_stack_against_the_base_branch():
    jobs = load("preview.yml")["jobs"]
    assert step_running(jobs["stacks"], "offline.ci_env stacks")["id"] == "stacks"
    plan = jobs["plan"]
    assert plan["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.stacks) }}"
    assert plan["permissions"] == {"contents": "read"}
    (head, base) = step_using(plan, "actions/checkout")
    assert "ref" not in head["with"] and base["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    planning = step_running(plan, "> plan-head.json")
    making = " ".join(planning["run"].replace("\\\n", " ").split())
    assert (f'make --no-print-directory -C {base["with"]["path"]} plan-json STACK="$STACK" '
            'POLICY_CONFIG="$POLICY_CONFIG" > plan-base.json') in making
    assert (ROOT / planning["env"]["POLICY_CONFIG"]).is_file()
    building = shlex.split(step_running(plan, "offline.pr_comment")["run"].replace("\\\n", " "))
    assert building[building.index("--head"):building.index("--head") + 2] == ["--head", "plan-head.json"]
    assert building[building.index("--base"):building.index("--base") + 2] == ["--base", "plan-base.json"]
    (upload,) = step_using(plan, "actions/upload-artifact")
    assert steps(plan)[-1]["name"].startswith("Fail on a mandatory policy violation")
    assert jobs["comment"]["needs"] == "plan" and upload["with"]["name"] == "plan-comment-${{ matrix.stack }}"


def test_pull_requests_preview_in_aws_only_the_stacks_the_preview_role_may_decrypt():
    jobs = load("preview.yml")["jobs"]
    preview, previews = jobs["preview"], jobs["previews"]
    assert previews["needs"] == "stacks" and previews["permissions"] == {} and "steps" in previews
    assert preview["needs"] == "previews" and "environment" not in preview
    assert preview["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.previews.outputs.stacks) }}"
    aws_and_pulumi_steps_read_the_stack_config(preview, "${{ matrix.stack }}")
    (aws,) = step_using(preview, "aws-actions/configure-aws-credentials")
    assert aws["with"]["role-to-assume"] == "${{ vars.AWS_PREVIEW_ROLE_ARN }}"
    command = shlex.split(step_running(preview, "pulumi preview")["run"])
    assert command[:4] == ["pulumi", "preview", "--stack", "$STACK"]
    assert command[command.index("--policy-pack") + 1] == "policies"  # its config: tests/test_pulumi_cli_args.py


# --------------------------------------------------------------------------- the comment job, run for real

FAKE_GH = """#!{python} -S
# `gh api` as the comment job uses it: comments from $FAKE_GH_COMMENTS, --jq through the real jq,
# writes recorded in $FAKE_GH_LOG.
import json, os, subprocess, sys
args = sys.argv[1:]
assert args[0] == "api", args
if "--method" in args:
    method = args[args.index("--method") + 1]
    path = [a for a in args[1:] if a.startswith("repos/")][0]
    field = args[args.index("-F") + 1]
    assert field.startswith("body=@"), field
    with open(os.environ["FAKE_GH_LOG"], "a") as log:
        log.write(json.dumps([method, path, open(field[len("body=@"):]).read()]) + "\\n")
    sys.exit(0)
if args[1] == "repos/owner/repo/pulls/7":
    assert args[2:] == ["--jq", ".head.sha"], args
    print(os.environ["FAKE_GH_PR_HEAD"])
    sys.exit(0)
assert "--paginate" in args and args[-2] == "--jq", args
path = [a for a in args if a.startswith("repos/")][0]
assert path == "repos/owner/repo/issues/7/comments", path
comments = open(os.environ["FAKE_GH_COMMENTS"]).read()
sys.exit(subprocess.run(["jq", "-r", args[-1]], input=comments, text=True).returncode)
"""


@pytest.fixture
def comment_job(tmp_path):
    if shutil.which("jq") is None:
        pytest.skip("jq (the runner's and gh's JSON filter) is not installed")
    (step,) = [s for s in steps(load("preview.yml")["jobs"]["comment"]) if "run" in s]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(FAKE_GH.format(python=sys.executable))
    (bin_dir / "gh").chmod(0o755)
    (tmp_path / "comment").mkdir()
    log = tmp_path / "gh.log"

    def run_job(bodies: dict[str, str], existing: list[dict], pr_head: str = HEAD_SHA,
                ) -> tuple[subprocess.CompletedProcess, list]:
        for stack, body in bodies.items():
            (tmp_path / "comment" / f"{stack}.md").write_text(body)
        (tmp_path / "comments.json").write_text(json.dumps(existing))
        env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "GH_TOKEN": "x", "REPO": "owner/repo",
               "PR": "7", "HEAD_SHA": HEAD_SHA, "FAKE_GH_PR_HEAD": pr_head,
               "FAKE_GH_LOG": str(log), "FAKE_GH_COMMENTS": str(tmp_path / "comments.json")}
        done = subprocess.run([*GITHUB_BASH, "-c", step["run"]], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=60)
        calls = [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []
        return done, calls

    return run_job


def body_for(stack: str) -> str:
    return build_comment(stack, Side(None, "x"), Side(None))


def test_the_comment_job_creates_one_comment_per_stack(comment_job):
    done, calls = comment_job({"prod": body_for("prod"), "staging": body_for("staging")}, [])
    assert done.returncode == 0, done.stderr
    assert calls == [["POST", "repos/owner/repo/issues/7/comments", body_for("prod")],
                     ["POST", "repos/owner/repo/issues/7/comments", body_for("staging")]]


def test_the_comment_job_edits_its_own_comment_in_place(comment_job):
    bot = "github-actions[bot]"
    # Each decoy comes AFTER the bot's own comment, where the job's `tail -n 1` would pick it: anyone can
    # post a comment that starts with the marker, and the bot's own comments may quote it.
    existing = [
        {"id": 11, "user": {"login": bot}, "body": marker("prod") + "\nthe first push"},
        {"id": 12, "user": {"login": "mallory"}, "body": marker("prod") + "\nnot ours"},
        {"id": 13, "user": {"login": bot}, "body": marker("staging") + "\nthe first push"},
        {"id": 14, "user": {"login": bot}, "body": "quoting " + marker("staging")},
        {"id": 15, "user": {"login": "mallory"}, "body": marker("staging") + "\nnot ours either"},
    ]
    done, calls = comment_job({"prod": body_for("prod"), "staging": body_for("staging")}, existing)
    assert done.returncode == 0, done.stderr
    assert calls == [["PATCH", "repos/owner/repo/issues/comments/11", body_for("prod")],
                     ["PATCH", "repos/owner/repo/issues/comments/13", body_for("staging")]]


def test_a_rerun_of_an_older_push_leaves_the_newer_comment_alone(comment_job):
    existing = [{"id": 11, "user": {"login": "github-actions[bot]"}, "body": marker("prod") + "\nthe newer push"}]
    done, calls = comment_job({"prod": body_for("prod")}, existing, pr_head="f" * 40)
    assert done.returncode == 0, done.stderr
    assert calls == []
    assert f"::notice::this run planned {HEAD_SHA}; the pull request is now at {'f' * 40}" in done.stdout


def test_the_comment_job_refuses_a_body_without_its_marker(comment_job):
    done, calls = comment_job({"prod": "<!-- something else -->\nhello"}, [])
    assert done.returncode == 1 and "does not start with a plan comment marker" in done.stdout
    assert calls == []



# --------------------------------------------------------------------------- the plan job, run for real

HEAD_SHA = "0123456789abcdef0123456789abcdef01234567"
# What `make venv` (uv sync --locked) prints when pyproject.toml changed without `make lock` (uv 0.13.8).
STALE_LOCK = ("error: The lockfile at `uv.lock` needs to be updated, but `--locked` was provided.\n\n"
              "hint: To update the lockfile, run `uv lock`.\nmake: *** [Makefile:71: venv] Error 1\n")
FAKE_MAKE = """#!{python} -S
# make as the plan step calls it: `make venv` (creates .venv/bin/python, or exits $FAKE_VENV_EXIT with uv's
# message and no .venv) and `make -C .base plan-json` (prints the base's plan). Calls are recorded in $FAKE_LOG.
import json, os, shutil, sys
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(["make", *args]) + "\\n")
if args == ["venv"]:
    if os.environ["FAKE_VENV_EXIT"] != "0":
        sys.stderr.write(os.environ["FAKE_VENV_MESSAGE"])
        sys.exit(int(os.environ["FAKE_VENV_EXIT"]))
    os.makedirs(".venv/bin")
    shutil.copy(os.environ["FAKE_PLAN_SCRIPT"], ".venv/bin/python")
    sys.exit(0)
assert args[:4] == ["--no-print-directory", "-C", ".base", "plan-json"], args
sys.stdout.write(open(os.environ["FAKE_BASE_PLAN"]).read())
"""
# `.venv/bin/python -m offline.plan ... --json`: a plan document on stdout and the plan's exit status.
FAKE_PLAN = """#!{python} -S
import json, os, sys
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps([".venv/bin/python", *sys.argv[1:]]) + "\\n")
sys.stdout.write(open(os.environ["FAKE_HEAD_PLAN"]).read())
sys.exit(int(os.environ["FAKE_HEAD_EXIT"]))
"""


@pytest.fixture
def plan_job(tmp_path, prod):
    """Runs the plan job's scripts in order (plan, build the comment, fail or not) with stand-ins for make and
    the plan, and the real comment builder under an interpreter that has no site-packages, as
    setup-python's has none of the project's dependencies."""
    if shutil.which("jq") is None:
        pytest.skip("jq (on GitHub's runners) is not installed")
    job = load("preview.yml")["jobs"]["plan"]
    planning, building = step_running(job, "> plan-head.json"), step_running(job, "offline.pr_comment")
    failing = steps(job)[-1]
    bin_dir, fake_plan = tmp_path / "bin", tmp_path / "fake-plan"
    for folder in (bin_dir, tmp_path / ".base"):
        folder.mkdir(parents=True)
    for path, text in ((bin_dir / "make", FAKE_MAKE), (fake_plan, FAKE_PLAN)):
        path.write_text(text.format(python=sys.executable))
        path.chmod(0o755)
    (bin_dir / "python").write_text(f'#!/bin/sh\nexec {sys._base_executable} -S "$@"\n')
    (bin_dir / "python").chmod(0o755)
    mandatory = PolicyReport(["log-retention"], [Diagnostic(
        "log-retention", "mandatory", "retention is 0 (never expire)", prod.one("aws:cloudwatch/logGroup:LogGroup").urn,
        "")])
    (tmp_path / "head.json").write_text(json.dumps(plan_document(prod, mandatory), default=str))
    (tmp_path / "base.json").write_text(json.dumps(plan_document(prod, PolicyReport(["log-retention"], [])),
                                                   default=str))

    def run_job(*, venv_exit: int = 0, head_exit: int = 0) -> dict:
        outputs, summary = tmp_path / "github_output", tmp_path / "step_summary"
        env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT),
               "GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary), "STACK": "prod",
               "FAKE_LOG": str(tmp_path / "calls.log"), "FAKE_VENV_EXIT": str(venv_exit),
               "FAKE_VENV_MESSAGE": STALE_LOCK, "FAKE_HEAD_EXIT": str(head_exit), "FAKE_PLAN_SCRIPT": str(fake_plan),
               "FAKE_HEAD_PLAN": str(tmp_path / "head.json"), "FAKE_BASE_PLAN": str(tmp_path / "base.json"),
               **planning["env"], "BASE_REF": "main", "HEAD_SHA": HEAD_SHA,
               "RUN_URL": "https://github.com/owner/repo/actions/runs/1"}
        result = {}
        for name, step in (("plan", planning), ("comment", building)):
            done = subprocess.run([*GITHUB_BASH, "-c", step["run"]], cwd=tmp_path, env=env, capture_output=True,
                                  text=True, timeout=60)
            assert done.returncode == 0, f"{name}: {done.stderr}"
        result["outputs"] = dict(x.split("=", 1) for x in outputs.read_text().splitlines())
        result["comment"] = (tmp_path / "comment" / "prod.md").read_text()
        assert summary.read_text() == result["comment"]
        result["calls"] = [json.loads(x) for x in (tmp_path / "calls.log").read_text().splitlines()]
        env["HEAD_EXIT"] = result["outputs"]["head"]
        result["verdict"] = subprocess.run([*GITHUB_BASH, "-c", failing["run"]], cwd=tmp_path, env=env,
                                           capture_output=True, text=True, timeout=60)
        return result

    return run_job


def test_a_plan_with_a_mandatory_violation_is_recorded_commented_and_fails_the_job(plan_job):
    result = plan_job(head_exit=1)
    assert result["outputs"] == {"head": "1", "base": "0"}  # offline.plan's own status, not make's 2
    assert result["calls"][:2] == [
        ["make", "venv"],
        [".venv/bin/python", "-m", "offline.plan", "--stack", "prod", "--policy-config",
         "policies/policy-config.example.json", "--json"]]
    assert result["calls"][2][:5] == ["make", "--no-print-directory", "-C", ".base", "plan-json"]
    comment = result["comment"]
    assert comment.startswith(marker("prod") + "\n")
    assert "❌ 1 mandatory violation(s), 0 advisory, 1 new in this PR" in comment
    assert f"Plan of commit {HEAD_SHA}." in comment  # a re-run of an older run shows which commit it planned
    verdict = result["verdict"]
    assert verdict.returncode == 1
    assert verdict.stdout.startswith("::error::plan for prod: Verdict: 1 mandatory violation(s)")


def test_a_clean_plan_passes_the_job(plan_job):
    result = plan_job(head_exit=0)
    assert result["outputs"] == {"head": "0", "base": "0"}
    assert result["verdict"].returncode == 0 and result["verdict"].stdout == ""


def test_an_environment_that_cannot_be_built_still_gets_a_comment(plan_job):
    """A pull request that edits pyproject.toml without `make lock`: `make venv` fails, and the comment
    says the plan could not be made, with uv's message and the fix."""
    result = plan_job(venv_exit=2)
    assert result["outputs"] == {"head": "environment", "base": "0"}
    assert [c[:2] for c in result["calls"]] == [["make", "venv"], ["make", "--no-print-directory"]]  # no plan run
    comment = result["comment"]
    assert "❌ **The plan for this pull request failed**" in comment and "Monthly cost" not in comment
    assert "The lockfile at `uv.lock` needs to be updated" in comment
    assert "make venv could not build the environment from uv.lock (pyproject.toml changed without make lock?)" \
        in comment
    assert f"Plan of commit {HEAD_SHA}." in comment
    verdict = result["verdict"]
    assert verdict.returncode == 1 and "make venv could not build the environment" in verdict.stdout


def test_the_comment_builder_runs_on_the_standard_library_alone(tmp_path):
    """The job builds the comment with setup-python's interpreter, which has none of uv.lock's packages."""
    head = tmp_path / "head.json"
    head.write_text("")
    done = subprocess.run([sys._base_executable, "-S", "-m", "offline.pr_comment", "--stack", "prod", "--head",
                           str(head), "--head-sha", HEAD_SHA], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(marker("prod"))


# --------------------------------------------------------------------------- `if:` as GitHub evaluates it

EXPRESSIONS = ROOT / "tests" / "gha_expressions"


@pytest.fixture(scope="session")
def github_expression(app_build, tmp_path_factory):
    """Evaluates a job's `if:` with GitHub's own expression library (@actions/expressions, locked in
    tests/gha_expressions/package-lock.json, installed once with npm ci; tests that run Node wait for make node)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js is not installed (make node)")
    installed = EXPRESSIONS / "node_modules" / ".package-lock.json"
    with open(tmp_path_factory.getbasetemp().parent / "gha_expressions.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one npm ci for all xdist workers
        if not installed.exists() or installed.stat().st_mtime < (EXPRESSIONS / "package-lock.json").stat().st_mtime:
            subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"],
                           cwd=EXPRESSIONS, check=True, capture_output=True, timeout=300)

    evaluator = subprocess.Popen(["node", "evaluate.mjs"], cwd=EXPRESSIONS, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True, bufsize=1)

    def evaluate(expression: str, contexts: dict, status: str = "success") -> bool:
        expression = expression.strip()
        if expression.startswith("${{") and expression.endswith("}}"):
            expression = expression[3:-2]
        evaluator.stdin.write(json.dumps({"expression": expression, "contexts": contexts, "status": status}) + "\n")
        answer = json.loads(evaluator.stdout.readline())
        assert isinstance(answer, bool), answer
        return answer

    yield evaluate
    evaluator.stdin.close()
    evaluator.wait(timeout=10)


def pull_request_contexts(head_repo: str, plan_result: str) -> dict:
    return {"github": {"repository": "owner/repo", "event": {"pull_request": {"head": {"repo": {
        "full_name": head_repo}}}}}, "needs": {"plan": {"result": plan_result}}}


@pytest.mark.parametrize(("head_repo", "plan_result", "status", "runs"), [
    ("owner/repo", "success", "success", True),
    ("owner/repo", "failure", "failure", True),  # a failing plan (a mandatory violation) is what to comment on
    ("mallory/repo", "success", "success", False),  # a fork's token cannot write comments
    ("mallory/repo", "failure", "failure", False),
    ("owner/repo", "skipped", "success", False),  # no stack was planned: no artifact to download
    ("owner/repo", "cancelled", "cancelled", False),  # a newer push cancelled this run
])
def test_the_comment_job_runs_for_this_repository_s_pull_requests_whatever_the_plan_said(
        github_expression, head_repo, plan_result, status, runs):
    condition = load("preview.yml")["jobs"]["comment"]["if"]
    assert github_expression(condition, pull_request_contexts(head_repo, plan_result), status) is runs


def test_the_expression_evaluator_applies_github_s_implicit_success(github_expression):
    """Without a status function GitHub adds `success() &&`: a plain condition is false after a failed need."""
    contexts = pull_request_contexts("owner/repo", "failure")
    assert github_expression("needs.plan.result != 'skipped'", contexts, "failure") is False
    assert github_expression("always() && needs.plan.result != 'skipped'", contexts, "failure") is True


# --------------------------------------------------------------------------- uv stays locked under the Pulumi CLI


def runs_pulumi(step: dict) -> bool:
    """The step runs the Pulumi CLI: pulumi/actions, a `pulumi` command, or `python -m ops` (the Automation
    API), all of which start the program and the policy pack through the CLI's uv toolchain."""
    if step.get("uses", "").split("@")[0] == "pulumi/actions":
        return True
    words = shlex.split(step.get("run", "").replace("\\\n", " "), comments=True)
    if "pulumi" in words:
        return True
    for i in range(len(words)):
        if words[i:i + 2] == ["-m", "ops"]:
            try:
                args = build_parser().parse_args(words[i + 2:])
            except SystemExit:  # arguments built at run time ("${args[@]}"): assume a stack command
                return True
            return not (args.command == "migrate" and not args.stack)  # a database URL alone needs no stack
    return False


def test_every_step_that_runs_pulumi_keeps_uv_locked():
    """Pulumi's uv toolchain runs `uv sync` without --locked before the program and the pack start; with
    UV_LOCKED uv fails on a uv.lock or policies/uv.lock that pyproject.toml outdated instead of rewriting it."""
    found = set()
    for name in NAMES:
        workflow = load(name)
        for job_name, job in workflow["jobs"].items():
            for step in steps(job):
                if runs_pulumi(step):
                    found.add((name, job_name))
                    env = {**workflow.get("env", {}), **job.get("env", {}), **step.get("env", {})}
                    assert env.get("UV_LOCKED") == "1", f"{name}: {job_name}: {step.get('name') or step.get('uses')}"
    assert found == {("preview.yml", "preview"), ("deploy-stack.yml", "deploy"), ("rollback.yml", "rollback")}


# --------------------------------------------------------------------------- keeping the pins current


def test_dependabot_proposes_new_action_releases_every_week():
    """Dependabot updates a SHA pin and its `# vX.Y.Z` comment together (the form the pin test requires)."""
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    assert config["version"] == 2
    (actions,) = [u for u in config["updates"] if u["package-ecosystem"] == "github-actions"]
    assert actions["directory"] == "/"  # GitHub reads .github/workflows from the root entry
    assert actions["schedule"]["interval"] == "weekly"
    assert actions["cooldown"]["default-days"] >= 7  # zizmor's dependabot-cooldown audit (make lint)


# ------------------------------------------------------------------------ the stacks a pull request previews in AWS


@pytest.fixture
def previews_job(tmp_path):
    """Runs the previews job's script as the runner does (bash, the real jq): committed stacks and the
    AWS_PREVIEW_STACKS variable in, the step output and annotations out."""
    if shutil.which("jq") is None:
        pytest.skip("jq (on GitHub's runners) is not installed")
    (step,) = steps(load("preview.yml")["jobs"]["previews"])
    assert step["env"] == {"COMMITTED": "${{ needs.stacks.outputs.stacks }}",
                           "PREVIEW_STACKS": "${{ vars.AWS_PREVIEW_STACKS }}"}

    def run_job(committed: list[str], variable: str) -> tuple[subprocess.CompletedProcess, dict]:
        outputs = tmp_path / "github_output"
        outputs.write_text("")
        env = {**os.environ, "GITHUB_OUTPUT": str(outputs), "COMMITTED": json.dumps(committed),
               "PREVIEW_STACKS": variable}  # an unset variable reads as ''
        done = subprocess.run([*GITHUB_BASH, "-c", step["run"]], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=60)
        return done, dict(line.split("=", 1) for line in outputs.read_text().splitlines())

    return run_job


@pytest.mark.parametrize(("variable", "previewed", "not_previewed"), [
    ('["staging"]', ["staging"], ["prod"]),  # the bootstrap's default
    ('["staging", "prod"]', ["prod", "staging"], []),
    ('["qa"]', [], ["prod", "staging"]),  # a stack without a committed Pulumi.<stack>.yaml: nothing to preview
    ("[]", [], ["prod", "staging"]),
    ("", [], ["prod", "staging"]),  # not set yet (a bootstrap from before AWS_PREVIEW_STACKS): no AWS preview
])
def test_only_the_stacks_in_aws_preview_stacks_are_previewed(previews_job, variable, previewed, not_previewed):
    done, outputs = previews_job(["prod", "staging"], variable)
    assert done.returncode == 0, done.stderr
    assert json.loads(outputs["stacks"]) == previewed
    skipped = re.findall(r"^::notice::(\S+): no preview in AWS on pull requests", done.stdout, re.MULTILINE)
    assert skipped == not_previewed
    assert ("::notice::repository variable AWS_PREVIEW_STACKS is not set" in done.stdout) is (variable == "")


@pytest.mark.parametrize("variable", ["staging", '"staging"', '{"staging": true}', "[1]", '["staging"'])
def test_a_malformed_aws_preview_stacks_fails_the_job_naming_the_variable(previews_job, variable):
    done, outputs = previews_job(["prod", "staging"], variable)
    assert done.returncode == 1 and outputs == {}
    assert (f"::error::repository variable AWS_PREVIEW_STACKS is not a JSON list of stack names: {variable}. "
            "Fix: set it from the bootstrap's repositoryVariables output") in done.stdout


def preview_contexts(head_repo: str = "owner/repo", role: str = "arn:aws:iam::1:role/r", backend: str = "s3://b",
                     previews: str | None = '["staging"]') -> dict:
    contexts = pull_request_contexts(head_repo, "success")
    contexts["vars"] = {"AWS_PREVIEW_ROLE_ARN": role, "PULUMI_BACKEND_URL": backend}
    contexts["needs"] = {"previews": {"result": "success" if previews is not None else "skipped",
                                      "outputs": {"stacks": previews} if previews is not None else {}}}
    return contexts


@pytest.mark.parametrize(("contexts", "runs"), [
    (preview_contexts(), True),
    (preview_contexts(role=""), False),  # before the bootstrap's variables are set
    (preview_contexts(backend=""), False),
    (preview_contexts(head_repo="mallory/repo"), False),  # a fork gets no OIDC token
])
def test_the_previews_job_runs_once_the_bootstrap_s_variables_exist(github_expression, contexts, runs):
    condition = load("preview.yml")["jobs"]["previews"]["if"]
    assert github_expression(condition, contexts) is runs


@pytest.mark.parametrize(("previews", "status", "runs"), [
    ('["staging"]', "success", True),
    ('["prod","staging"]', "success", True),
    ("[]", "success", False),  # an empty matrix would fail the workflow: no job
    (None, "success", False),  # the previews job was skipped (no variables, a fork)
    (None, "failure", False),  # a malformed AWS_PREVIEW_STACKS failed it
])
def test_the_preview_job_runs_only_with_stacks_to_preview(github_expression, previews, status, runs):
    preview = load("preview.yml")["jobs"]["preview"]
    contexts = preview_contexts(previews=previews)
    assert github_expression(preview["if"], contexts, status) is runs
    if runs:  # the matrix, as GitHub expands it: exactly the listed stacks
        matrix = preview["strategy"]["matrix"]["stack"].strip()[3:-2]
        for stack in ("staging", "prod", "qa"):
            assert github_expression(f"contains({matrix}, '{stack}')", contexts) is (stack in json.loads(previews))
