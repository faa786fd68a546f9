"""BG/NBD and Gamma-Gamma: likelihoods and predictions against numerical integration of the individual-level
model over its priors, predictions against simulations of the generative process, parameter recovery,
input rules and the discounted CLV."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np
import pytest
from scipy import integrate, special

from ml.clv import (
    BetaGeoFitter,
    ClvFitError,
    ClvInputError,
    GammaGammaFitter,
    customer_lifetime_value,
)

# r < 1 and a < 1 put singularities at λ = 0 and p = 0 under the integrals: the hard case.
BG = {"r": 0.8, "alpha": 40.0, "a": 0.9, "b": 3.0}
GG = {"p": 6.0, "q": 4.0, "v": 15.0}


def simulate_bgnbd(
    n: int, T: np.ndarray | float, rng: np.random.Generator, horizon: float = 0.0, **params: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The generative process: λ ~ Gamma(r, alpha), p ~ Beta(a, b); purchases at rate λ after the first
    one at day 0, dropout with probability p after each. Returns (x, t_x, T) observed at T and the
    number of purchases in (T, T + horizon]."""
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], n)
    p_drop = rng.beta(params["a"], params["b"], n)
    age = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    x, t_x, future, now = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        i = np.flatnonzero(active)
        now[i] += rng.exponential(1.0 / lam[i])
        observed, later = now[i] <= age[i], (now[i] > age[i]) & (now[i] <= age[i] + horizon)
        x[i[observed]] += 1
        t_x[i[observed]] = now[i[observed]]
        future[i[later]] += 1
        bought = i[observed | later]
        active[i[~(observed | later)]] = False
        active[bought[rng.random(bought.size) < p_drop[bought]]] = False
    return x, t_x, age, future


def individual_likelihood(x: int, t_x: float, T: float) -> Callable[[float, float], float]:
    """L(λ, p | x, t_x, T) of the paper's eq. 3."""

    def likelihood(lam: float, p: float) -> float:
        alive = (1 - p) ** x * lam**x * math.exp(-lam * T)
        dead = p * (1 - p) ** (x - 1) * lam**x * math.exp(-lam * t_x) if x > 0 else 0.0
        return alive + dead

    return likelihood


def over_prior(fn: Callable[[float, float], float]) -> float:
    """∫∫ fn(λ, p) Gamma(λ; r, alpha) Beta(p; a, b) dλ dp, numerically."""
    r, alpha, a, b = BG["r"], BG["alpha"], BG["a"], BG["b"]
    log_gamma_norm = r * math.log(alpha) - math.lgamma(r)
    log_beta_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)

    def integrand(p: float, lam: float) -> float:
        log_density = (
            log_gamma_norm
            + (r - 1) * math.log(lam)
            - alpha * lam
            + log_beta_norm
            + (a - 1) * math.log(p)
            + (b - 1) * math.log1p(-p)
        )
        return fn(lam, p) * math.exp(log_density)

    value, _ = integrate.dblquad(integrand, 0, np.inf, 0, 1, epsabs=0, epsrel=1e-8)
    return value


@pytest.fixture(scope="module")
def bgnbd() -> BetaGeoFitter:
    return BetaGeoFitter.from_params(**BG)


@pytest.fixture(scope="module")
def gamma_gamma() -> GammaGammaFitter:
    return GammaGammaFitter.from_params(**GG)


@pytest.mark.parametrize(
    ("x", "t_x", "T"), [(0, 0.0, 100.0), (1, 20.0, 100.0), (5, 300.0, 400.0), (30, 600.0, 700.0)]
)
def test_bgnbd_log_likelihood_is_the_integral_of_the_individual_likelihood(bgnbd, x, t_x, T):
    expected = math.log(over_prior(individual_likelihood(x, t_x, T)))
    assert bgnbd.log_likelihood(x, t_x, T) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(("x", "t_x", "T", "t"), [(2, 10.0, 500.0, 60.0), (12, 650.0, 700.0, 365.0)])
