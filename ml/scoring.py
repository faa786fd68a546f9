"""Nightly scores: every customer_key at the scoring cutoff, scored by the `@champion` models, with a
next best action, written to `ml.customer_scores` (today) and `ml.customer_scores_history` (every night).

Scoring never trains. A model without a champion (before the first training) leaves its columns
empty and says so; the row of every customer is still written, so what joins the scores keeps working.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from ml import features as ft
from ml.next_best_action import NbaSettings, next_best_actions
from ml.registry import MlflowStore, champion_version, load_version
from ml.training import (
    CHURN_MODEL,
    CLV_MODEL,
    PURCHASE_MODEL,
    SEGMENT_MODEL,
    STORE_PURCHASE_MODEL,
    crosssell_model,
)
from ml.visibility import MEMBER_FEATURE, PurchaseVisibility

SCORES = "ml.customer_scores"
HISTORY = "ml.customer_scores_history"
CROSSSELL_SCORES = "ml.customer_crosssell_scores"
ACTION_INPUTS_SQL = """
    select
        customers.customer_key,
        customers.has_email_consent, customers.has_sms_consent, customers.has_phone_consent,
        customers.has_post_consent, customers.has_social_consent,
        channels.preferred_research_channel, channels.preferred_response_channel, channels.preferred_buy_channel
    from identity.dim_customer as customers
    left join intermediate.int_customers__channel_summary as channels using (customer_key)
"""
# The margin a purchase in a product line brings: mean margin of the line per order that has it.
LINE_MARGIN_SQL = """
    select product_line, sum(margin) / count(distinct order_key) as margin_per_order
    from marts.fct_order_lines
    where is_revenue and product_line is not null
    group by product_line
"""
# The yearly cost that keeps serving a customer, expected to continue: service and retention cost
# over the economics window (customer_economics, docs/marts.md).
COSTS_SQL = "select customer_key, service_cost + retention_cost as yearly_cost from marts.customer_economics"


# The scores table, column by column (types fixed, so the first night, without champions, writes the
# same table as every later one). Documented in dbt_project/models/ml/_ml__sources.yml.
SCORE_COLUMNS = {
    "customer_key": "varchar",
    "score_date": "date",
    "purchase_propensity_30d": "double",
    "purchase_propensity_30d_incl_anonymous": "double",
    "purchase_model": "varchar",
    "purchase_model_run_id": "varchar",
    "store_purchase_model": "varchar",
    "store_purchase_model_run_id": "varchar",
    "churn_risk_180d": "double",
    "churn_model": "varchar",
    "churn_model_run_id": "varchar",
    "top_crosssell_product_line": "varchar",
    "top_crosssell_propensity_90d": "double",
    "expected_transactions_12m": "double",
    "p_alive": "double",
    "expected_spend_12m": "double",
    "clv_12m": "double",
    "expected_cost_12m": "double",
    "contribution_clv_12m": "double",
    "clv_method": "varchar",
    "clv_model": "varchar",
    "clv_model_run_id": "varchar",
    "segment_id": "integer",
    "segment_name": "varchar",
    "segment_description": "varchar",
    "segment_model": "varchar",
    "segment_model_run_id": "varchar",
    "next_best_action": "varchar",
    "action_product_line": "varchar",
    "action_channel": "varchar",
    "action_expected_value_eur": "double",
    "action_reason": "varchar",
    "scored_at": "timestamp",
    "dagster_run_id": "varchar",
}
CROSSSELL_COLUMNS = {
    "customer_key": "varchar",
    "score_date": "date",
    "product_line": "varchar",
    "propensity_90d": "double",
    "model": "varchar",
    "model_run_id": "varchar",
}


@dataclass
class Champion:
    name: str
    version: str
    run_id: str
    model: Any

    @property
    def label(self) -> str:
        return f"{self.name}/{self.version}"


@dataclass
class ScoringReport:
    score_date: dt.date
    customers: int
    champions: dict[str, str]
    actions: dict[str, int]
    visibility: PurchaseVisibility
    seconds: float
    warnings: list[str] = field(default_factory=list)

    def champions_table(self) -> str:
        """Markdown: the `name/version` each model's scores came from."""
        rows = (f"| {name} | {label} |" for name, label in self.champions.items())
        return "\n".join(["| model | champion |", "|---|---|", *rows])


def load_champion(client, name: str) -> Champion | None:
    version = champion_version(client, name)
    if version is None:
        return None
    return Champion(name, str(version.version), version.run_id, load_version(version))


