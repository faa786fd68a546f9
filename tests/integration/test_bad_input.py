"""Bad input through the real pipeline: what a user sees for each kind of problem (issue 5).

Twenty kinds, planted by `tests/integration/bad_input.py`, in two nightly runs on copies of the
shared `nightly_runs` world, a day after its third run.

File level (`nightly_runs["failed"]`, one problem per table):

 1. an empty (0-byte) CSV drop ............................ email.subscriptions
 2. a CSV drop that is not UTF-8 .......................... service.contacts
 3. a CSV drop cut off in the middle of a row ............. pos.receipt_lines
 4. a JSON-lines drop cut off in the middle of an object .. social.interactions
 5. a CSV drop with a required column renamed ............. campaigns.exposures
 6. a CSV drop without a required column .................. pos.receipts
 7. a CSV drop with a new column (loads, warns) ........... email.events
 8. a daily drop that did not arrive ...................... campaigns.responses
 9. a drop with ~5 % of the usual rows .................... web.events
10. a database table with a required column renamed ....... crm.customers

Each fails its own table's extraction, naming system.table, the file, the line and the column (a
volume drop: a blocking ERROR check); dbt and the publication do not run, the serving files stay byte
for byte, the good drops of the failing tables land and nothing loaded before changes.

Row level (`bad_rows_run`: the run succeeds and publishes; valid rows flow on):

11. a negative amount ..................................... pos.receipts total_amount
12. an unparseable timestamp .............................. service.contacts contact_ts
13. a malformed email ..................................... email.sends email
14. a duplicate key with different values ................. pos.receipt_lines
15. an exact duplicate row ................................ web.events
16. an empty required field ............................... web.events cookie_id
17. an event time in the future ........................... web.events event_ts
18. an unknown value (a warning: the row flows on) ........ web.events event_type
19. a malformed email in a database row ................... crm.customers email
20. an unparseable birth date in a database row ........... loyalty.members birth_date

Each bad row lands in `quarantine.<table>` with its load, file (or database), row, original text, rule
and reason; loaded = passed + quarantined for every table; a fixed row is released by `reprocess`.

Finally the clean world: the first nightly run passes every check except the `rows` warnings of the
simulator's own planted defects, and its quarantine holds exactly the defects visible in the data.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from orchestration.paths import EXPECTATIONS_DIR, REPO_ROOT
from tests.integration.bad_input import (
    SOURCE_FORMATS,
    BadRow,
    count_rows,
    day_drop,
    landed_fingerprint,
    table_dir,
)
from tests.integration.pipeline import CONTRACTS, world_reference_time

pytestmark = pytest.mark.integration

FAILING_KINDS = [
    "empty csv",
    "non-UTF-8 csv",
    "truncated csv",
    "truncated jsonl",
    "renamed csv column",
    "missing csv column",
    "missing daily drop",
    "volume drop",
    "renamed database column",
]
MESSAGE_KINDS = [kind for kind in FAILING_KINDS if kind != "volume drop"]  # a volume drop fails a check
# Kinds planted as a second drop of the day, next to the day's regular (good) drop.
REDELIVERED_KINDS = [
    "empty csv",
    "non-UTF-8 csv",
    "truncated csv",
    "truncated jsonl",
    "renamed csv column",
    "missing csv column",
]
ROW_KINDS = [
    "negative amount",
    "unparseable timestamp",
    "malformed email",
    "duplicate key, different values",
    "exact duplicate row",
    "empty required field",
    "event time in the future",
    "malformed email in a database row",
    "unparseable birth date in a database row",
]


# ------------------------------------------------------------------------------------------ helpers


def step_failures(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    """Failed step -> the message the user reads."""
    failures = {}
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            data = event.step_failure_data
            failures[event.step_key] = (
                data.user_failure_data.description if data.user_failure_data else data.error.message
            )
    return failures


def step_successes(result: dg.ExecuteInProcessResult) -> set[str]:
    return {event.step_key for event in result.all_events if event.event_type_value == "STEP_SUCCESS"}


def check_evaluation(
    result: dg.ExecuteInProcessResult, raw_table: str, check: str
) -> dg.AssetCheckEvaluation:
    (evaluation,) = [
        e
        for e in result.get_asset_check_evaluations()
        if e.asset_key == dg.AssetKey(["raw", raw_table]) and e.check_name == check
    ]
    return evaluation


def failed_rules(evaluation: dg.AssetCheckEvaluation) -> set[str]:
    """The rules a `loads` check names in its description (`<rule>: <expectation>; ...`)."""
    return {part.split(":", 1)[0] for part in (evaluation.description or "").split("; ") if part}


def connect(data_dir: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)


def key_filter(key: dict[str, str]) -> tuple[str, list[str]]:
    return " and ".join(f'cast("{name}" as varchar) = ?' for name in key), list(key.values())


def markdown_row(markdown: str, first_cell: str) -> list[str]:
    (line,) = [line for line in markdown.splitlines() if line.startswith(f"| {first_cell} |")]
    return [cell.strip() for cell in line.strip("|").split("|")]


# -------------------------------------------------------------------------------- file-level problems


def test_each_broken_input_fails_its_own_table_and_no_other(nightly_runs):
    result, broken = nightly_runs["failed"], nightly_runs["broken_inputs"]
    assert not result.success
    failed = set(step_failures(result))
    assert failed == {broken[kind].step_key for kind in FAILING_KINDS}
    extraction_steps = {f"raw__{contract.raw_table}" for contract in CONTRACTS.values()}
    assert extraction_steps - failed <= step_successes(result), "the other tables load as usual"


@pytest.mark.parametrize("kind", MESSAGE_KINDS)
def test_the_failure_names_the_table_the_file_the_line_and_the_column(nightly_runs, kind):
    broken = nightly_runs["broken_inputs"][kind]
    message = step_failures(nightly_runs["failed"])[broken.step_key]
    assert f"{broken.system}.{broken.table}" in message
    assert str(broken.path) in message
    if broken.line:
        assert re.search(rf"\bline:? {broken.line}\b", message, re.IGNORECASE), message
    if broken.column:
        assert f"'{broken.column}'" in message, message
    for part in broken.message_parts:
        assert part.lower() in message.lower(), message


def test_a_volume_drop_blocks_its_table_with_an_error_check_naming_the_drop(nightly_runs):
    broken = nightly_runs["broken_inputs"]["volume drop"]
    result = nightly_runs["failed"]
    assert "blocking asset check failed" in step_failures(result)[broken.step_key]
    loads = check_evaluation(result, "web__events", "loads")
    assert not loads.passed and loads.severity == dg.AssetCheckSeverity.ERROR
    assert "volume_drop" in failed_rules(loads)
    _, rows, _, min_expected, _ = markdown_row(loads.metadata["deliveries"].value, str(broken.path))
    assert int(rows) == count_rows(broken.path)
    assert float(min_expected) > int(rows)


def test_a_new_column_loads_and_warns_naming_the_column(nightly_runs):
    broken, result = nightly_runs["broken_inputs"]["new csv column"], nightly_runs["failed"]
    assert broken.step_key in step_successes(result)
    loads = check_evaluation(result, "email__events", "loads")
    assert not loads.passed and loads.severity == dg.AssetCheckSeverity.WARN
    assert "new_columns" in failed_rules(loads)
    assert loads.metadata["unexpected_columns"].value == broken.column
    with connect(nightly_runs["failing_dir"]) as conn:
        landed = conn.execute(
            "select (select count(*) from raw.email__events where _source = $1)"
            " + (select count(*) from quarantine.email__events where _source = $1)",
            [str(broken.path)],
        ).fetchone()[0]
        columns = {
            c for (c,) in conn.execute("select column_name from (describe raw.email__events)").fetchall()
        }
    assert landed == count_rows(broken.path) > 0
    assert broken.column not in columns


def test_no_bad_input_reaches_dbt_or_the_publication(nightly_runs):
    result = nightly_runs["failed"]
    ran = step_successes(result) | set(step_failures(result))
    assert not {"serving__publication", "ml__customer_scores"} & ran, (
        "the scores and the publication must not run"
    )
    # dbt builds nothing from the sources; only the seeds (reference data, no source input: Dagster runs
    # them in a step of their own) may load
    materialized = {event.asset_key.path[0] for event in result.get_asset_materialization_events()}
    assert "raw" in materialized and materialized <= {"raw", "reference"}
    assert nightly_runs["serving_after_failure"] == nightly_runs["serving_before_failure"], (
        "the serving files changed"
    )


@pytest.mark.parametrize("kind", REDELIVERED_KINDS)
def test_the_good_drop_of_a_failing_table_still_lands(nightly_runs, kind):
    broken, data_dir = nightly_runs["broken_inputs"][kind], nightly_runs["failing_dir"]
    good = day_drop(data_dir, broken.system, broken.table)
    raw_table = f"{broken.system}__{broken.table}"
    with connect(data_dir) as conn:
        loaded = conn.execute(
            "select file_path, rows_loaded from raw._loaded_files where system = ? and source_table = ? and batch_id = ?",
            [broken.system, broken.table, nightly_runs["failed"].run_id],
        ).fetchall()
        landed_per_file = dict(
            conn.execute(
                f'select _source, count(*) from (select _source from raw."{raw_table}" where _batch_id = $1 '
                f'union all select _source from quarantine."{raw_table}" where _batch_id = $1) group by 1',
                [nightly_runs["failed"].run_id],
            ).fetchall()
        )
    assert loaded == [(str(good), count_rows(good))], "only the good drop is recorded as loaded"
    assert landed_per_file == ({str(good): count_rows(good)} if count_rows(good) else {})


def test_a_database_table_with_a_renamed_column_loads_nothing(nightly_runs):
    broken = nightly_runs["broken_inputs"]["renamed database column"]
    with connect(nightly_runs["failing_dir"]) as conn:
        (landed,) = conn.execute(
            f'select count(*) from raw."{broken.system}__{broken.table}" where _batch_id = ?',
            [nightly_runs["failed"].run_id],
        ).fetchone()
    assert landed == 0


def test_rows_loaded_before_the_failure_are_untouched(nightly_runs):
    earlier = landed_fingerprint(nightly_runs["failing_dir"], leave_out_batch=nightly_runs["failed"].run_id)
    assert earlier == nightly_runs["landed_before_failure"]


# --------------------------------------------------------------------------------- row-level problems


def planted(bad_rows_run: dict, kind: str) -> list[BadRow]:
    rows = [row for row in bad_rows_run["planted"] if row.kind == kind]
    assert rows, f"nothing planted of kind {kind!r}"
    return rows


def test_row_problems_alone_do_not_block_the_run(bad_rows_run):
    result = bad_rows_run["result"]
    assert result.success, step_failures(result)
    assert "serving__publication" in step_successes(result)
    assert bad_rows_run["serving_after"] != bad_rows_run["serving_before"], "the publication did not run"


@pytest.mark.parametrize("kind", ROW_KINDS)
def test_a_bad_row_is_quarantined_with_its_source_row_text_and_reason(bad_rows_run, kind):
    run_id = bad_rows_run["result"].run_id
    with connect(bad_rows_run["data_dir"]) as conn:
        for bad in planted(bad_rows_run, kind):
            where, values = key_filter(bad.key)
            held = conn.execute(
                f'select "{bad.column}", _source, _source_row, _failed_rules, _reasons '
                f'from quarantine."{bad.raw_table}" where _batch_id = ? and {where}',
                [run_id, *values],
            ).fetchall()
            assert len(held) == 1, f"{bad.raw_table} {bad.key}: {held}"
            ((text, source, source_row, rules, reasons),) = held
            assert (text or "") == bad.value, "the original text is kept"
            assert source == bad.source
            if bad.source_row is not None:
                assert source_row == bad.source_row
            else:  # a database row: numbered in the load's read
                assert source_row >= 1
            assert bad.rule in rules
            assert reasons.startswith(bad.rule), reasons
            if bad.rule == "duplicate_key":
                assert "of the same file" in reasons
            else:
                assert f"{bad.column} = '{bad.value}'" in reasons, reasons


@pytest.mark.parametrize("kind", ROW_KINDS)
def test_a_quarantined_row_is_not_in_raw_or_staging(bad_rows_run, kind):
    run_id = bad_rows_run["result"].run_id
    with connect(bad_rows_run["data_dir"]) as conn:
        for bad in planted(bad_rows_run, kind):
            where, values = key_filter(bad.key)
            in_raw = conn.execute(
                f'select _source_row from raw."{bad.raw_table}" where _batch_id = ? and {where}',
                [run_id, *values],
            ).fetchall()
            in_staging = conn.execute(
                f'select _batch_id, _source_row from staging."stg_{bad.raw_table}" where {where}', values
            ).fetchall()
            this_run = [row for batch, row in in_staging if batch == run_id]
            if (
                bad.rule == "duplicate_key"
            ):  # the first row of the key passed and flows on; the repeat does not
                assert len(in_raw) == 1 and in_raw[0][0] != bad.source_row
                assert this_run == [in_raw[0][0]]
            else:
                assert in_raw == [] and this_run == []
            if bad.source_row is None:  # a database row: its earlier version stays in staging
                assert len(in_staging) == 1


def test_a_row_with_an_unknown_value_warns_and_flows_on_into_staging(bad_rows_run):
    (warned,), run_id = planted(bad_rows_run, "unknown value (warning)"), bad_rows_run["result"].run_id
    where, values = key_filter(warned.key)
    with connect(bad_rows_run["data_dir"]) as conn:
        (held,) = conn.execute(
            f'select count(*) from quarantine."{warned.raw_table}" where {where}', values
        ).fetchone()
        staged = conn.execute(
            f'select event_type, _batch_id, _source_row from staging."stg_{warned.raw_table}" where {where}',
            values,
        ).fetchall()
    assert held == 0
    assert staged == [(warned.value, run_id, warned.source_row)]
    rows = check_evaluation(bad_rows_run["result"], warned.raw_table, "rows")
    assert rows.metadata[f"warned/{warned.rule}"].value >= 1


def test_every_loaded_row_is_passed_or_quarantined(bad_rows_run):
    run_id, expected = bad_rows_run["result"].run_id, bad_rows_run["expected_new_rows"]
    with connect(bad_rows_run["data_dir"]) as conn:
        landed = {
            table: conn.execute(
                f'select (select count(*) from raw."{table}" where _batch_id = $1)'
                f' + (select count(*) from quarantine."{table}" where _batch_id = $1)',
                [run_id],
            ).fetchone()[0]
            for table in expected
        }
    assert landed == expected
    planted_tables = {bad.raw_table for bad in bad_rows_run["planted"]}
    assert all(expected[table] > 0 for table in planted_tables)


def test_the_rows_check_warns_with_the_rows_quarantined_per_rule(bad_rows_run):
    result, run_id = bad_rows_run["result"], bad_rows_run["result"].run_id
    planted_rules = Counter((bad.raw_table, bad.rule) for bad in bad_rows_run["planted"] if bad.quarantined)
    with connect(bad_rows_run["data_dir"]) as conn:
        for (table, rule), count in planted_rules.items():
            rows = check_evaluation(result, table, "rows")
            assert not rows.passed and rows.severity == dg.AssetCheckSeverity.WARN
            (held,) = conn.execute(
                f'select count(*) from quarantine."{table}" where _batch_id = ? and list_contains(_failed_rules, ?)',
                [run_id, rule],
            ).fetchone()
            assert rows.metadata[f"quarantined/{rule}"].value == held >= count, f"{table} {rule}"


def test_a_fixed_row_is_released_by_reprocess_and_the_others_stay(bad_rows_run, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(bad_rows_run["data_dir"], data_dir)  # the shared run stays as it was
    fixed, unfixed = [bad for bad in bad_rows_run["planted"] if bad.rule == "total_amount_negative"]
    run_id = bad_rows_run["result"].run_id
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as conn:
        conn.execute(
            "update quarantine.pos__receipts set total_amount = '12.50' where receipt_id = ? and _batch_id = ?",
            [fixed.key["receipt_id"], run_id],
        )
    completed = subprocess.run(
        [sys.executable, "-m", "orchestration.quality", "reprocess", "pos.receipts"],
        env={**os.environ, "KLANTBEELD_DATA_DIR": str(data_dir)},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "1 released to raw" in completed.stdout, completed.stdout
    with connect(data_dir) as conn:
        released = conn.execute(
            "select total_amount, _batch_id, _source, _source_row from raw.pos__receipts where receipt_id = ?",
            [fixed.key["receipt_id"]],
        ).fetchall()
        held = dict(
            conn.execute(
                "select receipt_id, _released_at is null from quarantine.pos__receipts where receipt_id in (?, ?)",
                [fixed.key["receipt_id"], unfixed.key["receipt_id"]],
            ).fetchall()
        )
        (unfixed_in_raw,) = conn.execute(
            "select count(*) from raw.pos__receipts where receipt_id = ?", [unfixed.key["receipt_id"]]
        ).fetchone()
    assert released == [("12.50", run_id, fixed.source, fixed.source_row)], "released under its original load"
    assert held == {fixed.key["receipt_id"]: False, unfixed.key["receipt_id"]: True}
    assert unfixed_in_raw == 0


# -------------------------------------------------------------------------------------- clean world

# The defects simulator/world.py plants (~0.2 % of rows): (system, table, defect) -> the column broken.
DEFECT_COLUMNS = {
    ("pos", "receipts", "negative_amount"): "total_amount",
    ("pos", "receipt_lines", "negative_amount"): "line_amount",
    ("pos", "receipt_lines", "duplicate_primary_key"): "",
    ("web", "events", "duplicate_primary_key"): "",
    ("web", "events", "empty_required_field"): "cookie_id",
    ("email", "sends", "malformed_email"): "email",
    ("email", "subscriptions", "malformed_email"): "email",
    ("service", "contacts", "unparseable_date"): "contact_ts",
    ("campaigns", "exposures", "empty_required_field"): "recipient_id",
    ("campaigns", "responses", "negative_amount"): "amount",
    ("social", "interactions", "unparseable_date"): "interaction_ts",
    ("crm", "customers", "malformed_email"): "email",
    ("crm", "customers", "unparseable_date"): "birth_date",
    ("webshop", "accounts", "malformed_email"): "email",
    ("webshop", "orders", "negative_amount"): "total_amount",
    ("loyalty", "members", "unparseable_date"): "birth_date",
}
EXPECTED_RULE = {
    "negative_amount": "{}_negative",
    "malformed_email": "{}_malformed",
    "unparseable_date": "{}_unreadable",
    "empty_required_field": "{}_missing",
    "duplicate_primary_key": "duplicate_key",
}


def loads_settings(raw_table: str) -> dict:
    suite = json.loads((EXPECTATIONS_DIR / "suites" / "loads" / f"{raw_table}.json").read_text())
    return suite["meta"]["klantbeeld"]


def explained_warning(evaluation: dg.AssetCheckEvaluation, reference: dt.datetime) -> bool:
    """A clean world's failed check that is expected: the simulator's planted defects quarantined
    (checked against its truth below), or a sparse table of a 400-person world whose newest event
    really is older than the freshness rule allows at the world's reference time."""
    if evaluation.asset_key.path[0] != "raw" or evaluation.severity != dg.AssetCheckSeverity.WARN:
        return False
    metadata = {name: value.value for name, value in evaluation.metadata.items()}
    if evaluation.check_name == "rows":
        return metadata["rows_quarantined"] > 0 and not any(name.startswith("warned/") for name in metadata)
    if evaluation.check_name == "loads" and failed_rules(evaluation) == {"stale"}:
        hours = loads_settings(evaluation.asset_key.path[-1])["freshness_hours"]
        stale_before = pd.Timestamp(reference - dt.timedelta(hours=hours))
        return (
            pd.Timestamp(metadata["stale_before"]) == stale_before
            and pd.Timestamp(metadata["latest_event_time"]) < stale_before
        )
    return False


