import pandas as pd

from ml.evaluate import Evaluation, failures, side_by_side


def evaluation(champion_auc: float, calibration_error: float, clv_mae: float) -> Evaluation:
    metrics = ["roc_auc", "expected_calibration_error"]
    purchase = pd.DataFrame(
        [
            [champion_auc, calibration_error],
            [champion_auc - 0.01, 0.06],
            [0.73, 0.10],
            [0.74, 0.11],
            [0.86, 0.01],
        ],
        index=[
            "model (champion)",
            "model, purchases reaching a key",
            "rfm_logistic_regression",
            "bgnbd_p_purchase",
            "oracle (truth)",
        ],
        columns=metrics,
    )
    spend = pd.DataFrame(
        [[clv_mae, 0.56], [284.5, 0.44]], index=["clv model", "last_year_spend"], columns=["mae", "spearman"]
    )
    return Evaluation("2026-11-22", "2026-11-22", 100, 98, 0.64, purchase, spend, spend)


def test_worlds_stand_side_by_side_with_their_headline_figures():
    table = side_by_side({"demo": evaluation(0.80, 0.016, 231.0), "100k": evaluation(0.79, 0.025, 256.2)})
    assert list(table.columns) == ["demo", "100k"]
    assert table.loc["calibration error, any purchase"].tolist() == ["0.0160", "0.0250"]
    assert table.loc["oracle / gap", "100k"] == "0.8600 / 0.0700"
    assert table.loc["RFM logistic regression / BG/NBD", "demo"] == "0.7300 / 0.7400"
    assert table.loc["spend MAE: CLV / last year's", "demo"] == "231.0 / 284.5"
    assert table.loc["persons scored / in the truth", "demo"] == "98 / 100"


def test_the_bar_names_what_is_not_met():
    assert failures(evaluation(0.80, 0.016, 231.0), 0.02) == []
    problems = failures(evaluation(0.72, 0.025, 300.0), 0.02)
    assert len(problems) == 4  # below both baselines, calibration, CLV MAE
    assert any("calibration error 0.0250 not under 0.02" in problem for problem in problems)
