"""The frame of a raw load: typed as staging types it, duplicates marked, handed over in chunks."""

from __future__ import annotations

import datetime as dt
import importlib.util
from collections.abc import Sequence
from decimal import Decimal
from types import ModuleType
from typing import Any

import duckdb
import jinja2
import pandas as pd
import pytest

from orchestration.ingest.contract import ColumnSpec, TableContract
from orchestration.ingest.extract import ensure_raw_schema
from orchestration.paths import DBT_PROJECT_DIR
from orchestration.quality.raw_batch import (
    DUPLICATE_COLUMN,
    frame_chunks,
    frame_columns,
    frame_select,
    typed_expression,
)

DECIMALS = {
    "12,50": 12.5,
    "12.50": 12.5,
    "1.234,50": 1234.5,
    "1,234.50": 1234.5,
    "€ 12,50": 12.5,
    "-3": -3.0,
    " 7 ": 7.0,
    "abc": None,
    "": None,
    "   ": None,
}
DATES = {
    "2025-02-28": dt.date(2025, 2, 28),
    "28-02-2025": dt.date(2025, 2, 28),
    " 2024-02-29 ": dt.date(2024, 2, 29),
    "31-02-2025": None,
    "not a date": None,
    "2025-13-45": None,
    "00-00-0000": None,
    "": None,
}
# Offset-less times stay as written (the frame checks validity and the day, not the time zone).
TIMESTAMPS = {
    "2025-03-01T10:00:00Z": dt.datetime(2025, 3, 1, 10, 0),
    "2025-03-01T10:00:00.250Z": dt.datetime(2025, 3, 1, 10, 0, 0, 250_000),
    "2025-03-01T10:00:00+01:00": dt.datetime(2025, 3, 1, 9, 0),
    "2025-07-01 10:00:00+0200": dt.datetime(2025, 7, 1, 8, 0),
    "2025-03-01 00:30:00-01:00": dt.datetime(2025, 3, 1, 1, 30),
    "2025-03-01 10:00:00": dt.datetime(2025, 3, 1, 10, 0),
    "2025-03-01T10:00:00": dt.datetime(2025, 3, 1, 10, 0),
    "01-03-2025 10:00:00": dt.datetime(2025, 3, 1, 10, 0),
    "31-02-2025 10:00:00": None,
    "2025-03-01 25:00:00": None,
    "yesterday at ten": None,
    "": None,
}
BOOLEANS = {
    "ja": True,
    " JA ": True,
    "j": True,
    "1": True,
    "true": True,
    "yes": True,
    "nee": False,
    "n": False,
    "0": False,
    "False": False,
    "no": False,
    "maybe": None,
    "2": None,
    "": None,
}
INTEGERS = {"42": 42, " 7 ": 7, "-3": -3, "abc": None, "": None}
EMAILS = {
    " Jan@Ziggo.NL ": "jan@ziggo.nl",
    "jan @ ziggo .nl": "jan@ziggo.nl",
    "PIET@example.com": "piet@example.com",
    "not an email": "notanemail",
    "   ": None,
}
CODES = {" Paid": "paid", "SHIPPED ": "shipped", "": None, "  ": None}
STRINGS = {"  Jan de Vries ": "Jan de Vries", "": None, "   ": None}

CASES: dict[tuple[str, str | None], dict[str, Any]] = {
    ("decimal", None): DECIMALS,
    ("date", None): DATES,
    ("timestamp", None): TIMESTAMPS,
    ("boolean", None): BOOLEANS,
    ("integer", None): INTEGERS,
    ("string", "email"): EMAILS,
    ("string", "code"): CODES,
    ("string", None): STRINGS,
}


def read_as(column_type: str, texts: Sequence[str | None], text_format: str | None = None) -> list[Any]:
    """The values `typed_expression` gives for `texts`, in order, on an in-memory DuckDB."""
    expression = typed_expression(ColumnSpec("value", column_type), '"value"', text_format)
    return read_with(expression, texts)


