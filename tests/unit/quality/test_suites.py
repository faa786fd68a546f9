"""The suite files under `expectations/suites/raw|loads`: one pair per contract table, fitting their frames."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from orchestration.ingest.contract import TableContract, load_contract
from orchestration.quality import raw_suites
from orchestration.quality.gx_context import SEVERITIES, canonical_suite_json, quality_context, suite_names
from orchestration.quality.loads import FRAME_COLUMNS
from orchestration.quality.raw_batch import frame_columns
from orchestration.quality.raw_suites import suite_path

CONTRACTS = list(load_contract().values())
TEXT_FORMATS = ("email", "code")
# pandas row conditions name columns as `name.notnull()`, `name == 'x'`: words outside quotes
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_WORD = re.compile(r"(?<![.\w])([A-Za-z_]\w*)\b(?!\s*\()")
_CONDITION_WORDS = {"and", "or", "not", "in", "True", "False", "None"}


def table_id(contract: TableContract) -> str:
    return contract.raw_table


def suite_document(name: str) -> dict[str, Any]:
    return json.loads(suite_path(name).read_text(encoding="utf-8"))


def suite_pairs() -> list[tuple[str, list[str]]]:
    """(suite name, the columns of the frame it validates) for every contract table's two suites."""
    pairs = []
    for contract in CONTRACTS:
        pairs.append((f"raw.{contract.raw_table}", frame_columns(contract)))
        pairs.append((f"loads.{contract.raw_table}", FRAME_COLUMNS))
    return pairs


SUITES = suite_pairs()


def named_columns(expectation: dict[str, Any]) -> set[str]:
    """Every column an expectation reads: its column arguments and those in its row condition."""
    kwargs = expectation["kwargs"]
    names = {kwargs[key] for key in ("column", "column_A", "column_B") if key in kwargs}
    names |= set(kwargs.get("column_list", []))
    condition = kwargs.get("row_condition")
    if isinstance(condition, dict):
        condition = condition.get("pass_through_filter")
    if condition:
        names |= set(_WORD.findall(_QUOTED.sub("", condition))) - _CONDITION_WORDS
    return names


@pytest.mark.parametrize("contract", CONTRACTS, ids=table_id)
def test_every_contract_table_has_a_row_suite_and_a_loads_suite(contract):
    for name in (f"raw.{contract.raw_table}", f"loads.{contract.raw_table}"):
        assert suite_path(name).is_file(), f"{contract.system}.{contract.name}: no suite {suite_path(name)}"
        assert suite_document(name)["name"] == name


def test_no_raw_or_loads_suite_without_a_contract_table():
    expected = sorted(name for name, _ in SUITES)

    assert sorted(suite_names("raw.") + suite_names("loads.")) == expected


@pytest.mark.parametrize(("suite", "columns"), SUITES, ids=[name for name, _ in SUITES])
def test_every_column_an_expectation_names_is_in_the_frame(suite, columns):
    unknown = [
        f"{suite_path(suite)}: expectation {number} ({expectation['meta'].get('rule')}) reads column {name!r}"
        for number, expectation in enumerate(suite_document(suite)["expectations"])
        for name in sorted(named_columns(expectation) - set(columns))
    ]
    assert unknown == []


@pytest.mark.parametrize(("suite", "columns"), SUITES, ids=[name for name, _ in SUITES])
def test_every_expectation_has_a_severity_a_unique_rule_and_a_description(suite, columns):
    """GX's own `severity` and `description` fields, and `meta.rule`."""
    problems = []
    rules: list[str] = []
    for number, expectation in enumerate(suite_document(suite)["expectations"]):
        meta = expectation.get("meta") or {}
        where = f"{suite_path(suite)}: expectation {number} ({expectation['type']})"
        if expectation.get("severity") not in SEVERITIES:
            problems.append(f"{where}: severity {expectation.get('severity')!r} not in {SEVERITIES}")
        if not str(expectation.get("description") or "").strip():
            problems.append(f"{where}: no description")
        if not str(meta.get("rule") or "").strip():
            problems.append(f"{where}: no meta.rule")
        rules.append(meta.get("rule"))
    repeated = sorted({rule for rule in rules if rules.count(rule) > 1})
    assert problems == [] and repeated == [], (problems, f"{suite_path(suite)}: rules repeated {repeated}")


