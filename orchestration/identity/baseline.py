"""The comparison baseline: "plain Splink", deduplicating the profile records as its tutorial does.

Splink 5.0.0 on DuckDB, configured the way a user starting from Splink's deduplication tutorial would:
its out-of-the-box comparisons for names, date of birth and email, exact matches for postcode, house
number and phone, five blocking rules for prediction, the prior from deterministic rules, u from random
sampling and m from two EM sessions, then connected components at one threshold. No identifier-level
guards and no knowledge of the simulator: this is the yardstick the identity models are measured against
(benchmarks/bench_identity.py), not part of the pipeline.

Postcodes are Dutch (`1234 AB`): Splink's `PostcodeComparison` parses UK postcodes (sector, district,
area by regular expression) and would put every pair of Dutch postcodes in its "same area" level, so the
postcode is compared exactly.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    from splink import SettingsCreator

PROFILE_COLUMNS = (
    "unique_id",
    "source_system",
    "source_table",
    "source_record_id",
    "first_name",
    "last_name",
    "birth_date",
    "email",
    "phone",
    "postcode",
    "house_number",
)


def profile_records_sql(alias: str = "w") -> str:
    """SQL over the staging views in the database attached as `alias`: one row per profile record.

    The three tables where a person states who they are (crm.customers, webshop.accounts,
    loyalty.members), unioned into PROFILE_COLUMNS; unique_id is `system:table:id` and the surname
    carries its infix ("de Vries").
    """

    def select(system: str, table: str, view: str, id_column: str, last_name: str) -> str:
        return f"""
        select
            '{system}:{table}:' || {id_column} as unique_id,
            '{system}' as source_system,
            '{table}' as source_table,
            {id_column} as source_record_id,
            first_name,
            {last_name} as last_name,
            birth_date,
            email,
            phone,
            postcode,
            house_number
        from {alias}.staging.{view}"""

    return " union all ".join(
        [
            select(
                "crm",
                "customers",
                "stg_crm__customers",
                "customer_id",
                "nullif(concat_ws(' ', infix, last_name), '')",
            ),
            select("webshop", "accounts", "stg_webshop__accounts", "account_id", "last_name"),
            select("loyalty", "members", "stg_loyalty__members", "member_id", "last_name"),
        ]
    )


def plain_splink_settings() -> SettingsCreator:
    """Splink's settings: tutorial comparisons and five blocking rules (splink is imported lazily)."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("last_name"),
            cl.DateOfBirthComparison("birth_date", input_is_string=False),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
            cl.ExactMatch("house_number"),
            cl.EmailComparison("email"),
            cl.ExactMatch("phone"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("first_name", "last_name"),
            block_on("birth_date"),
            block_on("postcode", "house_number"),
            block_on("email"),
            block_on("phone"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def run_plain_splink(
    con: duckdb.DuckDBPyConnection,
    records_relation: str,
    threshold: float = 0.95,
    *,
    max_pairs_u: float = 1e7,
    output_table: str = "plain_splink_clusters",
    seed: int = 42,
    log_level: int = logging.WARNING,
) -> tuple[str, dict[str, float]]:
    """Deduplicate `records_relation` (PROFILE_COLUMNS) with plain Splink; cluster at `threshold`.

    `con`'s default database must be writable (an in-memory connection with the warehouse attached
    read-only will do): Splink creates its working tables there and drops them at the end. Returns the
    name of a temporary table (source_system, source_table, source_record_id, cluster_id) holding every
    input record, and the seconds spent per step ("load", "train", "predict", "cluster", "total") with
    the number of records and of predicted pairs above the threshold.
    """
    from splink import DuckDBAPI, Linker, block_on

    started = time.perf_counter()
    timings: dict[str, float] = {}
    input_table = f"__kb_plain_splink_input_{uuid.uuid4().hex[:8]}"
    columns = ", ".join(PROFILE_COLUMNS)
    con.execute(f"create temp table {input_table} as select {columns} from {records_relation}")
    timings["records"] = con.execute(f"select count(*) from {input_table}").fetchall()[0][0]
    db_api = DuckDBAPI(con)
    linker = Linker(
        db_api.register(input_table, dataset_display_name="profile_records"),
        plain_splink_settings(),
        log_level=log_level,
    )
    timings["load"] = time.perf_counter() - started
    try:
        step = time.perf_counter()
        linker.training.estimate_probability_two_random_records_match(
            [block_on("first_name", "last_name", "birth_date"), block_on("email")], recall=0.7
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs_u, seed=seed)
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("birth_date"))
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on("postcode", "house_number")
        )
        timings["train"] = time.perf_counter() - step

        step = time.perf_counter()
        predictions = linker.inference.predict(threshold_match_probability=threshold)
        timings["predicted_pairs"] = con.execute(
            f"select count(*) from {predictions.physical_name}"
        ).fetchall()[0][0]
        timings["predict"] = time.perf_counter() - step

        step = time.perf_counter()
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, threshold)
        con.execute(
            f"""
            create or replace temp table {output_table} as
            select r.source_system, r.source_table, r.source_record_id, c.cluster_id
            from {input_table} as r
            left join {clusters.physical_name} as c on r.unique_id = c.unique_id
            """
        )
        timings["cluster"] = time.perf_counter() - step
    finally:
        linker.table_management.delete_tables_created_by_splink_from_db()
        con.execute(f"drop table if exists {input_table}")
    timings["total"] = time.perf_counter() - started
    return output_table, timings
