"""Customer lifetime value: how many more purchases a member will make and what each will be
worth, from the member's own history and what is typical of the programme's members.

Two standard models, fitted by maximum likelihood on the programme's members:

- BG/NBD (Fader, Hardie and Lee, 2005) for purchases: while a member is "alive" they buy at
  their own steady rate (rates vary between members as a gamma distribution, `r` and
  `alpha`); after each purchase they may drop out for good with their own probability
  (varying as a beta distribution, `a` and `b`). A member is described by their repeat
  purchases `x`, the days from their first to their last purchase `t_x` (recency), and the
  days from their first purchase to now `T` (age). A long silence after a busy spell makes
  it likely they have left; a member who has only ever bought once is taken to be alive.
- Gamma-Gamma (Fader, Hardie and Lee, 2005; Fader and Hardie, 2013) for what a purchase is
  worth: each member has their own average (varying between members as a gamma
  distribution, `q` and `gamma`), around which single purchases vary (shape `p`). A member's
  expected spend per purchase is a blend of their own average and the programme's, weighted
  by how many purchases they have made.

Purchases are counted as purchase days (several tickets on one day are one purchase). Time is
in days. Every function takes and returns numpy arrays, one entry per member, so that a batch
of members is predicted at once. Nothing here reads a database.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import integrate, optimize, special

Array = NDArray[np.float64]

#: How hard a fit is pulled towards parameters of 1 (on the log scale): enough to keep a fit on
#: few or odd members finite, too little to matter on a programme's worth of them.
PENALTY = 0.001
#: Log-parameters stay within these bounds (about 6e-6 to 1.2e6).
LOG_BOUNDS = (-12.0, 14.0)
#: How close to 1 the dropout shape `a` (and to 0 the closed form's `c`) may come before the
#: expected purchases are read from `STEP` either side of it (the closed form divides by both).
NEAR = 1e-6
STEP = 1e-5


def _arrays(*values: ArrayLike) -> list[Array]:
    return [np.asarray(value, dtype=np.float64) for value in values]


@dataclass(frozen=True)
class PurchaseModel:
    """BG/NBD: purchase rates gamma(`r`, `alpha`) (per day), dropout beta(`a`, `b`)."""

    r: float
    alpha: float
    a: float
    b: float

    def log_likelihood(self, x: ArrayLike, t_x: ArrayLike, age: ArrayLike) -> Array:
        """Each member's log-likelihood of their history under the model."""
        return _bgnbd_log_likelihood((self.r, self.alpha, self.a, self.b), *_arrays(x, t_x, age))

    def _silence(self, x: Array, t_x: Array, age: Array) -> Array:
        """The log of the odds that a member with purchases has left: large after a long
        silence; -inf for a member who never bought again (taken to be alive)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        repeat = x > 0
        safe = np.where(repeat, b + x - 1, 1.0)
        odds = (math.log(a) - np.log(safe)
                + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x)))
        return np.where(repeat, odds, -np.inf)

    def p_alive(self, x: ArrayLike, t_x: ArrayLike, age: ArrayLike) -> Array:
        """The probability each member is still buying (has not dropped out) now."""
        xs, txs, ages = _arrays(x, t_x, age)
        return np.asarray(special.expit(-self._silence(xs, txs, ages)), dtype=np.float64)

    def expected_purchases(self, days: float, x: ArrayLike, t_x: ArrayLike,
                           age: ArrayLike) -> Array:
        """How many purchases each member is expected to make over the next `days`."""
        xs, txs, ages = _arrays(x, t_x, age)
        if days <= 0 or xs.size == 0:
            return np.zeros_like(xs)
        alive = self.p_alive(xs, txs, ages)
        return alive * self._purchases_if_alive(days, xs, ages)

    def _purchases_if_alive(self, days: float, x: Array, age: Array) -> Array:
        """E[purchases in the next `days` | alive]: with the hypergeometric function in Euler's
        form, whose terms stay small for members with many purchases. Where the closed form is
        ill-conditioned (the dropout shape `a` near 1, or its `c` near 0) it is the mean of its
        values just either side, which it is smooth across; where it still fails, numerically
        integrated."""
        a, b = self.a, self.b
        if abs(a - 1) < NEAR:  # linearly between 1 - STEP and 1 + STEP
            low = self._closed(days, x, age, 1 - STEP, b)
            high = self._closed(days, x, age, 1 + STEP, b)
            closed = low + (high - low) * (a - 1 + STEP) / (2 * STEP)
        else:
            closed = self._closed(days, x, age, a, b)
        near_zero = np.abs(a + b + x - 1) < NEAR
        if near_zero.any():  # halfway between b - STEP and b + STEP
            sides = [self._closed(days, x[near_zero], age[near_zero], a, b + shift)
                     for shift in (-STEP, STEP)]
            closed[near_zero] = (sides[0] + sides[1]) / 2
        ceiling = (self.r + x) * days / (self.alpha + age)  # buying at their rate, never leaving
        bad = ~np.isfinite(closed) | (closed < 0) | (closed > ceiling * (1 + 1e-9))
        for i in np.flatnonzero(bad):
            closed[i] = self._integrated(days, float(x[i]), float(age[i]))
        return np.clip(closed, 0.0, ceiling)

    def _closed(self, days: float, x: Array, age: Array, a: float, b: float) -> Array:
        """The closed form of E[purchases in the next `days` | alive] at dropout shapes a, b."""
        r, alpha = self.r, self.alpha
        c = a + b + x - 1
        z = days / (alpha + age + days)
        kept = (alpha + age) / (alpha + age + days)
        with np.errstate(all="ignore"):
            hyp = special.hyp2f1(a + b - 1 - r, a - 1, c, z)
            return np.asarray(c / (a - 1) * (1 - np.power(kept, a - 1) * hyp),
                              dtype=np.float64)

    def _integrated(self, days: float, x: float, age: float) -> float:
        """E[purchases in the next `days` | alive] by integrating over the dropout probability
        p ~ beta(a, b + x): (1 - E[exp(-lambda p days)]) / p."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        scale = days / (alpha + age)
        shape = r + x

        def per_p(p: float) -> float:
            if p < 1e-12:
                return shape * scale
            return float(-np.expm1(-shape * np.log1p(p * scale)) / p)

        value, _ = integrate.quad(per_p, 0.0, 1.0, weight="alg", wvar=(a - 1, b + x - 1),
                                  limit=200)
        return float(value / special.beta(a, b + x))


