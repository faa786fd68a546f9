"""The publication asset: the relations dbt marks `meta.publish`, copied into the serving files."""

import dagster as dg

from orchestration.dbt_project import dbt_project
from orchestration.resources import ServingResource, WarehouseResource
from orchestration.serve.declarations import AUDIENCES, PublishedRelation, load_published_relations
from orchestration.serve.publish import STORAGE_VERSION, Publication, parquet_current_dir, publish

PUBLICATION_KEY = dg.AssetKey(["serving", "publication"])


def publication_asset() -> dg.AssetsDefinition:
    # Read once, when the definitions load: what is published is declared in dbt, not here.
    relations = load_published_relations(dbt_project.manifest_path)

    @dg.asset(
        key=PUBLICATION_KEY,
        group_name="serve",
        # The dbt models it copies: it runs only after they built and their tests passed in this run,
        # so a failed extraction or dbt step leaves yesterday's publication as it was.
        deps=[dg.AssetKey(relation.asset_key_path) for relation in relations],
        kinds={"duckdb", "parquet"},
        description="The relations dbt marks `meta.publish` (bi: pseudonymized, restricted: full profile), "
        "copied at the end of a successful run into read-only DuckDB files (storage "
        f"{STORAGE_VERSION}, for 1.x drivers) and Parquet, swapped in atomically. See docs/serving.md.",
        metadata={
            "published": dg.MetadataValue.md(relations_markdown(relations)),
            "storage_version": STORAGE_VERSION,
        },
    )
    def publication(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, serving: ServingResource
    ) -> dg.MaterializeResult:
        # dbt ran as a subprocess that has exited: nothing in this process holds the warehouse.
        result = publish(
            warehouse.path,
            serving.path,
            relations,
            run_id=context.run_id,
            lock_wait_seconds=warehouse.lock_wait_seconds,
        )
        context.log.info(f"Published {len(result.tables)} tables as version {result.version}")
        return dg.MaterializeResult(metadata=publication_metadata(result, serving))

    return publication


def relations_markdown(relations: list[PublishedRelation]) -> str:
    rows = [f"| {r.audience} | {r.audience}.{r.table} | {r.source} |" for r in relations]
    return "\n".join(["| audience | published as | from |", "|---|---|---|", *rows])


def publication_metadata(result: Publication, serving: ServingResource) -> dict[str, object]:
    tables = "\n".join(
        [
            "| audience | table | from | rows |",
            "|---|---|---|---:|",
            *(f"| {t.audience} | {t.table} | {t.source} | {t.row_count:,} |" for t in result.tables),
        ]
    )
    metadata: dict[str, object] = {
        "tables": dg.MetadataValue.md(tables),
        "rows_published": dg.MetadataValue.int(sum(t.row_count for t in result.tables)),
        "version": result.version,
        "storage_version": result.storage_version,
    }
    for audience in AUDIENCES:
        metadata[f"{audience}_database"] = dg.MetadataValue.path(str(result.databases[audience]))
        metadata[f"{audience}_parquet"] = dg.MetadataValue.path(
            str(parquet_current_dir(serving.path, audience))
        )
    for table in result.tables:
        metadata[f"rows/{table.audience}.{table.table}"] = dg.MetadataValue.int(table.row_count)
    return metadata
