import datetime as dt

import duckdb
import numpy as np
import pytest

from ml.scoring import add_missing_columns
from ml.visibility import PurchaseVisibility


def test_any_purchase_probability_inverts_the_thinned_poisson_process():
    # rate 0.5 a month, half of the purchases seen: P(seen) = 1 - exp(-0.25), P(any) = 1 - exp(-0.5)
    seen = 1 - np.exp(-0.25)
    visibility = PurchaseVisibility(member=1.0, non_member=0.5)
    result = visibility.any_purchase_probability(
        np.array([seen, seen, np.nan]), np.array([True, False, False])
    )
    assert result[0] == pytest.approx(seen)
    assert result[1] == pytest.approx(1 - np.exp(-0.5))
    assert np.isnan(result[2])


def test_any_purchase_probability_keeps_the_order_within_a_class():
    seen = np.linspace(0.0, 0.99, 50)
    result = PurchaseVisibility(0.9, 0.4).any_purchase_probability(seen, np.zeros(50, dtype=bool))
    assert (np.diff(result) > 0).all() and (result >= seen).all() and result[-1] < 1


@pytest.mark.parametrize("share", [0.0, -0.1, 1.2, float("nan")])
def test_a_visibility_outside_0_1_is_refused(share):
    with pytest.raises(ValueError, match="visibility"):
        PurchaseVisibility(member=share)


def test_visibility_reads_the_cutoffs_row_and_sees_everything_without_one():
    conn = duckdb.connect()
    conn.execute("create schema ml")
    conn.execute(
        "create table ml.int_ml__purchase_visibility as select date '2026-11-21' as cutoff_date,"
        " 0.93 as member_visibility, 0.48 as non_member_visibility"
    )
    assert PurchaseVisibility.at(conn, dt.date(2026, 11, 21)) == PurchaseVisibility(0.93, 0.48)
    assert PurchaseVisibility.at(conn, dt.date(2026, 11, 22)) == PurchaseVisibility(1.0, 1.0)


def test_a_history_from_before_a_new_score_column_gets_it_empty():
    conn = duckdb.connect()
    conn.execute("create schema ml")
    conn.execute("create table ml.history as select 'k1' as customer_key, 0.2 as purchase_propensity_30d")
    add_missing_columns(conn, "ml.history", {"customer_key": "varchar", "new_score": "double"})
    assert conn.execute("select customer_key, new_score from ml.history").fetchall() == [("k1", None)]
