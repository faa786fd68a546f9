"""Next best action per customer: retention offer, feedback request or the most valuable product-line offer,
through a channel the customer consented to. Rules on whole columns: a million customers in seconds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# Outbound channels reach the customer unasked and need that channel's consent.
CONSENT_COLUMNS = {
    "email": "has_email_consent",
    "sms": "has_sms_consent",
    "phone": "has_phone_consent",
    "post": "has_post_consent",
    "social": "has_social_consent",
}
# Shown on the website or at the till to a recognised customer: no consent needed, but they only reach
# customers who come by.
ON_SITE_CHANNELS = ("web", "store")
CHANNELS = (*CONSENT_COLUMNS, *ON_SITE_CHANNELS)
# Where the customer answers first, then where they buy, then where they look around.
PREFERENCE_COLUMNS = ("preferred_response_channel", "preferred_buy_channel", "preferred_research_channel")
PROPENSITY_PREFIX = "crosssell_"
MARGIN_PREFIX = "line_margin_"
ACTIONS = ("retention_offer", "feedback_request", "cross_sell", "purchase_offer", "none")
OUTPUT_COLUMNS = ["customer_key", "action", "product_line", "channel", "expected_value_eur", "reason"]


@dataclass(frozen=True)
class NbaSettings:
    churn_threshold: float = 0.5
    # Share of customers (by 12-month CLV) whose loss is worth a retention offer.
    retention_clv_share: float = 0.2
    # Assumed share of an at-risk customer's CLV that a retention offer keeps: its expected value.
    retention_save_rate: float = 0.2
    feedback_days: int = 14
    min_expected_value: float = 5.0
    # Fallback when the preferred channels are not allowed; also the channels the business uses at all.
    channel_order: tuple[str, ...] = ("email", "sms", "post", "social", "phone", "web", "store")

    def __post_init__(self) -> None:
        unknown = set(self.channel_order) - set(CHANNELS)
        if unknown:
            raise ValueError(f"unknown channels in channel_order: {sorted(unknown)}; known: {CHANNELS}")
        if not set(self.channel_order) & set(ON_SITE_CHANNELS):
            raise ValueError("channel_order needs web or store: customers without any consent need a channel")
        if not 0 <= self.retention_clv_share <= 1:
            raise ValueError("retention_clv_share must be between 0 and 1")


def product_lines(customers: pd.DataFrame) -> list[str]:
    """Lines with a cross-sell propensity column; each must come with its margin column."""
    lines = [
        column.removeprefix(PROPENSITY_PREFIX) for column in customers if column.startswith(PROPENSITY_PREFIX)
    ]
    missing = [f"{MARGIN_PREFIX}{line}" for line in lines if f"{MARGIN_PREFIX}{line}" not in customers]
    if missing:
        raise KeyError(f"margin columns missing for product lines: {missing}")
    return lines


def _flag(column: pd.Series) -> np.ndarray:
    """True only where the value is true: NULL consent is no consent."""
    return column.astype("boolean").fillna(False).to_numpy(dtype=bool)


def _number(column: pd.Series) -> np.ndarray:
    return column.astype("float64").to_numpy()


def choose_channels(customers: pd.DataFrame, settings: NbaSettings) -> np.ndarray:
    """The first preferred channel that is allowed, else the first allowed in settings.channel_order.

    Works on channel codes (positions in channel_order, -1 for none) rather than strings.
    """
    rows = len(customers)
    order = list(settings.channel_order)
    allowed = np.column_stack(
        [
            _flag(customers[CONSENT_COLUMNS[channel]]) if channel in CONSENT_COLUMNS else np.ones(rows, bool)
            for channel in order
        ]
    )
    # Web or store is always in the order (checked by NbaSettings), so every row has a fallback.
    chosen = allowed.argmax(axis=1)
    for column in reversed(PREFERENCE_COLUMNS):
        preferred = customers[column].astype("string").str.strip().str.lower()
        code = pd.Categorical(preferred, categories=order).codes.astype("int64")
        usable = (code >= 0) & allowed[np.arange(rows), np.maximum(code, 0)]
        chosen = np.where(usable, code, chosen)
    return np.asarray(order, dtype=object)[chosen]


def _text(values: np.ndarray) -> pd.Series:
    return pd.Series(values).astype("string")


def _percent(values: np.ndarray, decimals: int = 0) -> pd.Series:
    scaled = np.round(np.asarray(values) * 100 * 10**decimals).astype("int64")
    if decimals == 0:
        return _text(scaled) + "%"
    return _text(scaled // 10**decimals) + "." + _text(scaled % 10**decimals).str.zfill(decimals) + "%"


def _euros(values: np.ndarray) -> pd.Series:
    """€12.30 style; integer arithmetic on whole columns (str.format per row costs ~1 s a million)."""
    cents = np.round(np.asarray(values, dtype="float64") * 100).astype("int64")
    sign = _text(np.where(cents < 0, "-", ""))
    return "€" + sign + _text(np.abs(cents) // 100) + "." + _text(np.abs(cents) % 100).str.zfill(2)


def _days(values: np.ndarray) -> pd.Series:
    return _text(np.floor(values).astype("int64"))


def next_best_actions(customers: pd.DataFrame, settings: NbaSettings | None = None) -> pd.DataFrame:
    """One row per customer_key: action, product_line, channel, expected_value_eur and the reason.

    Order of the rules: a retention offer when churn risk is at least the threshold and CLV is in the
    top share; else a feedback request after a recent order or service contact; else the product line
    with the highest propensity x margin if that reaches the minimum value (cross-sell for earlier
    buyers, purchase offer for the rest); else none.
    """
    settings = settings or NbaSettings()
    required = [
        "customer_key",
        "churn_risk",
        "clv_12m",
        "days_since_last_order",
        "days_since_last_service_contact",
        *CONSENT_COLUMNS.values(),
        *PREFERENCE_COLUMNS,
    ]
    missing = [column for column in required if column not in customers]
    if missing:
        raise KeyError(f"next best action needs columns {missing}")
    if customers["customer_key"].duplicated().any():
        raise ValueError("customer_key must be unique")
    rows = len(customers)

    churn = _number(customers["churn_risk"])
    clv = _number(customers["clv_12m"])
    valued = ~np.isnan(clv)
    top_clv = np.zeros(rows, dtype=bool)
    if settings.retention_clv_share > 0 and valued.any():
        clv_floor = np.quantile(clv[valued], 1 - settings.retention_clv_share)
        top_clv = valued & (clv >= clv_floor)
    retention = (churn >= settings.churn_threshold) & top_clv  # NaN churn compares False

    since_order = _number(customers["days_since_last_order"])
    since_contact = _number(customers["days_since_last_service_contact"])
    recent_order = since_order <= settings.feedback_days
    recent_contact = since_contact <= settings.feedback_days
    feedback = ~retention & (recent_order | recent_contact)

    lines = product_lines(customers)
    # Rows = customers, columns = product lines; unknown propensity or margin counts as zero value.
    propensity = np.zeros((rows, len(lines)))
    margin = np.zeros((rows, len(lines)))
    for position, line in enumerate(lines):
        propensity[:, position] = np.nan_to_num(_number(customers[f"{PROPENSITY_PREFIX}{line}"]))
        margin[:, position] = np.nan_to_num(_number(customers[f"{MARGIN_PREFIX}{line}"]))
    values = propensity * margin
    if lines:
        best_index = values.argmax(axis=1)
        picked = (np.arange(rows), best_index)
        best_value, best_propensity, best_margin = values[picked], propensity[picked], margin[picked]
        best_line = np.asarray(lines, dtype=object)[best_index]
    else:
        best_value, best_propensity, best_margin = np.zeros(rows), np.zeros(rows), np.zeros(rows)
        best_line = np.full(rows, None, dtype=object)
    offer = ~retention & ~feedback & (best_value >= settings.min_expected_value)
    bought_before = ~np.isnan(since_order)

    action = np.select(
        [retention, feedback, offer & bought_before, offer],
        ["retention_offer", "feedback_request", "cross_sell", "purchase_offer"],
        default="none",
    ).astype(object)
    expected_value = np.select(
        [retention, feedback, offer],
        [churn * clv * settings.retention_save_rate, np.nan, best_value],
        default=0.0,
    )

    reason = pd.Series(pd.NA, index=range(rows), dtype="string")

    def explain(mask: np.ndarray, text: pd.Series) -> None:
        reason[mask] = text.array

    if retention.any():
        explain(
            retention,
            "Churn risk "
            + _percent(churn[retention])
            + " with a 12-month CLV of "
            + _euros(clv[retention])
            + f" (top {settings.retention_clv_share:.0%} of customers)",
        )
    by_order = feedback & recent_order
    if by_order.any():
        explain(by_order, "Ordered " + _days(since_order[by_order]) + " days ago: ask how it went")
    by_contact = feedback & ~recent_order
    if by_contact.any():
        explain(
            by_contact, "Service contact " + _days(since_contact[by_contact]) + " days ago: ask how it went"
        )
    if offer.any():
        explain(
            offer,
            _text(best_line[offer])
            + ": propensity "
            + _percent(best_propensity[offer], decimals=1)
            + " x margin "
            + _euros(best_margin[offer])
            + _text(np.where(bought_before[offer], " (earlier buyer)", " (first purchase)")),
        )
    nothing = action == "none"
    if nothing.any():
        explain(
            nothing,
            f"No offer worth {_euros(np.array([settings.min_expected_value]))[0]} or more (best "
            + _euros(best_value[nothing])
            + ")",
        )

    channel = choose_channels(customers, settings)
    # Text columns as pandas strings: a missing product line or channel is <NA>, NULL in the warehouse.
    return pd.DataFrame(
        {
            "customer_key": customers["customer_key"].to_numpy(),
            "action": pd.array(action, dtype="string"),
            "product_line": pd.array(np.where(offer, best_line, None), dtype="string"),
            "channel": pd.array(np.where(nothing, None, channel), dtype="string"),
            "expected_value_eur": expected_value,
            "reason": reason.array,
        }
    )[OUTPUT_COLUMNS]
