"""Time the ML stage on a built warehouse: training of every model and the nightly scoring.

usage: python benchmarks/bench_ml.py --data-dir DIR [--max-train-rows N] [--evaluate]

The warehouse must hold the dbt models up to `ml.*` (build them with `dbt run`). Runs in this process,
against its own MLflow store `<DIR>/mlflow` (a fresh store gives every model its first version), and
prints per phase: seconds and peak RSS. `--evaluate` then scores the predictions against the
simulator's truth (python -m ml.evaluate).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb
from measure import peak_rss_mb, reset_peak_rss

from ml import features as ft
from ml.evaluate import evaluate, report
from ml.next_best_action import NbaSettings
from ml.registry import MlflowStore
from ml.scoring import score_customers
from ml.training import train_models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--max-train-rows", type=int, default=300_000)
    parser.add_argument("--evaluate", action="store_true")
    args = parser.parse_args()
    data_dir = args.data_dir.resolve()
    warehouse = data_dir / "warehouse.duckdb"
    store = MlflowStore.under(data_dir)
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        (keys, cutoffs) = conn.execute(
            f"select count(distinct customer_key), count(distinct cutoff_date) from {ft.FEATURES}"
        ).fetchone()
    print(f"{data_dir}: {keys:,} customer keys, {cutoffs} cutoffs in {ft.FEATURES}")

    reset_peak_rss()
    started = time.perf_counter()
    training = train_models(
        ft.open_warehouse(warehouse),
        store,
        max_train_rows=args.max_train_rows,
        log=lambda line: print(" ", line),
    )
    print(
        f"training: {time.perf_counter() - started:,.1f} s, peak RSS {peak_rss_mb():,.0f} MB, "
        f"{training.rows_loaded:,} rows loaded, {len(training.models)} models, failures: {training.failures or 'none'}"
    )
    for model in training.models:
        if model.metrics:
            shown = {
                k: round(v, 4)
                for k, v in model.metrics.items()
                if k in ("roc_auc", "expected_calibration_error", "rmse", "spearman", "silhouette")
            }
            print(f"  {model.model_name}: {shown}")

    reset_peak_rss()
    started = time.perf_counter()
    scoring = score_customers(ft.open_warehouse(warehouse), store, NbaSettings())
    print(
        f"scoring: {time.perf_counter() - started:,.1f} s, peak RSS {peak_rss_mb():,.0f} MB, "
        f"{scoring.customers:,} customers on {scoring.score_date}, actions {scoring.actions}"
    )
    if args.evaluate:
        reset_peak_rss()
        started = time.perf_counter()
        evaluation = evaluate(data_dir, store)
        print(report(evaluation))
        print(f"evaluation: {time.perf_counter() - started:,.1f} s, peak RSS {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
