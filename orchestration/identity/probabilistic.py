"""Probabilistic matching of deterministic clusters with Splink.

The dbt model `int_identity__splink_pairs` hands over `int_identity__cluster_profiles` (one row per
distinct description of a person inside a deterministic cluster) and gets back the scored pairs of
profiles from *different* clusters. Splink is trained unsupervised on the profiles themselves:
u-probabilities by random sampling, the prior from a strict deterministic rule, m-probabilities by
expectation maximisation on two blocking rules that each leave the other fields free. The trained
model is written as JSON (Splink's own format) next to the warehouse.

Comparisons know Dutch names and addresses: surnames are compared without their tussenvoegsels
(`van der Berg` ~ `Berg`) and by a Dutch sound-alike key, a first name given as initials (`E.H.`)
matches a full name with that initial, a birth date with day and month swapped is its own level, and
an address is compared on postcode + house number + suffix, then postcode + number, then PC4.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

logger = logging.getLogger(__name__)

PAIR_COLUMNS = [
    "unique_id_l",
    "unique_id_r",
    "cluster_id_l",
    "cluster_id_r",
    "match_probability",
    "match_weight",
]

# Pairs from the same deterministic cluster are already joined: never compare them.
_OTHER_CLUSTER = "l.cluster_id <> r.cluster_id"

BLOCKING_RULES_FOR_PREDICTION = [
    "l.postcode = r.postcode and l.house_number = r.house_number",
    "l.surname_sound_key = r.surname_sound_key and l.birth_year = r.birth_year",
    "l.first_name_initial = r.first_name_initial and l.birth_date_key = r.birth_date_key",
    "l.surname_sound_key = r.surname_sound_key and l.first_name_initial = r.first_name_initial"
    " and l.postcode4 = r.postcode4",
    "l.email = r.email",
    "l.phone = r.phone",
]

# EM sessions: each fixes some fields by blocking and learns the m-probabilities of the others.
# No session blocks on the address alone: the pairs at one address are as often two members of a
# household as one person twice, and EM would learn that first names and birth dates may differ.
BLOCKING_RULES_FOR_TRAINING = [
    "l.surname_sound_key = r.surname_sound_key and l.birth_date_key = r.birth_date_key",
    "l.email = r.email",
    "l.phone = r.phone",
]

# Pairs this alike are taken as matches when estimating the prior probability of a match.
DETERMINISTIC_RULES_FOR_PRIOR = [
    "l.first_name_letters = r.first_name_letters and l.surname = r.surname and l.birth_date = r.birth_date",
    "l.surname = r.surname and l.postcode = r.postcode and l.house_number = r.house_number"
    " and l.first_name_letters = r.first_name_letters",
]


@dataclass(frozen=True)
class SplinkRun:
    """What one scoring run did: the pairs and the figures worth logging."""

    pairs: pd.DataFrame
    profiles: int
    seconds: float
    model_path: Path | None
    parameters: dict = field(default_factory=dict)


def _comparisons() -> list:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    first_name = cl.CustomComparison(
        output_column_name="first_name",
        comparison_levels=[
            cll.NullLevel("first_name_letters"),
            cll.ExactMatchLevel("first_name_letters"),
            cll.CustomLevel(
                "(is_first_name_initials_l or is_first_name_initials_r)"
                " and first_name_initial_l = first_name_initial_r",
                label_for_charts="initials agree",
            ),
            cll.JaroWinklerLevel("first_name_letters", 0.92),
            # one typing slip in a short name (`Sem`/`Sme`, `Lars`/`ars`) scores low on Jaro-Winkler
            cll.DamerauLevenshteinLevel("first_name_letters", 1),
            cll.JaroWinklerLevel("first_name_letters", 0.8),
            cll.ElseLevel(),
        ],
    )
    surname = cl.CustomComparison(
        output_column_name="surname",
        comparison_levels=[
            cll.NullLevel("surname"),
            cll.ExactMatchLevel("surname"),
            cll.ExactMatchLevel("surname_sound_key"),
            cll.JaroWinklerLevel("surname", 0.92),
            cll.JaroWinklerLevel("surname", 0.8),
            cll.ElseLevel(),
        ],
    )
    birth_date = cl.CustomComparison(
        output_column_name="birth_date",
        comparison_levels=[
            cll.NullLevel("birth_date"),
            cll.ExactMatchLevel("birth_date"),
            cll.CustomLevel("birth_date_key_l = birth_date_key_r", label_for_charts="day and month swapped"),
            cll.CustomLevel(
                "birth_year_l = birth_year_r",
                label_for_charts="same year",
            ),
            # The training sessions never see one person with two birth dates (the identifier guards
            # already split such pairs), so EM cannot learn this m: about 2 % of a person's records
            # carry a mistyped birth date.
            cll.ElseLevel().configure(m_probability=0.02, fix_m_probability=True),
        ],
    )
    address = cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            cll.CustomLevel("postcode_l is null or postcode_r is null", label_for_charts="null").configure(
                is_null_level=True
            ),
            cll.CustomLevel(
                "postcode_l = postcode_r and house_number_l = house_number_r"
                " and coalesce(house_number_suffix_l, '') = coalesce(house_number_suffix_r, '')",
                label_for_charts="same address",
            ),
            cll.ExactMatchLevel("postcode"),
            cll.ExactMatchLevel("postcode4"),
            cll.ElseLevel(),
        ],
    )
    email = cl.CustomComparison(
        output_column_name="email",
        comparison_levels=[
            cll.NullLevel("email"),
            cll.ExactMatchLevel("email"),
            cll.CustomLevel(
                "split_part(email_l, '@', 1) = split_part(email_r, '@', 1)",
                label_for_charts="same local part",
            ),
            cll.JaroWinklerLevel("email", 0.9),
            cll.ElseLevel(),
        ],
    )
    phone = cl.ExactMatch("phone")
    return [first_name, surname, birth_date, address, email, phone]


def settings():
    """The Splink model definition (comparisons and blocking); parameters are learnt per run."""
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=_comparisons(),
        blocking_rules_to_generate_predictions=[
            f"{rule} and {_OTHER_CLUSTER}" for rule in BLOCKING_RULES_FOR_PREDICTION
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
        additional_columns_to_retain=["cluster_id"],
    )


def score_cluster_pairs(
    profiles: pd.DataFrame,
    *,
    min_match_probability: float = 0.5,
    model_path: Path | None = None,
    max_pairs_for_u: float = 2e6,
    seed: int = 42,
) -> SplinkRun:
    """Train Splink on `profiles` (columns of int_identity__cluster_profiles) and score the pairs of
    profiles from different clusters that any prediction blocking rule brings together.

    Returns pairs with probability >= `min_match_probability` (the acceptance threshold is applied
    later, in dbt, so scores below it stay visible). Too few profiles to learn from gives no pairs.
    """
    started = time.perf_counter()
    empty = pd.DataFrame({column: pd.Series(dtype="str") for column in PAIR_COLUMNS[:4]}).assign(
        match_probability=pd.Series(dtype="float64"), match_weight=pd.Series(dtype="float64")
    )
    if len(profiles) < 50:
        logger.info("Splink skipped: %d profiles are too few to learn from", len(profiles))
        return SplinkRun(empty, len(profiles), time.perf_counter() - started, None)

    from splink import DuckDBAPI, Linker

    con = duckdb.connect()
    try:
        con.register("profiles_frame", profiles)
        con.execute("create table profiles as select * from profiles_frame")
        con.unregister("profiles_frame")
        db_api = DuckDBAPI(connection=con)
        linker = Linker(
            db_api.register("profiles", dataset_display_name="cluster_profiles"),
            settings(),
            log_level=logging.WARNING,
        )

        linker.training.estimate_probability_two_random_records_match(
            DETERMINISTIC_RULES_FOR_PRIOR, recall=0.7
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs_for_u, seed=seed)
        for rule in BLOCKING_RULES_FOR_TRAINING:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True
            )

        predictions = linker.inference.predict(threshold_match_probability=min_match_probability)
        pairs = con.execute(
            f"""
            select unique_id_l, unique_id_r, cluster_id_l, cluster_id_r, match_probability, match_weight
            from {predictions.physical_name}
            """
        ).df()

        parameters = linker.misc.save_model_to_json(str(model_path) if model_path else None, overwrite=True)
    finally:
        con.close()

    if model_path:
        logger.info("Splink model written to %s", model_path)
    return SplinkRun(
        pairs=pairs if len(pairs) else empty,
        profiles=len(profiles),
        seconds=time.perf_counter() - started,
        model_path=model_path,
        parameters=parameters,
    )


def describe_model(parameters: dict) -> str:
    """One line per comparison level: label and match weight, for logs and docs."""
    lines = [f"prior: {parameters.get('probability_two_random_records_match')}"]
    for comparison in parameters.get("comparisons", []):
        for level in comparison.get("comparison_levels", []):
            m, u = level.get("m_probability"), level.get("u_probability")
            lines.append(
                f"{comparison.get('output_column_name')}: {level.get('label_for_charts')} m={m} u={u}"
            )
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - manual inspection of a saved model
    import sys

    print(describe_model(json.loads(Path(sys.argv[1]).read_text())))
