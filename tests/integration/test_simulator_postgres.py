"""The simulator writes its databases to a real PostgreSQL server: real timestamps, upserts, watermarks."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from simulator import write_database

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


def test_upsert_with_real_timestamps_and_watermark(postgres_database: str) -> None:
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
    assert write_database(postgres_database, "crm", {"customers": rows}, create=True) == {"customers": 2}
    changed = rows.iloc[[1]].assign(consent_email=1, updated_at="2026-01-05 08:00:00")
    write_database(postgres_database, "crm", {"customers": changed})
    engine = sa.create_engine(postgres_database)
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