def read_with(expression: str, texts: Sequence[str | None]) -> list[Any]:
    conn = duckdb.connect()
    try:
        conn.execute("create table texts (position integer, value varchar)")
        conn.executemany("insert into texts values (?, ?)", list(enumerate(texts)))
        rows = conn.execute(f"select {expression} from texts order by position").fetchall()
    finally:
        conn.close()
    return [row[0] for row in rows]


@pytest.mark.parametrize(("column_type", "text_format"), list(CASES), ids=lambda v: str(v))
def test_typed_expression_reads_text_as_staging_documents(column_type, text_format):
    expected = CASES[(column_type, text_format)]
    values = read_as(column_type, [*expected, None], text_format)
    assert dict(zip([*expected, "<NULL>"], values, strict=True)) == {**expected, "<NULL>": None}


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2025-07-01 10:00:00 +02:00", dt.datetime(2025, 7, 1, 8, 0)),
        ("2025-07-01 10:00:00 Z", dt.datetime(2025, 7, 1, 10, 0)),
        ("2025-07-01T10:00:00z", dt.datetime(2025, 7, 1, 10, 0)),
    ],
)
def test_timestamps_with_a_spaced_offset_or_lower_case_z_are_read(text, utc):
    assert read_as("timestamp", [text]) == [utc]


def test_decimals_and_times_have_the_types_the_suites_compare():
    conn = duckdb.connect()
    try:
        types = {
            column_type: conn.execute(
                f"select typeof({typed_expression(ColumnSpec('v', column_type), 'v')}) from (select '1' as v)"
            ).fetchone()[0]
            for column_type in ("decimal", "integer", "date", "timestamp", "boolean", "string")
        }
    finally:
        conn.close()
    assert types == {
        "decimal": "DOUBLE",
        "integer": "BIGINT",
        "date": "DATE",
        "timestamp": "TIMESTAMP",
        "boolean": "BOOLEAN",
        "string": "VARCHAR",
    }


# ------------------------------------------------------------------ the same values as the staging macros


def _load_module(name: str) -> ModuleType:
    path = DBT_PROJECT_DIR / "sqlfluff_libs" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"klantbeeld_sqlfluff_libs_{name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def staging_macros() -> Any:
    """parse.sql and normalize.sql rendered with the stand-ins sqlfluff uses for dbt's `adapter` and
    `dbt` (DuckDB SQL, the project's vars): the SQL staging runs, without starting dbt."""
    context = _load_module("__init__")
    text = "\n".join(
        (DBT_PROJECT_DIR / "macros" / name).read_text(encoding="utf-8")
        for name in ("parse.sql", "normalize.sql")
    )
    template = jinja2.Environment().from_string(text)
    return template.make_module(
        {
            "adapter": _load_module("adapter"),
            "dbt": _load_module("dbt"),
            "var": context.var,
            "return": lambda value: value,  # dbt's `return` ends a macro with that value
        }
    )


