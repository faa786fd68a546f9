"""One blocking asset check per published relation, running its suite `expectations/suites/<schema>/<table>.json`.

All mart suites run in one step (`multi_asset_check`): the warehouse is opened once and Data Docs are
built once, at the end. A failed critical expectation fails the check with severity ERROR: the
publication (and any other asset downstream of the checked marts in the run) does not materialize,
so yesterday's serving files stay. Failed warnings only are severity WARN: recorded, not blocking.
Because the checks share a step, one ERROR holds back what depends on any checked mart in that run.
"""

import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration.dbt_project import dbt_project
from orchestration.paths import EXPECTATIONS_DIR
from orchestration.quality.gx_context import SuiteOutcome, build_data_docs
from orchestration.quality.marts import MARKDOWN_METADATA, check_metadata, suite_path, validate_mart
from orchestration.resources import QualityResource, WarehouseResource
from orchestration.serve.declarations import load_published_relations

CHECK_NAME = "great_expectations"


def mart_suites(manifest_path: Path = dbt_project.manifest_path) -> dict[dg.AssetKey, str]:
    """The suite of every published relation that has one, by the dbt asset's key."""
    return {
        dg.AssetKey(relation.asset_key_path): relation.source
        for relation in load_published_relations(manifest_path)
        if suite_path(relation.source).exists()
    }


def mart_expectation_checks(suites: Mapping[dg.AssetKey, str] | None = None) -> dg.AssetChecksDefinition:
    suites = dict(suites if suites is not None else mart_suites())
    specs = [
        dg.AssetCheckSpec(
            CHECK_NAME,
            asset=key,
            blocking=True,
            description=f"Great Expectations suite {suite_path(suite).relative_to(EXPECTATIONS_DIR.parent)}: "
            "a failed critical expectation stops the publication, warnings are recorded.",
        )
        for key, suite in sorted(suites.items())
    ]

    @dg.multi_asset_check(specs=specs, can_subset=True, name="mart_expectations")
    def mart_expectations(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, quality: QualityResource
    ) -> Iterator[dg.AssetCheckResult]:
        quality_dir = quality.path  # results and Data Docs go under <data dir>/quality
        run_name = context.run.run_id
        outcomes: dict[dg.AssetCheckKey, SuiteOutcome | Exception] = {}
        with warehouse.get_connection() as conn:
            for check_key in sorted(context.selected_asset_check_keys):
                suite = suites[check_key.asset_key]
                started = time.perf_counter()
                try:
                    outcomes[check_key] = validate_mart(conn, quality_dir, suite, run_name=run_name)
                except Exception as error:  # one broken suite must not hide the results of the others
                    context.log.exception(f"suite {suite} could not run")
                    outcomes[check_key] = error
                context.log.info(f"{suite} validated in {time.perf_counter() - started:.1f} s")
        docs_index: Path | None = None
        try:
            docs_index = build_data_docs(quality_dir, run_name=run_name)
        except Exception:
            context.log.exception("Data Docs could not be built; the check results stand")
        for check_key, outcome in outcomes.items():
            yield check_result(check_key, suites[check_key.asset_key], outcome, docs_index)

    return mart_expectations


def check_result(
    check_key: dg.AssetCheckKey, suite: str, outcome: SuiteOutcome | Exception, docs_index: Path | None
) -> dg.AssetCheckResult:
    if isinstance(outcome, Exception):
        return dg.AssetCheckResult(
            asset_key=check_key.asset_key,
            check_name=check_key.name,
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            description=f"{suite_path(suite).relative_to(EXPECTATIONS_DIR.parent)} could not run on "
            f"{suite}: {outcome}",
        )
    critical = outcome.failed("critical")
    metadata = dagster_metadata(check_metadata(outcome))
    if docs_index is not None:
        metadata["data_docs"] = dg.MetadataValue.path(str(docs_index))
    failed_rules = ", ".join(o.rule for o in outcome.failed())
    return dg.AssetCheckResult(
        asset_key=check_key.asset_key,
        check_name=check_key.name,
        passed=outcome.success,
        severity=dg.AssetCheckSeverity.ERROR if critical else dg.AssetCheckSeverity.WARN,
        description=(
            f"{suite}: {len(outcome.outcomes)} expectations passed"
            if outcome.success
            else f"{suite}: {len(critical)} critical, {len(outcome.failed('warning'))} warning failed: {failed_rules}"
        ),
        metadata=metadata,
    )


def dagster_metadata(plain: Mapping[str, Any]) -> dict[str, dg.MetadataValue]:
    metadata: dict[str, dg.MetadataValue] = {}
    for key, value in plain.items():
        if key in MARKDOWN_METADATA:
            metadata[key] = dg.MetadataValue.md(value)
        elif isinstance(value, Path):
            metadata[key] = dg.MetadataValue.path(str(value))
        elif isinstance(value, int):
            metadata[key] = dg.MetadataValue.int(value)
        else:
            metadata[key] = dg.MetadataValue.text(str(value))
    return metadata