def test_bgnbd_predictions_are_posterior_integrals(bgnbd, x, t_x, T, t):
    evidence = over_prior(individual_likelihood(x, t_x, T))

    def alive_given(lam: float, p: float) -> float:
        return (1 - p) ** x * lam**x * math.exp(-lam * T)

    alive = over_prior(alive_given) / evidence
    # alive at T, a customer makes Poisson(λ) purchases until a geometric(p) dropout: (1 - e^{-λpt}) / p
    purchases = over_prior(lambda lam, p: alive_given(lam, p) * -math.expm1(-lam * p * t) / p) / evidence
    any_purchase = over_prior(lambda lam, p: alive_given(lam, p) * -math.expm1(-lam * t)) / evidence

    assert bgnbd.probability_alive(x, t_x, T) == pytest.approx(alive, rel=1e-6)
    assert bgnbd.expected_purchases(t, x, t_x, T) == pytest.approx(purchases, rel=1e-6)
    assert bgnbd.probability_of_purchase(t, x, t_x, T) == pytest.approx(any_purchase, rel=1e-6)


def test_new_customer_expected_purchases_is_the_unconditional_formula_and_the_simulated_mean(bgnbd):
    r, alpha, a, b = BG["r"], BG["alpha"], BG["a"], BG["b"]
    t = np.array([30.0, 180.0, 365.0])
    # eq. 7: E[X(t)] = (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]
    eq7 = (
        (a + b - 1)
        / (a - 1)
        * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    )
    np.testing.assert_allclose(bgnbd.expected_purchases(t, 0, 0, 0), eq7, rtol=1e-12)

    x, _, _, _ = simulate_bgnbd(200_000, 180.0, np.random.default_rng(5), **BG)
    standard_error = x.std() / math.sqrt(x.size)
    assert abs(x.mean() - eq7[1]) < 4 * standard_error


def test_predictions_for_customers_without_repeats_match_the_simulated_future(bgnbd):
    """x = 0 at T is an exact condition, so the simulation can condition on it."""
    T, t = 120.0, 90.0
    x, _, _, future = simulate_bgnbd(200_000, T, np.random.default_rng(6), horizon=t, **BG)
    future = future[x == 0]
    bought = future > 0
    assert bgnbd.probability_alive(0, 0, T) == 1.0
    assert abs(bought.mean() - bgnbd.probability_of_purchase(t, 0, 0, T)) < 4 * bought.std() / math.sqrt(
        bought.size
    )
    assert abs(future.mean() - bgnbd.expected_purchases(t, 0, 0, T)) < 4 * future.std() / math.sqrt(
        future.size
    )


def test_probability_alive_is_one_without_repeats_and_falls_with_silence(bgnbd):
    np.testing.assert_array_equal(bgnbd.probability_alive([0, 0, 0], [0, 0, 0], [0, 50, 5000]), 1.0)
    silent_for = np.array([0.0, 30.0, 180.0, 720.0])
    alive = bgnbd.probability_alive(4, 100.0, 100.0 + silent_for)
    assert np.all(np.diff(alive) < 0)
    assert alive[-1] < 0.05


def test_bgnbd_recovers_the_parameters_it_simulated():
    rng = np.random.default_rng(7)
    x, t_x, T, _ = simulate_bgnbd(10_000, rng.uniform(30, 730, 10_000), rng, **BG)
    model = BetaGeoFitter().fit(x, t_x, T)
    fitted = model.params_
    assert fitted is not None
    for name, tolerance in {"r": 0.1, "alpha": 0.1, "a": 0.2, "b": 0.2}.items():
        assert fitted[name] == pytest.approx(BG[name], rel=tolerance), name
    # the maximum is at least as likely as the truth
    assert model.log_likelihood_ >= BetaGeoFitter.from_params(**BG).log_likelihood(x, t_x, T).sum()


def test_penalizer_shrinks_the_parameters():
    rng = np.random.default_rng(8)
    x, t_x, T, _ = simulate_bgnbd(2_000, rng.uniform(30, 730, 2_000), rng, **BG)
    free = BetaGeoFitter().fit(x, t_x, T).params_
    shrunk = BetaGeoFitter(penalizer=1e-4).fit(x, t_x, T).params_
    assert free is not None and shrunk is not None
    assert sum(v**2 for v in shrunk.values()) < sum(v**2 for v in free.values())


