"""ops.prisma's reading of Prisma's output, on every recorded real run (no database needed)."""

from __future__ import annotations

import pytest

from ops.prisma import explain, failing_statement, local_where, parse_status, redact_url, stack_where
from tests.migrations import recorded

URL = "postgresql://app:s3cret-pass@db.example.com:5432/app?sslmode=require"
KINDS = {
    "deploy_not_empty": "not-baselined", "deploy_sql_error": "migration-sql",
    "deploy_failed_blocks": "failed-migration", "deploy_missing_table": "missing-table",
    "deploy_unreachable": "unreachable",
    "deploy_authentication": "authentication", "deploy_database_missing": "database-missing",
    "deploy_lock_timeout": "lock-timeout",
}


def test_every_recorded_failure_has_an_explanation():
    failing = {case for case, run in recorded.CAPTURED.items() if run["exit_code"] == 1 and case.startswith("deploy")}
    assert failing == set(KINDS)  # a new recorded failure needs its explanation here


@pytest.mark.parametrize("case", sorted(KINDS))
@pytest.mark.parametrize("where", [local_where(URL), stack_where("prod")], ids=["local", "stack"])
def test_explanations_name_the_cause_and_a_fix_without_the_password(case, where):
    problem = explain(recorded.output(case), where)
    assert problem is not None and problem.kind == KINDS[case]
    assert problem.fix and "s3cret-pass" not in problem.render()


def test_the_local_path_tells_how_to_fix_credentials_without_showing_them():
    problem = explain(recorded.output("deploy_authentication"), local_where(URL))
    assert problem.fix == ["check the user and password in the database URL "
                           "(postgresql://app:****@db.example.com:5432/app?sslmode=require)"]


def test_the_native_engines_p3018_names_the_failing_line():
    problem = explain(recorded.output("deploy_sql_error", native=True), stack_where("prod"))
    assert problem.summary == ('migration 20260301000000_add_email failed: ERROR: syntax error at or near "SELEC" '
                               "(at line 2: SELEC 1;)")
    assert failing_statement("Position:\n  1 SELECT 1;\n  2 SELEC 1;\n   0: sql_schema_connector::x") == \
        "line 2: SELEC 1;"


def test_an_unknown_failure_is_not_dressed_up():
    assert explain("Error: something Prisma never said before", stack_where("prod")) is None


def test_status_outputs():
    where = stack_where("prod")
    up = parse_status(recorded.output("status_up_to_date"), 0, where)
    assert up.up_to_date and not up.pending and up.problem is None
    pending = parse_status(recorded.output("status_pending"), 1, where)
    assert pending.pending == ["20260303000000_email"] and pending.problem is None
    failed = parse_status(recorded.output("status_failed"), 1, where)
    assert failed.failed == ["20260301000000_add_email"] and failed.problem.kind == "failed-migration"
    broken = parse_status(recorded.output("deploy_unreachable"), 1, where)
    assert broken.problem.kind == "unreachable" and not broken.up_to_date


def test_redact_url():
    assert redact_url(URL) == "postgresql://app:****@db.example.com:5432/app?sslmode=require"
    assert redact_url("postgresql://app@host/db") == "postgresql://app@host/db"