def _as_float(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


@pytest.mark.parametrize(
    ("column_type", "text_format", "macro_call"),
    [
        ("decimal", None, lambda m: m.parse_decimal('"value"')),
        ("integer", None, lambda m: m.parse_integer('"value"')),
        ("date", None, lambda m: m.parse_date('"value"')),
        # crm writes UTC: staging keeps offset-less times as written, as the frame does for every system
        ("timestamp", None, lambda m: m.parse_timestamp('"value"', "crm")),
        ("boolean", None, lambda m: m.parse_boolean('"value"')),
        ("string", "email", lambda m: m.normalize_email('"value"')),
        ("string", "code", lambda m: m.clean_code('"value"')),
        ("string", None, lambda m: m.clean_text('"value"')),
    ],
    ids=["decimal", "integer", "date", "timestamp", "boolean", "email", "code", "text"],
)
def test_typed_expression_gives_the_values_of_the_staging_macro(
    staging_macros, column_type, text_format, macro_call
):
    texts = [*CASES[(column_type, text_format)], None]
    staged = [_as_float(value) for value in read_with(str(macro_call(staging_macros)), texts)]
    assert read_as(column_type, texts, text_format) == staged


# ---------------------------------------------------------------------------------------- frame_select


def land(conn: duckdb.DuckDBPyConnection, contract: TableContract, rows: Sequence[dict[str, Any]]) -> None:
    """Rows into the raw table as extraction leaves them (text columns, then load metadata)."""
    ensure_raw_schema(conn, [contract])
    for row in rows:
        names = list(row)
        conn.execute(
            f'insert into raw."{contract.raw_table}" ({", ".join(names)}) values ({", ".join("?" * len(names))})',
            [row[name] for name in names],
        )


def receipt(
    receipt_id: str | None, source_row: int, *, source: str = "a.csv", batch: str = "b1", total: str = "1,00"
) -> dict[str, Any]:
    return {
        "receipt_id": receipt_id,
        "store_id": "S1",
        "receipt_ts": "2025-03-01 10:00:00",
        "total_amount": total,
        "_batch_id": batch,
        "_loaded_at": dt.datetime(2025, 3, 2, 2, 0),
        "_source": source,
        "_source_row": source_row,
    }


def duplicates(conn, contract: TableContract) -> dict[tuple[str, str, int], str | None]:
    select = frame_select(contract, f"select * from raw.{contract.raw_table}")
    rows = conn.execute(
        f"select _batch_id, _source, _source_row, {DUPLICATE_COLUMN} from ({select})"
    ).fetchall()
    return {(batch, source, row): duplicate for batch, source, row, duplicate in rows}


def test_duplicate_of_marks_repeats_of_a_key_within_one_file_of_one_batch(receipts_contract):
    conn = duckdb.connect()
    land(
        conn,
        receipts_contract,
        [
            receipt("R1", 1),
            receipt("R1", 2),  # same values as row 1
            receipt("R1", 3, total="9,99"),  # same key, other values
            receipt(" R1 ", 4),  # the key is compared trimmed
            receipt("R2", 5),
            receipt(None, 6),
            receipt(None, 7),
            receipt("  ", 8),
            receipt("R1", 1, source="b.csv"),  # another file of the same batch
            receipt("R1", 1, batch="b2"),  # the same file name in another batch
        ],
    )

    marks = duplicates(conn, receipts_contract)

    assert marks == {
        ("b1", "a.csv", 1): None,
        ("b1", "a.csv", 2): "row 1 of the same file (same values)",
        ("b1", "a.csv", 3): "row 1 of the same file (different values)",
        ("b1", "a.csv", 4): "row 1 of the same file (different values)",
        ("b1", "a.csv", 5): None,
        ("b1", "a.csv", 6): None,
        ("b1", "a.csv", 7): None,
        ("b1", "a.csv", 8): None,
        ("b1", "b.csv", 1): None,
        ("b2", "a.csv", 1): None,
    }


def test_duplicate_of_names_the_first_row_by_file_order_not_by_insert_order(receipts_contract):
    conn = duckdb.connect()
    land(conn, receipts_contract, [receipt("R1", 7), receipt("R1", 3), receipt("R1", 5)])

    assert duplicates(conn, receipts_contract) == {
        ("b1", "a.csv", 3): None,
        ("b1", "a.csv", 5): "row 3 of the same file (same values)",
        ("b1", "a.csv", 7): "row 3 of the same file (same values)",
    }


def test_duplicate_key_of_two_columns_needs_both_to_repeat(contracts):
    lines = contracts[("pos", "receipt_lines")]
    conn = duckdb.connect()
    common = {"product_id": "P1", "_batch_id": "b1", "_source": "lines.csv"}
    land(
        conn,
        lines,
        [
            {"receipt_id": "R1", "line_number": "1", "_source_row": 1, **common},
            {"receipt_id": "R1", "line_number": "2", "_source_row": 2, **common},
            {"receipt_id": "R1", "line_number": "1", "_source_row": 3, **common},
            {"receipt_id": "R1", "line_number": None, "_source_row": 4, **common},
            {"receipt_id": "R1", "line_number": None, "_source_row": 5, **common},
        ],
    )

    assert duplicates(conn, lines) == {
        ("b1", "lines.csv", 1): None,
        ("b1", "lines.csv", 2): None,
        ("b1", "lines.csv", 3): "row 1 of the same file (same values)",
        ("b1", "lines.csv", 4): None,
        ("b1", "lines.csv", 5): None,
    }


def test_frame_select_gives_typed_and_raw_columns_in_frame_columns_order(receipts_contract):
    conn = duckdb.connect()
    land(conn, receipts_contract, [receipt("R1", 1, total=" € 1.234,50 ")])

    frame = conn.execute(frame_select(receipts_contract, "select * from raw.pos__receipts")).df()

    assert list(frame.columns) == frame_columns(receipts_contract)
    row = frame.iloc[0]
    assert row["total_amount"] == 1234.5 and row["total_amount__raw"] == "€ 1.234,50"
    assert "store_id__raw" not in frame.columns  # text columns are not typed twice


def test_text_formats_apply_per_column(contracts):
    customers = contracts[("crm", "customers")]
    conn = duckdb.connect()
    land(
        conn,
        customers,
        [
            {
                "customer_id": "C1",
                "email": " Jan@Ziggo.NL ",
                "gender": " F",
                "_source": "crm",
                "_source_row": None,
            }
        ],
    )
    sql = frame_select(customers, "select * from raw.crm__customers", {"email": "email", "gender": "code"})

    row = conn.execute(f"select email, gender, first_name from ({sql})").fetchone()

    assert row == ("jan@ziggo.nl", "f", None)


# ---------------------------------------------------------------------------------------- frame_chunks


def test_frame_chunks_hand_over_every_row_once_in_bounded_chunks(receipts_contract):
    conn = duckdb.connect()
    land(
        conn,
        receipts_contract,
        [receipt(f"R{i}", i, source="a.csv" if i <= 12 else "b.csv") for i in range(1, 26)],
    )
    select = frame_select(receipts_contract, "select * from raw.pos__receipts")

    chunks = list(frame_chunks(conn, select, chunk_rows=10))

    assert [len(chunk) for chunk in chunks] == [10, 10, 5]
    rows = pd.concat(chunks)
    assert list(zip(rows["_source"], rows["_source_row"], strict=True)) == [
        ("a.csv", i) if i <= 12 else ("b.csv", i) for i in range(1, 26)
    ]
    assert all(list(chunk.columns) == frame_columns(receipts_contract) for chunk in chunks)
    assert all(chunk["receipt_ts"].dtype == "datetime64[ns]" for chunk in chunks)
    # the temporary frame table is dropped once the chunks have been read
    assert (
        conn.execute(
            "select count(*) from duckdb_tables() where table_name = '_klantbeeld_frame'"
        ).fetchone()[0]
        == 0
    )


def test_frame_chunks_of_an_empty_load_is_one_empty_frame_with_the_columns(receipts_contract):
    conn = duckdb.connect()
    land(conn, receipts_contract, [])

    chunks = list(frame_chunks(conn, frame_select(receipts_contract, "select * from raw.pos__receipts"), 10))

    assert len(chunks) == 1 and chunks[0].empty
    assert list(chunks[0].columns) == frame_columns(receipts_contract)


def test_dates_arrive_as_nanosecond_datetimes(contracts):
    calendar = contracts[("thirdparty", "calendar")]
    conn = duckdb.connect()
    land(
        conn,
        calendar,
        [{"calendar_date": "31-12-2025", "event_name": "Oudjaar", "_source": "c.csv", "_source_row": 1}],
    )

    (chunk,) = frame_chunks(conn, frame_select(calendar, "select * from raw.thirdparty__calendar"))

    assert chunk["calendar_date"].dtype == "datetime64[ns]"
    assert chunk["calendar_date"].iloc[0] == pd.Timestamp("2025-12-31")
