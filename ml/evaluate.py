"""Score the nightly predictions against the simulator's truth: `python -m ml.evaluate`.

Only this evaluation reads the truth (`<data dir>/sources/_truth/`: who is who, and each person's
outcomes in the days after the published day, with the true purchase probability that knows the
person's hidden traits). The models never do.

Predictions are per customer_key; the truth is per person. A person's keys are found through the
identity map (a person split over several keys gets the probability that any of them buys,
1 - prod(1 - p), and the sum of their expected spend). Persons without a scored key are counted, not
scored. Several `--data-dir`s (the demo and a 100,000-person world) end with their headline figures
in one table. Printed side by side per world:
- purchase in 30 days: the champion model's probability of any purchase (anonymous store receipts
  included, ml/visibility.py) and of a purchase that reaches the customer (what it learned from),
  logistic regression on recency/frequency/monetary alone (trained on the same labelled cutoffs), the
  BG/NBD probability of a purchase in the window, and the oracle (the truth's own probability): AUC,
  PR-AUC, Brier, top-decile lift, calibration error;
- spend in the next 365 days: the CLV model's expected spend against last year's spend: MAE, RMSE,
  Spearman, total error.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ml import features as ft
from ml.metrics import binary_metrics, regression_metrics
from ml.registry import MlflowStore
from ml.scoring import SCORES, load_champion
from ml.training import CLV_MODEL, load_training_frame
from ml.value import AGE, FREQUENCY, RECENCY, is_buyer

PURCHASE_WINDOW_DAYS = 30
RFM_FEATURES = ["recency_days", "frequency_365d", "monetary_365d"]


@dataclass
class Evaluation:
    score_date: str
    truth_as_of: str
    persons_in_truth: int
    persons_scored: int
    # purchases of the scored persons in the 365 days before the score date that reached one of their
    # keys, over all their purchases: the rest (in a store without a card) no model here can see
    visible_purchase_share: float
    purchase: pd.DataFrame  # one row per predictor, metric columns
    spend: pd.DataFrame
    spend_buyers: pd.DataFrame

    def to_dict(self) -> dict:
        return {
            "score_date": self.score_date,
            "truth_as_of": self.truth_as_of,
            "persons_in_truth": self.persons_in_truth,
            "persons_scored": self.persons_scored,
            "visible_purchase_share": self.visible_purchase_share,
            "purchase_30d": self.purchase.to_dict(orient="index"),
            "spend_365d": self.spend.to_dict(orient="index"),
            "spend_365d_buyers": self.spend_buyers.to_dict(orient="index"),
        }


def person_keys(conn: duckdb.DuckDBPyConnection, truth_dir: Path) -> pd.DataFrame:
    """(person_id, customer_key) for every key that holds any of the person's records."""
    return conn.execute(
        f"""
        select distinct truth.person_id, map.customer_key
        from read_parquet('{truth_dir / "identity.parquet"}') as truth
        inner join identity.customer_identity_map as map
            on truth.source_system = map.source_system
            and truth.source_table = map.source_table
            and truth.source_record_id = map.source_record_id
        where map.customer_key is not null
        """
    ).df()


def any_of(probabilities: pd.Series) -> float:
    return float(1.0 - np.prod(1.0 - probabilities.to_numpy(dtype=float)))