def test_gamma_gamma_log_likelihood_is_the_integral_over_nu(gamma_gamma):
    p, q, v = GG["p"], GG["q"], GG["v"]
    for x, mean_spend in [(1, 25.0), (4, 80.0), (20, 12.5)]:
        # mean of x transactions ~ Gamma(shape p·x, rate ν·x), ν ~ Gamma(shape q, rate v)
        def integrand(nu: float, x: int = x, m: float = mean_spend) -> float:
            log_mean_density = (
                p * x * math.log(nu * x) + (p * x - 1) * math.log(m) - nu * x * m - math.lgamma(p * x)
            )
            log_prior = q * math.log(v) + (q - 1) * math.log(nu) - v * nu - math.lgamma(q)
            return math.exp(log_mean_density + log_prior)

        density, _ = integrate.quad(integrand, 0, np.inf, epsabs=0, epsrel=1e-10)
        assert gamma_gamma.log_likelihood(x, mean_spend) == pytest.approx(math.log(density), rel=1e-6)


def test_gamma_gamma_expected_value_is_the_posterior_mean(gamma_gamma):
    p, q, v = GG["p"], GG["q"], GG["v"]
    x, m = 3, 40.0

    def posterior(nu: float, power: int) -> float:
        # E[value | ν] = p / ν; unnormalized posterior ν^(q + p·x - 1) e^{-ν(v + x·m)}
        return (p / nu) ** power * math.exp((q + p * x - 1) * math.log(nu) - nu * (v + x * m))

    numerator, _ = integrate.quad(posterior, 0, np.inf, args=(1,), epsabs=0, epsrel=1e-10)
    evidence, _ = integrate.quad(posterior, 0, np.inf, args=(0,), epsabs=0, epsrel=1e-10)
    values = gamma_gamma.conditional_expected_average_value([x, 0], [m, 0.0])
    assert values[0] == pytest.approx(numerator / evidence, rel=1e-8)
    assert values[1] == pytest.approx(p * v / (q - 1), rel=1e-12) == gamma_gamma.population_mean()
    assert min(m, values[1]) < values[0] < max(m, values[1])


def test_gamma_gamma_recovers_the_parameters_it_simulated():
    rng = np.random.default_rng(9)
    n = 20_000
    nu = rng.gamma(GG["q"], 1.0 / GG["v"], n)
    x = rng.integers(0, 10, n)  # customers without repeats are left out of the fit
    spend = np.where(x > 0, rng.gamma(GG["p"] * np.maximum(x, 1), 1.0 / (nu * np.maximum(x, 1))), np.nan)
    model = GammaGammaFitter().fit(x, spend)
    fitted = model.params_
    assert fitted is not None
    assert fitted["p"] == pytest.approx(GG["p"], rel=0.15)
    assert fitted["q"] == pytest.approx(GG["q"], rel=0.1)
    assert fitted["v"] == pytest.approx(GG["v"], rel=0.2)
    assert fitted["p"] * fitted["v"] / (fitted["q"] - 1) == pytest.approx(
        GG["p"] * GG["v"] / (GG["q"] - 1), rel=0.03
    )


@pytest.mark.parametrize(
    ("frequency", "recency", "T", "rule"),
    [
        ([1, -1, 2], [5, 0, 6], [10, 10, 10], "frequency must be >= 0: 1 of 3"),
        (
            [1, 1.5, 2],
            [5, 4, 6],
            [10, 10, 10],
            "frequency must be a whole number of repeat purchases: 1 of 3",
        ),
        ([1, 1, 2], [15, 12, 6], [10, 10, 10], "recency must not exceed T: 2 of 3"),
        ([0, 1, 2], [3, 4, 6], [10, 10, 10], "recency must be 0 when frequency is 0: 1 of 3"),
        ([1, 1, 2], [5, 4, 6], [10, -1, 10], "T must be >= 0: 1 of 3"),
        ([1, np.nan, 2], [5, 4, 6], [10, 10, 10], "frequency must be finite: 1 values"),
        ([1, 1], [5, 4, 6], [10, 10, 10], "must have the same length"),
    ],
)
def test_bgnbd_names_the_broken_input_rule(bgnbd, frequency, recency, T, rule):
    with pytest.raises(ClvInputError, match=re.escape(rule)):
        BetaGeoFitter().fit(frequency, recency, T)
    with pytest.raises(ClvInputError, match=re.escape(rule)):
        bgnbd.probability_alive(frequency, recency, T)


