"""The `reprocess_quarantine` job: validate quarantined rows again after a fix, release those that pass.

Launch it from the UI (Jobs -> reprocess_quarantine, with the tables in the run config) or run
`python -m orchestration.quality reprocess`. Released rows reach the marts with the next nightly run.
"""

from datetime import UTC, datetime

import dagster as dg
from pydantic import Field

from orchestration.ingest.contract import load_contract
from orchestration.quality.quarantine import reprocess
from orchestration.resources import QualityResource, WarehouseResource


class ReprocessConfig(dg.Config):
    tables: list[str] = Field(
        default_factory=list, description='"<system>.<table>", e.g. "pos.receipts"; empty: every table'
    )


@dg.op(description="Validate the rows held in quarantine again and release into raw those that now pass.")
def reprocess_quarantined_rows(
    context: dg.OpExecutionContext,
    config: ReprocessConfig,
    warehouse: WarehouseResource,
    quality: QualityResource,
) -> dg.Output[int]:
    contracts = load_contract()
    wanted = [tuple(name.split(".", 1)) for name in config.tables] or list(contracts)
    unknown = [".".join(key) for key in wanted if key not in contracts]
    if unknown:
        raise dg.Failure(f"unknown tables {unknown}: use <system>.<table>, e.g. pos.receipts")
    now = datetime.now(UTC).replace(tzinfo=None)
    released, held = 0, {}
    with warehouse.get_connection() as conn:
        for key in wanted:
            contract = contracts[key]
            result = reprocess(conn, quality.path, contract, now, released_by=context.run_id)
            released += result.rows_released
            if result.rows_checked:
                context.log.info(
                    f"{contract.system}.{contract.name}: {result.rows_checked} checked, "
                    f"{result.rows_released} released; still held: {dict(result.still_quarantined)}"
                )
                held[contract.raw_table] = dict(result.still_quarantined)
    return dg.Output(
        released,
        metadata={
            "rows_released": dg.MetadataValue.int(released),
            "still_held": dg.MetadataValue.json(held),
        },
    )


@dg.job(
    description="Re-validate quarantined rows after a fix (of a suite or of the rows) and release those that pass."
)
def reprocess_quarantine() -> None:
    reprocess_quarantined_rows()