def test_a_clean_world_passes_every_check_but_the_warnings_it_explains(nightly_runs, small_world_template):
    reference = dt.datetime.fromisoformat(world_reference_time(small_world_template))
    unexplained = [
        f"{evaluation.asset_key.to_user_string()} {evaluation.check_name}: {evaluation.description}"
        for evaluation in nightly_runs["first"].get_asset_check_evaluations()
        if not evaluation.passed and not explained_warning(evaluation, reference)
    ]
    assert not unexplained, "\n".join(unexplained)


def delivered_rows(world: Path, system: str, table: str) -> pd.DataFrame:
    """Every row the world's source holds for a table as text, with the file it came in (files)."""
    if (world / "sources" / f"{system}.sqlite").exists():
        with sqlite3.connect(world / "sources" / f"{system}.sqlite") as conn:
            frame = pd.read_sql(f'select * from "{table}"', conn)
        return frame.astype(object).where(frame.notna(), None).assign(_file="")
    frames = []
    extension = SOURCE_FORMATS.get(system, "csv")
    for path in sorted(table_dir(world, system, table).glob(f"*.{extension}")):
        if extension == "csv":
            with path.open(encoding="utf-8", newline="") as handle:
                rows = list(csv.DictReader(handle))
        else:
            rows = [
                json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
            ]
        frames.append(pd.DataFrame(rows, dtype=object).assign(_file=str(path)))
    return pd.concat(frames, ignore_index=True)


