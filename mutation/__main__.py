"""Mutation testing of the policy pack and the config validation (`make mutate`, not part of `make test`).

    python -m mutation [--max-children N] [--report-only] [--only guardrails/iam.py ...]

mutmut (locked in uv.lock's test group) mutates a copy of the code and runs, for each mutant, the tests
that reach the mutated function; a mutant whose tests still pass survived. Two things make the pack a
special case, and this runner handles both:

* The tests import the pack as ``guardrails.*``/``costing.*`` (policies/ is on sys.path, as when the CLI runs
  the pack), while mutmut names mutants after file paths. So the run happens in a workspace
  (build/mutation/) where policies/guardrails and policies/costing are top-level packages: file path and
  module name agree. infra/config.py keeps its own path (``infra.config``).
* Tests that reach the pack through the gRPC subprocess can never see a mutant; only in-process tests are
  selected (TESTS below). They call the policies directly, the SDK-equivalent analyzer in process, and the
  estimator.

Mutants that only change a sentence of a message (a string literal of three or more words: a violation
message or a description) are listed apart and not counted in the score; every other surviving mutant
counts. The report (per-file table and the surviving mutants) is printed and written to
build/mutation/report.md; `cd build/mutation && ../../.venv/bin/mutmut show <mutant>` prints one mutant's diff.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKSPACE = ROOT / "build" / "mutation"
SOURCES = ["guardrails", "costing", "infra/config.py", "infra/config_keys.py"]
# Fast tests only: a test that evaluates the real program (the `planned` fixtures, tests/test_cost.py, the
# SDK-equivalence test over the prod graph) costs seconds per mutant it is selected for, and the policy-wide ones
# are selected for nearly every mutant. Their behaviour is pinned by the unit tests below as well.
TESTS = [
    "tests/policies/test_units.py",
    "tests/policies/test_models.py",
    "tests/policies/test_rules.py",
    "tests/policies/test_service_rules.py",
    "tests/policies/test_network_rules.py",
    "tests/policies/test_state_rules.py",
    "tests/policies/test_load_balancer_rules.py",
    "tests/policies/test_iam_rules.py",
    "tests/policies/test_ecs_rules.py",
    "tests/test_cost.py::test_live_prices_read_the_pricing_api_for_any_region",
    "tests/test_cost.py::test_price_document_without_usd_is_an_error",
    "tests/test_cost.py::test_the_first_price_tier_is_the_price",
    "tests/test_cost.py::test_live_prices_skip_what_the_api_does_not_list_and_leave_the_base_table_alone",
    "tests/test_cost.py::test_the_pricing_api_is_asked_in_us_east_1_when_no_client_is_given",
    "tests/test_cost.py::test_no_credentials_when_boto3_cannot_even_look",
    "tests/test_cost.py::test_a_failing_pricing_api_leaves_the_callers_price_document_unchanged",
    "tests/policies/test_program_agreement.py",
    "tests/cost/test_traffic_shift_pricing.py",
    "tests/cost/test_estimate_graph_edges.py",
    "tests/test_dockerfile.py",
    "tests/test_config.py",
    "tests/ops/test_policy_external_secrets.py",
]
KILLED = {1, 3}
STATUS = {0: "survived", 33: "no tests", 5: "no tests", 36: "timeout", 34: "skipped", None: "not checked"}


def tracked_files() -> list[str]:
    output = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    return [line for line in output.splitlines() if line]


def build_workspace() -> None:
    """A copy of the project where the pack's packages are top-level (see the module docstring)."""
    if WORKSPACE.exists():
        shutil.rmtree(WORKSPACE)
    WORKSPACE.mkdir(parents=True)
    for relative in tracked_files():
        source = ROOT / relative
        if not source.is_file():
            continue
        parts = Path(relative).parts
        if parts[:2] in (("policies", "guardrails"), ("policies", "costing")):
            target = WORKSPACE / Path(*parts[1:])  # policies/guardrails/x.py -> guardrails/x.py
        else:
            target = WORKSPACE / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    pyproject = (ROOT / "pyproject.toml").read_text()
    also_copy = sorted({Path(f).parts[0] for f in tracked_files()} - {"policies", "tests", ".github", ".ci"}
                       - {s.split("/")[0] for s in SOURCES} | {"infra"})
    pyproject += "\n[tool.mutmut]\n" + "\n".join([
        f"source_paths = {json.dumps(SOURCES)}",
        f"also_copy = {json.dumps(also_copy)}",
        f"pytest_add_cli_args_test_selection = {json.dumps(TESTS)}",
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q"]',
        "timeout_multiplier = 5.0",
        "timeout_constant = 10.0",
        'process_isolation = "forkserver"',
    ]) + "\n"
    (WORKSPACE / "pyproject.toml").write_text(pyproject)


def run_mutmut(max_children: int, only: list[str]) -> None:
    mutmut = Path(sys.executable).with_name("mutmut")
    names = [f"{Path(path).with_suffix('').as_posix().replace('/', '.')}.*" for path in only]
    subprocess.run([str(mutmut), "run", "--max-children", str(max_children), *names], cwd=WORKSPACE, check=False,
                   env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})


