"""Extraction assets: one per landing-contract table, grouped per source system."""

from datetime import UTC, datetime

import dagster as dg

from orchestration.ingest.contract import TableContract, load_contract
from orchestration.ingest.extract import LoadResult, SourceError, extract_table
from orchestration.resources import SourceSystemsResource, WarehouseResource


def extraction_asset_key(contract: TableContract) -> dg.AssetKey:
    """`raw/<system>__<table>`: the asset key names the warehouse table it materializes."""
    return dg.AssetKey(["raw", contract.raw_table])


def build_extraction_asset(contract: TableContract) -> dg.AssetsDefinition:
    @dg.asset(
        key=extraction_asset_key(contract),
        group_name=contract.system,
        description=f"{contract.system}.{contract.name} landed as-is in raw.{contract.raw_table}. "
        f"{contract.description}".strip(),
        kinds={"duckdb", "sqlalchemy" if contract.kind == "database" else "files"},
        metadata={
            "primary_key": ", ".join(contract.primary_key),
            "incremental_cursor": contract.cursor or "(file drops, each loaded once)",
            "landing_contract": "docs/landing-contract.md",
        },
    )
    def extract(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        source_systems: SourceSystemsResource,
    ) -> dg.MaterializeResult:
        source = source_systems.configured_tables().get((contract.system, contract.name))
        with warehouse.get_connection() as conn:
            try:
                result = extract_table(
                    conn, contract, source, batch_id=context.run_id, loaded_at=datetime.now(UTC)
                )
            except SourceError as error:
                # The good files are committed; the asset fails so nothing downstream uses a partial day.
                metadata = load_metadata(contract, error.result) if error.result else {}
                raise dg.Failure(description=str(error), metadata=metadata) from error
        if not result.configured:
            context.log.info(f"{contract.system}.{contract.name} is not configured in sources.yaml: empty")
        return dg.MaterializeResult(metadata=load_metadata(contract, result))

    return extract


def load_metadata(contract: TableContract, result: LoadResult) -> dict[str, object]:
    """What a load did, as asset metadata in the UI."""
    metadata: dict[str, object] = {
        "configured": result.configured,
        "source": result.source_description,
        "rows_loaded": dg.MetadataValue.int(result.rows_loaded),
        "batch_id": result.batch_id,
    }
    if contract.cursor:
        metadata["watermark_before"] = result.watermark_before or "(first load)"
        metadata["watermark_after"] = result.watermark_after or "(none)"
    else:
        metadata["files_loaded"] = dg.MetadataValue.int(len(result.files_loaded))
        metadata["files_already_loaded"] = dg.MetadataValue.int(result.files_skipped)
    if result.unexpected_columns:
        metadata["unexpected_columns"] = ", ".join(result.unexpected_columns)
    if result.errors:
        metadata["files_not_loaded"] = dg.MetadataValue.md("\n".join(f"- {e}" for e in result.errors))
    return metadata


def extraction_assets() -> list[dg.AssetsDefinition]:
    return [build_extraction_asset(contract) for contract in load_contract().values()]
