"""The model frames, read from the point-in-time feature and label tables dbt builds in the `ml` schema
(dbt_project/models/ml): one row per customer_key and cutoff date, product-line features and labels
pivoted into columns `<name>__<product line>`.

ML reads marts, never raw tables: every column here was computed by dbt from data dated on or
before the row's cutoff (features) or in the window after it (labels).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

FEATURES = "ml.customer_features"
LINE_FEATURES = "ml.customer_line_features"
LABELS = "ml.customer_labels"
LINE_LABELS = "ml.customer_line_labels"
CUTOFFS = "ml.int_ml__cutoffs"
KEYS = ["customer_key", "cutoff_date"]
LINE_WINDOW_COMPLETE = "is_90d_window_complete"

PURCHASE_LABEL = "purchased_30d"
STORE_PURCHASE_LABEL = "purchased_in_store_30d"
CHURN_LABEL = "churned_180d"
SPEND_LABEL = "future_spend_365d"
MARGIN_LABEL = "future_margin_365d"
LINE_LABEL = "purchased_90d"
# The season index of a label's window (ml.int_ml__cutoffs). The models of a purchase in a window take
# it as an offset on their intensity, not as a feature (ml.propensity.SeasonAdjusted).
SEASON_COLUMNS = ("season_index_30d", "season_index_90d")


def season_column(label: str) -> str | None:
    """The season index of the label's window: 30 days for a purchase, 90 for a product line."""
    if label in (PURCHASE_LABEL, STORE_PURCHASE_LABEL):
        return "season_index_30d"
    if label.startswith(f"{LINE_LABEL}__"):
        return "season_index_90d"
    return None


# The features that show a customer the same way whether or not their store receipts carry a loyalty
# card: no column that counts store orders, loyalty or what only members have (their coupons, campaign
# purchases). The store-purchase model learns from members with these and is applied to everyone else
# (ml.visibility, docs/ml.md#anonymous-purchases).
STORE_BLIND_FEATURES = (
    "is_known",
    "tenure_days",
    "age_years",
    "online_recency_days",
    "online_frequency_90d",
    "online_frequency_365d",
    "online_monetary_365d",
    "online_orders_lifetime",
    "days_since_first_online_order",
    "web_sessions_90d",
    "product_views_90d",
    "email_sends_90d",
    "email_opens_90d",
    "email_clicks_90d",
    "email_click_rate_365d",
    "service_contacts_365d",
    "avg_satisfaction_365d",
    "days_since_last_service_contact",
    "campaign_exposures_365d",
    "avg_household_size",
    "median_household_income",
    "pct_higher_education",
    "avg_house_value",
)


# Opens a connection to the warehouse, closed when its `with` block ends. The Dagster assets pass their
# resource's (which waits while another process holds DuckDB's write lock); plain callers open_warehouse.
Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]


def open_warehouse(path: Path, read_only: bool = False) -> Connect:
    """A new plain connection to the warehouse file for every call."""
    return lambda: duckdb.connect(str(path), read_only=read_only)


def line_column(name: str, product_line: str) -> str:
    """`line_orders_365d__sports`: a product-line feature or label as a column."""
    return f"{name}__{re.sub(r'[^0-9a-z]+', '_', product_line.lower()).strip('_')}"


@dataclass(frozen=True)
class ModelFrame:
    """Rows (customer_key, cutoff_date, features[, labels]) and what the columns are."""

    rows: pd.DataFrame
    feature_columns: list[str]
    product_lines: list[str]

    def at(self, cutoff: dt.date) -> pd.DataFrame:
        return self.rows[self.rows["cutoff_date"] == pd.Timestamp(cutoff)]

    @property
    def cutoffs(self) -> list[dt.date]:
        return sorted({ts.date() for ts in pd.to_datetime(self.rows["cutoff_date"]).unique()})


def scoring_cutoff(conn: duckdb.DuckDBPyConnection) -> dt.date:
    """The cutoff the nightly scores describe: the newest one in the feature table."""
    (cutoff,) = conn.execute(f"select max(cutoff_date) from {FEATURES}").fetchone()
    if cutoff is None:
        raise LookupError(f"{FEATURES} is empty: the dbt models of the ml schema have no customers")
    return cutoff


