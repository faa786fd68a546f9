"""Print what the last run left in the warehouse and where to look next (`make demo` ends with it)."""

from __future__ import annotations

import duckdb

from orchestration.paths import DATA_DOCS_PAGE, data_dir, serving_dir, warehouse_path
from orchestration.serve.publish import parquet_audience_dir, serving_database_path


def table_row_counts(conn: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> list[tuple[str, str, int]]:
    tables = conn.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in (select unnest(?)) and table_name not like '\\_%' escape '\\' "
        "order by table_schema, table_name",
        [list(schemas)],
    ).fetchall()
    return [
        (schema, table, conn.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0])
        for schema, table in tables
    ]


def main() -> None:
    path = warehouse_path()
    if not path.exists():
        raise SystemExit(f"No warehouse at {path}: run `make demo` first.")
    with duckdb.connect(str(path), read_only=True) as conn:
        counts = table_row_counts(
            conn, ("raw", "quarantine", "staging", "identity", "reference", "marts", "bi")
        )
    width = max(len(f"{schema}.{table}") for schema, table, _ in counts)
    print("\nWarehouse tables (rows):")
    for schema, table, rows in counts:
        print(f"  {schema}.{table:<{width - len(schema) - 1}}  {rows:>12,}")
    print(
        f"\nData directory:   {data_dir()}\n"
        f"  source systems: {data_dir() / 'sources'}\n"
        f"  warehouse:      {path}\n"
        "                  (DuckDB: open it read-only from any DuckDB client while no run is writing)\n"
        f"  serving:        {serving_dir()}  (for BI tools, docs/serving.md)\n"
        f"    bi:           {serving_database_path(serving_dir(), 'bi')}  (pseudonymized, schema bi)\n"
        f"    restricted:   {serving_database_path(serving_dir(), 'restricted')}  (full profile, mode 0600)\n"
        f"    parquet:      {parquet_audience_dir(serving_dir(), '<audience>')}/current/<table>.parquet\n"
        "                  (read-only copies of the last successful run: query them any time)\n"
        f"  data quality:   {data_dir() / DATA_DOCS_PAGE}  (Data Docs, docs/quality.md)\n"
        "                  quarantined rows: schema quarantine; `python -m orchestration.quality status`\n"
        f"  run history:    {data_dir() / 'dagster'}\n"
        "\nOpen the Dagster UI with `make ui`, then http://127.0.0.1:3000 "
        "(Assets shows the graph, Runs this run)."
    )


if __name__ == "__main__":
    main()