def score_customers(
    connect: ft.Connect,
    store: MlflowStore,
    settings: NbaSettings,
    run_id: str | None = None,
) -> ScoringReport:
    started = time.perf_counter()
    client = store.activate()
    with connect() as conn:
        cutoff = ft.scoring_cutoff(conn)
        frame = ft.load_frame(conn, [cutoff], with_labels=False)
        rows = frame.rows.reset_index(drop=True)
        action_inputs = conn.execute(ACTION_INPUTS_SQL).df()
        line_margins = dict(conn.execute(LINE_MARGIN_SQL).fetchall())
        costs = conn.execute(COSTS_SQL).df()
        scores, crosssell, champions, warnings = score_frame(client, rows, frame.product_lines)
        visibility = PurchaseVisibility.at(conn, cutoff)
        store_purchase = champions.get(STORE_PURCHASE_MODEL)
        scores.insert(
            scores.columns.get_loc("purchase_propensity_30d") + 1,
            "purchase_propensity_30d_incl_anonymous",
            visibility.any_purchase_probability(
                scores["purchase_propensity_30d"].to_numpy(),
                (rows[MEMBER_FEATURE] > 0).to_numpy(),
                _probability(store_purchase, rows) if store_purchase else None,
            ),
        )
        scores = add_contribution(scores, costs)
        actions = choose_actions(scores, rows, crosssell, action_inputs, line_margins, settings)
        scores = scores.merge(actions, on="customer_key", how="left")
        scores.insert(1, "score_date", cutoff)
        scores["scored_at"] = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        scores["dagster_run_id"] = run_id
        crosssell.insert(1, "score_date", cutoff)
        write_scores(conn, scores, crosssell, cutoff)
    return ScoringReport(
        score_date=cutoff,
        customers=len(scores),
        champions={name: champion.label for name, champion in champions.items()},
        actions=scores["next_best_action"].value_counts().to_dict(),
        visibility=visibility,
        seconds=time.perf_counter() - started,
        warnings=warnings,
    )


def score_frame(
    client, rows: pd.DataFrame, product_lines: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Champion], list[str]]:
    """The model columns of the scores table and the long cross-sell table."""
    names = [
        PURCHASE_MODEL,
        STORE_PURCHASE_MODEL,
        CHURN_MODEL,
        CLV_MODEL,
        SEGMENT_MODEL,
        *(crosssell_model(line) for line in product_lines),
    ]
    champions: dict[str, Champion] = {}
    warnings = []
    for name in names:
        champion = load_champion(client, name)
        if champion is None:
            warnings.append(f"{name}: no @champion yet (run the ml_training job); its scores stay empty")
        else:
            champions[name] = champion
    scores = pd.DataFrame({"customer_key": rows["customer_key"]})

    def model_columns(prefix: str, name: str) -> None:
        champion = champions.get(name)
        scores[f"{prefix}_model"] = champion.label if champion else None
        scores[f"{prefix}_model_run_id"] = champion.run_id if champion else None

    purchase = champions.get(PURCHASE_MODEL)
    scores["purchase_propensity_30d"] = _probability(purchase, rows)
    model_columns("purchase", PURCHASE_MODEL)
    model_columns("store_purchase", STORE_PURCHASE_MODEL)
    churn = champions.get(CHURN_MODEL)
    scores["churn_risk_180d"] = _probability(churn, rows)
    model_columns("churn", CHURN_MODEL)

    value = champions.get(CLV_MODEL)
    value_columns = ["expected_transactions_12m", "p_alive", "expected_spend_12m", "clv_12m"]
    if value is not None:
        scores[value_columns] = value.model.value(rows)[value_columns].to_numpy()
        scores["clv_method"] = value.model.method
    else:
        scores[value_columns] = np.nan
        scores["clv_method"] = None
    model_columns("clv", CLV_MODEL)

    segments = champions.get(SEGMENT_MODEL)
    if segments is not None:
        assigned = segments.model.assign(rows)
        scores["segment_id"] = assigned["segment_id"].to_numpy()
        scores["segment_name"] = assigned["segment_name"].to_numpy()
        scores["segment_description"] = assigned["segment_description"].to_numpy()
    else:
        scores["segment_id"], scores["segment_name"], scores["segment_description"] = None, None, None
    model_columns("segment", SEGMENT_MODEL)

    parts = []
    for line in product_lines:
        champion = champions.get(crosssell_model(line))
        if champion is None:
            continue
        parts.append(
            pd.DataFrame(
                {
                    "customer_key": rows["customer_key"],
                    "product_line": line,
                    "propensity_90d": _probability(champion, rows),
                    "model": champion.label,
                    "model_run_id": champion.run_id,
                }
            )
        )
    crosssell = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["customer_key", "product_line", "propensity_90d", "model", "model_run_id"])
    )
    top = crosssell.sort_values(["customer_key", "propensity_90d"], ascending=[True, False]).drop_duplicates(
        "customer_key"
    )
    top = top.set_index("customer_key").reindex(scores["customer_key"])
    scores["top_crosssell_product_line"] = top["product_line"].to_numpy()
    scores["top_crosssell_propensity_90d"] = top["propensity_90d"].to_numpy(dtype=float)
    return scores, crosssell, champions, warnings