def product_lines(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """The product lines with line features or labels, in a stable order."""
    rows = conn.execute(
        f"select distinct product_line from {LINE_FEATURES} where product_line is not null"
        f" union select distinct product_line from {LINE_LABELS} where product_line is not null"
        " order by 1"
    ).fetchall()
    return [line for (line,) in rows]


def _feature_columns(conn: duckdb.DuckDBPyConnection, table: str, exclude: set[str]) -> list[str]:
    schema, name = table.split(".")
    rows = conn.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?"
        " order by ordinal_position",
        [schema, name],
    ).fetchall()
    return [column for (column,) in rows if column not in exclude]


def _pivot(table: str, columns: list[str], lines: list[str], where: str) -> tuple[str, list[str]]:
    """A select of one row per key with `<column>__<line>` for every line (0 where the long table has
    no row: no activity in the line)."""
    selects, names = [], []
    for line in lines:
        for column in columns:
            name = line_column(column, line)
            names.append(name)
            selects.append(
                f"coalesce(max(case when product_line = {sql_literal(line)} then {column} end), 0) as {name}"
            )
    body = ",\n".join(selects) or "null as no_lines"
    return f"select customer_key, cutoff_date, {body} from {table} where {where} group by 1, 2", names


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def load_frame(
    conn: duckdb.DuckDBPyConnection,
    cutoffs: list[dt.date],
    with_labels: bool,
    sample_fraction: float = 1.0,
) -> ModelFrame:
    """Features (and labels) of the given cutoffs. `sample_fraction` < 1 keeps that share of the
    customers, chosen by a hash of the key (the same customers at every cutoff, reproducibly)."""
    if not cutoffs:
        raise ValueError("no cutoff dates to load features for")
    lines = product_lines(conn)
    base_columns = _feature_columns(conn, FEATURES, set(KEYS))
    line_feature_columns = _feature_columns(conn, LINE_FEATURES, {*KEYS, "product_line"})
    dates = ", ".join(f"date '{cutoff.isoformat()}'" for cutoff in cutoffs)
    in_cutoffs = f"cutoff_date in ({dates})"
    sample = (
        "" if sample_fraction >= 1 else f" and hash(customer_key) % 1000000 < {int(sample_fraction * 1e6)}"
    )
    line_select, line_names = _pivot(LINE_FEATURES, line_feature_columns, lines, in_cutoffs + sample)
    select = [f"features.{column}" for column in [*KEYS, *base_columns]]
    select += [f"coalesce(line_features.{name}, 0) as {name}" for name in line_names]
    joins = [f"left join ({line_select}) as line_features using (customer_key, cutoff_date)"]
    if with_labels:
        label_columns = _feature_columns(conn, LABELS, set(KEYS))
        select += [f"labels.{column}" for column in label_columns]
        joins.append(f"left join {LABELS} as labels using (customer_key, cutoff_date)")
        line_label_select, label_names = _pivot(LINE_LABELS, [LINE_LABEL], lines, in_cutoffs + sample)
        # the long table has rows for purchases only: where the 90-day window is complete, no row is a 0
        select += [
            f"case when cutoffs.{LINE_WINDOW_COMPLETE} then coalesce(line_labels.{name}, 0) end as {name}"
            for name in label_names
        ]
        joins.append(f"left join ({line_label_select}) as line_labels using (customer_key, cutoff_date)")
        joins.append(f"left join {CUTOFFS} as cutoffs using (cutoff_date)")
    query = (
        f"select {', '.join(select)} from {FEATURES} as features {' '.join(joins)}"
        f" where features.{in_cutoffs}{sample.replace('customer_key', 'features.customer_key')}"
        " order by cutoff_date, customer_key"
    )
    frame = conn.execute(query).df()
    frame["cutoff_date"] = pd.to_datetime(frame["cutoff_date"])
    feature_columns = [*base_columns, *line_names]
    frame[feature_columns] = frame[feature_columns].astype("float64")
    return ModelFrame(rows=frame, feature_columns=feature_columns, product_lines=lines)


def labelled_cutoffs(conn: duckdb.DuckDBPyConnection, label: str) -> list[dt.date]:
    """The cutoffs at which `label` is known (its window after the cutoff is complete), oldest first."""
    rows = conn.execute(
        f"select cutoff_date from {LABELS} where {label} is not null group by 1 order by 1"
    ).fetchall()
    return [cutoff for (cutoff,) in rows]
