"""The pull request's plan comment: monthly cost delta against the base branch, policy results.

    python -m offline.pr_comment --stack prod --head head.json [--base base.json] \\
        [--head-log head.log] [--base-log base.log] [--base-ref main] [--head-sha SHA] [--run-url URL] > comment.md

Both plans are `python -m offline.plan --json` documents (the project's own estimator and the policy
pack run exactly as `make plan` runs them): `--base` from a checkout of the base branch, `--head` from
the pull request. Cost line items are matched by their name without the parenthesised detail
("Fargate vCPU (x86_64, on-demand, 2 task(s))" is "Fargate vCPU"), so a changed task count or
architecture shows as a changed line, not as one removed and one new. A plan that could not be made
(no JSON) is reported with the last lines of its log instead of failing the comment.

Each stack has one comment, edited in place: its first line is a hidden marker naming the stack, by
which the workflow's `comment` job finds it again (only among the comments of github-actions[bot]).
Its footer names the pull request's commit the plan is of; the comment job does not post a re-run of
an older workflow run over the newer push's comment.

Standard library only: the workflow runs it with the runner's Python when `.venv` could not be built.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offline.violations import violation_detail

MAX_COMMENT_CHARS = 60_000  # GitHub refuses comment bodies over 65,536 characters
MAX_LISTED = 25  # resources or diagnostics listed before "... and N more"
LOG_TAIL_LINES = 20


def marker(stack: str) -> str:
    return f"<!-- truecaller-backend plan comment: stack={stack} -->"


# --------------------------------------------------------------------------- cost


def line_name(item: str) -> str:
    """The line item's name without its parenthesised detail: what identifies it across plans."""
    return item.split(" (", 1)[0].strip() or item


@dataclass(frozen=True)
class CostRow:
    name: str
    base_item: str | None  # None: new in the head plan
    head_item: str | None  # None: removed by the head plan
    base_monthly: float
    head_monthly: float

    @property
    def delta(self) -> float:
        return self.head_monthly - self.base_monthly

    @property
    def status(self) -> str:
        if self.base_item is None:
            return "new"
        if self.head_item is None:
            return "removed"
        return "changed" if round(self.delta, 2) or self.base_item != self.head_item else "unchanged"


def _keyed(lines: Iterable[Mapping[str, Any]]) -> dict[tuple[str, int], Mapping[str, Any]]:
    """Lines keyed by (name, occurrence): two services give two "Fargate vCPU" lines."""
    keyed: dict[tuple[str, int], Mapping[str, Any]] = {}
    seen: dict[str, int] = {}
    for line in lines:
        name = line_name(line["item"])
        keyed[(name, seen.get(name, 0))] = line
        seen[name] = seen.get(name, 0) + 1
    return keyed


def cost_rows(base_lines: Iterable[Mapping[str, Any]], head_lines: Iterable[Mapping[str, Any]]) -> list[CostRow]:
    base, head = _keyed(base_lines), _keyed(head_lines)
    rows = []
    for key in list(head) + [k for k in base if k not in head]:
        b, h = base.get(key), head.get(key)
        rows.append(CostRow(key[0], b and b["item"], h and h["item"], float(b["monthly"]) if b else 0.0,
                            float(h["monthly"]) if h else 0.0))
    return rows


def usd(amount: float) -> str:
    return f"${amount:,.2f}"


def signed_usd(amount: float) -> str:
    if round(amount, 2) == 0:
        return "$0.00"
    return f"{'+' if amount > 0 else '-'}${abs(amount):,.2f}"


def percent(base: float, head: float) -> str:
    if round(base, 2) == 0:
        return ""
    change = (head - base) / base * 100
    return f", {change:+.1f} %"


# --------------------------------------------------------------------------- policies


@dataclass(frozen=True)
class Finding:
    policy: str
    level: str
    resource: str
    message: str

    @property
    def key(self) -> tuple[str, str, str]:
        return self.policy, self.resource, self.message


def findings(plan: Mapping[str, Any] | None) -> list[Finding]:
    if not plan:
        return []
    result = []
    for d in plan.get("policies", {}).get("diagnostics", []):
        detail = violation_detail(d.get("message") or "", d.get("description") or "")
        first_line = detail.splitlines()[0] if detail else ""
        resource = (d.get("urn") or "").split("::")[-1] or "stack"
        result.append(Finding(d["policy"], d.get("level", "advisory"), resource, first_line))
    return result


