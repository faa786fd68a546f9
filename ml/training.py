"""Train every model from the point-in-time features, evaluate it out of time, log it to MLflow and
promote it to `@champion` only when it is not worse than the champion on the same holdout.

Per target the holdout is the latest cutoff at which its label is known; the models learn from the
earlier cutoffs (ml/propensity.py splits those again for calibration). The registered model is the
one evaluated: it has never seen the holdout.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ml import features as ft
from ml.metrics import binary_metrics, regression_metrics
from ml.registry import (
    MlflowStore,
    Promotion,
    champion_version,
    load_version,
    log_model,
    promote_if_not_worse,
    promote_unevaluated,
)
from ml.value import BGNBD_COLUMNS, CustomerValueModel, is_buyer
from ml.visibility import MEMBER_FEATURE

MODEL_PREFIX = "klantbeeld"
PURCHASE_MODEL = f"{MODEL_PREFIX}-purchase-30d"
# P(a store purchase reaching a member) from the features a non-member shows too: where the non-members'
# unseen store purchases go (ml.visibility)
STORE_PURCHASE_MODEL = f"{MODEL_PREFIX}-store-purchase-30d"
CHURN_MODEL = f"{MODEL_PREFIX}-churn-180d"
CLV_MODEL = f"{MODEL_PREFIX}-clv-12m"
SEGMENT_MODEL = f"{MODEL_PREFIX}-segments"
# A propensity version is promoted when its holdout log loss is not above the champion's.
PROPENSITY_PROMOTION_METRIC = "log_loss"
# the naive CLV baseline: next year's spend = last year's
LAST_YEAR_SPEND = "monetary_365d"


def crosssell_model(product_line: str) -> str:
    return f"{MODEL_PREFIX}-crosssell-90d-{ft.line_column('', product_line).removeprefix('__')}"


@dataclass
class ModelReport:
    """One trained model: where it went and how it did."""

    model_name: str
    target: str
    run_id: str | None = None
    promotion: Promotion | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    skipped: str | None = None  # why it could not be trained on this data (too little history, ...)
    error: str | None = None  # it failed: the run fails after the other models are registered


@dataclass
class TrainingReport:
    models: list[ModelReport]
    seconds: float
    rows_loaded: int

    @property
    def failures(self) -> list[str]:
        return [f"{report.model_name}: {report.error}" for report in self.models if report.error]

    def table(self) -> str:
        """Markdown: one line per model with its version, whether it became champion, and why."""
        lines = ["| model | version | champion? | metric | reason |", "|---|---|---|---|---|"]
        for report in self.models:
            if report.error:
                lines.append(f"| {report.model_name} | - | - | - | FAILED: {report.error} |")
                continue
            if report.skipped:
                lines.append(f"| {report.model_name} | - | - | - | skipped: {report.skipped} |")
                continue
            promotion = report.promotion
            assert promotion is not None
            lines.append(
                f"| {report.model_name} | {promotion.version} | {'yes' if promotion.promoted else 'challenger'} "
                f"| {promotion.metric} {promotion.new_value:.4f} | {promotion.reason} |"
            )
        return "\n".join(lines)

    def holdout_metrics(self) -> dict[str, float]:
        """`<target>/<metric>` for every finite holdout metric of every model."""
        return {
            f"{report.target}/{name}": round(value, 5)
            for report in self.models
            for name, value in report.metrics.items()
            if isinstance(value, float) and math.isfinite(value)
        }


def load_training_frame(connect: ft.Connect, max_train_rows: int) -> ft.ModelFrame:
    """Every labelled cutoff, customers sampled (by key) so that about 2x `max_train_rows` rows load."""
    with connect() as conn:
        cutoffs = ft.labelled_cutoffs(conn, ft.PURCHASE_LABEL)
        if not cutoffs:
            raise LookupError(
                f"{ft.LABELS} has no cutoff with a complete 30-day window: the warehouse holds too little history"
            )
        dates = ", ".join(f"date '{cutoff.isoformat()}'" for cutoff in cutoffs)
        (rows,) = conn.execute(
            f"select count(*) from {ft.FEATURES} where cutoff_date in ({dates})"
        ).fetchone()
        fraction = min(1.0, 2.0 * max_train_rows / max(rows, 1))
        return ft.load_frame(conn, cutoffs, with_labels=True, sample_fraction=fraction)


def holdout_split(frame: pd.DataFrame, label: str) -> tuple[pd.DataFrame, pd.DataFrame, dt.date | None]:
    """Rows with the label known: the latest such cutoff is the holdout, the earlier ones train."""
    known = frame[frame[label].notna()]
    if known.empty:
        return known, known, None
    holdout_cutoff = known["cutoff_date"].max()
    return (
        known[known["cutoff_date"] < holdout_cutoff],
        known[known["cutoff_date"] == holdout_cutoff],
        holdout_cutoff.date(),
    )


def train_models(
    connect: ft.Connect,
    store: MlflowStore,
    *,
    max_train_rows: int = 300_000,
    random_state: int = 0,
    log: Callable[[str], None] = print,
) -> TrainingReport:
    started = time.perf_counter()
    frame = load_training_frame(connect, max_train_rows)
    log(
        f"loaded {len(frame.rows):,} rows at {len(frame.cutoffs)} cutoffs, {len(frame.feature_columns)} features"
    )
    client = store.activate()
    trainings: list[tuple[str, str, Callable[[], ModelReport]]] = [
        (PURCHASE_MODEL, ft.PURCHASE_LABEL, lambda: train_propensity_model(
            client, frame, PURCHASE_MODEL, ft.PURCHASE_LABEL, max_train_rows, random_state)),
        (STORE_PURCHASE_MODEL, ft.STORE_PURCHASE_LABEL, lambda: train_propensity_model(
            client, store_purchase_frame(frame), STORE_PURCHASE_MODEL, ft.STORE_PURCHASE_LABEL,
            max_train_rows, random_state)),
        (CHURN_MODEL, ft.CHURN_LABEL, lambda: train_propensity_model(
            client, frame, CHURN_MODEL, ft.CHURN_LABEL, max_train_rows, random_state)),
    ]  # fmt: skip
    for line in frame.product_lines:
        name, label = crosssell_model(line), ft.line_column(ft.LINE_LABEL, line)
        trainings.append(
            (
                name,
                label,
                lambda n=name, y=label: train_propensity_model(
                    client, frame, n, y, max_train_rows, random_state
                ),
            )
        )
    trainings.append((CLV_MODEL, ft.SPEND_LABEL, lambda: train_value_model(client, frame, random_state)))
    trainings.append((SEGMENT_MODEL, "segment", lambda: train_segment_model(client, frame, random_state)))
    reports = []
    for name, target, train in trainings:
        try:
            report = train()
        except Exception as error:  # one model's failure must not keep the others from their champions
            report = ModelReport(model_name=name, target=target, error=f"{type(error).__name__}: {error}")
        log(f"{name}: {report.error or report.skipped or (report.promotion and report.promotion.reason)}")
        reports.append(report)
    return TrainingReport(reports, time.perf_counter() - started, len(frame.rows))


def store_purchase_frame(frame: ft.ModelFrame) -> ft.ModelFrame:
    """The loyalty members, with the store-blind features only: their store receipts reach them through
    the card, and the features show them as a customer without one is shown."""
    return ft.ModelFrame(
        rows=frame.rows[frame.rows[MEMBER_FEATURE] > 0],
        feature_columns=[column for column in ft.STORE_BLIND_FEATURES if column in frame.feature_columns],
        product_lines=frame.product_lines,
    )


def _log_run_basics(frame: ft.ModelFrame, target: str, train: pd.DataFrame, holdout: pd.DataFrame) -> None:
    import mlflow

    mlflow.log_params(
        {
            "target": target,
            "train_cutoffs": ",".join(sorted({str(d.date()) for d in train["cutoff_date"]})),
            "holdout_cutoff": str(holdout["cutoff_date"].max().date()),
            "train_rows": len(train),
            "holdout_rows": len(holdout),
            "features": len(frame.feature_columns),
        }
    )


def _finite(metrics: dict[str, float]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, int | float) and math.isfinite(float(v))}


def _champion_metric(client, name: str, scorer: Callable[[Any], float]) -> tuple[Any, float | None]:
    """The current champion and its metric on this holdout (None when it cannot score these features)."""
    champion = champion_version(client, name)
    if champion is None:
        return None, None
    try:
        return champion, scorer(load_version(champion))
    except (KeyError, ValueError):  # it needs features the tables no longer have
        return champion, None


def train_propensity_model(
    client, frame: ft.ModelFrame, model_name: str, label: str, max_train_rows: int, random_state: int
) -> ModelReport:
    import mlflow

    # pyplot through ml.plots, which selects the display-less backend first
    from ml.plots import calibration_plot, importance_plot, lift_plot, plt
    from ml.propensity import train_propensity

    train, holdout, holdout_cutoff = holdout_split(frame.rows, label)
    report = ModelReport(model_name=model_name, target=label)
    train_cutoffs = train["cutoff_date"].nunique() if len(train) else 0
    if train_cutoffs < 2 or holdout.empty or holdout[label].nunique() < 2 or train[label].nunique() < 2:
        report.skipped = (
            f"{label} needs two training cutoffs and a holdout with both classes; "
            f"has {train_cutoffs} training cutoffs, holdout {holdout_cutoff}"
        )
        return report
    season = ft.season_column(label)
    season = season if season in frame.rows.columns else None  # a frame without the index: no offset
    features = [column for column in frame.feature_columns if not (season and column in ft.SEASON_COLUMNS)]
    with mlflow.start_run(run_name=model_name) as run:
        _log_run_basics(frame, label, train, holdout)
        result = train_propensity(
            train,
            holdout,
            features,
            label,
            random_state=random_state,
            max_train_rows=max_train_rows,
            season_column=season,
        )
        mlflow.log_params(
            {
                "model": result.name,
                "calibration": result.calibration_method,
                "season_offset": season or "none",
            }
        )
        for candidate, metrics in result.holdout_metrics.items():
            mlflow.log_metrics({f"{candidate}.{k}": v for k, v in _finite(metrics).items()})
        chosen = _finite(result.holdout_metrics[result.name])
        mlflow.log_metrics(chosen)
        figures = {
            "plots/calibration.png": calibration_plot(result.calibration_table),
            "plots/lift.png": lift_plot(result.lift_table),
            "plots/feature_importance.png": importance_plot(result.feature_importance.head(25)),
        }
        for path, figure in figures.items():
            mlflow.log_figure(figure, path)
            plt.close(figure)  # a training draws 27 figures: free each once it is logged
        mlflow.log_text(result.feature_importance.to_csv(), "feature_importance.csv")
        version = log_model(
            result.estimator, model_name, holdout[[*features, *filter(None, [season])]].head(5)
        )
        y = holdout[label].to_numpy(dtype=int)

        # Log loss, not AUC: the scores are used as probabilities (expected values in the next best
        # action), and a version that only calibrates better (the season offset) ranks the same.
        def champion_log_loss(model: Any) -> float:  # every model selects its own columns (FeatureFrame)
            return binary_metrics(y, model.predict_proba(holdout)[:, 1])[PROPENSITY_PROMOTION_METRIC]

        champion, champion_value = _champion_metric(client, model_name, champion_log_loss)
        promotion = promote_if_not_worse(
            client,
            version,
            PROPENSITY_PROMOTION_METRIC,
            chosen[PROPENSITY_PROMOTION_METRIC],
            champion,
            champion_value,
            str(holdout_cutoff),
            higher_is_better=False,
        )
        mlflow.set_tag("klantbeeld.decision", promotion.reason)
        report.run_id, report.promotion, report.metrics = run.info.run_id, promotion, chosen
    return report


def train_value_model(client, frame: ft.ModelFrame, random_state: int) -> ModelReport:
    """BG/NBD + Gamma-Gamma fitted on the holdout cutoff's histories, against a spend regressor trained
    on earlier cutoffs; both judged on the buyers' actual spend in the 365 days after the holdout
    cutoff, beside last year's spend as the naive forecast. The lower RMSE serves: both forecast an
    expected value, which RMSE rewards (MAE would favour forecasting the median, 0 for most)."""
    import mlflow

    from ml.spend import train_spend_regressor

    report = ModelReport(model_name=CLV_MODEL, target=ft.SPEND_LABEL)
    train, holdout, holdout_cutoff = holdout_split(frame.rows, ft.SPEND_LABEL)
    if holdout.empty:
        return train_unevaluated_value_model(client, frame, report)
    buyers = holdout[is_buyer(holdout)]
    actual = buyers[ft.SPEND_LABEL].to_numpy(dtype=float)
    with mlflow.start_run(run_name=CLV_MODEL) as run:
        _log_run_basics(frame, ft.SPEND_LABEL, train, holdout)
        probabilistic = CustomerValueModel().fit(holdout)
        candidates = {"bgnbd_gamma_gamma": probabilistic}
        scores = {"bgnbd_gamma_gamma": regression_metrics(actual, probabilistic.predict(buyers))}
        scores["last_year_spend"] = regression_metrics(actual, buyers[LAST_YEAR_SPEND].fillna(0).to_numpy())
        if train["cutoff_date"].nunique() >= 2:
            regressor = train_spend_regressor(train, holdout, frame.feature_columns, label=ft.SPEND_LABEL)
            candidates["spend_regressor"] = probabilistic.with_regressor(
                regressor.estimator, frame.feature_columns
            )
            scores["spend_regressor"] = regression_metrics(
                actual, candidates["spend_regressor"].predict(buyers)
            )
        best = min(candidates, key=lambda name: scores[name]["rmse"])
        model = candidates[best]
        for name, metrics in scores.items():
            mlflow.log_metrics({f"{name}.{k}": v for k, v in _finite(metrics).items()})
        mlflow.log_params(
            {"method": best, **{f"bgnbd.{k}": v for k, v in probabilistic.bgnbd_.params_.items()}}
        )
        mlflow.log_params({f"gamma_gamma.{k}": v for k, v in probabilistic.gamma_gamma_.params_.items()})
        chosen = _finite(scores[best])
        mlflow.log_metrics(chosen)
        example_columns = sorted(set(BGNBD_COLUMNS) | set(frame.feature_columns))
        version = log_model(model, CLV_MODEL, holdout[example_columns].head(5))

        def champion_mae(champion: Any) -> float:
            return regression_metrics(actual, champion.predict(buyers))["rmse"]

        champion, champion_value = _champion_metric(client, CLV_MODEL, champion_mae)
        promotion = promote_if_not_worse(
            client,
            version,
            "rmse",
            chosen["rmse"],
            champion,
            champion_value,
            str(holdout_cutoff),
            higher_is_better=False,
        )
        mlflow.set_tag("klantbeeld.decision", promotion.reason)
        report.run_id, report.promotion, report.metrics = run.info.run_id, promotion, chosen
        report.metrics.update(
            {f"{name}.{metric}": s[metric] for name, s in scores.items() for metric in ("mae", "rmse")}
        )
        report.metrics.update({f"{name}.spearman": s["spearman"] for name, s in scores.items()})
    return report


def train_unevaluated_value_model(client, frame: ft.ModelFrame, report: ModelReport) -> ModelReport:
    """Less than a year of history after the first cutoff: no spend window to judge a CLV by. BG/NBD and
    Gamma-Gamma need no labels, so they are fitted on the latest cutoff and registered without a
    holdout error; such a version becomes champion only while there is none."""
    import mlflow

    latest = frame.rows[frame.rows["cutoff_date"] == frame.rows["cutoff_date"].max()]
    with mlflow.start_run(run_name=CLV_MODEL) as run:
        model = CustomerValueModel().fit(latest)
        mlflow.log_params(
            {
                "method": model.method,
                "evaluated": False,
                "fit_cutoff": str(latest["cutoff_date"].max().date()),
            }
        )
        mlflow.log_params({f"bgnbd.{k}": v for k, v in model.bgnbd_.params_.items()})
        mlflow.log_params({f"gamma_gamma.{k}": v for k, v in model.gamma_gamma_.params_.items()})
        example_columns = sorted(set(BGNBD_COLUMNS) | set(frame.feature_columns))
        version = log_model(model, CLV_MODEL, latest[example_columns].head(5))
        champion = champion_version(client, CLV_MODEL)
        promotion = promote_unevaluated(client, version, champion, "no complete 365-day spend window")
        report.run_id, report.promotion = run.info.run_id, promotion
    return report


def train_segment_model(client, frame: ft.ModelFrame, random_state: int) -> ModelReport:
    """Behavioural segments from the latest cutoff's customers; a new clustering becomes champion when
    its silhouette on the same sample is not lower."""
    import mlflow

    from ml.segments import SEGMENT_FEATURES, fit_segments, silhouette_on

    report = ModelReport(model_name=SEGMENT_MODEL, target="segment")
    latest = frame.rows[frame.rows["cutoff_date"] == frame.rows["cutoff_date"].max()]
    customers = latest[is_buyer(latest)]
    features = [column for column in SEGMENT_FEATURES if column in customers.columns]
    if len(customers) < 50:
        report.skipped = f"{len(customers)} buyers at the latest cutoff: too few to cluster"
        return report
    with mlflow.start_run(run_name=SEGMENT_MODEL) as run:
        model = fit_segments(customers, features, random_state=random_state)
        sample = customers.sample(min(len(customers), 20_000), random_state=random_state)
        silhouette = silhouette_on(model, sample)
        mlflow.log_params({"k": model.k, "features": ",".join(features), "customers": len(customers)})
        mlflow.log_metrics(
            {"silhouette": silhouette, **{f"silhouette_k{k}": v for k, v in model.silhouette_by_k.items()}}
        )
        mlflow.log_text(model.describe().to_csv(index=False), "segments.csv")
        version = log_model(model, SEGMENT_MODEL, customers[features].head(5), safe_format=False)
        champion, champion_value = _champion_metric(client, SEGMENT_MODEL, lambda m: silhouette_on(m, sample))
        promotion = promote_if_not_worse(
            client,
            version,
            "silhouette",
            silhouette,
            champion,
            champion_value,
            str(latest["cutoff_date"].max().date()),
        )
        report.run_id, report.promotion, report.metrics = (
            run.info.run_id,
            promotion,
            {"silhouette": silhouette},
        )
    return report