def test_fit_failures_are_clear():
    with pytest.raises(ClvInputError, match="nobody made a repeat purchase"):
        BetaGeoFitter().fit(np.zeros(50), np.zeros(50), np.arange(50.0))
    # every customer buys regularly up to today: no heterogeneity and no dropout to estimate
    with pytest.raises(ClvFitError, match=r"did not converge: .*ran off to 0 or infinity"):
        BetaGeoFitter().fit(np.full(50, 10), np.full(50, 100.0), np.full(50, 100.0))
    with pytest.raises(ClvFitError, match="not fitted"):
        BetaGeoFitter().probability_alive(1, 5, 10)
    with pytest.raises(ClvInputError, match="monetary_value must be > 0 when frequency > 0: 1 of 3"):
        GammaGammaFitter().fit([1, 2, 0], [10.0, -5.0, 0.0])
    with pytest.raises(ClvInputError, match="at least one customer with frequency > 0"):
        GammaGammaFitter().fit([0, 0], [1.0, 2.0])
    with pytest.raises(ClvFitError, match=re.escape("q = 0.9 <= 1")):
        GammaGammaFitter.from_params(p=6.0, q=0.9, v=15.0).conditional_expected_average_value([1], [10.0])
    with pytest.raises(ClvFitError, match=re.escape("q = 0.9 <= 1")):
        GammaGammaFitter.from_params(p=6.0, q=0.9, v=15.0).population_mean()


def test_clv_without_discount_is_margin_times_value_times_expected_purchases(bgnbd, gamma_gamma):
    x, t_x, T, spend = (
        np.array([0, 3, 10]),
        np.array([0, 200.0, 380.0]),
        np.array([90, 400.0, 400.0]),
        np.array([0, 35.0, 60.0]),
    )
    clv = customer_lifetime_value(bgnbd, gamma_gamma, x, t_x, T, spend, 0.25, annual_discount_rate=0.0)
    expected = (
        0.25
        * gamma_gamma.conditional_expected_average_value(x, spend)
        * bgnbd.expected_purchases(365, x, t_x, T)
    )
    np.testing.assert_allclose(clv, expected, rtol=1e-10)


def test_clv_grows_with_margin_and_falls_with_discount(bgnbd, gamma_gamma):
    args = (bgnbd, gamma_gamma, [3, 3], [200.0, 200.0], [400.0, 400.0], [35.0, 35.0])
    by_margin = [customer_lifetime_value(*args, m)[0] for m in (0.1, 0.2, 0.4)]
    assert 0 < by_margin[0] < by_margin[1] < by_margin[2]
    per_customer = customer_lifetime_value(*args, np.array([0.1, 0.4]))
    np.testing.assert_allclose(per_customer, [by_margin[0], by_margin[2]])

    by_discount = [customer_lifetime_value(*args, 0.3, annual_discount_rate=d)[0] for d in (0.0, 0.1, 0.3)]
    assert by_discount[0] > by_discount[1] > by_discount[2] > 0
    # a year of monthly cash flows discounted at 10% loses between 0 and 10% of its value
    assert 0.9 * by_discount[0] < by_discount[1] < by_discount[0]


def test_clv_of_a_customer_who_is_almost_surely_gone_is_almost_zero(bgnbd, gamma_gamma):
    # twenty purchases in the first 60 days, then two silent years
    gone, active = bgnbd.probability_alive([20, 20], [60.0, 720.0], [780.0, 780.0])
    assert gone < 1e-6 < 0.5 < active
    clv = customer_lifetime_value(
        bgnbd, gamma_gamma, [20, 20], [60.0, 720.0], [780.0, 780.0], [50.0, 50.0], 0.3
    )
    assert clv[0] < 1e-4 * clv[1]
