"""From the probability of a purchase that reaches the customer to the probability of any purchase.

The models learn from the purchases the warehouse attributes to a customer: web orders and store
receipts with a loyalty card. A store receipt without a card is a purchase too, by nobody the
warehouse knows. dbt measures per cutoff how much of each class's buying reaches it
(`ml.int_ml__purchase_visibility`: `member_visibility` for loyalty members, `non_member_visibility` for
everyone else; docs/ml.md#anonymous-purchases).

If a customer's purchases come as a Poisson process with rate λ and each is seen with probability v,
the seen ones come with rate vλ: P(seen purchase) = 1 - exp(-vλ), so
P(any purchase) = 1 - exp(-λ) = 1 - (1 - P(seen purchase)) ** (1 / v).

That holds for members, whose unseen purchases are receipts where the card stayed at home. It does not
hold for everyone else: their seen purchases are online orders and their unseen ones store receipts, so
the customer who shows no purchase may be the one who buys in the shop every week. Their class's
unseen rate, (1 - v) / v times its seen rate, is therefore shared out in proportion to each customer's
store-purchase rate, which a model learns from members on the features a non-member shows too
(`ml.features.STORE_BLIND_FEATURES`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import numpy as np

VISIBILITY = "ml.int_ml__purchase_visibility"
MEMBER_FEATURE = "loyalty_tier_rank"  # > 0: a loyalty member by the cutoff (ml.customer_features)


@dataclass(frozen=True)
class PurchaseVisibility:
    """The share of members' and of other customers' purchases that reach a customer key."""

    member: float = 1.0
    non_member: float = 1.0

    def __post_init__(self) -> None:
        for share in (self.member, self.non_member):
            if not 0.0 < share <= 1.0:
                raise ValueError(f"a visibility must lie in (0, 1], got {share}")

    @classmethod
    def at(cls, conn: duckdb.DuckDBPyConnection, cutoff: dt.date) -> PurchaseVisibility:
        """The cutoff's row; everything seen (1, 1) when dbt wrote none."""
        row = conn.execute(
            f"select member_visibility, non_member_visibility from {VISIBILITY} where cutoff_date = ?",
            [cutoff],
        ).fetchone()
        return cls() if row is None else cls(float(row[0]), float(row[1]))

    def any_purchase_probability(
        self,
        seen_probability: np.ndarray,
        is_member: np.ndarray,
        store_purchase_probability: np.ndarray | None = None,
    ) -> np.ndarray:
        """P(any purchase) per customer from P(a purchase that reaches them); NaN stays NaN.

        Without `store_purchase_probability` every customer's unseen rate is proportional to their seen
        rate. With it, the non-members' unseen rate goes to them in proportion to its intensity."""
        seen = _intensity(seen_probability)
        member = np.asarray(is_member, dtype=bool)
        intensity = seen / np.where(member, self.member, self.non_member)
        if store_purchase_probability is not None:
            store = _intensity(store_purchase_probability)
            others = ~member & np.isfinite(seen) & np.isfinite(store)
            store_total = store[others].sum()
            if store_total > 0:
                unseen_total = seen[others].sum() * (1.0 - self.non_member) / self.non_member
                intensity[others] = seen[others] + unseen_total * store[others] / store_total
        return -np.expm1(-intensity)


def _intensity(probability: np.ndarray) -> np.ndarray:
    """The Poisson rate λ with P(at least one) = 1 - exp(-λ); a certainty is capped, not infinite."""
    return -np.log1p(-np.clip(np.asarray(probability, dtype=float), 0.0, 1.0 - 1e-12))
