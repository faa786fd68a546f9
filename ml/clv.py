"""Customer lifetime value: the BG/NBD model of repeat purchases and the Gamma-Gamma model of spend,
fitted by maximum likelihood with numpy and scipy, and a discounted CLV built from the two.

Time is measured in days everywhere: `recency`, `T`, `t`, and the fitted BG/NBD `alpha` (a rate scale,
so purchase rates are per day). `frequency` counts repeat purchases (days with a purchase after the
first one), `recency` is the age of the customer at their last purchase and `T` the age today.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Self

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

FloatArray = NDArray[np.float64]

# Parameters are optimized on the log scale within e^±12 (6e-6 to 1.6e5 days, ...): a parameter at a
# bound is running off to 0 or infinity, so the data do not identify the model (e.g. nobody dropped out).
_LOG_BOUND = 12.0


class ClvInputError(ValueError):
    """Inputs break a rule of the model (negative ages, recency after T, ...)."""


class ClvFitError(RuntimeError):
    """Maximum likelihood did not converge, or the fitted model cannot make the asked prediction."""


def _check(rule_broken: NDArray[np.bool_], rule: str, n: int) -> None:
    count = int(np.count_nonzero(rule_broken))
    if count:
        raise ClvInputError(f"{rule}: {count:,} of {n:,} customers break this rule")


def _floats(name: str, values: ArrayLike) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(arr)
    if np.any(bad):
        raise ClvInputError(f"{name} must be finite: {int(np.count_nonzero(bad)):,} values are not")
    return arr


def _rfm(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Validated, broadcast (frequency, recency, T)."""
    x, t_x, age = _floats("frequency", frequency), _floats("recency", recency), _floats("T", T)
    try:
        x, t_x, age = np.broadcast_arrays(x, t_x, age)
    except ValueError as err:
        raise ClvInputError(
            f"frequency, recency and T must have the same length: {x.shape}, {t_x.shape}, {age.shape}"
        ) from err
    n = x.size
    _check(x < 0, "frequency must be >= 0", n)
    _check(x != np.floor(x), "frequency must be a whole number of repeat purchases", n)
    _check(t_x < 0, "recency must be >= 0", n)
    _check(age < 0, "T must be >= 0", n)
    _check(t_x > age, "recency must not exceed T", n)
    _check((x == 0) & (t_x > 0), "recency must be 0 when frequency is 0", n)
    return x, t_x, age


def _horizon(t: ArrayLike) -> FloatArray:
    arr = _floats("t", t)
    _check(arr < 0, "t (days ahead) must be >= 0", arr.size)
    return arr


def _maximize(
    neg_mean_ll_and_grad: Callable[[FloatArray], tuple[float, FloatArray]],
    start: FloatArray,
    names: tuple[str, ...],
    penalizer: float,
    model: str,
) -> FloatArray:
    """Maximize a mean log-likelihood over log-parameters, with an L2 penalty on the parameters."""

    def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
        params = np.exp(log_params)
        value, grad = neg_mean_ll_and_grad(params)
        value += penalizer * float(np.sum(params**2))
        # chain rule to the log scale: d/dlog(θ) = θ · d/dθ
        grad = (grad + 2.0 * penalizer * params) * params
        return value, grad

    result = optimize.minimize(
        objective,
        np.log(start),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-_LOG_BOUND, _LOG_BOUND)] * len(names),
        options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-7},
    )
    _, grad = objective(result.x)
    # L-BFGS-B may stop on a line search that can no longer improve in floating point: that is a
    # converged fit when the gradient is flat.
    flat = bool(np.all(np.isfinite(grad))) and float(np.max(np.abs(grad))) < 1e-4
    if not (result.success or flat) or not np.all(np.isfinite(result.x)):
        raise ClvFitError(f"{model} maximum likelihood did not converge: {result.message}")
    at_bound = [n for n, v in zip(names, result.x, strict=True) if abs(v) > _LOG_BOUND - 1e-3]
    if at_bound:
        raise ClvFitError(
            f"{model} maximum likelihood did not converge: {', '.join(at_bound)} ran off to 0 or infinity "
            "(the data do not identify the model)"
        )
    return np.exp(result.x)


class _MaximumLikelihoodFitter:
    """What the two fitters share: an optional L2 penalty on the log-parameters, and fitted parameters
    (by `fit`, or given through `from_params`)."""

    param_names: tuple[str, ...] = ()
    model_name = ""

    def __init__(self, penalizer: float = 0.0) -> None:
        if not (penalizer >= 0 and math.isfinite(penalizer)):
            raise ClvInputError(f"penalizer must be finite and >= 0, got {penalizer}")
        self.penalizer = penalizer
        self.params_: dict[str, float] | None = None
        self.log_likelihood_: float | None = None

    @classmethod
    def _given(cls, values: dict[str, float]) -> Self:
        bad = [name for name, value in values.items() if not (math.isfinite(value) and value > 0)]
        if bad:
            raise ClvInputError(f"{cls.model_name} parameters must be finite and > 0: {', '.join(bad)}")
        model = cls()
        model.params_ = {name: float(value) for name, value in values.items()}
        return model

    def _fitted(self) -> dict[str, float]:
        if self.params_ is None:
            raise ClvFitError(f"{type(self).__name__} is not fitted: call fit() or from_params() first")
        return self.params_