def evaluate(data_dir: Path, store: MlflowStore) -> Evaluation:
    truth_dir = data_dir / "sources" / "_truth"
    manifest = json.loads((truth_dir / "manifest.json").read_text())
    outcomes = pd.read_parquet(truth_dir / "outcomes.parquet")
    warehouse = data_dir / "warehouse.duckdb"
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        cutoff = ft.scoring_cutoff(conn)
        keys = person_keys(conn, truth_dir)
        scores = conn.execute(
            "select customer_key, purchase_propensity_30d, purchase_propensity_30d_incl_anonymous,"
            f" expected_spend_12m from {SCORES}"
        ).df()
        scoring = ft.load_frame(conn, [cutoff], with_labels=False).rows
    finally:
        conn.close()
    baselines = baseline_predictions(warehouse, store, scoring)
    per_key = scoring[["customer_key", *RFM_FEATURES]].merge(scores, on="customer_key", how="left")
    per_key = per_key.merge(baselines, on="customer_key", how="left")
    joined = keys.merge(per_key, on="customer_key", how="inner")
    persons = joined.groupby("person_id").agg(
        model=("purchase_propensity_30d_incl_anonymous", any_of),
        model_reaching_customer=("purchase_propensity_30d", any_of),
        rfm_logistic_regression=("rfm_baseline", any_of),
        bgnbd=("bgnbd_p_purchase_30d", any_of),
        expected_spend=("expected_spend_12m", "sum"),
        last_year_spend=("monetary_365d", "sum"),
        orders_last_year=("frequency_365d", "sum"),
    )
    truth = outcomes.set_index("person_id")
    persons = persons.join(
        truth[["p_purchase_30d", "purchased_30d", "spend_365d", "purchases_past_365d"]], how="inner"
    )
    y = persons["purchased_30d"].astype(int).to_numpy()
    predictors = {
        "model (champion)": persons["model"],
        "model, purchases reaching a key": persons["model_reaching_customer"],
        "rfm_logistic_regression": persons["rfm_logistic_regression"],
        "bgnbd_p_purchase": persons["bgnbd"],
        "oracle (truth)": persons["p_purchase_30d"],
    }
    purchase = pd.DataFrame(
        {name: binary_metrics(y, p.fillna(0).to_numpy(dtype=float)) for name, p in predictors.items()}
    ).T
    actual = persons["spend_365d"].to_numpy(dtype=float)
    spend_predictors = {"clv model": persons["expected_spend"], "last_year_spend": persons["last_year_spend"]}
    spend = pd.DataFrame(
        {
            name: regression_metrics(actual, p.fillna(0).to_numpy(dtype=float))
            for name, p in spend_predictors.items()
        }
    ).T
    buyers = (persons["orders_last_year"] > 0).to_numpy()
    spend_buyers = pd.DataFrame(
        {
            name: regression_metrics(actual[buyers], p.fillna(0).to_numpy(dtype=float)[buyers])
            for name, p in spend_predictors.items()
        }
    ).T
    return Evaluation(
        score_date=str(cutoff),
        truth_as_of=str(manifest["published_through"]),
        persons_in_truth=len(outcomes),
        persons_scored=len(persons),
        visible_purchase_share=float(
            persons["orders_last_year"].sum() / max(persons["purchases_past_365d"].sum(), 1)
        ),
        purchase=purchase,
        spend=spend,
        spend_buyers=spend_buyers,
    )


def baseline_predictions(warehouse: Path, store: MlflowStore, scoring: pd.DataFrame) -> pd.DataFrame:
    """Per key at the scoring cutoff: logistic regression on RFM alone (fitted on every labelled
    cutoff) and the champion CLV model's BG/NBD probability of a purchase in the next 30 days (keys
    without a purchase yet get the rate at which such keys bought in the labelled cutoffs)."""
    from ml.propensity import logistic_regression_candidate

    labelled = load_training_frame(ft.open_warehouse(warehouse, read_only=True), max_train_rows=500_000).rows
    labelled = labelled[labelled[ft.PURCHASE_LABEL].notna()]
    rfm = logistic_regression_candidate(RFM_FEATURES, 0, class_weight=None)
    rfm.fit(labelled[RFM_FEATURES], labelled[ft.PURCHASE_LABEL].astype(int))
    result = pd.DataFrame({"customer_key": scoring["customer_key"]})
    result["rfm_baseline"] = rfm.predict_proba(scoring[RFM_FEATURES])[:, 1]
    non_buyer_rate = float(labelled.loc[~is_buyer(labelled), ft.PURCHASE_LABEL].mean())
    champion = load_champion(store.activate(), CLV_MODEL)
    probability = np.full(len(scoring), np.nan)
    if champion is not None:
        buyers = is_buyer(scoring)
        rows = scoring[buyers]
        probability[buyers] = champion.model.bgnbd_.probability_of_purchase(
            PURCHASE_WINDOW_DAYS, rows[FREQUENCY], rows[RECENCY], rows[AGE]
        )
        probability[~buyers] = non_buyer_rate
    result["bgnbd_p_purchase_30d"] = probability
    return result


def report(evaluation: Evaluation) -> str:
    purchase_columns = [
        "roc_auc",
        "pr_auc",
        "brier",
        "top_decile_lift",
        "expected_calibration_error",
        "base_rate",
    ]
    spend_columns = ["mae", "rmse", "spearman", "total_error_share"]
    lines = [
        f"Scores of {evaluation.score_date} against the truth as of {evaluation.truth_as_of}: "
        f"{evaluation.persons_scored:,} of {evaluation.persons_in_truth:,} persons have a scored customer key.",
        f"Of their purchases in the 365 days before, {evaluation.visible_purchase_share:.1%} reached one of "
        "their keys (the rest, in a store without a card, no source attributes); the truth's outcomes "
        "count every purchase.",
        "",
        "Purchase in the next 30 days (per person):",
        evaluation.purchase[[c for c in purchase_columns if c in evaluation.purchase]].round(4).to_string(),
        "",
        "Spend in the next 365 days, all scored persons:",
        evaluation.spend[[c for c in spend_columns if c in evaluation.spend]].round(4).to_string(),
        "",
        "Spend in the next 365 days, persons who bought in the last 365 days:",
        evaluation.spend_buyers[[c for c in spend_columns if c in evaluation.spend_buyers]]
        .round(4)
        .to_string(),
    ]
    model_auc = evaluation.purchase.loc["model (champion)", "roc_auc"]
    oracle_auc = evaluation.purchase.loc["oracle (truth)", "roc_auc"]
    lines += ["", f"Gap to the oracle AUC: {oracle_auc - model_auc:.4f}"]
    return "\n".join(lines)


