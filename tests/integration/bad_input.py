"""Bad input planted into a copy of a simulated world, for `tests/integration/test_bad_input.py`.

File-level problems break a whole drop (or a database table) so that its source's extraction must fail
with a message naming the file, the line and the column; row-level problems are single rows in the new
day's drops and in the databases, which the raw suites must quarantine while the valid rows flow on.
Every helper changes one table and returns what it planted, so each failure can be traced to it.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

REQUIRED_RULE = "rule: every required contract column must be present"
SOURCE_FORMATS = {"web": "jsonl", "social": "jsonl"}  # every other file system delivers CSV


def published_through(data_dir: Path) -> str:
    """The simulated world's last published day (its newest drops carry it in their name)."""
    return json.loads((data_dir / "sources" / "_truth" / "manifest.json").read_text())["published_through"]


def table_dir(data_dir: Path, system: str, table: str) -> Path:
    return data_dir / "sources" / system / table


def day_drop(data_dir: Path, system: str, table: str, day: str | None = None) -> Path:
    """The drop of `day` (default: the last published day): `sources/<system>/<table>/<table>_<day>.<ext>`."""
    extension = SOURCE_FORMATS.get(system, "csv")
    return table_dir(data_dir, system, table) / f"{table}_{day or published_through(data_dir)}.{extension}"


def redelivery_path(data_dir: Path, system: str, table: str) -> Path:
    """A second drop of the last published day, next to the regular one (the glob picks it up)."""
    drop = day_drop(data_dir, system, table)
    return drop.with_name(f"{drop.stem}_redelivery{drop.suffix}")


def copy_world(original: Path, copy: Path) -> Path:
    """Copy a data directory whose pipeline has run, so that the copy loads only what is new.

    The warehouse knows each loaded drop by its absolute path: in a plain copy every drop would look
    new and load a second time. The copy's `raw._loaded_files` is moved to the copy's paths (file
    sizes and modification times are kept by the copy).
    """
    shutil.copytree(original, copy)
    with duckdb.connect(str(copy / "warehouse.duckdb")) as conn:
        conn.execute(
            "update raw._loaded_files set file_path = ? || substr(file_path, ?) where starts_with(file_path, ?)",
            [str(copy / "sources"), len(str(original / "sources")) + 1, str(original / "sources")],
        )
    return copy


def landed_fingerprint(data_dir: Path, leave_out_batch: str | None = None) -> dict[str, tuple[int, int]]:
    """(rows, xor of row hashes) of every raw and quarantine table, optionally without one load's rows:
    equal fingerprints mean the rows are the same, value for value."""
    fingerprint: dict[str, tuple[int, int]] = {}
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('raw', 'quarantine') and not starts_with(table_name, '_')"
        ).fetchall()
        for schema, table in tables:
            rows, hashes = conn.execute(
                f'select count(*), coalesce(bit_xor(hash(t)), 0) from {schema}."{table}" t '
                "where _batch_id is distinct from ?",
                [leave_out_batch],
            ).fetchone()
            fingerprint[f"{schema}.{table}"] = (rows, hashes)
    return fingerprint


# ------------------------------------------------------------------------------------------ reading


def read_csv_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and data rows of a CSV drop, every value as the text in the file."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def read_jsonl_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def recent_rows(data_dir: Path, system: str, table: str, at_least: int = 1) -> tuple[list[str], list[dict]]:
    """Header and rows of the newest drop of the table holding at least `at_least` rows: models for
    planted rows, as the new day's own drop is often empty in a small world."""
    extension = SOURCE_FORMATS.get(system, "csv")
    for path in sorted(table_dir(data_dir, system, table).glob(f"*.{extension}"), reverse=True):
        if extension == "csv":
            header, rows = read_csv_rows(path)
        else:
            rows = read_jsonl_rows(path)
            header = list(rows[0]) if rows else []
        if len(rows) >= at_least:
            return header, rows
    raise AssertionError(f"{system}.{table}: no drop with {at_least} row(s) to model planted rows on")


