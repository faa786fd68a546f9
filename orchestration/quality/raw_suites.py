"""First drafts of the suites of every landing-contract table: `raw.<table>` and `loads.<table>`.

The JSON files under `expectations/suites/` are what runs and what a data engineer edits; this module
only writes the first version of a missing suite from the landing contract and the vocabulary below
(`python -m orchestration.quality.raw_suites [--overwrite]`).

- `raw.<system>__<table>` validates the rows of a load (the frame of `raw_batch.py`). Critical
  expectations quarantine the rows that fail them; warnings are counted and the rows flow on.
- `loads.<system>__<table>` validates the load itself, one row per delivered file (or database read):
  volume against the recent deliveries, freshness of the newest event, new or absent columns, and
  the share of rows quarantined.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from orchestration.ingest.contract import TableContract, load_contract
from orchestration.paths import EXPECTATIONS_DIR
from orchestration.quality.gx_context import canonical_suite_json

SUITES_DIR = EXPECTATIONS_DIR / "suites"

EMAIL_PATTERN = r"^[a-z0-9._%+-]+@[a-z0-9-]+(?:[.][a-z0-9-]+)*[.][a-z]{2,}$"  # as staging's is_valid_email
POSTCODE_PATTERN = r"^[1-9][0-9]{3} ?[A-Za-z]{2}$"
POSTCODE4_PATTERN = r"^[1-9][0-9]{3}$"
# As typed by people: +31 6 1234 5678, 06-12345678, 0031 20 123 4567, (020) 1234567.
PHONE_PATTERN = r"^(?:\+|00)?[0-9 ()./-]{8,20}$"

EMAIL_COLUMNS = {"email", "guest_email"}
POSTCODE_COLUMNS = {"postcode", "shipping_postcode"}
PHONE_COLUMNS = {"phone"}
MONEY_WORDS = ("amount", "price", "cost")

# Columns that must hold a value beyond the primary key: a row without them cannot be used.
NOT_NULL: dict[str, tuple[str, ...]] = {
    "crm__customers": ("created_at",),
    "webshop__accounts": ("created_at",),
    "webshop__products": ("product_line",),
    "webshop__orders": ("ordered_at", "status", "total_amount"),
    "webshop__order_lines": ("order_id", "product_id", "quantity", "line_amount"),
    "pos__receipts": ("store_id", "receipt_ts", "total_amount"),
    "pos__receipt_lines": ("product_id", "quantity", "line_amount"),
    "loyalty__members": ("enrolled_at",),
    "loyalty__cards": ("status", "issued_at"),
    "loyalty__points_ledger": ("member_id", "entry_ts", "points", "reason"),
    "loyalty__coupons": ("issued_at",),
    "web__events": ("event_ts", "cookie_id", "session_id", "event_type"),
    "email__subscriptions": ("email", "status", "changed_at"),
    "email__sends": ("email", "sent_at"),
    "email__events": ("send_id", "event_type", "event_ts"),
    "service__contacts": ("contact_ts", "channel"),
    "campaigns__campaigns": ("campaign_type", "channel", "start_date"),
    "campaigns__exposures": ("campaign_id", "exposed_at", "recipient_type", "recipient_id", "is_control"),
    "campaigns__responses": (
        "campaign_id",
        "responded_at",
        "recipient_type",
        "recipient_id",
        "response_type",
    ),
    "social__interactions": ("platform", "handle", "interaction_ts", "interaction_type"),
}

# Vocabularies the pipeline's rules depend on (engagement points, revenue, identity, campaigns).
# A value outside them is a warning: the row flows on, the new value is reported.
VALUE_SETS: dict[str, dict[str, list[str]]] = {
    "crm__customers": {"gender": ["m", "f", "x"]},
    "webshop__orders": {"status": ["paid", "shipped", "delivered", "cancelled", "returned"]},
    "loyalty__members": {"tier": ["basic", "silver", "gold"]},
    "loyalty__cards": {"status": ["active", "lost", "replaced", "store_default"]},
    "loyalty__points_ledger": {"reason": ["purchase", "promotion", "redemption", "correction"]},
    "loyalty__coupons": {"issued_channel": ["online", "offline"], "redeemed_channel": ["online", "offline"]},
    "web__events": {
        "event_type": [
            "page_view",
            "product_view",
            "search",
            "add_to_cart",
            "newsletter_signup",
            "webinar_registration",
            "whitepaper_download",
            "expert_chat",
            "appointment_booked",
        ],
        "device_type": ["desktop", "mobile", "tablet"],
    },
    "email__subscriptions": {"status": ["subscribed", "unsubscribed"]},
    "email__events": {"event_type": ["open", "click", "bounce", "unsubscribe"]},
    "service__contacts": {"channel": ["phone", "chat", "email", "store", "social"]},
    "campaigns__campaigns": {
        "campaign_type": ["ad", "offer", "cross_sell", "up_sell", "loyalty_promotion", "service_follow_up"],
        "channel": ["email", "web", "social", "store", "sms", "post"],
    },
    "campaigns__exposures": {
        "channel": ["email", "web", "social", "store", "sms", "post"],
        "recipient_type": ["email", "cookie_id", "card_number", "phone"],
    },
    "campaigns__responses": {
        "recipient_type": ["email", "cookie_id", "card_number", "phone"],
        "response_type": ["click", "purchase", "coupon_redeemed"],
    },
    "social__interactions": {"sentiment": ["positive", "neutral", "negative"]},
    "thirdparty__calendar": {"event_type": ["public_holiday", "school_holiday", "shopping_day", "event"]},
}

# Integer ranges with a meaning (warnings: an odd value is reported, the row flows on).
INTEGER_RANGES: dict[str, dict[str, tuple[int | None, int | None]]] = {
    "service__contacts": {"satisfaction": (1, 5)},
    "webshop__order_lines": {"quantity": (1, None)},
    "pos__receipt_lines": {"quantity": (1, None), "line_number": (1, None)},
}

# Tables that arrive as snapshots now and then (no daily volume or freshness to expect).
# Tables whose daily volume follows campaigns, not customers (no volume check).
BURSTY_TABLES = {"campaigns__exposures", "campaigns__responses"}
SNAPSHOT_TABLES = {"pos__stores", "campaigns__campaigns", "thirdparty__demographics", "thirdparty__calendar"}
FRESHNESS_HOURS = 48
# Sources that are quiet for days by nature: a fortnightly newsletter, campaigns twice a month, and
# tables that change only when people sign up, enrol or call.
FRESHNESS_HOURS_BY_TABLE = {
    "email__sends": 16 * 24,
    "email__events": 16 * 24,
    "email__subscriptions": 7 * 24,
    "campaigns__exposures": 35 * 24,
    "campaigns__responses": 35 * 24,
    "loyalty__coupons": 35 * 24,
    "loyalty__points_ledger": 7 * 24,
    "loyalty__members": 7 * 24,
    "loyalty__cards": 7 * 24,
    "crm__customers": 7 * 24,
    "webshop__accounts": 7 * 24,
    "service__contacts": 7 * 24,
    "social__interactions": 7 * 24,
}
# Nightly runs are 24 h apart: a daily drop missing tonight leaves the last one about 24 h old.
MAX_HOURS_BETWEEN_DROPS = 20
FUTURE_TOLERANCE_HOURS = 24


def _expectation(kind: str, rule: str, severity: str, description: str, **kwargs: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "kwargs": kwargs,
        "meta": {"rule": rule},
        "severity": severity,
        "description": description,
    }


def _is_money(column_name: str) -> bool:
    return any(word in column_name for word in MONEY_WORDS)


def row_suite(contract: TableContract) -> dict[str, Any]:
    """The `raw.<table>` suite: what each row of a load must satisfy."""
    table = contract.raw_table
    text_formats: dict[str, str] = {}
    expectations: list[dict[str, Any]] = []
    for name in contract.primary_key:
        expectations.append(
            _expectation(
                "expect_column_values_to_not_be_null",
                f"{name}_missing",
                "critical",
                f"Every row has its key {name}.",
                column=name,
            )
        )
    key = ", ".join(contract.primary_key)
    expectations.append(
        _expectation(
            "expect_column_values_to_be_null",
            "duplicate_key",
            "critical",
            f"The key ({key}) appears once per delivered file; repeats are quarantined, the first row flows.",
            column="_duplicate_of",
        )
    )
    types = {column.name: column.type for column in contract.columns}
    for name in NOT_NULL.get(table, ()):
        if name in contract.primary_key:
            continue
        expectations.append(
            _expectation(
                "expect_column_values_to_not_be_null",
                f"{name}_missing",
                "critical",
                f"{name} is filled in: a row without it cannot be used.",
                # typed columns: the text must be there (unreadable text is its own rule)
                column=name if types[name] == "string" else name + "__raw",
            )
        )
    for column in contract.columns:
        name = column.name
        if column.type != "string":
            expectations.append(
                _expectation(
                    "expect_column_values_to_not_be_null",
                    f"{name}_unreadable",
                    "critical",
                    f"A filled-in {name} can be read as a {column.type} (as staging reads it).",
                    column=name,
                    row_condition=f"{name}__raw.notnull()",
                    condition_parser="pandas",
                )
            )
        if column.type == "decimal" and _is_money(name):
            expectations.append(
                _expectation(
                    "expect_column_values_to_be_between",
                    f"{name}_negative",
                    "critical",
                    f"{name} is an amount of money and cannot be negative.",
                    column=name,
                    min_value=0,
                )
            )
        if column.type == "timestamp":
            expectations.append(
                _expectation(
                    "expect_column_values_to_be_between",
                    f"{name}_in_future",
                    "critical",
                    f"{name} is not later than the load plus {FUTURE_TOLERANCE_HOURS} h.",
                    column=name,
                    max_value={"$PARAMETER": "latest_allowed_time"},
                )
            )
        if column.type == "date" and name == "birth_date":
            expectations.append(
                _expectation(
                    "expect_column_values_to_be_between",
                    "birth_date_implausible",
                    "warning",
                    "A birth date lies between 1900-01-01 and the load date.",
                    column=name,
                    min_value="1900-01-01 00:00:00",
                    max_value={"$PARAMETER": "load_date"},
                )
            )
        for integer_column, (low, high) in INTEGER_RANGES.get(table, {}).items():
            if integer_column == name:
                expectations.append(
                    _expectation(
                        "expect_column_values_to_be_between",
                        f"{name}_out_of_range",
                        "warning",
                        f"{name} lies in [{low if low is not None else '-inf'}, {high if high is not None else 'inf'}].",
                        column=name,
                        min_value=low,
                        max_value=high,
                    )
                )
        if name in EMAIL_COLUMNS:
            text_formats[name] = "email"
            expectations.append(
                _expectation(
                    "expect_column_values_to_match_regex",
                    f"{name}_malformed",
                    "critical",
                    f"{name} is an email address (one @, a dotted domain), after removing spaces and case.",
                    column=name,
                    regex=EMAIL_PATTERN,
                )
            )
        if name in POSTCODE_COLUMNS:
            expectations.append(
                _expectation(
                    "expect_column_values_to_match_regex",
                    f"{name}_malformed",
                    "warning",
                    f"{name} is a Dutch postcode (1234 AB); staging leaves it empty otherwise.",
                    column=name,
                    regex=POSTCODE_PATTERN,
                )
            )
        if name == "postcode4":
            expectations.append(
                _expectation(
                    "expect_column_values_to_match_regex",
                    "postcode4_malformed",
                    "critical",
                    "postcode4 is the four digits of a Dutch postcode.",
                    column=name,
                    regex=POSTCODE4_PATTERN,
                )
            )
        if name in PHONE_COLUMNS:
            expectations.append(
                _expectation(
                    "expect_column_values_to_match_regex",
                    f"{name}_malformed",
                    "warning",
                    f"{name} looks like a phone number (digits, spaces, dashes, an optional +); "
                    "staging turns it into E.164 or leaves it empty.",
                    column=name,
                    regex=PHONE_PATTERN,
                )
            )
        if name in VALUE_SETS.get(table, {}):
            text_formats[name] = "code"
            expectations.append(
                _expectation(
                    "expect_column_values_to_be_in_set",
                    f"{name}_unknown_value",
                    "warning",
                    f"{name} is one of the known values (lower case); a new value flows on and is reported.",
                    column=name,
                    value_set=VALUE_SETS[table][name],
                )
            )
    return {
        "name": f"raw.{table}",
        "expectations": expectations,
        "meta": {
            "klantbeeld": {
                "relation": f"raw.{table}",
                "frame": "rows of a load, typed as staging types them (orchestration/quality/raw_batch.py)",
                "text_formats": text_formats,
                "future_tolerance_hours": FUTURE_TOLERANCE_HOURS,
            }
        },
    }


def loads_suite(contract: TableContract) -> dict[str, Any]:
    """The `loads.<table>` suite: what each delivery (file, or database read) must satisfy."""
    table = contract.raw_table
    expectations = [
        _expectation(
            "expect_column_pair_values_a_to_be_greater_than_b",
            "volume_drop",
            "critical",
            "A delivery has at least min_expected_rows rows: a share of the median of the recent deliveries.",
            column_A="rows",
            column_B="min_expected_rows",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        ),
        _expectation(
            "expect_column_pair_values_a_to_be_greater_than_b",
            "too_many_rows_quarantined",
            "critical",
            "At most max_quarantined_share of a delivery's rows fail a critical row rule; more means the "
            "delivery itself is broken.",
            column_A="max_quarantined_share",
            column_B="quarantined_share",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        ),
        _expectation(
            "expect_column_values_to_be_null",
            "new_columns",
            "warning",
            "The source sends no columns the landing contract does not know (they are not loaded).",
            column="unexpected_columns",
        ),
        _expectation(
            "expect_column_values_to_be_null",
            "absent_columns",
            "warning",
            "Every optional contract column is present in the source (absent ones land empty).",
            column="absent_columns",
        ),
    ]
    if contract.event_time and table not in SNAPSHOT_TABLES:
        expectations.append(
            _expectation(
                "expect_column_pair_values_a_to_be_greater_than_b",
                "stale",
                "warning",
                "The newest event in the table is at most freshness_hours older than the reference time.",
                column_A="latest_event_time",
                column_B="stale_before",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
            )
        )
    return {
        "name": f"loads.{table}",
        "expectations": expectations,
        "meta": {
            "klantbeeld": {
                "relation": f"raw.{table}",
                "frame": "one row per delivery of a load (orchestration/quality/loads.py)",
                # campaigns come in bursts: a day without exposures or responses is normal
                "volume_min_share": None if table in BURSTY_TABLES else 0.1,
                "volume_history_deliveries": 28,
                "volume_min_history": 7,
                "volume_min_median_rows": 20,
                "max_quarantined_share": 0.05,
                "quarantined_share_min_rows": 100,
                # a daily file drop: the run fails when none arrived and the last is older than this
                "max_hours_between_drops": MAX_HOURS_BETWEEN_DROPS
                if contract.kind == "files" and table not in SNAPSHOT_TABLES
                else None,
                "freshness_hours": None
                if table in SNAPSHOT_TABLES or not contract.event_time
                else FRESHNESS_HOURS_BY_TABLE.get(table, FRESHNESS_HOURS),
            }
        },
    }


def suite_path(name: str) -> Path:
    return SUITES_DIR.joinpath(*name.split(".")).with_suffix(".json")


def write_suites(overwrite: bool = False) -> list[Path]:
    written: list[Path] = []
    for contract in load_contract().values():
        for suite in (row_suite(contract), loads_suite(contract)):
            path = suite_path(suite["name"])
            if path.exists() and not overwrite:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(canonical_suite_json(suite), encoding="utf-8")
            written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--overwrite", action="store_true", help="replace existing suites (loses edits)")
    for path in write_suites(parser.parse_args().overwrite):
        print(path)


if __name__ == "__main__":
    main()
