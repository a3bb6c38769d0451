"""The CI workflows: what each job runs, with which rights, pinned how.

actionlint and zizmor (`make lint`) check the workflows' syntax, expressions, shell and security
in general; these tests check the project's own contract: deploys go through `python -m ops deploy`
(so the migration runs before the rollout), region and CLI version come from the repository's
files, the plan comment is one per stack and edited in place.
"""

from __future__ import annotations

import copy
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
        assert isinstance(job.get("permissions"), dict) and job["permissions"], f"{name}: {job_name}"
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
    assert 'make plan-json STACK="$STACK" POLICY_CONFIG="$POLICY_CONFIG" > plan-head.json' in making
    assert (f'make --no-print-directory -C {base["with"]["path"]} plan-json STACK="$STACK" '
            'POLICY_CONFIG="$POLICY_CONFIG" > plan-base.json') in making
    assert (ROOT / planning["env"]["POLICY_CONFIG"]).is_file()
    building = shlex.split(step_running(plan, "offline.pr_comment")["run"].replace("\\\n", " "))
    assert building[building.index("--head"):building.index("--head") + 2] == ["--head", "plan-head.json"]
    assert building[building.index("--base"):building.index("--base") + 2] == ["--base", "plan-base.json"]
    (upload,) = step_using(plan, "actions/upload-artifact")
    assert steps(plan)[-1]["name"].startswith("Fail on a mandatory policy violation")
    assert jobs["comment"]["needs"] == "plan" and upload["with"]["name"] == "plan-comment-${{ matrix.stack }}"


def test_pull_requests_preview_every_stack_in_aws_with_the_pack():
    preview = load("preview.yml")["jobs"]["preview"]
    assert preview["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.stacks) }}"
    assert "vars.AWS_PREVIEW_ROLE_ARN != ''" in preview["if"] and "environment" not in preview
    aws_and_pulumi_steps_read_the_stack_config(preview, "${{ matrix.stack }}")
    (aws,) = step_using(preview, "aws-actions/configure-aws-credentials")
    assert aws["with"]["role-to-assume"] == "${{ vars.AWS_PREVIEW_ROLE_ARN }}"
    command = shlex.split(step_running(preview, "pulumi preview")["run"])
    assert command[:4] == ["pulumi", "preview", "--stack", "$STACK"]
    assert command[command.index("--policy-pack") + 1] == "policies"  # its config: tests/test_pulumi_cli_args.py


# --------------------------------------------------------------------------- the comment job, run for real

FAKE_GH = """#!{python}
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

    def run_job(bodies: dict[str, str], existing: list[dict]) -> tuple[subprocess.CompletedProcess, list]:
        for stack, body in bodies.items():
            (tmp_path / "comment" / f"{stack}.md").write_text(body)
        (tmp_path / "comments.json").write_text(json.dumps(existing))
        env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "GH_TOKEN": "x", "REPO": "owner/repo",
               "PR": "7", "FAKE_GH_LOG": str(log), "FAKE_GH_COMMENTS": str(tmp_path / "comments.json")}
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
    existing = [
        {"id": 10, "user": {"login": "mallory"}, "body": marker("prod") + "\nnot ours"},
        {"id": 11, "user": {"login": bot}, "body": marker("prod") + "\nthe first push"},
        {"id": 12, "user": {"login": bot}, "body": "quoting " + marker("staging")},
        {"id": 13, "user": {"login": bot}, "body": marker("staging") + "\nthe first push"},
    ]
    done, calls = comment_job({"prod": body_for("prod"), "staging": body_for("staging")}, existing)
    assert done.returncode == 0, done.stderr
    assert calls == [["PATCH", "repos/owner/repo/issues/comments/11", body_for("prod")],
                     ["PATCH", "repos/owner/repo/issues/comments/13", body_for("staging")]]


def test_the_comment_job_refuses_a_body_without_its_marker(comment_job):
    done, calls = comment_job({"prod": "<!-- something else -->\nhello"}, [])
    assert done.returncode == 1 and "does not start with a plan comment marker" in done.stdout
    assert calls == []

