"""Every next-best-action rule, one customer at a time, and consent as a property over many random customers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.next_best_action import CONSENT_COLUMNS, NbaSettings, next_best_actions

SETTINGS = NbaSettings(
    churn_threshold=0.5,
    retention_clv_share=0.25,
    retention_save_rate=0.2,
    feedback_days=14,
    min_expected_value=5.0,
)


def customer(key: str, **overrides) -> dict:
    """A quiet customer: low churn, average CLV, no recent contact, email consent, weak propensities."""
    row = {
        "customer_key": key,
        "purchase_propensity": 0.05,
        "churn_risk": 0.1,
        "clv_12m": 100.0,
        "crosssell_garden": 0.01,
        "crosssell_kitchen": 0.01,
        "line_margin_garden": 40.0,
        "line_margin_kitchen": 25.0,
        "has_email_consent": True,
        "has_sms_consent": False,
        "has_phone_consent": None,
        "has_post_consent": False,
        "has_social_consent": None,
        "preferred_research_channel": None,
        "preferred_response_channel": None,
        "preferred_buy_channel": None,
        "days_since_last_order": 120.0,
        "days_since_last_service_contact": None,
    }
    row.update(overrides)
    return row


def actions(*rows: dict, settings: NbaSettings = SETTINGS) -> pd.DataFrame:
    # Three filler customers with low CLV so the top quarter by CLV is well defined.
    fillers = [customer(f"filler{i}", clv_12m=10.0 + i) for i in range(3)]
    frame = pd.DataFrame([*rows, *fillers])
    return next_best_actions(frame, settings).set_index("customer_key")


def test_retention_offer_needs_high_churn_and_top_clv():
    result = actions(
        customer("at_risk_valuable", churn_risk=0.7, clv_12m=900.0, days_since_last_order=3.0),
        customer("at_risk_cheap", churn_risk=0.7, clv_12m=20.0),
        customer("safe_valuable", churn_risk=0.2, clv_12m=800.0),
    )
    assert result.loc["at_risk_valuable", "action"] == "retention_offer"  # before the feedback request
    assert result.loc["at_risk_valuable", "expected_value_eur"] == pytest.approx(0.7 * 900 * 0.2)
    assert pd.isna(result.loc["at_risk_valuable", "product_line"])
    assert "Churn risk 70%" in result.loc["at_risk_valuable", "reason"]
    assert result.loc["at_risk_cheap", "action"] != "retention_offer"
    assert result.loc["safe_valuable", "action"] != "retention_offer"


def test_feedback_after_a_recent_order_or_service_contact():
    result = actions(
        customer("ordered", days_since_last_order=3.0),
        customer("called", days_since_last_service_contact=14.0),
        customer("long_ago", days_since_last_order=15.0, days_since_last_service_contact=40.0),
    )
    assert result.loc["ordered", "action"] == "feedback_request"
    assert result.loc["ordered", "reason"] == "Ordered 3 days ago: ask how it went"
    assert result.loc["called", "action"] == "feedback_request"
    assert result.loc["called", "reason"].startswith("Service contact 14 days ago")
    assert np.isnan(result.loc["called", "expected_value_eur"])
    assert result.loc["long_ago", "action"] == "none"


def test_offer_picks_the_highest_propensity_times_margin():
    result = actions(
        # Kitchen is likelier (0.30 x 25 = 7.50) but garden pays more (0.25 x 40 = 10.00).
        customer("buyer", crosssell_garden=0.25, crosssell_kitchen=0.30),
        customer("newcomer", crosssell_garden=0.05, crosssell_kitchen=0.30, days_since_last_order=None),
        customer("weak", crosssell_garden=0.1, crosssell_kitchen=0.1),
    )
    assert result.loc["buyer", ["action", "product_line"]].tolist() == ["cross_sell", "garden"]
    assert result.loc["buyer", "expected_value_eur"] == pytest.approx(10.0)
    assert result.loc["buyer", "reason"] == "garden: propensity 25.0% x margin €40.00 (earlier buyer)"
    assert result.loc["newcomer", ["action", "product_line"]].tolist() == ["purchase_offer", "kitchen"]
    assert result.loc["newcomer", "expected_value_eur"] == pytest.approx(7.5)
    # 0.1 x 40 = 4.00 is below the minimum of 5.00.
    assert result.loc["weak", "action"] == "none"
    assert pd.isna(result.loc["weak", "channel"])
    assert result.loc["weak", "expected_value_eur"] == 0.0
    assert result.loc["weak", "reason"] == "No offer worth €5.00 or more (best €4.00)"


def test_missing_propensity_counts_as_no_value():
    result = actions(customer("unknown", crosssell_garden=np.nan, crosssell_kitchen=0.4))
    assert result.loc["unknown", "product_line"] == "kitchen"


def test_preferred_channel_when_consented_else_channel_order():
    offer = {"crosssell_garden": 0.5}
    result = actions(
        customer("likes_sms", preferred_response_channel="SMS ", has_sms_consent=True, **offer),
        customer("likes_sms_no_consent", preferred_response_channel="sms", **offer),
        customer("responds_nowhere_buys_in_store", preferred_buy_channel="store", **offer),
        customer("no_email_but_post", has_email_consent=False, has_post_consent=True, **offer),
        customer("prefers_unknown_app", preferred_response_channel="app", **offer),
    )
    assert result.loc["likes_sms", "channel"] == "sms"
    assert result.loc["likes_sms_no_consent", "channel"] == "email"
    assert result.loc["responds_nowhere_buys_in_store", "channel"] == "store"
    assert result.loc["no_email_but_post", "channel"] == "post"
    assert result.loc["prefers_unknown_app", "channel"] == "email"


def test_no_consent_means_web_or_store_only():
    no_consent = dict.fromkeys(CONSENT_COLUMNS.values())
    result = actions(
        customer("null_consents", crosssell_garden=0.5, **no_consent),
        customer(
            "prefers_email_without_consent",
            preferred_response_channel="email",
            crosssell_garden=0.5,
            **no_consent,
        ),
        customer(
            "prefers_store", preferred_research_channel="store", days_since_last_order=2.0, **no_consent
        ),
    )
    assert result.loc["null_consents", "channel"] == "web"
    assert result.loc["prefers_email_without_consent", "channel"] == "web"
    assert result.loc["prefers_store", "channel"] == "store"


def test_channel_order_limits_the_channels_used():
    settings = NbaSettings(min_expected_value=5.0, channel_order=("sms", "store"))
    result = actions(
        customer("email_fan", preferred_response_channel="email", crosssell_garden=0.5),
        customer("sms_ok", has_sms_consent=True, crosssell_garden=0.5),
        settings=settings,
    )
    assert result.loc["email_fan", "channel"] == "store"
    assert result.loc["sms_ok", "channel"] == "sms"


def test_settings_are_checked():
    with pytest.raises(ValueError, match="unknown channels"):
        NbaSettings(channel_order=("email", "pigeon", "web"))
    with pytest.raises(ValueError, match="web or store"):
        NbaSettings(channel_order=("email",))


def test_margin_column_required_for_every_line():
    frame = pd.DataFrame([customer("a", crosssell_toys=0.2)])
    with pytest.raises(KeyError, match="line_margin_toys"):
        next_best_actions(frame, SETTINGS)


def test_never_a_channel_without_consent_on_random_customers():
    rng = np.random.default_rng(0)
    rows = 50_000
    channels = np.array(
        ["email", "sms", "phone", "post", "social", "web", "store", "app", None], dtype=object
    )
    frame = pd.DataFrame(
        {
            "customer_key": [f"KB{i}" for i in range(rows)],
            "churn_risk": rng.random(rows),
            "clv_12m": rng.gamma(1, 200, rows),
            "crosssell_garden": rng.random(rows) * 0.3,
            "crosssell_kitchen": rng.random(rows) * 0.3,
            "line_margin_garden": 40.0,
            "line_margin_kitchen": 25.0,
            "days_since_last_order": np.where(rng.random(rows) < 0.2, np.nan, rng.integers(0, 400, rows)),
            "days_since_last_service_contact": np.where(
                rng.random(rows) < 0.7, np.nan, rng.integers(0, 400, rows)
            ),
            **{
                column: pd.array(rng.choice([True, False, None], rows), dtype="boolean")
                for column in CONSENT_COLUMNS.values()
            },
            "preferred_research_channel": rng.choice(channels, rows),
            "preferred_response_channel": rng.choice(channels, rows),
            "preferred_buy_channel": rng.choice(channels, rows),
        }
    )
    result = next_best_actions(frame, SETTINGS)
    assert len(result) == rows
    assert result["customer_key"].tolist() == frame["customer_key"].tolist()
    assert set(result["action"]) == {
        "retention_offer",
        "feedback_request",
        "cross_sell",
        "purchase_offer",
        "none",
    }
    acting = result["action"] != "none"
    assert result.loc[acting, "channel"].notna().all()
    assert result.loc[~acting, "channel"].isna().all()
    for channel, column in CONSENT_COLUMNS.items():
        used = result["channel"].eq(channel).fillna(False).to_numpy(dtype=bool)
        assert used.any()
        assert frame.loc[used, column].fillna(False).all()
    assert set(result.loc[acting, "channel"]) <= {*CONSENT_COLUMNS, "web", "store"}
    retention_share = (result["action"] == "retention_offer").mean()
    assert retention_share == pytest.approx(0.25 * 0.5, abs=0.01)
