"""Holdout metrics against values computed by hand on tiny examples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ml.metrics import (
    binary_metrics,
    calibration_table,
    expected_calibration_error,
    lift_table,
    regression_metrics,
    top_fraction_positive_rate,
)


def test_binary_metrics_on_four_rows():
    metrics = binary_metrics([1, 0, 1, 0], [0.9, 0.8, 0.3, 0.1])
    # Positive-negative pairs ranked right: (0.9>0.8), (0.9>0.1), (0.3>0.1); wrong: (0.3<0.8).
    assert metrics["roc_auc"] == pytest.approx(3 / 4)
    # Precision at each positive: 1/1 then 2/3, each worth half the recall.
    assert metrics["pr_auc"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert metrics["brier"] == pytest.approx((0.1**2 + 0.8**2 + 0.7**2 + 0.1**2) / 4)
    expected_log_loss = -(math.log(0.9) + math.log(0.2) + math.log(0.3) + math.log(0.9)) / 4
    assert metrics["log_loss"] == pytest.approx(expected_log_loss)
    assert metrics["base_rate"] == 0.5
    assert metrics["n"] == 4


def test_top_decile_lift_with_distinct_scores():
    p = np.linspace(0.99, 0.01, 20)
    y = np.zeros(20)
    y[[0, 5, 10, 15]] = 1  # the top 2 rows hold one positive: rate 1/2 against a base rate of 4/20
    assert binary_metrics(y, p)["top_decile_lift"] == pytest.approx(0.5 / 0.2)


def test_top_decile_ties_enter_in_proportion():
    # The top 10 % is 1 row, but 3 rows share the highest score and one of them is positive.
    p = [0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]
    y = [0, 1, 0, 1, 0, 0, 0, 0, 0, 0]
    assert top_fraction_positive_rate(y, p, 0.1) == pytest.approx(1 / 3)
    assert binary_metrics(y, p)["top_decile_lift"] == pytest.approx((1 / 3) / 0.2)
    # Reordering tied rows cannot change the figure.
    assert top_fraction_positive_rate(y[::-1], p[::-1], 0.1) == pytest.approx(1 / 3)


def test_constant_score_has_lift_one():
    y = [1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    assert binary_metrics(y, [0.3] * 12)["top_decile_lift"] == pytest.approx(1.0)


def test_calibration_error_over_equal_count_bins():
    y, p = [0, 1, 1, 1], [0.1, 0.2, 0.7, 0.9]
    table = calibration_table(y, p, bins=2)
    assert table["n"].tolist() == [2, 2]
    assert table["mean_predicted"].tolist() == pytest.approx([0.15, 0.8])
    assert table["observed_rate"].tolist() == pytest.approx([0.5, 1.0])
    # |0.15 - 0.5| and |0.8 - 1.0|, each bin half the rows.
    assert expected_calibration_error(y, p, bins=2) == pytest.approx((0.35 + 0.2) / 2)
    assert binary_metrics(y, p, bins=2)["expected_calibration_error"] == pytest.approx(0.275)


def test_perfectly_calibrated_bins_have_zero_error():
    y = [0, 0, 0, 1, 0, 1, 1, 1]
    p = [0.25] * 4 + [0.75] * 4
    assert expected_calibration_error(y, p, bins=2) == pytest.approx(0.0)


def test_lift_table_groups_from_the_top():
    table = lift_table([1, 1, 0, 0], [0.9, 0.8, 0.3, 0.1], groups=2)
    assert table["group"].tolist() == [1, 2]
    assert table["positive_rate"].tolist() == [1.0, 0.0]
    assert table["lift"].tolist() == [2.0, 0.0]
    assert table["cumulative_share_of_positives"].tolist() == [1.0, 1.0]
    assert table["cumulative_lift"].tolist() == [2.0, 1.0]


def test_one_class_leaves_ranking_metrics_undefined():
    metrics = binary_metrics([0, 0, 0], [0.1, 0.2, 0.3])
    assert math.isnan(metrics["roc_auc"])
    assert math.isnan(metrics["pr_auc"])
    assert math.isnan(metrics["top_decile_lift"])
    assert metrics["brier"] == pytest.approx((0.01 + 0.04 + 0.09) / 3)


@pytest.mark.parametrize(
    ("y", "p", "message"),
    [([0, 1], [0.5], "2 values"), ([0, 2], [0.1, 0.2], "only 0 and 1"), ([0, 1], [0.1, 1.2], "[0, 1]")],
)
def test_bad_inputs_are_refused(y, p, message):
    with pytest.raises(ValueError, match=message):
        binary_metrics(y, p)


def test_regression_metrics_by_hand():
    metrics = regression_metrics([0, 10, 20], [5, 10, 15])
    assert metrics["mae"] == pytest.approx(10 / 3)
    assert metrics["rmse"] == pytest.approx(math.sqrt(50 / 3))
    assert metrics["spearman"] == pytest.approx(1.0)
    assert metrics["total_error_share"] == pytest.approx(0.0)
    assert metrics["n"] == 3


def test_regression_total_error_share_and_rank_reversal():
    metrics = regression_metrics([10, 20, 30], [36, 24, 12])
    assert metrics["total_error_share"] == pytest.approx(72 / 60 - 1)
    assert metrics["spearman"] == pytest.approx(-1.0)
