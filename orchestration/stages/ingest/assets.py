"""Extraction assets: one per landing-contract table, grouped per source system.

Each asset lands the new rows, then validates them (`raw.<table>` suite: failing rows go to
quarantine) and the deliveries (`loads.<table>` suite: volume, freshness, schema drift). Both
results are blocking asset checks of the asset: a critical failure stops everything downstream,
so the serving snapshot stays yesterday's.
"""

from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg

from orchestration.ingest.contract import TableContract, load_contract
from orchestration.ingest.extract import LoadResult, SourceError, extract_table
from orchestration.quality.checks import (
    LOADS_CHECK,
    ROWS_CHECK,
    delivery_check_result,
    missing_drop_error,
    row_check_result,
    row_validation_metadata,
)
from orchestration.quality.gx_context import build_data_docs
from orchestration.quality.loads import validate_deliveries
from orchestration.quality.quarantine import validate_loads
from orchestration.resources import QualityResource, SourceSystemsResource, WarehouseResource


def extraction_asset_key(contract: TableContract) -> dg.AssetKey:
    """`raw/<system>__<table>`: the asset key names the warehouse table it materializes."""
    return dg.AssetKey(["raw", contract.raw_table])


def build_extraction_asset(contract: TableContract) -> dg.AssetsDefinition:
    key = extraction_asset_key(contract)

    @dg.asset(
        key=key,
        group_name=contract.system,
        description=f"{contract.system}.{contract.name} landed as-is in raw.{contract.raw_table}. "
        f"{contract.description}".strip(),
        kinds={"duckdb", "sqlalchemy" if contract.kind == "database" else "files"},
        metadata={
            "primary_key": ", ".join(contract.primary_key),
            "incremental_cursor": contract.cursor or "(file drops, each loaded once)",
            "landing_contract": "docs/landing-contract.md",
            "suites": f"expectations/suites/raw/{contract.raw_table}.json, "
            f"expectations/suites/loads/{contract.raw_table}.json",
        },
        check_specs=[
            dg.AssetCheckSpec(
                ROWS_CHECK,
                asset=key,
                blocking=True,
                description="Row rules of the raw suite on this run's rows: failing rows are quarantined "
                "(warning); a suite that cannot run fails (error).",
            ),
            dg.AssetCheckSpec(
                LOADS_CHECK,
                asset=key,
                blocking=True,
                description="The deliveries of this run: volume against recent ones, share quarantined "
                "(errors); freshness, new or absent columns (warnings).",
            ),
        ],
    )
    def extract(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        source_systems: SourceSystemsResource,
        quality: QualityResource,
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        source = source_systems.configured_tables().get((contract.system, contract.name))
        loaded_at = datetime.now(UTC).replace(tzinfo=None)
        with warehouse.get_connection() as conn:
            try:
                result = extract_table(conn, contract, source, batch_id=context.run_id, loaded_at=loaded_at)
            except SourceError as error:
                # The good files are committed: validate them now (quarantine), then fail the asset
                # so nothing downstream uses a partial day.
                validation = validate_loads(conn, quality.path, contract, loaded_at, run_name=context.run_id)
                metadata = load_metadata(contract, error.result) if error.result else {}
                metadata.update(row_validation_metadata(validation, quality.path))
                raise dg.Failure(description=str(error), metadata=metadata) from error
            missing = missing_drop_error(conn, contract, source, result)
            if missing:
                raise dg.Failure(description=missing, metadata=load_metadata(contract, result))
            validation = validate_loads(conn, quality.path, contract, loaded_at, run_name=context.run_id)
            deliveries, frame = validate_deliveries(
                conn, quality.path, contract, result, validation, quality.now(), run_name=context.run_id
            )
        if not result.configured:
            context.log.info(f"{contract.system}.{contract.name} is not configured in sources.yaml: empty")
        if validation.rows_quarantined:
            context.log.warning(
                f"{contract.system}.{contract.name}: {validation.rows_quarantined} row(s) quarantined "
                f"in quarantine.{contract.raw_table}: {validation.quarantined_per_rule}"
            )
        if validation.failures or not deliveries.success:
            build_data_docs(quality.path, run_name=context.run_id)  # pages of what failed, offline
        metadata = load_metadata(contract, result)
        metadata.update(row_validation_metadata(validation, quality.path))
        yield dg.MaterializeResult(metadata=metadata)
        yield row_check_result(key, validation, quality.path)
        yield delivery_check_result(key, deliveries, frame, quality.path)

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
    absent = getattr(result, "absent_columns", None)
    if absent:
        metadata["absent_columns"] = ", ".join(absent)
    if result.errors:
        metadata["files_not_loaded"] = dg.MetadataValue.md("\n".join(f"- {e}" for e in result.errors))
    return metadata


def extraction_assets() -> list[dg.AssetsDefinition]:
    return [build_extraction_asset(contract) for contract in load_contract().values()]
