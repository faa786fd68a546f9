"""Splink's scored pairs of cluster profiles from different deterministic clusters.

The logic lives in `orchestration.identity.probabilistic`; this model feeds it the profiles and
stores what it returns. The trained model is written to `splink_model_path` (JSON, Splink's format).
"""

from pathlib import Path


def model(dbt, session):
    from orchestration.identity.probabilistic import score_cluster_pairs

    profiles = dbt.ref("int_identity__cluster_profiles").df()
    model_path = Path(dbt.config.get("splink_model_path"))
    model_path.parent.mkdir(parents=True, exist_ok=True)
    run = score_cluster_pairs(
        profiles,
        min_match_probability=float(dbt.config.get("splink_min_match_probability_kept")),
        model_path=model_path,
    )
    return run.pairs