def _literals(line: str) -> list[str]:
    return [m.group(0) for m in re.finditer(r"(?<![A-Za-z0-9_])(\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*')", line)]


def _message_rewrite(removed: str, added: str) -> bool:
    for literal in _literals(removed):
        body = literal[1:-1]
        if body.count(" ") < 2:
            continue
        quote = literal[0]
        for variant in (f"XX{body}XX", body.lower(), body.upper()):
            if removed.replace(literal, quote + variant + quote, 1) == added:
                return True
    return False


def message_only(diff: str) -> bool:
    """The mutant only rewrites one string literal of three or more words (a sentence of a message)."""
    removed = [line[1:] for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line[1:] for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    if not removed or len(removed) != len(added):
        return False
    changed = [(r, a) for r, a in zip(removed, added, strict=True) if r != a]
    return len(changed) == 1 and _message_rewrite(*changed[0])


_DIFFS = """
import json, sys
from mutmut.mutation.diff_apply import get_diff_for_mutant
names = json.load(sys.stdin)
diffs = {}
for name in names:
    try:
        diffs[name] = get_diff_for_mutant(name)
    except Exception as error:  # noqa: BLE001 - a mutant whose diff cannot be read is simply not message-only
        diffs[name] = f"(no diff: {error})"
print(json.dumps(diffs))
"""


def diffs(names: list[str]) -> dict[str, str]:
    """The diffs of many mutants, read by mutmut in one process (`mutmut show` per mutant is slow)."""
    if not names:
        return {}
    result = subprocess.run([sys.executable, "-c", _DIFFS], cwd=WORKSPACE, input=json.dumps(names),
                            capture_output=True, text=True, check=False)
    try:
        return json.loads(result.stdout.splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {}


def report(only: list[str]) -> int:
    rows = []
    survivors: list[tuple[str, str, str]] = []
    excluded: list[tuple[str, str]] = []
    totals = defaultdict(int)
    failing = []
    metas = {meta.relative_to(WORKSPACE / "mutants").with_suffix("").as_posix():
             json.loads(meta.read_text()).get("exit_code_by_key", {})
             for meta in sorted((WORKSPACE / "mutants").rglob("*.meta"))}
    survived = diffs([name for source, codes in metas.items() if not only or source in only
                      for name, code in codes.items() if code == 0])
    for source, codes in metas.items():
        if not codes or (only and source not in only):
            continue
        killed = sum(1 for c in codes.values() if c in KILLED)
        unchecked = sum(1 for c in codes.values() if c is None)
        if unchecked == len(codes):
            continue  # not part of this run (--only)
        messages = 0
        for name, code in sorted(codes.items()):
            if code in KILLED or code is None:
                continue
            diff = survived.get(name, "")  # only a surviving mutant can be a message-only one
            if message_only(diff):
                messages += 1
                excluded.append((source, name))
            else:
                survivors.append((source, name, STATUS.get(code, f"exit {code}")))
        counted = len(codes) - messages - unchecked
        score = 100.0 * killed / counted if counted else 100.0
        rows.append((source, len(codes), unchecked, messages, counted, killed, score))
        for key, value in (("mutants", len(codes)), ("unchecked", unchecked), ("messages", messages),
                           ("counted", counted), ("killed", killed)):
            totals[key] += value
        if score < 90.0:
            failing.append(source)
    lines = ["| file | mutants | not checked | message-only (not counted) | counted | killed | score |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {s} | {n} | {u} | {m} | {c} | {k} | {score:.1f} % |" for s, n, u, m, c, k, score in rows]
    total_score = 100.0 * totals["killed"] / totals["counted"] if totals["counted"] else 100.0
    lines.append(f"| **all** | {totals['mutants']} | {totals['unchecked']} | {totals['messages']} | "
                 f"{totals['counted']} | {totals['killed']} | {total_score:.1f} % |")
    lines += ["", f"Surviving mutants ({len(survivors)}): `mutmut show <name>` in build/mutation for the diff"]
    lines += [f"- {status}: {name}" for _source, name, status in survivors]
    text = "\n".join(lines)
    print(text)
    (WORKSPACE / "report.md").write_text(text + "\n")
    if failing:
        print(f"\nbelow 90 %: {', '.join(failing)}")
    return 1 if failing else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mutation", description=__doc__.splitlines()[0])
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--report-only", action="store_true", help="report the last run again")
    parser.add_argument("--only", nargs="*", default=[], help="mutate only these files (e.g. guardrails/iam.py)")
    args = parser.parse_args(argv)
    if not args.report_only:
        start = time.monotonic()
        build_workspace()
        run_mutmut(args.max_children, args.only)
        print(f"\nmutmut ran {time.monotonic() - start:.0f} s")
    return report(args.only)


if __name__ == "__main__":
    sys.exit(main())
