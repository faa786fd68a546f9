"""write_database against a real PostgreSQL server (started here): timestamps, upserts, watermarks."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from simulator import write_database

PG_BIN = next((Path(p).parent for p in map(shutil.which, ["pg_ctl"]) if p), None) or next(
    iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None
)
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(PG_BIN is None or not (PG_BIN / "initdb").exists(), reason="no PostgreSQL binaries"),
]


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    d = Path(
        tempfile.mkdtemp(prefix="klantbeeld-sim-pg-")
    )  # not under pytest's 0700 tree: postgres runs as nobody
    as_user: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        shutil.chown(d, "nobody")
        d.chmod(0o777)
        as_user = ["runuser", "-u", "nobody", "--"]
    data = d / "data"
    subprocess.run(
        [*as_user, str(PG_BIN / "initdb"), "-D", str(data), "-U", "sim", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    opts = f"-p 55439 -k {d} -c listen_addresses=''"
    subprocess.run(
        [*as_user, str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(d / "log"), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://sim@/postgres?host={d}&port=55439"
    finally:
        subprocess.run(
            [*as_user, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True
        )


def test_upsert_with_real_timestamps_and_watermark(pg_url: str) -> None:
    rows = pd.DataFrame(
        {
            "customer_id": ["C1", "C2"],
            "first_name": ["Jan", "Els"],
            "last_name": ["Berg", "Vos"],
            "birth_date": ["1980-02-31", "1975-05-01"],
            "consent_email": [1, 0],
            "created_at": ["2026-01-01 10:00:00"] * 2,
            "updated_at": ["2026-01-01 10:00:00"] * 2,
        }
    )
    assert write_database(pg_url, "crm", {"customers": rows}, create=True) == {"customers": 2}
    changed = rows.iloc[[1]].assign(consent_email=1, updated_at="2026-01-05 08:00:00")
    write_database(pg_url, "crm", {"customers": changed})
    engine = sa.create_engine(pg_url)
    with engine.connect() as con:
        got = con.execute(
            sa.text("select customer_id, consent_email, updated_at from customers order by 1")
        ).all()
        since = (
            con.execute(
                sa.text("select customer_id from customers where updated_at >= :w"),
                {"w": "2026-01-02 00:00:00"},
            )
            .scalars()
            .all()
        )
        typ = con.execute(
            sa.text(
                "select data_type from information_schema.columns "
                "where table_name = 'customers' and column_name = 'updated_at'"
            )
        ).scalar()
    engine.dispose()
    assert [(r[0], r[1]) for r in got] == [("C1", 1), ("C2", 1)]
    assert since == ["C2"]
    assert typ.startswith("timestamp")