def side_by_side(evaluations: dict[str, Evaluation]) -> pd.DataFrame:
    """The headline figures of several worlds (the demo, 100,000 people), one column per world."""
    rows: dict[str, dict[str, object]] = {}
    for name, evaluation in evaluations.items():
        purchase, spend = evaluation.purchase, evaluation.spend
        champion = purchase.loc["model (champion)"]
        rows[name] = {
            "persons scored / in the truth": f"{evaluation.persons_scored:,} / {evaluation.persons_in_truth:,}",
            "purchases that reached a key": f"{evaluation.visible_purchase_share:.1%}",
            "purchase AUC: champion, any purchase": f"{champion['roc_auc']:.4f}",
            "champion, purchases reaching a key": f"{purchase.loc['model, purchases reaching a key', 'roc_auc']:.4f}",
            "RFM logistic regression / BG/NBD": (
                f"{purchase.loc['rfm_logistic_regression', 'roc_auc']:.4f}"
                f" / {purchase.loc['bgnbd_p_purchase', 'roc_auc']:.4f}"
            ),
            "oracle / gap": (
                f"{purchase.loc['oracle (truth)', 'roc_auc']:.4f}"
                f" / {purchase.loc['oracle (truth)', 'roc_auc'] - champion['roc_auc']:.4f}"
            ),
            "calibration error, any purchase": f"{champion['expected_calibration_error']:.4f}",
            "spend MAE: CLV / last year's": (
                f"{spend.loc['clv model', 'mae']:.1f} / {spend.loc['last_year_spend', 'mae']:.1f}"
            ),
            "spend Spearman: CLV / last year's": (
                f"{spend.loc['clv model', 'spearman']:.4f} / {spend.loc['last_year_spend', 'spearman']:.4f}"
            ),
        }
    return pd.DataFrame(rows)


def failures(evaluation: Evaluation, max_calibration_error: float | None) -> list[str]:
    """The issue's bar: AUC above both baselines, calibration error under the limit, and the CLV
    beating last year's spend on error and on ranking."""
    purchase, spend = evaluation.purchase, evaluation.spend
    model = purchase.loc["model (champion)"]
    problems = []
    for baseline in ("rfm_logistic_regression", "bgnbd_p_purchase"):
        if not model["roc_auc"] > purchase.loc[baseline, "roc_auc"]:
            problems.append(
                f"purchase AUC {model['roc_auc']:.4f} not above {baseline} {purchase.loc[baseline, 'roc_auc']:.4f}"
            )
    if max_calibration_error is not None and not model["expected_calibration_error"] < max_calibration_error:
        problems.append(
            f"calibration error {model['expected_calibration_error']:.4f} not under {max_calibration_error}"
        )
    clv, naive = spend.loc["clv model"], spend.loc["last_year_spend"]
    if not clv["mae"] < naive["mae"]:
        problems.append(f"CLV MAE {clv['mae']:.2f} not below last year's spend {naive['mae']:.2f}")
    if not clv["spearman"] > naive["spearman"]:
        problems.append(
            f"CLV Spearman {clv['spearman']:.4f} not above last year's spend {naive['spearman']:.4f}"
        )
    return problems


def main(argv: list[str] | None = None) -> int:
    from orchestration.paths import data_dir as default_data_dir

    parser = argparse.ArgumentParser(prog="python -m ml.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        action="append",
        help="a simulated world (default: KLANTBEELD_DATA_DIR); repeat it to set worlds side by side",
    )
    parser.add_argument("--max-calibration-error", type=float, default=0.02)
    parser.add_argument("--check", action="store_true", help="exit 1 when the bar of issue 6 is not met")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    import os

    data_dirs = [path.resolve() for path in args.data_dir or [default_data_dir()]]
    several = len(data_dirs) > 1
    # several worlds have one MLflow store each, under their data directory
    tracking_uri = None if several else os.environ.get("MLFLOW_TRACKING_URI")
    evaluations, problems = {}, []
    for data_dir in data_dirs:
        name = "/".join(data_dir.parts[-2:]) if several else str(data_dir)
        name = name if name not in evaluations else f"{name} ({len(evaluations) + 1})"
        evaluations[name] = evaluation = evaluate(data_dir, MlflowStore.under(data_dir, tracking_uri))
        print(f"== {data_dir}\n" if several else "", report(evaluation), "\n", sep="")
        problems += [
            f"{name}: {problem}" if several else problem
            for problem in failures(evaluation, args.max_calibration_error)
        ]
    if several:
        print("Side by side:")
        print(side_by_side(evaluations).to_string())
    if args.json:
        figures = {name: e.to_dict() for name, e in evaluations.items()} if several else evaluation.to_dict()
        args.json.write_text(json.dumps(figures, indent=2, default=float) + "\n")
    for problem in problems:
        print(f"NOT MET: {problem}")
    return 1 if problems and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