@dataclass(frozen=True)
class SpendModel:
    """Gamma-Gamma: a purchase's value is gamma(`p`, nu), each member's nu gamma(`q`,
    `gamma`); `q` > 1, so that the average purchase exists."""

    p: float
    q: float
    gamma: float

    @property
    def mean(self) -> float:
        """The average value of a purchase across members."""
        return self.p * self.gamma / (self.q - 1)

    def log_likelihood(self, purchases: ArrayLike, average: ArrayLike) -> Array:
        """Each member's log-likelihood of their average purchase over `purchases` of them."""
        return _gamma_gamma_log_likelihood((self.p, self.q, self.gamma),
                                           *_arrays(purchases, average))

    def expected_spend(self, purchases: ArrayLike, average: ArrayLike) -> Array:
        """Each member's expected value of a future purchase: their own average (over
        `purchases` purchase days; 0 purchases: the programme's) shrunk towards the mean."""
        n, m = _arrays(purchases, average)
        n = np.maximum(n, 0.0)
        m = np.maximum(m, 0.0)
        return (self.gamma + n * m) * self.p / (self.p * n + self.q - 1)


@dataclass(frozen=True)
class ValueModel:
    """Both models: the value each member is expected to bring over a horizon."""

    purchases: PurchaseModel
    spend: SpendModel

    def potential(self, days: float, x: ArrayLike, t_x: ArrayLike, age: ArrayLike,
                  average: ArrayLike) -> Array:
        """Expected purchases over the next `days` times the expected value of each; `average`
        is the member's own average per purchase day over their x + 1 purchase days."""
        xs = np.asarray(x, dtype=np.float64)
        count = self.purchases.expected_purchases(days, xs, t_x, age)
        return count * self.spend.expected_spend(xs + 1, average)

    def parameters(self) -> dict[str, float]:
        return {"r": self.purchases.r, "alpha": self.purchases.alpha, "a": self.purchases.a,
                "b": self.purchases.b, "p": self.spend.p, "q": self.spend.q,
                "gamma": self.spend.gamma}

    @classmethod
    def from_parameters(cls, values: dict[str, float]) -> ValueModel:
        return cls(PurchaseModel(values["r"], values["alpha"], values["a"], values["b"]),
                   SpendModel(values["p"], values["q"], values["gamma"]))


def _bgnbd_log_likelihood(params: tuple[float, float, float, float], x: Array, t_x: Array,
                          age: Array) -> Array:
    r, alpha, a, b = params
    common = (special.gammaln(r + x) - special.gammaln(r) + r * math.log(alpha)
              + special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b)
              - special.gammaln(a + b + x))
    stays = -(r + x) * np.log(alpha + age)
    repeat = x > 0
    safe = np.where(repeat, b + x - 1, 1.0)
    left = np.where(repeat, math.log(a) - np.log(safe) - (r + x) * np.log(alpha + t_x),
                    -np.inf)
    return np.asarray(common + np.logaddexp(stays, left), dtype=np.float64)