def parses_as_time(text: str) -> bool:
    try:
        dt.datetime.fromisoformat(text)
        return True
    except ValueError:
        pass
    for pattern in ("%d-%m-%Y", "%d-%m-%Y %H:%M:%S"):
        try:
            dt.datetime.strptime(text, pattern)
            return True
        except ValueError:
            pass
    return False


def really_bad(defect: str, value: object) -> bool:
    """Whether a delivered value shows the defect (the simulator may break a value that was empty)."""
    text = "" if value is None or pd.isna(value) else str(value).strip()
    if defect == "negative_amount":
        try:
            return float(text.replace(",", ".")) < 0
        except ValueError:
            return False
    if defect == "malformed_email":
        compact = re.sub(r"\s", "", text).lower()
        return bool(compact) and not re.fullmatch(r"[^@]+@[^@]+\.[a-z]{2,}", compact)
    if defect == "unparseable_date":
        return bool(text) and not parses_as_time(text)
    if defect == "empty_required_field":
        return not text
    raise ValueError(defect)


def test_the_first_quarantine_holds_exactly_the_simulators_visible_defects(
    nightly_runs, small_world_template
):
    truth = pd.read_parquet(small_world_template / "sources" / "_truth" / "bad_rows.parquet")
    first_run = nightly_runs["first"].run_id
    quarantined: dict[tuple[str, str], pd.DataFrame] = {}
    with connect(nightly_runs["data_dir"]) as conn:
        for (system, table), contract in CONTRACTS.items():
            quarantined[(system, table)] = conn.execute(
                f'select cast("{contract.primary_key[0]}" as varchar) as record_id, _failed_rules '
                f'from quarantine."{contract.raw_table}" where _batch_id = ?',
                [first_run],
            ).df()

    planted_ids = {(row.system, row.table, str(row.record_id)) for row in truth.itertuples()}
    not_planted = [
        (system, table, record_id)
        for (system, table), frame in quarantined.items()
        for record_id in frame["record_id"]
        if (system, table, record_id) not in planted_ids
    ]
    assert not not_planted, f"quarantined rows that are no planted defect: {not_planted}"

    counts: Counter = Counter()
    mismatched = []
    for (system, table, defect), defects in truth.groupby(["system", "table", "defect"]):
        contract = CONTRACTS[(system, table)]
        id_column, column = contract.primary_key[0], DEFECT_COLUMNS[(system, table, defect)]
        delivered = delivered_rows(small_world_template, system, table)
        delivered = delivered[delivered[id_column].astype(str).isin(defects["record_id"].astype(str))]
        if defect == "duplicate_primary_key":
            repeats = delivered.groupby(["_file", *contract.primary_key]).size()
            visible = {str(key[1]) for key in repeats[repeats > 1].index}
        else:
            visible = {
                str(row[id_column]) for _, row in delivered.iterrows() if really_bad(defect, row[column])
            }
        rule = EXPECTED_RULE[defect].format(column)
        held = quarantined[(system, table)]
        caught = {
            record
            for record, rules in zip(held["record_id"], held["_failed_rules"], strict=True)
            if rule in rules and record in set(defects["record_id"].astype(str))
        }
        # both ways: a defect visible in the data is quarantined, and one quarantined is visible in it
        mismatched += [(system, table, defect, record) for record in sorted(visible ^ caught)]
        counts[(defect, "planted")] += len(defects)
        counts[(defect, "visible")] += len(visible)
        counts[(defect, "quarantined")] += len(visible & caught)
    print("\nsimulator's planted defects in the first load:")
    for defect in sorted(EXPECTED_RULE):
        print(
            f"  {defect:24} planted {counts[(defect, 'planted')]:3}  visible {counts[(defect, 'visible')]:3}"
            f"  quarantined {counts[(defect, 'quarantined')]:3}"
        )
    assert not mismatched, (
        f"planted defects visible in the data but not quarantined, or the reverse: {mismatched}"
    )
    assert sum(counts[(defect, "visible")] for defect in EXPECTED_RULE) > 0, (
        "the world planted nothing visible"
    )