@pytest.mark.parametrize("contract", CONTRACTS, ids=table_id)
def test_row_suite_text_formats_name_contract_columns(contract):
    settings = suite_document(f"raw.{contract.raw_table}")["meta"]["klantbeeld"]

    assert set(settings["text_formats"]) <= set(contract.column_names)
    assert set(settings["text_formats"].values()) <= set(TEXT_FORMATS)
    assert settings["future_tolerance_hours"] > 0


@pytest.mark.parametrize("contract", CONTRACTS, ids=table_id)
def test_loads_suite_has_the_settings_loads_reads(contract):
    settings = suite_document(f"loads.{contract.raw_table}")["meta"]["klantbeeld"]

    share = settings["volume_min_share"]  # null: a bursty source whose volume is not judged
    assert (share is None) == (contract.raw_table in raw_suites.BURSTY_TABLES)
    assert (share is None or 0 < share < 1) and 0 < settings["max_quarantined_share"] < 1
    for name in ("volume_history_deliveries", "volume_min_history", "quarantined_share_min_rows"):
        assert isinstance(settings[name], int) and settings[name] > 0, name
    has_freshness = any(
        e["meta"]["rule"] == "stale" for e in suite_document(f"loads.{contract.raw_table}")["expectations"]
    )
    # a stale rule without freshness_hours would never be judged (no stale_before)
    assert has_freshness == (settings["freshness_hours"] is not None)


def test_every_suite_loads_through_the_quality_context(quality_data_dir):
    context = quality_context(quality_data_dir)

    for name, _ in SUITES:
        suite = context.suites.get(name)
        expected = [expectation["type"] for expectation in suite_document(name)["expectations"]]
        assert [expectation.expectation_type for expectation in suite.expectations] == expected, name


# ------------------------------------------------------------------------------------- the generator


def test_write_suites_drafts_every_missing_suite_and_keeps_existing_ones(monkeypatch, tmp_path):
    monkeypatch.setattr(raw_suites, "SUITES_DIR", tmp_path)
    expected = sorted(tmp_path.joinpath(*name.split(".")).with_suffix(".json") for name, _ in SUITES)

    assert sorted(raw_suites.write_suites()) == expected

    edited = tmp_path / "raw" / "pos__receipts.json"
    drafted = edited.read_text(encoding="utf-8")
    edited.write_text('{"name": "raw.pos__receipts", "expectations": []}\n', encoding="utf-8")
    (tmp_path / "loads" / "pos__stores.json").unlink()

    assert raw_suites.write_suites() == [tmp_path / "loads" / "pos__stores.json"]
    assert json.loads(edited.read_text(encoding="utf-8"))["expectations"] == []

    assert sorted(raw_suites.write_suites(overwrite=True)) == expected
    assert edited.read_text(encoding="utf-8") == drafted


def test_drafted_suites_fit_their_frames(monkeypatch, tmp_path):
    monkeypatch.setattr(raw_suites, "SUITES_DIR", tmp_path)
    raw_suites.write_suites()

    for name, columns in SUITES:
        document = json.loads(raw_suites.suite_path(name).read_text(encoding="utf-8"))
        for expectation in document["expectations"]:
            assert named_columns(expectation) <= set(columns), (name, expectation)


@pytest.mark.parametrize(("suite", "columns"), SUITES, ids=[name for name, _ in SUITES])
def test_every_suite_file_is_in_the_form_gx_saves(suite, columns):
    """GX re-saves the suites it runs: a file in its canonical form stays byte-identical (a run never
    leaves the repository modified)."""
    text = suite_path(suite).read_text(encoding="utf-8")
    assert canonical_suite_json(json.loads(text)) == text