class BetaGeoFitter(_MaximumLikelihoodFitter):
    """BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

    While alive a customer buys at a Poisson rate λ ~ Gamma(r, alpha); after each purchase they drop
    out for good with probability p ~ Beta(a, b). Fitted by maximum likelihood; time in days.
    """

    param_names = ("r", "alpha", "a", "b")
    model_name = "BG/NBD"

    @classmethod
    def from_params(cls, r: float, alpha: float, a: float, b: float) -> BetaGeoFitter:
        """A fitter with given parameters (e.g. loaded from a model registry)."""
        return cls._given({"r": r, "alpha": alpha, "a": a, "b": b})

    def _params(self) -> tuple[float, float, float, float]:
        p = self._fitted()
        return p["r"], p["alpha"], p["a"], p["b"]

    @staticmethod
    def _terms(
        params: FloatArray, x: FloatArray, t_x: FloatArray, age: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, NDArray[np.bool_], FloatArray]:
        """log L = A1 + log(exp(A2) + [x > 0] exp(A3)), eq. 6 of the paper, with x1 = max(x, 1) where x
        = 0 would make the (unused) A3 term undefined."""
        r, alpha, a, b = params
        repeat = x > 0
        x1 = np.where(repeat, x, 1.0)
        a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        beta_ab = special.betaln(a, b)
        a2 = special.betaln(a, b + x) - beta_ab - (r + x) * np.log(alpha + age)
        a3 = special.betaln(a + 1.0, b + x1 - 1.0) - beta_ab - (r + x) * np.log(alpha + t_x)
        a3 = np.where(repeat, a3, -np.inf)
        return a1, a2, a3, repeat, x1

    def _neg_mean_ll_and_grad(
        self, params: FloatArray, x: FloatArray, t_x: FloatArray, age: FloatArray
    ) -> tuple[float, FloatArray]:
        r, alpha, a, b = params
        a1, a2, a3, repeat, x1 = self._terms(params, x, t_x, age)
        log_sum = np.logaddexp(a2, a3)
        ll = a1 + log_sum
        w2 = np.exp(a2 - log_sum)  # share of the "still alive" term in the likelihood
        w3 = 1.0 - w2
        psi = special.digamma
        d_r = psi(r + x) - psi(r) + np.log(alpha) - w2 * np.log(alpha + age) - w3 * np.log(alpha + t_x)
        d_alpha = r / alpha - (r + x) * (w2 / (alpha + age) + w3 / (alpha + t_x))
        psi_abx = psi(a + b + x)
        d_a = w2 * (psi(a) - psi_abx) + w3 * (psi(a + 1.0) - psi_abx) - (psi(a) - psi(a + b))
        d_b_alive = psi(b + x) - psi_abx
        d_b_dead = np.where(repeat, psi(b + x1 - 1.0) - psi_abx, 0.0)
        d_b = w2 * d_b_alive + w3 * d_b_dead - (psi(b) - psi(a + b))
        grad = -np.array([d_r.mean(), d_alpha.mean(), d_a.mean(), d_b.mean()])
        return -float(ll.mean()), grad

    def fit(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> BetaGeoFitter:
        """Maximum likelihood estimates of r, alpha, a, b from one row per customer."""
        x, t_x, age = (v.ravel() for v in _rfm(frequency, recency, T))
        if x.size == 0:
            raise ClvInputError("BG/NBD needs at least one customer")
        if not np.any(x > 0):
            raise ClvInputError("BG/NBD needs customers with frequency > 0: nobody made a repeat purchase")
        # start near the observed purchase rate: mean λ = r / alpha
        rate = (x.sum() + 1.0) / (age.sum() + 1.0)
        start = np.array([1.0, 1.0 / rate, 1.0, 2.0])
        params = _maximize(
            lambda p: self._neg_mean_ll_and_grad(p, x, t_x, age),
            start,
            self.param_names,
            self.penalizer,
            "BG/NBD",
        )
        self.params_ = dict(zip(self.param_names, map(float, params), strict=True))
        self.log_likelihood_ = float(self.log_likelihood(x, t_x, age).sum())
        return self

    def log_likelihood(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """Log-likelihood of each customer's (frequency, recency, T) under the fitted parameters."""
        x, t_x, age = _rfm(frequency, recency, T)
        a1, a2, a3, _, _ = self._terms(np.array(self._params()), x, t_x, age)
        return a1 + np.logaddexp(a2, a3)

    def _log_dead_odds(self, x: FloatArray, t_x: FloatArray, age: FloatArray) -> FloatArray:
        """log P(dead) / P(alive) given the history; -inf for x = 0 (nobody drops out before buying)."""
        r, alpha, a, b = self._params()
        x1 = np.where(x > 0, x, 1.0)
        odds = np.log(a) - np.log(b + x1 - 1.0) + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))
        return np.where(x > 0, odds, -np.inf)

    def probability_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """P(still alive at T | history) = 1 / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))."""
        x, t_x, age = _rfm(frequency, recency, T)
        return special.expit(-self._log_dead_odds(x, t_x, age))

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """E[purchases in (T, T+t] | history], eq. 10 of the paper.

        For a new customer (x = t_x = T = 0) this is the unconditional E[X(t)] of eq. 7."""
        x, t_x, age = _rfm(frequency, recency, T)
        t = _horizon(t)
        r, alpha, a, b = self._params()
        if a == 1.0:
            raise ClvFitError("expected purchases are undefined at a = 1 exactly (eq. 10 divides by a - 1)")
        z = t / (alpha + age + t)
        log_ratio = (r + x) * (np.log(alpha + age) - np.log(alpha + age + t))
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1.0, z)
        alive_part = (a + b + x - 1.0) / (a - 1.0) * (1.0 - np.exp(log_ratio) * hyp)
        return alive_part * special.expit(-self._log_dead_odds(x, t_x, age))

    def probability_of_purchase(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """P(at least one purchase in (T, T+t] | history).

        A BG/NBD customer can only drop out right after a purchase, so one who is alive at T makes their
        next purchase after an Exp(λ) wait: P(buy in t | alive, λ) = 1 - exp(-λt). Given the history and
        being alive, the likelihood in λ is λ^x exp(-λT) (the p part factors out), so λ | alive, history
        ~ Gamma(r + x, alpha + T) and E[exp(-λt)] = ((alpha+T)/(alpha+T+t))^(r+x). Hence
        P = P(alive) · (1 - ((alpha+T)/(alpha+T+t))^(r+x)).
        """
        x, t_x, age = _rfm(frequency, recency, T)
        t = _horizon(t)
        r, alpha, _, _ = self._params()
        log_no_purchase = (r + x) * (np.log(alpha + age) - np.log(alpha + age + t))
        return -np.expm1(log_no_purchase) * special.expit(-self._log_dead_odds(x, t_x, age))


class GammaGammaFitter(_MaximumLikelihoodFitter):
    """Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV").

    Each transaction value is Gamma(p, ν) with a customer's ν ~ Gamma(q, v); the mean of x
    transactions is then Gamma(p·x, ν·x). Fitted on customers with frequency > 0, where
    `monetary_value` is the mean value of their repeat transactions.
    """

    param_names = ("p", "q", "v")
    model_name = "Gamma-Gamma"

    @classmethod
    def from_params(cls, p: float, q: float, v: float) -> GammaGammaFitter:
        """A fitter with given parameters (e.g. loaded from a model registry)."""
        return cls._given({"p": p, "q": q, "v": v})

    def _params(self) -> tuple[float, float, float]:
        p = self._fitted()
        return p["p"], p["q"], p["v"]

    @staticmethod
    def _inputs(frequency: ArrayLike, monetary_value: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Validated (frequency, monetary_value); the value of customers without repeats is ignored."""
        x = _floats("frequency", frequency)
        m = np.asarray(monetary_value, dtype=np.float64)
        try:
            x, m = np.broadcast_arrays(x, m)
        except ValueError as err:
            raise ClvInputError(
                f"frequency and monetary_value must have the same length: {x.shape}, {m.shape}"
            ) from err
        n = x.size
        _check(x < 0, "frequency must be >= 0", n)
        _check(x != np.floor(x), "frequency must be a whole number of repeat purchases", n)
        repeat = x > 0
        _check(repeat & ~np.isfinite(m), "monetary_value must be finite when frequency > 0", n)
        _check(repeat & (m <= 0), "monetary_value must be > 0 when frequency > 0", n)
        return x, np.where(repeat, m, 0.0)

    @staticmethod
    def _ll_and_grad(params: FloatArray, x: FloatArray, m: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Per-customer log density of the mean spend m of x transactions, and its gradient."""
        p, q, v = params
        px = p * x
        log_scale = np.log(v + x * m)
        ll = (
            special.gammaln(px + q)
            - special.gammaln(px)
            - special.gammaln(q)
            + q * np.log(v)
            + (px - 1.0) * np.log(m)
            + px * np.log(x)
            - (px + q) * log_scale
        )
        psi_sum = special.digamma(px + q)
        d_p = x * (psi_sum - special.digamma(px) + np.log(m) + np.log(x) - log_scale)
        d_q = psi_sum - special.digamma(q) + np.log(v) - log_scale
        d_v = q / v - (px + q) / (v + x * m)
        return ll, np.stack([d_p, d_q, d_v])

    def fit(self, frequency: ArrayLike, monetary_value: ArrayLike) -> GammaGammaFitter:
        """Maximum likelihood estimates of p, q, v from the customers with frequency > 0."""
        x, m = self._inputs(frequency, monetary_value)
        repeat = x > 0
        x, m = x[repeat].ravel(), m[repeat].ravel()
        if x.size == 0:
            raise ClvInputError("Gamma-Gamma needs at least one customer with frequency > 0")

        def neg_mean(params: FloatArray) -> tuple[float, FloatArray]:
            ll, grad = self._ll_and_grad(params, x, m)
            return -float(ll.mean()), -grad.mean(axis=1)

        # start at mean spend p·v/(q-1) = mean(m) with p = 1, q = 2
        start = np.array([1.0, 2.0, float(m.mean())])
        params = _maximize(neg_mean, start, self.param_names, self.penalizer, "Gamma-Gamma")
        self.params_ = dict(zip(self.param_names, map(float, params), strict=True))
        self.log_likelihood_ = float(self.log_likelihood(x, m).sum())
        return self

    def log_likelihood(self, frequency: ArrayLike, monetary_value: ArrayLike) -> FloatArray:
        """Log density of each customer's mean spend; customers without repeats have none (NaN)."""
        x, m = self._inputs(frequency, monetary_value)
        repeat = x > 0
        ll, _ = self._ll_and_grad(
            np.array(self._params()), np.where(repeat, x, 1.0), np.where(repeat, m, 1.0)
        )
        return np.where(repeat, ll, np.nan)

    def population_mean(self) -> float:
        """E[transaction value] of a customer nobody knows anything about: p·v / (q - 1)."""
        p, q, v = self._finite_mean_params()
        return p * v / (q - 1.0)

    def conditional_expected_average_value(
        self, frequency: ArrayLike, monetary_value: ArrayLike
    ) -> FloatArray:
        """E[mean transaction value | x, mean spend] = p(v + x·m) / (p·x + q - 1): a weighted mean of the
        population mean p·v/(q-1) and the customer's own mean; customers with frequency 0 get the former."""
        x, m = self._inputs(frequency, monetary_value)
        p, q, v = self._finite_mean_params()
        return p * (v + x * m) / (p * x + q - 1.0)

    def _finite_mean_params(self) -> tuple[float, float, float]:
        p, q, v = self._params()
        if q <= 1.0:
            raise ClvFitError(
                f"Gamma-Gamma q = {q:.4g} <= 1: the population mean spend p·v/(q-1) is infinite, so "
                "expected values are undefined"
            )
        return p, q, v


def customer_lifetime_value(
    bgnbd: BetaGeoFitter,
    gamma_gamma: GammaGammaFitter,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    margin_rate: ArrayLike,
    horizon_days: float = 365,
    annual_discount_rate: float = 0.10,
    step_days: float = 30,
) -> FloatArray:
    """Discounted expected margin over the next `horizon_days`.

    Sum over steps s of E[purchases in ((s-1)·step, s·step]] · E[mean value] · margin_rate, discounted
    by (1 + annual_discount_rate)^(end of step / 365 days). The last step ends at the horizon (365 days
    is 12 steps of 30 and one of 5). Spend and purchase counts are independent in Gamma-Gamma.
    """
    if not (horizon_days > 0 and step_days > 0 and math.isfinite(horizon_days) and math.isfinite(step_days)):
        raise ClvInputError(f"horizon_days and step_days must be > 0, got {horizon_days} and {step_days}")
    if not (annual_discount_rate > -1 and math.isfinite(annual_discount_rate)):
        raise ClvInputError(f"annual_discount_rate must be > -1, got {annual_discount_rate}")
    x, t_x, age = _rfm(frequency, recency, T)
    margin = _floats("margin_rate", margin_rate)
    value = gamma_gamma.conditional_expected_average_value(x, monetary_value)

    n_steps = math.ceil(horizon_days / step_days - 1e-9)
    ends = np.minimum(np.arange(1, n_steps + 1) * float(step_days), float(horizon_days))
    discounted_purchases = np.zeros(np.broadcast_shapes(x.shape, value.shape))
    purchases_before = 0.0
    for end in ends:
        purchases_by_end = bgnbd.expected_purchases(end, x, t_x, age)
        discount = (1.0 + annual_discount_rate) ** (end / 365.0)
        discounted_purchases = discounted_purchases + (purchases_by_end - purchases_before) / discount
        purchases_before = purchases_by_end
    return discounted_purchases * value * margin