def _probability(champion: Champion | None, rows: pd.DataFrame) -> np.ndarray:
    if champion is None:
        return np.full(len(rows), np.nan)
    return champion.model.predict_proba(rows)[:, 1]


def add_contribution(scores: pd.DataFrame, costs: pd.DataFrame) -> pd.DataFrame:
    """CLV minus the service and retention cost the customer is expected to keep causing: negative for
    the customers who cost more than they bring."""
    merged = scores.merge(costs, on="customer_key", how="left")
    merged["expected_cost_12m"] = merged["yearly_cost"].fillna(0.0).astype(float)
    merged["contribution_clv_12m"] = merged["clv_12m"] - merged["expected_cost_12m"]
    return merged.drop(columns="yearly_cost")


def choose_actions(
    scores: pd.DataFrame,
    rows: pd.DataFrame,
    crosssell: pd.DataFrame,
    action_inputs: pd.DataFrame,
    line_margins: dict[str, float],
    settings: NbaSettings,
) -> pd.DataFrame:
    customers = scores[["customer_key", "purchase_propensity_30d", "churn_risk_180d", "clv_12m"]].rename(
        columns={"purchase_propensity_30d": "purchase_propensity", "churn_risk_180d": "churn_risk"}
    )
    customers["days_since_last_order"] = rows["recency_days"].to_numpy()
    customers["days_since_last_service_contact"] = rows["days_since_last_service_contact"].to_numpy()
    if not crosssell.empty:
        wide = crosssell.pivot(index="customer_key", columns="product_line", values="propensity_90d")
        wide.columns = [f"crosssell_{line}" for line in wide.columns]
        customers = customers.merge(wide, left_on="customer_key", right_index=True, how="left")
        for line in crosssell["product_line"].unique():
            customers[f"line_margin_{line}"] = float(line_margins.get(line, 0.0))
    customers = customers.merge(action_inputs, on="customer_key", how="left")
    actions = next_best_actions(customers, settings)
    return actions.rename(
        columns={
            "action": "next_best_action",
            "product_line": "action_product_line",
            "channel": "action_channel",
            "expected_value_eur": "action_expected_value_eur",
            "reason": "action_reason",
        }
    )


def write_scores(
    conn: duckdb.DuckDBPyConnection, scores: pd.DataFrame, crosssell: pd.DataFrame, cutoff: dt.date
) -> None:
    """Replace today's tables and today's rows of the history in one transaction (a rerun of the same
    night replaces its rows, never doubles them)."""
    conn.execute("create schema if not exists ml")
    conn.register("new_scores", scores)
    conn.register("new_crosssell", crosssell)
    typed_scores = typed_select("new_scores", SCORE_COLUMNS)
    conn.execute("begin transaction")
    try:
        conn.execute(f"create or replace table {SCORES} as {typed_scores}")
        conn.execute(
            f"create or replace table {CROSSSELL_SCORES} as {typed_select('new_crosssell', CROSSSELL_COLUMNS)}"
        )
        conn.execute(f"create table if not exists {HISTORY} as {typed_scores} limit 0")
        add_missing_columns(conn, HISTORY, SCORE_COLUMNS)
        conn.execute(f"delete from {HISTORY} where score_date = ?", [cutoff])
        conn.execute(f"insert into {HISTORY} by name {typed_scores}")
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise
    finally:
        conn.unregister("new_scores")
        conn.unregister("new_crosssell")


def add_missing_columns(conn: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str]) -> None:
    """A history written before a column existed gets it, empty for the nights before."""
    schema, name = table.split(".")
    existing = {
        row[0]
        for row in conn.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchall()
    }
    for column, kind in columns.items():
        if column not in existing:
            conn.execute(f"alter table {table} add column {column} {kind}")


def typed_select(relation: str, columns: dict[str, str]) -> str:
    return (
        "select "
        + ", ".join(f"cast({name} as {kind}) as {name}" for name, kind in columns.items())
        + f" from {relation}"
    )
