"""The ML stage on a copy of the `marts_world` fixture (2,000 people, one year, after one nightly run):
the weekly training job trains, logs and registers every model, the scoring job scores every customer
with the @champions and never trains, the scores reach customer_360 and the BI serving file, and a
rerun of the same night replaces its history rows."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from ml import features as ft
from ml.registry import CHAMPION, MlflowStore
from ml.training import (
    CHURN_MODEL,
    CLV_MODEL,
    PURCHASE_MODEL,
    SEGMENT_MODEL,
    STORE_PURCHASE_MODEL,
    crosssell_model,
)
from orchestration.serve.publish import serving_database_path
from tests.integration.pipeline import run_job

pytestmark = pytest.mark.integration

TRAINING_CONFIG = {"ops": {"ml__models": {"config": {"max_train_rows": 6000}}}}
OUTBOUND_CONSENT = {
    "email": "has_email_consent",
    "sms": "has_sms_consent",
    "phone": "has_phone_consent",
    "post": "has_post_consent",
    "social": "has_social_consent",
}


def mlflow_counts(store: MlflowStore) -> tuple[int, int]:
    """(training runs, registered model versions) in the store."""
    client = store.activate()
    experiment = client.get_experiment_by_name(store.experiment_name)
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    versions = client.search_model_versions(max_results=1000)
    return len(runs), len(versions)


def query(data_dir: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


@pytest.fixture(scope="module")
def ml_world(marts_world: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    data_dir = tmp_path_factory.mktemp("ml-world") / "data"
    shutil.copytree(marts_world, data_dir, symlinks=True)
    store = MlflowStore.under(data_dir)
    world: dict = {"data_dir": data_dir, "store": store}
    # a sample of the customers keeps the nine propensity fits of a training short in CI
    world["training"] = run_job(data_dir, "ml_training", run_config=TRAINING_CONFIG)
    world["after_training"] = mlflow_counts(store)
    world["scoring"] = run_job(data_dir, "ml_scoring")
    world["after_scoring"] = mlflow_counts(store)
    world["scoring_again"] = run_job(data_dir, "ml_scoring")
    return world


def test_training_registers_every_model_with_a_champion_and_its_metrics(ml_world):
    assert ml_world["training"].success
    store = ml_world["store"]
    client = store.activate()
    for name in [PURCHASE_MODEL, STORE_PURCHASE_MODEL, CHURN_MODEL, CLV_MODEL, SEGMENT_MODEL]:
        assert client.get_model_version_by_alias(name, CHAMPION).run_id, name
    # a line whose sampled holdout has no buyer is skipped (and says so); most lines have a model
    lines = [
        row[0] for row in query(ml_world["data_dir"], f"select distinct product_line from {ft.LINE_LABELS}")
    ]
    registered = {model.name for model in client.search_registered_models()}
    assert len([line for line in lines if crosssell_model(line) in registered]) >= len(lines) - 2 >= 3
    purchase = client.get_run(client.get_model_version_by_alias(PURCHASE_MODEL, CHAMPION).run_id)
    for metric in ("roc_auc", "pr_auc", "brier", "top_decile_lift", "expected_calibration_error"):
        assert metric in purchase.data.metrics, metric
    # better than chance out of time, on a later cutoff than anything it learned from
    assert purchase.data.metrics["roc_auc"] > 0.6
    assert purchase.data.params["holdout_cutoff"] > max(purchase.data.params["train_cutoffs"].split(","))
    plots = {artifact.path for artifact in client.list_artifacts(purchase.info.run_id, "plots")}
    assert {"plots/calibration.png", "plots/lift.png", "plots/feature_importance.png"} <= plots
    clv = client.get_run(client.get_model_version_by_alias(CLV_MODEL, CHAMPION).run_id)
    assert {"bgnbd.r", "bgnbd.alpha", "bgnbd.a", "bgnbd.b", "gamma_gamma.p"} <= set(clv.data.params)


def test_scoring_never_trains_and_uses_the_champions(ml_world):
    assert ml_world["scoring"].success
    assert ml_world["after_scoring"] == ml_world["after_training"], "scoring logged a run or a model version"
    client = ml_world["store"].activate()
    champion = client.get_model_version_by_alias(PURCHASE_MODEL, CHAMPION)
    rows = query(
        ml_world["data_dir"],
        "select distinct purchase_model, purchase_model_run_id from ml.customer_scores",
    )
    assert rows == [(f"{PURCHASE_MODEL}/{champion.version}", champion.run_id)]


def test_every_customer_is_scored_once_on_the_as_of_date(ml_world):
    data_dir = ml_world["data_dir"]
    (customers,) = query(data_dir, "select count(*) from identity.dim_customer")[0]
    (scored, keys, days, as_of) = query(
        data_dir,
        "select count(*), count(distinct customer_key), count(distinct score_date), max(score_date)"
        " from ml.customer_scores",
    )[0]
    assert scored == keys == customers
    assert days == 1
    assert as_of == query(data_dir, "select as_of_date from intermediate.int_as_of_date")[0][0]
    (bad,) = query(
        data_dir,
        "select count(*) from ml.customer_scores where purchase_propensity_30d not between 0 and 1"
        " or churn_risk_180d not between 0 and 1 or clv_12m < 0 or p_alive not between 0 and 1",
    )[0]
    assert bad == 0
    (unscored,) = query(
        data_dir, "select count(*) from ml.customer_scores where purchase_propensity_30d is null"
    )[0]
    assert unscored == 0
    # customers who cost more than they bring are found (the contribution CLV may be negative)
    (negative,) = query(data_dir, "select count(*) from ml.customer_scores where contribution_clv_12m < 0")[0]
    assert negative > 0


def test_the_probability_of_any_purchase_adds_the_store_receipts_without_a_card(ml_world):
    data_dir = ml_world["data_dir"]
    (capture, member, non_member) = query(
        data_dir,
        "select card_capture_rate, member_visibility, non_member_visibility from ml.int_ml__purchase_visibility"
        " where cutoff_date = (select as_of_date from intermediate.int_as_of_date)",
    )[0]
    # the world's members scan their card at most store visits; non-members buy in stores unseen
    assert 0.5 < capture < 1 and 0.5 < member < 1 and 0 < non_member < member
    (rows, uncertain, lower, higher, members, members_off, unseen, unseen_expected, store_models) = query(
        data_dir,
        "select count(*),"
        " count(*) filter (where s.purchase_propensity_30d > 0 and s.purchase_propensity_30d < 1),"
        " count(*) filter (where s.purchase_propensity_30d_incl_anonymous < s.purchase_propensity_30d),"
        " count(*) filter (where s.purchase_propensity_30d_incl_anonymous > s.purchase_propensity_30d),"
        " count(*) filter (where f.loyalty_tier_rank > 0),"
        # a member's unseen purchases follow their seen ones: P(any) = 1 - (1 - P(seen)) ** (1 / v)
        " count(*) filter (where f.loyalty_tier_rank > 0 and abs(s.purchase_propensity_30d_incl_anonymous"
        f"   - (1 - power(1 - s.purchase_propensity_30d, 1 / {member}))) > 1e-9),"
        # the others' unseen intensity, shared out by the store-purchase model, adds up to the class's
        " sum(ln(1 - s.purchase_propensity_30d) - ln(1 - s.purchase_propensity_30d_incl_anonymous))"
        "   filter (where f.loyalty_tier_rank = 0),"
        f" sum(-ln(1 - s.purchase_propensity_30d)) filter (where f.loyalty_tier_rank = 0) * (1 / {non_member} - 1),"
        " list(distinct s.store_purchase_model)"
        " from ml.customer_scores as s inner join ml.customer_features as f"
        " on s.customer_key = f.customer_key and s.score_date = f.cutoff_date",
    )[0]
    assert rows == query(data_dir, "select count(*) from ml.customer_scores")[0][0]
    # a calibrated probability is never a certainty (see _choose_calibration); every one of them rises
    assert uncertain == rows
    assert lower == 0 and higher == rows
    assert members > 0 and members_off == 0
    assert unseen == pytest.approx(unseen_expected, rel=1e-6) and unseen > 0
    champion = ml_world["store"].activate().get_model_version_by_alias(STORE_PURCHASE_MODEL, CHAMPION)
    assert store_models == [f"{STORE_PURCHASE_MODEL}/{champion.version}"]


def test_next_best_actions_only_use_channels_the_customer_consented_to(ml_world):
    data_dir = ml_world["data_dir"]
    actions = dict(query(data_dir, "select next_best_action, count(*) from ml.customer_scores group by 1"))
    assert {"cross_sell", "feedback_request"} & set(actions), actions
    for channel, consent in OUTBOUND_CONSENT.items():
        (violations,) = query(
            data_dir,
            f"select count(*) from ml.customer_scores as s join identity.dim_customer as c using (customer_key)"
            f" where s.action_channel = '{channel}' and not coalesce(c.{consent}, false)",
        )[0]
        assert violations == 0, channel


def test_customer_360_and_the_bi_serving_file_show_the_scores(ml_world):
    data_dir = ml_world["data_dir"]
    (missing,) = query(
        data_dir,
        "select count(*) from marts.customer_360 as c left join ml.customer_scores as s using (customer_key)"
        " where c.purchase_propensity_30d is distinct from s.purchase_propensity_30d"
        " or c.purchase_propensity_30d_incl_anonymous is distinct from s.purchase_propensity_30d_incl_anonymous",
    )[0]
    assert missing == 0
    with duckdb.connect(str(serving_database_path(data_dir / "serving", "bi")), read_only=True) as bi:
        (with_scores,) = bi.execute(
            "select count(*) from bi.customer_360 where purchase_propensity_30d is not null"
        ).fetchone()
    assert with_scores == query(data_dir, "select count(*) from marts.customer_360")[0][0]


def test_the_service_tier_ranks_customers_by_their_clv(ml_world):
    (customers, with_clv, differing) = query(
        ml_world["data_dir"],
        "select count(*), count(tiers.clv),"
        " count(*) filter (where abs(tiers.clv - scores.clv_12m) > 0.000001)"
        " from marts.customer_service_tier as tiers inner join ml.customer_scores as scores using (customer_key)",
    )[0]
    assert customers == with_clv > 0 and differing == 0
    tiers = dict(
        query(ml_world["data_dir"], "select clv_tier, max(clv) from marts.customer_service_tier group by 1")
    )
    assert tiers["platinum"] >= tiers["gold"] >= tiers["silver"] >= tiers["bronze"] > 0
    assert tiers.get("none", 0) == 0  # a customer worth nothing is in no value tier


def test_a_rerun_of_the_same_night_replaces_its_history_rows(ml_world):
    assert ml_world["scoring_again"].success
    data_dir = ml_world["data_dir"]
    (history, nights) = query(
        data_dir, "select count(*), count(distinct score_date) from ml.customer_scores_history"
    )[0]
    assert nights == 1
    assert history == query(data_dir, "select count(*) from ml.customer_scores")[0][0]


def test_the_evaluation_sets_the_scores_beside_the_baselines_and_the_truth(ml_world):
    from ml.evaluate import evaluate, report

    evaluation = evaluate(ml_world["data_dir"], ml_world["store"])
    assert evaluation.persons_scored >= 0.8 * evaluation.persons_in_truth
    # some store purchases carry no card: the warehouse sees a part of what the persons bought
    assert 0.3 < evaluation.visible_purchase_share < 1.0
    purchase = evaluation.purchase
    assert set(purchase.index) == {
        "model (champion)",
        "model, purchases reaching a key",
        "rfm_logistic_regression",
        "bgnbd_p_purchase",
        "oracle (truth)",
    }
    assert purchase.loc["oracle (truth)", "roc_auc"] > purchase.loc["model (champion)", "roc_auc"] > 0.6
    assert evaluation.spend.loc["clv model", "mae"] > 0
    text = report(evaluation)
    assert "Gap to the oracle AUC" in text and "reached one of their keys" in text


def test_the_evaluation_command_sets_worlds_side_by_side(ml_world, capsys):
    from ml.evaluate import main

    world = str(ml_world["data_dir"])
    assert main(["--data-dir", world, "--data-dir", world]) == 0  # without --check it only reports
    printed = capsys.readouterr().out
    side_by_side = printed[printed.index("Side by side:") :].splitlines()
    assert "(2)" in side_by_side[1] and "calibration error, any purchase" in printed
    assert main(["--data-dir", world, "--max-calibration-error", "0", "--check"]) == 1
    assert "NOT MET: calibration error" in capsys.readouterr().out