def csv_text(header: list[str], rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def count_rows(path: Path) -> int:
    """Data rows of a drop, counted by Python's own readers (not by the pipeline's)."""
    if path.suffix == ".jsonl":
        return len(read_jsonl_rows(path))
    return len(read_csv_rows(path)[1])


# ------------------------------------------------------------------------------ file-level problems


@dataclass(frozen=True)
class BrokenInput:
    """A planted file-level problem and what its message must name."""

    kind: str
    system: str
    table: str
    path: Path  # the planted file, or the database file
    line: int | None = None  # the line the message names (None: no line applies)
    column: str | None = None  # the column the message names
    message_parts: tuple[str, ...] = ()  # further words the message must hold (the rule, a cause)
    fails: bool = True  # False: the drop loads and the asset only warns (a new column)

    @property
    def step_key(self) -> str:
        return f"raw__{self.system}__{self.table}"


def plant_empty_csv(data_dir: Path, system: str, table: str) -> BrokenInput:
    """A 0-byte CSV drop: an export that wrote nothing, not even its header."""
    path = redelivery_path(data_dir, system, table)
    path.write_bytes(b"")
    return BrokenInput(
        "empty csv",
        system,
        table,
        path,
        line=1,
        message_parts=("the file is empty", "rule: a csv drop starts with a header line"),
    )


def plant_non_utf8_csv(data_dir: Path, system: str, table: str, column: str) -> BrokenInput:
    """A CSV drop written in Latin-1: `column` of its second data row (line 3) holds an `ü` byte."""
    header, rows = recent_rows(data_dir, system, table, at_least=2)
    rows = [dict(row) for row in rows[:3]]
    rows[1][column] = "klacht über levering"
    path = redelivery_path(data_dir, system, table)
    path.write_bytes(csv_text(header, rows).encode("latin-1"))
    return BrokenInput(
        "non-UTF-8 csv",
        system,
        table,
        path,
        line=3,
        message_parts=("not utf-8", "rule: a drop is encoded as"),
    )


def plant_truncated_csv(data_dir: Path, system: str, table: str) -> BrokenInput:
    """A CSV drop cut off in its second data row (line 3), inside its third field."""
    header, rows = recent_rows(data_dir, system, table, at_least=2)
    cut_row = io.StringIO()
    csv.writer(cut_row, lineterminator="").writerow([rows[1][name] for name in header[:3]])
    path = redelivery_path(data_dir, system, table)
    path.write_text(csv_text(header, rows[:1]) + cut_row.getvalue()[:-1], encoding="utf-8")  # no newline
    return BrokenInput(
        "truncated csv",
        system,
        table,
        path,
        line=3,
        column=header[3],
        message_parts=("truncated", "rule: every row has the header's fields"),
    )


def plant_truncated_jsonl(data_dir: Path, system: str, table: str) -> BrokenInput:
    """A JSON-lines drop cut off in the middle of its last object (line 2)."""
    _, rows = recent_rows(data_dir, system, table, at_least=2)
    lines = [json.dumps(row, ensure_ascii=False) for row in rows[:2]]
    path = redelivery_path(data_dir, system, table)
    path.write_text(lines[0] + "\n" + lines[1][: len(lines[1]) // 2], encoding="utf-8")
    return BrokenInput(
        "truncated jsonl",
        system,
        table,
        path,
        line=2,
        message_parts=("truncated", "rule: one JSON object per line"),
    )


def plant_renamed_csv_column(
    data_dir: Path, system: str, table: str, column: str, renamed: str
) -> BrokenInput:
    """A CSV drop whose export renamed a required column (`column` -> `renamed`)."""
    header, rows = recent_rows(data_dir, system, table, at_least=1)
    rows = [{(renamed if key == column else key): value for key, value in row.items()} for row in rows]
    header = [renamed if name == column else name for name in header]
    path = redelivery_path(data_dir, system, table)
    path.write_text(csv_text(header, rows), encoding="utf-8")
    return BrokenInput(
        "renamed csv column",
        system,
        table,
        path,
        column=column,
        message_parts=(renamed, "renamed?", "line 1 (the header)", REQUIRED_RULE),
    )


def plant_missing_csv_column(data_dir: Path, system: str, table: str, column: str) -> BrokenInput:
    """A CSV drop whose export lost the required `column`."""
    header, rows = recent_rows(data_dir, system, table, at_least=1)
    path = redelivery_path(data_dir, system, table)
    path.write_text(csv_text([name for name in header if name != column], rows), encoding="utf-8")
    return BrokenInput(
        "missing csv column",
        system,
        table,
        path,
        column=column,
        message_parts=("line 1 (the header)", REQUIRED_RULE),
    )


def plant_new_csv_column(data_dir: Path, system: str, table: str, column: str) -> BrokenInput:
    """The day's CSV drop with an extra column the landing contract does not know (it loads; the asset warns)."""
    path = day_drop(data_dir, system, table)
    header, rows = read_csv_rows(path)
    if not rows:  # a day without rows: model one on an earlier drop, so rows really land past the new column
        header, rows = recent_rows(data_dir, system, table, at_least=1)
        rows = rows[:1]
    path.write_text(csv_text([*header, column], [{**row, column: "x"} for row in rows]), encoding="utf-8")
    return BrokenInput("new csv column", system, table, path, column=column, fails=False)


def remove_daily_drop(data_dir: Path, system: str, table: str, hours_ago: float = 48) -> BrokenInput:
    """Delete the day's drop of a daily table and record its earlier drops as loaded `hours_ago` earlier
    (`raw._loaded_files.loaded_at`), so its last drop is older than the loads suite allows."""
    path = day_drop(data_dir, system, table)
    path.unlink()
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as conn:
        conn.execute(
            f"update raw._loaded_files set loaded_at = loaded_at - interval {float(hours_ago)} hour "
            "where system = ? and source_table = ?",
            [system, table],
        )
        (last_drop,) = conn.execute(
            "select file_path from raw._loaded_files where system = ? and source_table = ? "
            "order by loaded_at desc, file_path desc limit 1",
            [system, table],
        ).fetchone()
    return BrokenInput(
        "missing daily drop",
        system,
        table,
        Path(last_drop),
        message_parts=("no new drop", "rule: a drop arrives at least every"),
    )


def plant_volume_drop(data_dir: Path, system: str, table: str, recorded_median: int = 40) -> BrokenInput:
    """Replace the day's drop with a copy holding ~5 % of a usual day's rows.

    A 400-person world's drops are smaller than the loads suite's `volume_min_median_rows` (20),
    below which volume is not judged (web events: a median of ~16); so the table's earlier drops are
    recorded as having brought `recorded_median` rows each, as a larger shop's would (only
    `raw._loaded_files.rows_loaded` changes; the rows in raw stay as they are).
    """
    path = day_drop(data_dir, system, table)
    _, rows = recent_rows(data_dir, system, table, at_least=1)
    kept = rows[: max(1, round(0.05 * recorded_median))]
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in kept), encoding="utf-8")
    else:
        path.write_text(csv_text(list(rows[0]), kept), encoding="utf-8")
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as conn:
        conn.execute(
            "update raw._loaded_files set rows_loaded = ? where system = ? and source_table = ?",
            [recorded_median, system, table],
        )
    return BrokenInput("volume drop", system, table, path, message_parts=("volume_drop",))


def rename_database_column(data_dir: Path, system: str, table: str, column: str, renamed: str) -> BrokenInput:
    """A SQLite source table whose required `column` was renamed (a schema change upstream)."""
    database = data_dir / "sources" / f"{system}.sqlite"
    with sqlite3.connect(database) as conn:
        conn.execute(f'alter table "{table}" rename column "{column}" to "{renamed}"')
    return BrokenInput(
        "renamed database column",
        system,
        table,
        database,
        column=column,
        message_parts=(renamed, "renamed?", REQUIRED_RULE),
    )


# ------------------------------------------------------------------------------- row-level problems


@dataclass(frozen=True)
class BadRow:
    """A planted row: where it is, the text planted and the rule that must catch it."""

    kind: str
    system: str
    table: str
    key: dict[str, str]  # primary key of the row
    column: str  # the column holding the problem
    value: str  # the text planted there ("": left empty)
    rule: str  # the raw suite's rule it breaks
    source: str  # the file path, or the database description as `_source` holds it
    source_row: int | None  # the data row in the file (databases: numbered by the load, unknown here)
    quarantined: bool = True  # False: a warning, the row flows on

    @property
    def raw_table(self) -> str:
        return f"{self.system}__{self.table}"


@dataclass
class DropPlanting:
    """Rows appended to the day's drop of one file table (created if the day brought none)."""

    data_dir: Path
    system: str
    table: str
    key_columns: tuple[str, ...]
    path: Path = field(init=False)
    header: list[str] = field(init=False)
    rows: list[dict] = field(init=False)
    model: dict = field(init=False)
    planted: list[BadRow] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.path = day_drop(self.data_dir, self.system, self.table)
        header, model_rows = recent_rows(self.data_dir, self.system, self.table, at_least=1)
        if self.path.suffix == ".jsonl":
            self.rows = read_jsonl_rows(self.path) if self.path.exists() else []
            self.header = header
        else:
            self.header, self.rows = read_csv_rows(self.path)
        self.model = dict(model_rows[0])

    def add(
        self,
        changes: dict[str, str | None],
        kind: str | None = None,
        column: str = "",
        rule: str = "",
        quarantined: bool = True,
    ) -> dict:
        """Append a row modelled on an earlier one with `changes`; record it as bad when `kind` is given."""
        row = {**self.model, **changes}
        self.rows.append(row)
        if kind:
            self.planted.append(
                BadRow(
                    kind,
                    self.system,
                    self.table,
                    {name: row[name] for name in self.key_columns},
                    column,
                    row[column],
                    rule,
                    str(self.path),
                    len(self.rows),
                    quarantined,
                )
            )
        return row

    def write(self) -> list[BadRow]:
        if self.path.suffix == ".jsonl":
            self.path.write_text(
                "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in self.rows), encoding="utf-8"
            )
        else:
            self.path.write_text(csv_text(self.header, self.rows), encoding="utf-8")
        return self.planted


def update_database_row(
    data_dir: Path, system: str, table: str, key_column: str, column: str, value: str, updated_at: str
) -> dict[str, str]:
    """Set `column` of one row of a SQLite source table and bump its `updated_at` past the watermark,
    so the next load reads it again. Returns the row's key."""
    database = data_dir / "sources" / f"{system}.sqlite"
    with sqlite3.connect(database) as conn:
        (key,) = conn.execute(
            f'select "{key_column}" from "{table}" where "{column}" is not null order by "{key_column}" limit 1'
        ).fetchone()
        conn.execute(
            f'update "{table}" set "{column}" = ?, updated_at = ? where "{key_column}" = ?',
            [value, updated_at, key],
        )
    return {key_column: key}


def plant_broken_inputs(data_dir: Path) -> dict[str, BrokenInput]:
    """One file-level problem per table, in a world advanced by a day (so every daily table has a new
    drop): nine that fail their table's extraction and a new column that only warns. email.sends stays
    clean, as a control."""
    planted = [
        plant_empty_csv(data_dir, "email", "subscriptions"),
        plant_non_utf8_csv(data_dir, "service", "contacts", column="topic"),
        plant_truncated_csv(data_dir, "pos", "receipt_lines"),
        plant_truncated_jsonl(data_dir, "social", "interactions"),
        plant_renamed_csv_column(data_dir, "campaigns", "exposures", "recipient_id", "recipient"),
        plant_missing_csv_column(data_dir, "pos", "receipts", "total_amount"),
        plant_new_csv_column(data_dir, "email", "events", "device_type"),
        remove_daily_drop(data_dir, "campaigns", "responses"),
        plant_volume_drop(data_dir, "web", "events"),
        rename_database_column(data_dir, "crm", "customers", "last_name", "surname"),
    ]
    return {broken.kind: broken for broken in planted}


def database_source(data_dir: Path, system: str, table: str) -> str:
    """`_source` of the rows of a simulated database table (the URL as sources.yaml builds it)."""
    return f"sqlite:///{data_dir / 'sources' / f'{system}.sqlite'}#{table}"


def plant_bad_rows(data_dir: Path) -> list[BadRow]:
    """Bad rows in the day's drops and the databases of a world advanced by a day, next to valid
    planted rows that must flow on. Keys end in 99xxxx so they cannot collide with simulated ones."""
    day = published_through(data_dir)
    compact = day.replace("-", "")
    planted: list[BadRow] = []

    receipts = DropPlanting(data_dir, "pos", "receipts", ("receipt_id",))
    store = receipts.model["store_id"]
    valid_receipt = receipts.add(
        {"receipt_id": f"{store}-{compact}-990001", "receipt_ts": f"{day} 11:00:00", "total_amount": "25.00"}
    )["receipt_id"]
    for number, amount in ((2, "-12.50"), (3, "-3.10")):
        receipts.add(
            {
                "receipt_id": f"{store}-{compact}-99000{number}",
                "receipt_ts": f"{day} 12:0{number}:00",
                "total_amount": amount,
                "coupon_code": "",
                "discount_amount": "0",
            },
            "negative amount",
            "total_amount",
            "total_amount_negative",
        )
    planted += receipts.write()

    lines = DropPlanting(data_dir, "pos", "receipt_lines", ("receipt_id", "line_number"))
    first = {
        "receipt_id": valid_receipt,
        "line_number": "1",
        "quantity": "1",
        "unit_price": "10.00",
        "discount_amount": "0",
        "line_amount": "10.00",
    }
    lines.add(first)
    lines.add({**first, "line_number": "2", "unit_price": "15.00", "line_amount": "15.00"})
    lines.add({**first, "quantity": "3"}, "duplicate key, different values", "quantity", "duplicate_key")
    planted += lines.write()

    events = DropPlanting(data_dir, "web", "events", ("event_id",))
    valid_event = {"event_ts": f"{day}T10:00:00.000Z", "event_type": "page_view", "cookie_id": "ck9900000001"}
    events.add({**valid_event, "event_id": "ev990000000001"})
    events.add(
        {**valid_event, "event_id": "ev990000000001"}, "exact duplicate row", "event_id", "duplicate_key"
    )
    events.add(
        {**valid_event, "event_id": "ev990000000002", "cookie_id": ""},
        "empty required field",
        "cookie_id",
        "cookie_id_missing",
    )
    events.add(
        {**valid_event, "event_id": "ev990000000003", "event_ts": "2099-07-02T10:00:00.000Z"},
        "event time in the future",
        "event_ts",
        "event_ts_in_future",
    )
    events.add(
        {**valid_event, "event_id": "ev990000000004", "event_type": "hologram_view"},
        "unknown value (warning)",
        "event_type",
        "event_type_unknown_value",
        quarantined=False,
    )
    planted += events.write()

    sends = DropPlanting(data_dir, "email", "sends", ("send_id",))
    sends.add(
        {"send_id": "snd990000000001", "email": "jan.jansen(at)ziggo.nl", "sent_at": f"{day} 07:00:00"},
        "malformed email",
        "email",
        "email_malformed",
    )
    planted += sends.write()

    contacts = DropPlanting(data_dir, "service", "contacts", ("contact_id",))
    contacts.add(
        {"contact_id": "SC9900000001", "contact_ts": "gisteren 14:30"},
        "unparseable timestamp",
        "contact_ts",
        "contact_ts_unreadable",
    )
    planted += contacts.write()

    updated_at = f"{day} 23:59:00"
    for system, table, key_column, column, value, rule, kind in (
        (
            "crm",
            "customers",
            "customer_id",
            "email",
            "m.devries@ziggo",
            "email_malformed",
            "malformed email in a database row",
        ),
        (
            "loyalty",
            "members",
            "member_id",
            "birth_date",
            "1985-02-30",
            "birth_date_unreadable",
            "unparseable birth date in a database row",
        ),
    ):
        key = update_database_row(data_dir, system, table, key_column, column, value, updated_at)
        planted.append(
            BadRow(
                kind, system, table, key, column, value, rule, database_source(data_dir, system, table), None
            )
        )
    return planted