def cell(text: str, limit: int = 300) -> str:
    """Plain text made safe for a Markdown table cell: no HTML, no pipes, no line breaks."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text, quote=False).replace("|", "\\|")


def code(text: str) -> str:
    return f"<code>{cell(text)}</code>"


# --------------------------------------------------------------------------- comment


@dataclass
class Side:
    """One plan: its JSON document, or why there is none."""

    plan: dict[str, Any] | None
    error: str | None = None

    @classmethod
    def load(cls, path: Path | None, log: Path | None = None) -> Side:
        if path is None:
            return cls(None, "no plan was made")
        try:
            document = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            tail = ""
            if log is not None and log.is_file():
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:])
            return cls(None, tail or f"{path}: {exc}")
        if not isinstance(document, dict) or "cost" not in document:
            return cls(None, f"{path} is not an `offline.plan --json` document")
        return cls(document)


def _log_block(text: str) -> list[str]:
    fence = "````" if "```" in text else "```"
    return [f"{fence}text", text.replace("<!--", "<!-\u200b-"), fence]


def _row_label(row: CostRow) -> str:
    label = cell(row.head_item or row.base_item or row.name)
    if row.status == "new":
        return label + " (new)"
    if row.status == "removed":
        return f"~~{label}~~ (removed)"
    if row.base_item != row.head_item:
        return label + f"<br>was: {cell(row.base_item or '')}"
    return label


def _cost_section(base: Side, head: dict[str, Any], base_ref: str) -> list[str]:
    head_cost = head["cost"]
    head_total = float(head_cost["totalMonthlyUsd"])
    if base.plan is None:  # the figures alone
        lines = [f"**Monthly cost: {usd(head_total)}** (no plan for `{cell(base_ref)}` to compare with)", "",
                 f"<details><summary>Cost by line item ({len(head_cost['lines'])} line items)</summary>", "",
                 "| line item | monthly |", "| --- | ---: |"]
        lines += [f"| {cell(x['item'])} | {usd(float(x['monthly']))} |" for x in head_cost["lines"]]
        lines.append(f"| **total** | **{usd(head_total)}** |")
    else:
        base_total = float(base.plan["cost"]["totalMonthlyUsd"])
        rows = cost_rows(base.plan["cost"]["lines"], head_cost["lines"])
        changed = [r for r in rows if r.status != "unchanged"]
        lines = [f"**Monthly cost: {usd(base_total)} → {usd(head_total)} ({signed_usd(head_total - base_total)}"
                 f"{percent(base_total, head_total)})** against `{cell(base_ref)}`", "",
                 f"<details{' open' if changed else ''}><summary>Cost by line item "
                 f"({len(changed)} of {len(rows)} line items changed)</summary>", "",
                 f"| line item | `{cell(base_ref)}` | this PR | change |", "| --- | ---: | ---: | ---: |"]
        for row in rows:
            base_cell = usd(row.base_monthly) if row.base_item is not None else "–"
            head_cell = usd(row.head_monthly) if row.head_item is not None else "–"
            change = signed_usd(row.delta) if row.status != "unchanged" else ""
            lines.append(f"| {_row_label(row)} | {base_cell} | {head_cell} | {change} |")
        lines.append(f"| **total** | **{usd(base_total)}** | **{usd(head_total)}** | "
                     f"**{signed_usd(head_total - base_total)}** |")
    for unknown in head_cost.get("unknown", []):
        lines.append(f"\nNot priced: {cell(unknown)}")
    lines += ["", f"List prices for {cell(head_cost.get('region', ''))} from `policies/costing/prices.json` "
              f"(retrieved {cell(str(head_cost.get('pricesRetrieved', '?')))}), 730 hours a month; traffic-dependent "
              "usage is the stack's `costLogGbPerMonth`, `costNatGbPerMonth`, `costAlbLcu`.", "</details>", ""]
    return lines


def _policy_section(base: Side, head: dict[str, Any], base_ref: str) -> list[str]:
    checked = len(head.get("policies", {}).get("checked", []))
    now, before = findings(head), findings(base.plan)
    before_keys = {f.key for f in before}
    now_keys = {f.key for f in now}
    mandatory = [f for f in now if f.level == "mandatory"]
    new = [f for f in now if f.key not in before_keys] if base.plan else []
    fixed = [f for f in before if f.key not in now_keys]
    verdict = f"❌ {len(mandatory)} mandatory violation(s)" if mandatory else "✅ no mandatory violation"
    advisory = len(now) - len(mandatory)
    extra = f", {len(new)} new in this PR" if new else ""
    extra += f", {len(fixed)} fixed" if fixed else ""
    lines = [f"**Policy pack: {verdict}, {advisory} advisory{extra}** ({checked} policies checked)", ""]
    if not now and not fixed:
        return lines
    order = {"mandatory": 0, "remediate": 1, "advisory": 2}
    listed = sorted(now, key=lambda f: (order.get(f.level, 3), f.key not in {n.key for n in new}, f.policy))
    lines += [f"<details{' open' if mandatory or new else ''}><summary>Policy results</summary>", "",
              "| level | policy | resource | message | |", "| --- | --- | --- | --- | --- |"]
    new_keys = {f.key for f in new}
    for f in listed[:MAX_LISTED]:
        lines.append(f"| {f.level} | {code(f.policy)} | {code(f.resource)} | {cell(f.message)} | "
                     f"{'new' if f.key in new_keys else ''} |")
    if len(listed) > MAX_LISTED:
        lines.append(f"\n… and {len(listed) - MAX_LISTED} more (`make plan STACK={cell(head['stack'])}` lists all)")
    if fixed:
        lines += ["", f"Fixed compared with `{cell(base_ref)}`:"]
        lines += [f"- {code(f.policy)} on {code(f.resource)}: {cell(f.message)}" for f in fixed[:MAX_LISTED]]
    lines += ["", "</details>", ""]
    return lines


def _resource_section(base: Side, head: dict[str, Any], base_ref: str) -> list[str]:
    def names(plan: Mapping[str, Any]) -> dict[str, str]:
        return {r["urn"]: f"{r['type'].split(':')[-1]} {r['name']}" for r in plan.get("resources", [])}

    now = names(head)
    if base.plan is None:
        return [f"**Resources: {len(now)}**", ""]
    before = names(base.plan)
    added = [now[u] for u in now if u not in before]
    removed = [before[u] for u in before if u not in now]
    lines = [f"**Resources: {len(before)} → {len(now)}** ({len(added)} added, {len(removed)} removed "
             f"compared with `{cell(base_ref)}`)", ""]
    for title, items in (("added", added), ("removed", removed)):
        if items:
            shown = ", ".join(code(i) for i in items[:MAX_LISTED])
            more = f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else ""
            lines.append(f"- {title}: {shown}{more}")
    if added or removed:
        lines.append("")
    return lines


def build_comment(stack: str, head: Side, base: Side, *, base_ref: str = "main", run_url: str | None = None,
                  head_sha: str | None = None) -> str:
    region = head.plan.get("region") if head.plan else None
    title = f"### Plan for `{cell(stack)}`" + (f" ({cell(region)})" if region else "")
    lines = [marker(stack), title, ""]
    if head.plan is None:
        lines += ["❌ **The plan for this pull request failed**, so there is no cost or policy result:", ""]
        lines += _log_block(head.error or "no output")
    else:
        if head.plan.get("verdict"):  # make plan's last line: names an over-budget estimate the table shows as advisory
            lines += [f"**{cell(head.plan['verdict'])}**", ""]
        lines += _cost_section(base, head.plan, base_ref)
        lines += _policy_section(base, head.plan, base_ref)
        lines += _resource_section(base, head.plan, base_ref)
        if base.plan is None and base.error:
            lines += [f"<details><summary>Why there is no plan for <code>{cell(base_ref)}</code></summary>", ""]
            lines += _log_block(base.error) + ["", "</details>", ""]
    footer = "<sub>"
    if head_sha:  # plain text: GitHub links a commit SHA in a comment to the commit
        footer += f"Plan of commit {head_sha}. "
    footer += "`python -m offline.plan --json` for the base branch and this pull request (no AWS access)."
    if run_url:
        footer += (f" [Workflow run]({run_url}): the job `preview ({cell(stack)})` runs `pulumi preview` in AWS"
                   " once the repository has the bootstrap's variables.")
    lines += ["", footer + " This comment is updated in place on every push.</sub>"]
    body = "\n".join(lines).rstrip() + "\n"
    if len(body) > MAX_COMMENT_CHARS:
        body = body[: MAX_COMMENT_CHARS - 200] + "\n\n… (truncated: run `make plan` for everything)\n"
    return body


def commit_sha(text: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{40}", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a full commit SHA (40 lowercase hex digits; "
                                         "the workflow passes github.event.pull_request.head.sha)")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.pr_comment", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--head", type=Path, required=True, help="plan JSON of the pull request")
    parser.add_argument("--base", type=Path, help="plan JSON of the base branch")
    parser.add_argument("--head-log", type=Path, help="stderr of the head plan, shown when it made no JSON")
    parser.add_argument("--base-log", type=Path, help="stderr of the base plan, shown when it made no JSON")
    parser.add_argument("--base-ref", default="main")
    parser.add_argument("--head-sha", type=commit_sha, help="the pull request's head commit the plan is of")
    parser.add_argument("--run-url")
    args = parser.parse_args(argv)

    body = build_comment(args.stack, Side.load(args.head, args.head_log),
                         Side.load(args.base, args.base_log) if args.base else Side(None),
                         base_ref=args.base_ref, run_url=args.run_url, head_sha=args.head_sha)
    sys.stdout.write(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
