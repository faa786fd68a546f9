"""Run the real pipeline (extraction assets + dbt build) in-process against a given data directory."""

from __future__ import annotations

import datetime as dt
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import sqlalchemy as sa

from orchestration.definitions import defs
from orchestration.ingest.contract import load_contract
from orchestration.ingest.sources_config import load_sources_config
from orchestration.paths import DEFAULT_SOURCES_CONFIG
from orchestration.resources import QualityResource, default_resources

CONTRACTS = load_contract()


@contextmanager
def data_dir_env(data_dir: Path):
    """The dbt profile and `${KLANTBEELD_DATA_DIR}` in sources.yaml read the data directory from the environment."""
    previous = os.environ.get("KLANTBEELD_DATA_DIR")
    os.environ["KLANTBEELD_DATA_DIR"] = str(data_dir)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("KLANTBEELD_DATA_DIR", None)
        else:
            os.environ["KLANTBEELD_DATA_DIR"] = previous


def world_reference_time(data_dir: Path) -> str | None:
    """The morning after the simulated world's last published day: "now" for freshness checks of a
    test world (its data ends in the past). Read from the simulator's manifest, by tests only."""
    manifest = data_dir / "sources" / "_truth" / "manifest.json"
    if not manifest.exists():
        return None
    last_day = dt.date.fromisoformat(json.loads(manifest.read_text())["published_through"])
    return f"{last_day + dt.timedelta(days=1)}T06:00:00"


def run_nightly(
    data_dir: Path, sources_config: Path | None = None, raise_on_error: bool = True
) -> dg.ExecuteInProcessResult:
    """Materialize everything the nightly job materializes, with the resources pointed at `data_dir`,
    as on the morning after the world's last day."""
    return run_job(data_dir, "nightly", sources_config=sources_config, raise_on_error=raise_on_error)


def run_job(
    data_dir: Path,
    job_name: str,
    sources_config: Path | None = None,
    raise_on_error: bool = True,
    run_config: dict | None = None,
) -> dg.ExecuteInProcessResult:
    """Run one of the code location's jobs in-process against `data_dir` (its MLflow store included)."""
    with data_dir_env(data_dir):
        resources = default_resources(warehouse=data_dir / "warehouse.duckdb", sources_config=sources_config)
        resources["quality"] = QualityResource(
            data_dir=str(data_dir), reference_time=world_reference_time(data_dir)
        )
        job = defs.resolve_job_def(job_name)
        return job.execute_in_process(
            run_config=run_config,
            resources=resources,
            instance=dg.DagsterInstance.ephemeral(),
            raise_on_error=raise_on_error,
        )


def row_counts(data_dir: Path, schema: str) -> dict[str, int]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        tables = conn.execute(
            "select table_name from information_schema.tables where table_schema = ? and table_name not like '\\_%' escape '\\'",
            [schema],
        ).fetchall()
        return {
            name: conn.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0]
            for (name,) in tables
        }


def landed_counts(data_dir: Path) -> dict[str, int]:
    """Rows landed per raw table: those that passed (in raw) plus those held in quarantine."""
    raw = row_counts(data_dir, "raw")
    held = row_counts(data_dir, "quarantine")
    return {table: rows + held.get(table, 0) for table, rows in raw.items()}


def new_source_rows(data_dir: Path, warehouse: Path) -> dict[str, int]:
    """Rows each configured source holds that the warehouse has not loaded yet: new drops, and database
    rows with a cursor after the table's watermark. Computed from the sources, not from the pipeline."""
    with data_dir_env(data_dir):
        configured = load_sources_config(DEFAULT_SOURCES_CONFIG, CONTRACTS)
    expected: dict[str, int] = {}
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        loaded_files = {
            path for (path,) in conn.execute("select file_path from raw._loaded_files").fetchall()
        }
        for key, source in configured.items():
            contract = CONTRACTS[key]
            if source.kind == "files":
                new_files = sorted(
                    p
                    for p in Path(source.path).parent.glob(Path(source.path).name)
                    if str(p) not in loaded_files
                )
                reader = {"csv": "read_csv", "jsonl": "read_json", "parquet": "read_parquet"}[source.format]
                expected[contract.raw_table] = sum(
                    conn.execute(f"select count(*) from {reader}(?)", [str(p)]).fetchone()[0]
                    for p in new_files
                )
            else:
                (watermark,) = conn.execute(
                    "select max(watermark) from raw._watermarks where system = ? and source_table = ?", [*key]
                ).fetchone()
                engine = sa.create_engine(source.url)
                with engine.connect() as db:
                    query = f"select count(*) from {source.source_table} where {contract.cursor} > :watermark"
                    expected[contract.raw_table] = db.execute(
                        sa.text(query), {"watermark": watermark}
                    ).scalar()
                engine.dispose()
    return expected


RecordKey = tuple[str, str, str]


def identity_map(data_dir: Path) -> dict[RecordKey, str | None]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        rows = conn.execute(
            "select source_system, source_table, source_record_id, customer_key from identity.customer_identity_map"
        ).fetchall()
    return {(system, table, record): key for system, table, record, key in rows}


def key_history(data_dir: Path) -> list[tuple[str, str, str, str]]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute(
            "select change_type, old_customer_key, new_customer_key, reason from identity.customer_key_history"
        ).fetchall()


@dataclass(frozen=True)
class PlantedLogin:
    """A web event in which an anonymous cookie (a customer of its own) logs in to another customer's
    webshop account."""

    event_id: str
    cookie_id: str
    cookie_key: str
    account_id: str
    account_key: str


def plant_login_of_anonymous_cookie(data_dir: Path) -> PlantedLogin:
    """Drop a web event, on the world's last published day, in which the first cookie that never logged
    in logs in to the first webshop account (keys as the warehouse holds them now)."""
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        cookie, cookie_key = conn.execute(
            """
            select substring(keys.identifier_id, 8), keys.customer_key
            from intermediate.int_identity__customer_keys as keys
            where keys.identifier_id like 'cookie:%'
                and keys.customer_key in (
                    select customer_key from intermediate.int_identity__customer_keys
                    group by customer_key having count(*) = 1)
            order by keys.identifier_id
            limit 1
            """
        ).fetchall()[0]
        account, account_key = conn.execute(
            """
            select substring(identifier_id, 20), customer_key
            from intermediate.int_identity__customer_keys
            where identifier_id like 'webshop_account_id:%'
            order by identifier_id
            limit 1
            """
        ).fetchall()[0]
    login_day = json.loads((data_dir / "sources" / "_truth" / "manifest.json").read_text())[
        "published_through"
    ]
    login = PlantedLogin("ev-test-login-1", cookie, cookie_key, account, account_key)
    login_event = {
        "event_id": login.event_id,
        "event_ts": f"{login_day}T23:59:00.000Z",
        "cookie_id": cookie,
        "account_id": account,
        "session_id": "ss-test-login-1",
        "event_type": "page_view",
        "page_url": "https://www.klantbeeld.nl/account",
        "content_id": None,
        "product_line": None,
        "search_term": None,
        "utm_source": None,
        "utm_medium": None,
        "utm_campaign": None,
        "promo_code": None,
        "device_type": "desktop",
    }
    (data_dir / "sources" / "web" / "events" / "events_login-test.jsonl").write_text(
        json.dumps(login_event) + "\n"
    )
    return login
