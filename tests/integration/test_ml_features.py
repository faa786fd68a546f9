"""Point-in-time features and labels (dbt_project/models/ml) on a copy of the `marts_world` fixture's
warehouse: the features of a cutoff are the same whether or not the warehouse holds data after it (no
leakage), the labels agree with the orders recomputed here, and the planted customers of
tests/integration/planted.py are checked by hand."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from orchestration.paths import DBT_PROJECT_DIR
from tests.conftest import WORLD_END_DATE
from tests.integration.planted import ENGAGEMENT_CUSTOMER, ROBO_CUSTOMER, ROBO_PRODUCT_LINE

pytestmark = pytest.mark.integration

# The as-of date is pinned to the world's last day in both builds, so the cutoffs stay the same; the
# second build runs on a warehouse without anything dated after TRUNCATED_AFTER (a training cutoff).
AS_OF = WORLD_END_DATE
TRUNCATED_AFTER = AS_OF - timedelta(days=60)
KEYS = ["customer_key", "cutoff_date"]
LINE_KEYS = [*KEYS, "product_line"]


def project_vars() -> dict:
    return yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]


def build_ml_models(data_dir: Path, as_of: date) -> None:
    """`dbt build` of int_as_of_date and models/ml against the data directory's warehouse, as of `as_of`."""
    dbt = Path(sys.executable).with_name("dbt")
    env = {**os.environ, "KLANTBEELD_DATA_DIR": str(data_dir), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    completed = subprocess.run(
        [
            str(dbt), "build", "--select", "int_as_of_date", "path:models/ml",
            "--vars", json.dumps({"as_of_date": as_of.isoformat()}),
            "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(data_dir / "dbt-target"), "--log-path", str(data_dir / "dbt-logs"),
        ],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-4000:]


def truncate_after(warehouse: Path, last_day: date) -> dict[str, int]:
    """Delete every order, touchpoint, loyalty ledger entry and membership dated after `last_day`
    from what the ml models read; the rows deleted per table."""
    deletes = {
        "marts.fct_order_lines": "order_date > ?",
        "marts.fct_orders": "order_date > ?",
        "marts.fct_interactions": "interaction_date > ?",
        "raw.loyalty__points_ledger": "entry_id in (select entry_id from staging.stg_loyalty__points_ledger"
        " where cast(entry_at as date) > ?)",
        "raw.loyalty__members": "member_id in (select member_id from staging.stg_loyalty__members"
        " where cast(enrolled_at as date) > ?)",
    }
    with duckdb.connect(str(warehouse)) as conn:
        return {
            table: conn.execute(f"delete from {table} where {condition}", [last_day]).fetchone()[0]
            for table, condition in deletes.items()
        }


def read_ml_state(data_dir: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        tables = {
            name: conn.execute(f"select * from ml.{name}").df()
            for name in (
                "customer_features",
                "customer_line_features",
                "customer_labels",
                "customer_line_labels",
            )
        }
        tables["cutoffs"] = conn.execute("select * from ml.int_ml__cutoffs").df()
        tables["orders"] = conn.execute(
            "select customer_key, order_date, revenue, margin from marts.fct_orders"
            " where is_revenue and customer_key is not null"
        ).df()
        tables["customers"] = conn.execute("select customer_key, last_name from identity.dim_customer").df()
    return tables


@pytest.fixture(scope="module")
def ml_runs(marts_world: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The ml models on a copy of marts_world's warehouse as of AS_OF; then the same after deleting
    everything dated after TRUNCATED_AFTER."""
    data_dir = tmp_path_factory.mktemp("ml-features")
    shutil.copy(marts_world / "warehouse.duckdb", data_dir / "warehouse.duckdb")
    build_ml_models(data_dir, AS_OF)
    full = read_ml_state(data_dir)
    deleted = truncate_after(data_dir / "warehouse.duckdb", TRUNCATED_AFTER)
    build_ml_models(data_dir, AS_OF)
    return {"full": full, "deleted": deleted, "truncated": read_ml_state(data_dir)}


def test_cutoffs_are_spaced_back_from_the_pinned_as_of_date(ml_runs: dict) -> None:
    cutoffs = ml_runs["full"]["cutoffs"].sort_values("cutoff_index")
    ml = project_vars()["ml"]
    scoring = cutoffs[cutoffs["is_scoring_cutoff"]]
    assert [d.date() for d in scoring["cutoff_date"]] == [AS_OF]
    expected = [AS_OF - timedelta(days=ml["cutoff_spacing_days"] * k) for k in cutoffs["cutoff_index"]]
    assert [d.date() for d in cutoffs["cutoff_date"]] == expected
    # a one-year world: the history floor drops the oldest of the configured cutoffs
    assert 1 < len(cutoffs) - 1 < ml["training_cutoffs"]
    assert (cutoffs["history_days"] >= ml["min_history_days"]).all()
    assert TRUNCATED_AFTER in {d.date() for d in cutoffs["cutoff_date"]}


def at_cutoffs(frame: pd.DataFrame, keep: Callable[[date], bool], keys: list[str]) -> pd.DataFrame:
    kept = frame[[keep(day) for day in frame["cutoff_date"].dt.date]]
    return kept.sort_values(keys).reset_index(drop=True)


@pytest.mark.parametrize(
    ("table", "keys"), [("customer_features", KEYS), ("customer_line_features", LINE_KEYS)]
)
def test_features_of_a_cutoff_do_not_change_without_the_data_after_it(
    ml_runs: dict, table: str, keys: list[str]
) -> None:
    full, truncated = ml_runs["full"][table], ml_runs["truncated"][table]
    # the deleted days held orders, touchpoints and ledger entries
    assert all(rows > 0 for rows in ml_runs["deleted"].values()), ml_runs["deleted"]
    old = at_cutoffs(full, lambda day: day <= TRUNCATED_AFTER, keys)
    new = at_cutoffs(truncated, lambda day: day <= TRUNCATED_AFTER, keys)
    assert len(old) > 1000
    pd.testing.assert_frame_equal(old, new, check_dtype=False, rtol=1e-9)
    # ... while the features of the scoring cutoff did change
    assert not at_cutoffs(full, AS_OF.__eq__, keys).equals(at_cutoffs(truncated, AS_OF.__eq__, keys))


def expected_labels(orders: pd.DataFrame, customers: pd.Series, cutoff: date) -> pd.DataFrame:
    """purchased_30d and churned_180d recomputed from the revenue orders."""
    day = pd.Timestamp(cutoff)
    by_customer = orders.groupby("customer_key")["order_date"]

    def any_between(first: pd.Timestamp, last: pd.Timestamp) -> pd.Series:
        hits = by_customer.apply(lambda dates: bool(((dates > first) & (dates <= last)).any()))
        return customers.map(hits).fillna(False).astype(bool)

    active = any_between(day - pd.Timedelta(days=365), day)
    purchased = any_between(day, day + pd.Timedelta(days=30))
    bought_180d = any_between(day, day + pd.Timedelta(days=180))
    return pd.DataFrame(
        {
            "customer_key": customers.values,
            "purchased_30d": purchased.astype(int).values,
            "churned_180d": [
                (0 if b else 1) if a else None for a, b in zip(active, bought_180d, strict=True)
            ],
        }
    )


def test_labels_agree_with_the_orders_after_the_cutoff(ml_runs: dict) -> None:
    state = ml_runs["full"]
    labels, orders, cutoffs = state["customer_labels"], state["orders"].copy(), state["cutoffs"]
    orders["order_date"] = pd.to_datetime(orders["order_date"])
    complete = cutoffs[cutoffs["is_180d_window_complete"] & ~cutoffs["is_scoring_cutoff"]]
    cutoff = complete["cutoff_date"].max().date()
    at_cutoff = labels[labels["cutoff_date"].dt.date == cutoff].set_index("customer_key").sort_index()
    expected = expected_labels(orders, pd.Series(at_cutoff.index), cutoff).set_index("customer_key")

    assert at_cutoff["purchased_30d"].astype(int).tolist() == expected["purchased_30d"].tolist()
    assert at_cutoff["churned_180d"].isna().tolist() == expected["churned_180d"].isna().tolist()
    known = expected["churned_180d"].notna()
    assert (
        at_cutoff["churned_180d"][known].astype(int).tolist()
        == expected["churned_180d"][known].astype(int).tolist()
    )

    # a customer with an order 10 days after the cutoff bought within 30 days; one without any did not
    soon = orders[orders["order_date"] == pd.Timestamp(cutoff + timedelta(days=10))]["customer_key"]
    soon = [key for key in soon if key in at_cutoff.index]
    assert soon and (at_cutoff.loc[soon, "purchased_30d"] == 1).all()
    never = at_cutoff.index.difference(orders["customer_key"])
    assert len(never) and (at_cutoff.loc[never, "purchased_30d"] == 0).all()
    # the inactive have no churn label; the active one of both
    assert at_cutoff.loc[never, "churned_180d"].isna().all()
    assert 0 < at_cutoff["churned_180d"].mean() < 1


def test_labels_of_incomplete_windows_are_null(ml_runs: dict) -> None:
    state = ml_runs["full"]
    labels = state["customer_labels"].merge(state["cutoffs"], on="cutoff_date")
    assert not labels["is_scoring_cutoff"].any()
    for label, window in [("purchased_30d", 30), ("churned_180d", 180), ("future_spend_365d", 365)]:
        incomplete = labels[~labels[f"is_{window}d_window_complete"]]
        assert incomplete[label].isna().all(), label
    assert labels[~labels["is_30d_window_complete"]].shape[0] == 0  # every training cutoff is 30+ days back
    assert labels[~labels["is_180d_window_complete"]].shape[0] > 0
    for label in ("future_orders_365d", "future_spend_365d", "future_margin_365d"):
        assert (labels[label].notna() == labels["is_365d_window_complete"]).all(), label
    line_labels = state["customer_line_labels"].merge(state["cutoffs"], on="cutoff_date")
    assert line_labels["is_90d_window_complete"].all() and (line_labels["purchased_90d"] == 1).all()


def features_of(state: dict, last_name: str) -> tuple[str, pd.DataFrame]:
    customers = state["customers"]
    (key,) = customers.loc[customers["last_name"] == last_name, "customer_key"]
    features = state["customer_features"]
    return key, features[features["customer_key"] == key]


def test_planted_engagement_customer_by_hand(ml_runs: dict) -> None:
    state = ml_runs["full"]
    _, rows = features_of(state, ENGAGEMENT_CUSTOMER.last_name)
    # registered 2026-06-01: only the scoring cutoff sees them
    assert [d.date() for d in rows["cutoff_date"]] == [AS_OF]
    row = rows.iloc[0]
    half_life = project_vars()["marts"]["engagement_half_life_days"]
    # newsletter sign-up (5; a second one from the email platform earns 0 by the daily cap) and a
    # webinar (10) on 2026-06-20, an appointment (100) on 2026-06-22
    decayed = 15 * 0.5 ** (10 / half_life) + 100 * 0.5 ** (8 / half_life)
    assert row["is_known"] == 1
    assert row["tenure_days"] == (AS_OF - date(2026, 6, 1)).days
    assert row["age_years"] == 41
    assert row["engagement_points_365d"] == 115
    assert math.isclose(row["decayed_engagement_points"], decayed, rel_tol=1e-9)
    assert row["interactions_90d"] == row["interactions_365d"] == 4
    assert row["share_web"] == 0.75 and row["share_email"] == 0.25
    assert row["days_since_last_interaction"] == 8
    assert row["orders_lifetime"] == 0 and row["frequency_365d"] == 0 and row["monetary_365d"] == 0
    assert (
        pd.isna(row["recency_days"])
        and pd.isna(row["bgnbd_frequency"])
        and pd.isna(row["avg_order_value_365d"])
    )
    assert row["loyalty_tier_rank"] == 0


def test_planted_robo_customer_by_hand(ml_runs: dict) -> None:
    state = ml_runs["full"]
    key, rows = features_of(state, ROBO_CUSTOMER.last_name)
    row = rows.iloc[0]
    revenue = state["orders"].loc[state["orders"]["customer_key"] == key, "revenue"]
    # one store purchase on 2026-06-14 after two product views in the line on 2026-06-10
    assert len(revenue) == 1
    assert row["recency_days"] == row["days_since_first_order"] == row["bgnbd_age_days"] == 16
    assert row["frequency_90d"] == row["frequency_365d"] == row["orders_lifetime"] == 1
    assert math.isclose(row["monetary_365d"], float(revenue.iloc[0]))
    assert row["online_order_share_365d"] == 0
    assert row["bgnbd_frequency"] == 0 and row["bgnbd_recency_days"] == 0
    assert pd.isna(row["bgnbd_monetary_value"])
    assert row["product_views_90d"] == 2
    assert row["loyalty_tier_rank"] == 1  # basic, enrolled 2026-06-01

    lines = state["customer_line_features"]
    line = lines[(lines["customer_key"] == key)].set_index("product_line")
    assert list(line.index) == [ROBO_PRODUCT_LINE]
    assert line.loc[ROBO_PRODUCT_LINE, "line_research_90d"] == 2
    assert line.loc[ROBO_PRODUCT_LINE, "line_product_views_90d"] == 2
    assert line.loc[ROBO_PRODUCT_LINE, "line_orders_365d"] == 1
    assert line.loc[ROBO_PRODUCT_LINE, "days_since_line_purchase"] == 16
    # the scoring cutoff has no labels
    assert key not in set(state["customer_labels"]["customer_key"])