def _gamma_gamma_log_likelihood(params: tuple[float, float, float], n: Array,
                                m: Array) -> Array:
    p, q, gamma = params
    px = p * n
    return np.asarray(special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q)
                      + q * math.log(gamma) + (px - 1) * np.log(m) + px * np.log(n)
                      - (px + q) * np.log(gamma + n * m), dtype=np.float64)


def _minimise(objective: Callable[[Array], float], start: Array) -> Array:
    bounds = [LOG_BOUNDS] * len(start)
    result = optimize.minimize(objective, np.clip(start, *LOG_BOUNDS), method="L-BFGS-B",
                               bounds=bounds, options={"maxiter": 500})
    return np.asarray(result.x, dtype=np.float64)


def fit_purchases(x: ArrayLike, t_x: ArrayLike, age: ArrayLike, *,
                  penalty: float = PENALTY) -> PurchaseModel:
    """The BG/NBD parameters most likely to have produced these histories (a small L2 penalty
    on the log-parameters keeps them finite). Needs at least one member."""
    xs, txs, ages = _arrays(x, t_x, age)
    if xs.size == 0:
        raise ValueError("fitting the purchase model needs at least one member")
    if np.any(xs < 0) or np.any(txs < 0) or np.any(txs > ages + 1e-9):
        raise ValueError("histories need x >= 0 and 0 <= t_x <= age")
    scale = float(np.mean(ages)) or 1.0
    rate = max(float(np.mean(xs)), 0.1) / scale
    start = np.log(np.array([1.0, 1.0 / rate, 1.0, 1.0]))

    def objective(theta: Array) -> float:
        params = tuple(float(v) for v in np.exp(theta))
        with np.errstate(all="ignore"):
            ll = _bgnbd_log_likelihood(params, xs, txs, ages)  # type: ignore[arg-type]
        value = -float(np.mean(ll)) + penalty * float(np.sum(theta ** 2))
        return value if math.isfinite(value) else 1e300

    r, alpha, a, b = (float(v) for v in np.exp(_minimise(objective, start)))
    return PurchaseModel(r, alpha, a, b)


def fit_spend(purchases: ArrayLike, average: ArrayLike, *,
              penalty: float = PENALTY) -> SpendModel:
    """The Gamma-Gamma parameters most likely to have produced these averages (members with
    at least one purchase day and a positive average only). Needs at least one such member."""
    n, m = _arrays(purchases, average)
    keep = (n >= 1) & (m > 0)
    n, m = n[keep], m[keep]
    if n.size == 0:
        raise ValueError("fitting the spend model needs a member with a positive average")
    mean = float(np.mean(m))
    # p = 1, q = 2: the average purchase p * gamma / (q - 1) starts at the members' mean
    start = np.array([0.0, 0.0, math.log(mean)])

    def objective(theta: Array) -> float:
        p, q_less_one, gamma = (float(v) for v in np.exp(theta))
        with np.errstate(all="ignore"):
            ll = _gamma_gamma_log_likelihood((p, 1 + q_less_one, gamma), n, m)
        value = -float(np.mean(ll)) + penalty * float(np.sum(theta ** 2))
        return value if math.isfinite(value) else 1e300

    p, q_less_one, gamma = (float(v) for v in np.exp(_minimise(objective, start)))
    return SpendModel(p, 1 + q_less_one, gamma)


def fit(x: ArrayLike, t_x: ArrayLike, age: ArrayLike, average: ArrayLike, *,
        penalty: float = PENALTY) -> ValueModel:
    """Both models from the same members' histories (see `ValueModel.potential`)."""
    xs = np.asarray(x, dtype=np.float64)
    return ValueModel(fit_purchases(xs, t_x, age, penalty=penalty),
                      fit_spend(xs + 1, average, penalty=penalty))


def high_threshold(values: ArrayLike, percent: float) -> float | None:
    """The value at rank ceil(N x percent / 100), best first, among the N values above zero:
    those at or above it are the top `percent`. None when no value is above zero."""
    positive = np.sort(np.asarray(values, dtype=np.float64)[np.asarray(values) > 0])[::-1]
    if positive.size == 0:
        return None
    rank = max(1, math.ceil(positive.size * percent / 100))
    return float(positive[min(rank, positive.size) - 1])


def quadrant(high_current: bool, high_potential: bool) -> str:
    """keep (high now, high to come), grow (low now, high to come), maintain (high now, low to
    come) or reduce_cost."""
    if high_potential:
        return "keep" if high_current else "grow"
    return "maintain" if high_current else "reduce_cost"
