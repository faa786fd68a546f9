"""score_cluster_pairs (Splink on cluster profiles) on a seeded, hand-built population of ~300 profiles.

The population mimics int_identity__cluster_profiles: one cluster per person, some clusters with a
second description of the same person (an old address, a typo, a missing birth date) that shares
the cluster's email, and households of two people at one address. Planted duplicates sit in clusters
of their own, as the deterministic step would leave them (no email or phone in common): a surname typo,
initials for the first name, a swapped day and month, a `van der` infix written differently.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import pytest
import yaml

from orchestration.identity.probabilistic import PAIR_COLUMNS, score_cluster_pairs
from orchestration.paths import DBT_PROJECT_DIR

SEED = 20260301
PEOPLE = 190

FIRST_NAMES = [
    "Jan", "Piet", "Kees", "Henk", "Willem", "Daan", "Sem", "Lucas", "Bram", "Thijs", "Ruben", "Joost",
    "Koen", "Niels", "Sander", "Bas", "Martijn", "Jeroen", "Wouter", "Gerrit", "Hendrik", "Cornelis",
    "Emma", "Sanne", "Lotte", "Anna", "Julia", "Sophie", "Fleur", "Iris", "Lisa", "Eva", "Femke",
    "Marieke", "Ingrid", "Annelies", "Petra", "Willemijn", "Maud", "Noor", "Tessa", "Floor", "Esther",
    "Mohamed", "Fatima", "Youssef", "Aisha", "Priya", "Wei",
]  # fmt: skip
# (infix, surname core); the infix is written as people write it on a form: `van der Berg`.
SURNAMES = [
    (None, "Jansen"), (None, "Bakker"), (None, "Visser"), (None, "Smit"), (None, "Meijer"),
    (None, "Mulder"), (None, "Bos"), (None, "Vos"), (None, "Peters"), (None, "Hendriks"),
    (None, "Dekker"), (None, "Brouwer"), (None, "Dijkstra"), (None, "Smits"), (None, "Kok"),
    (None, "Janssen"), (None, "Willems"), (None, "Timmermans"), (None, "Kuipers"), (None, "Verhoeven"),
    (None, "Hoekstra"), (None, "Postma"), (None, "Prins"), (None, "Huisman"), (None, "Kramer"),
    (None, "Schouten"), (None, "Maas"), (None, "Koster"), (None, "Vermeulen"), (None, "Jacobs"),
    ("de", "Vries"), ("de", "Jong"), ("de", "Boer"), ("de", "Groot"), ("de", "Wit"), ("de", "Graaf"),
    ("van", "Dijk"), ("van", "Leeuwen"), ("van", "Beek"), ("van", "Vliet"), ("van", "Wijk"),
    ("van den", "Berg"), ("van der", "Meer"), ("van der", "Linden"), ("van der", "Heijden"),
    ("van der", "Veen"), ("van der", "Wal"), ("van 't", "Hof"), ("ter", "Horst"), ("el", "Amrani"),
]  # fmt: skip
DOMAINS = ["gmail.com", "hotmail.com", "ziggo.nl", "kpn.nl", "outlook.com", "xs4all.nl"]

# A pair at or above this match probability becomes an edge (int_identity__probabilistic_edges).
ACCEPT = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]["identity"][
    "splink_match_probability_threshold"
]


def sound_key(surname: str) -> str:
    """The `dutch_sound_key` macro (dbt_project/macros/identity.sql) in Python, for blocking."""
    key = surname.lower()
    for pattern, replacement in [
        ("[^a-z]", ""), ("eij|ij|ei|ey|ie|ee|i", "y"), ("ch|gh", "g"), ("ck|c|q", "k"), ("ph", "f"),
        ("z", "s"), ("(dt|d)$", "t"), ("v", "f"), ("ou|au", "a"), ("oe|uu", "u"), ("aa", "a"), ("oo", "o"),
        *((letter + letter + "+", letter) for letter in "bdfgklmnprsty"), ("h", ""),
    ]:  # fmt: skip
        key = re.sub(pattern, replacement, key)
    return key


@dataclass(frozen=True)
class Description:
    """One person's description as a source record gives it (before the profile's derived columns)."""

    person: str
    first_name: str
    infix: str | None
    surname: str
    birth_date: dt.date | None
    postcode: str
    house_number: int
    house_number_suffix: str | None
    email: str | None
    phone: str | None

    def profile(self, cluster_id: str, number: int) -> dict:
        letters = re.sub("[^A-Za-z]", "", self.first_name)
        birth = self.birth_date
        return {
            "unique_id": f"{cluster_id}#{number}",
            "cluster_id": cluster_id,
            "first_name_letters": letters.lower(),
            "first_name_initial": letters[:1].upper(),
            "is_first_name_initials": len(letters) <= 1
            or re.fullmatch(r"([A-Za-z][.] ?)+", self.first_name) is not None,
            "surname": self.surname.lower(),
            "surname_infix": self.infix,
            "surname_sound_key": sound_key(self.surname),
            "birth_date": birth,
            "birth_date_key": None
            if birth is None
            else f"{birth.year}-{min(birth.month, birth.day)}-{max(birth.month, birth.day)}",
            "birth_year": None if birth is None else birth.year,
            "postcode": self.postcode,
            "postcode4": self.postcode[:4],
            "house_number": self.house_number,
            "house_number_suffix": self.house_number_suffix,
            "email": self.email,
            "phone": self.phone,
        }


def random_postcode(rng: random.Random) -> str:
    letters = "ABCDEGHJKLMNPRSTVWXZ"
    return f"{rng.randint(1011, 9999)} {rng.choice(letters)}{rng.choice(letters)}"


def random_person(rng: random.Random, number: int) -> Description:
    first_name = rng.choice(FIRST_NAMES)
    infix, surname = rng.choice(SURNAMES)
    birth_date = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randint(0, 65 * 365))
    glued_infix = (infix or "").replace(" ", "").replace("'", "")
    local = f"{first_name}.{glued_infix}{surname}".lower()
    return Description(
        person=f"p{number}",
        first_name=first_name,
        infix=infix,
        surname=surname,
        birth_date=birth_date if rng.random() < 0.9 else None,
        postcode=random_postcode(rng),
        house_number=rng.randint(1, 250),
        house_number_suffix=rng.choice([None] * 8 + ["A", "B"]),
        email=f"{local}{number}@{rng.choice(DOMAINS)}" if rng.random() < 0.8 else None,
        phone=f"+316{rng.randint(10_000_000, 99_999_999)}" if rng.random() < 0.7 else None,
    )


def typo(rng: random.Random, word: str) -> str:
    """Two neighbouring letters swapped, away from the first letter."""
    at = rng.randint(1, len(word) - 2)
    return word[:at] + word[at + 1] + word[at] + word[at + 2 :]


def swapped(birth_date: dt.date) -> dt.date:
    return birth_date.replace(month=birth_date.day, day=birth_date.month)


def variant(rng: random.Random, person: Description) -> Description:
    """The same person as another system describes them: what the deterministic step already joined."""
    birth = person.birth_date
    match rng.choice(
        ["moved", "no_birth_date", "first_name_typo", "surname_typo", "initials", "swapped", "suffix"]
    ):
        case "moved":
            return replace(
                person, postcode=random_postcode(rng), house_number=rng.randint(1, 250), phone=None
            )
        case "no_birth_date":
            return replace(person, birth_date=None, phone=None)
        case "first_name_typo":
            return replace(person, first_name=typo(rng, person.first_name))
        case "surname_typo" if len(person.surname) > 4:
            return replace(person, surname=typo(rng, person.surname))
        case "initials":
            return replace(person, first_name=person.first_name[0] + ".")
        case "swapped" if birth and birth.day <= 12 and birth.day != birth.month:
            return replace(person, birth_date=swapped(birth))
        case _:
            return replace(person, house_number_suffix="A" if person.house_number_suffix is None else None)


@dataclass(frozen=True)
class Population:
    profiles: pd.DataFrame
    # cluster of a planted duplicate -> (what was changed, cluster of the original)
    planted: dict[str, tuple[str, str]]
    person_of_cluster: dict[str, str]


def build_population(seed: int = SEED) -> Population:
    rng = random.Random(seed)
    clusters: dict[str, list[Description]] = {}
    for number in range(PEOPLE):
        person = random_person(rng, number)
        descriptions = [person]
        if rng.random() < 0.35:  # a second description in the same cluster, joined by the email
            descriptions.append(variant(rng, person))
        clusters[f"crm_customer_id:C{number:04d}"] = descriptions
    # households: a second person at someone's address, same surname, own name, birth date and contacts
    for number, original in enumerate(rng.sample(sorted(clusters), 30)):
        head = clusters[original][0]
        partner = replace(
            random_person(rng, PEOPLE + number),
            infix=head.infix,
            surname=head.surname,
            postcode=head.postcode,
            house_number=head.house_number,
            house_number_suffix=head.house_number_suffix,
        )
        clusters[f"crm_customer_id:H{number:04d}"] = [partner]

    # planted duplicates: a person again, in a cluster of its own, as a second webshop account would
    # have them: another email address and no phone (shared contacts would have joined them already)
    planted: dict[str, tuple[str, str]] = {}
    eligible = [
        c for c in sorted(clusters) if c.startswith("crm_customer_id:C") and clusters[c][0].birth_date
    ]
    unused = rng.sample(eligible, len(eligible))

    def plant(change: str, make: Callable[[Description], Description | None]) -> None:
        for original in unused:
            duplicate = make(clusters[original][0])
            if duplicate is not None:
                unused.remove(original)
                cluster_id = f"webshop_account_id:W{len(planted):04d}"
                email = f"{duplicate.first_name[0].lower()}{rng.randint(100, 999)}@{rng.choice(DOMAINS)}"
                clusters[cluster_id] = [replace(duplicate, email=email, phone=None)]
                planted[cluster_id] = (change, original)
                return
        raise AssertionError(f"no person to plant {change!r} on")

    for _ in range(3):
        plant(
            "surname typo", lambda p: replace(p, surname=typo(rng, p.surname)) if len(p.surname) > 4 else None
        )
        plant("initials", lambda p: replace(p, first_name=p.first_name[0] + "."))
        plant("two initials", lambda p: replace(p, first_name=f"{p.first_name[0]}.{rng.choice('JMAPHCWE')}."))
        plant(
            "day and month swapped",
            lambda p: (
                replace(p, birth_date=swapped(p.birth_date))
                if p.birth_date.day <= 12 and p.birth_date.day != p.birth_date.month
                else None
            ),
        )
        plant("infix v.d.", lambda p: replace(p, infix="v.d.") if p.infix in ("van der", "van den") else None)
        plant("infix left out", lambda p: replace(p, infix=None) if p.infix else None)

    rows = [
        description.profile(cluster_id, number)
        for cluster_id, descriptions in clusters.items()
        for number, description in enumerate(descriptions, start=1)
    ]
    person_of_cluster = {cluster_id: descriptions[0].person for cluster_id, descriptions in clusters.items()}
    return Population(pd.DataFrame(rows), planted, person_of_cluster)


@pytest.fixture(scope="module")
def population() -> Population:
    return build_population()


@pytest.fixture(scope="module")
def scored(population: Population, tmp_path_factory: pytest.TempPathFactory):
    model_path = tmp_path_factory.mktemp("splink") / "splink_model.json"
    return score_cluster_pairs(population.profiles, model_path=model_path, max_pairs_for_u=1e5)


def best_by_cluster_pair(pairs: pd.DataFrame) -> dict[frozenset[str], float]:
    best: dict[frozenset[str], float] = {}
    for left, right, probability in pairs[["cluster_id_l", "cluster_id_r", "match_probability"]].itertuples(
        index=False
    ):
        key = frozenset((left, right))
        best[key] = max(best.get(key, 0.0), probability)
    return best


def test_population_is_realistic(population: Population):
    profiles = population.profiles
    assert 290 <= len(profiles) <= 340
    assert profiles["unique_id"].is_unique
    assert len(population.planted) == 18

    # planted duplicates share no email or phone with their original (else the deterministic step joins them)
    def contacts(cluster_id: str) -> set[str]:
        values = profiles.loc[profiles["cluster_id"] == cluster_id, ["email", "phone"]].to_numpy().ravel()
        return {value for value in values if isinstance(value, str)}

    for duplicate, (_, original) in population.planted.items():
        assert not contacts(duplicate) & contacts(original)
    households = profiles.groupby(["postcode", "house_number"])["cluster_id"].nunique()
    assert (households >= 2).sum() >= 30  # people who share an address with someone else
    assert {"van der", "v.d.", "de"} <= set(profiles["surname_infix"].dropna())


def test_pairs_have_the_columns_dbt_stores(scored):
    assert list(scored.pairs.columns) == PAIR_COLUMNS
    assert (scored.pairs["cluster_id_l"] != scored.pairs["cluster_id_r"]).all()
    assert scored.pairs["match_probability"].between(0.5, 1.0).all()


def test_planted_duplicates_reach_the_acceptance_threshold(population: Population, scored):
    best = best_by_cluster_pair(scored.pairs)
    missed = {
        f"{change}: {duplicate} ~ {original}": round(best.get(frozenset((duplicate, original)), 0.0), 4)
        for duplicate, (change, original) in population.planted.items()
        if best.get(frozenset((duplicate, original)), 0.0) < ACCEPT
    }
    assert not missed, f"planted duplicates below {ACCEPT}: {missed}"


def test_unrelated_people_stay_below_the_acceptance_threshold(population: Population, scored):
    best = best_by_cluster_pair(scored.pairs)
    person = population.person_of_cluster
    false_matches = {
        tuple(sorted(pair)): round(probability, 4)
        for pair, probability in best.items()
        if probability >= ACCEPT and len({person[cluster_id] for cluster_id in pair}) == 2
    }
    assert not false_matches, f"different people at or above {ACCEPT}: {false_matches}"
    # and a few hundred random pairs of different people are not even scored as likely
    rng = random.Random(SEED)
    clusters = sorted(person)
    for _ in range(300):
        left, right = rng.sample(clusters, 2)
        if person[left] != person[right]:
            assert best.get(frozenset((left, right)), 0.0) < ACCEPT


def test_model_json_is_written(scored):
    assert scored.model_path is not None and scored.model_path.exists()
    model = json.loads(Path(scored.model_path).read_text())
    assert 0 < model["probability_two_random_records_match"] < 0.01
    names = [comparison["output_column_name"] for comparison in model["comparisons"]]
    assert names == ["first_name", "surname", "birth_date", "address", "email", "phone"]
    assert model == scored.parameters


def test_too_few_profiles_give_no_pairs(population: Population, tmp_path: Path):
    run = score_cluster_pairs(population.profiles.head(10), model_path=tmp_path / "model.json")
    assert run.pairs.empty and list(run.pairs.columns) == PAIR_COLUMNS
    assert run.model_path is None and not (tmp_path / "model.json").exists()
