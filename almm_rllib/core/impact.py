"""Market-impact models: configuration, thin wrappers around the compiled kernels, Almgren-Chriss schedules.

The compiled family lives in :mod:`almm_rllib.core.impact_nb` (formulas and units in its docstring). This
module holds

* :class:`ImpactConfig`, the frozen, self-validating configuration; ``model_id`` and ``to_params()`` give the
  ``(int, float64 array)`` pair that the step kernel passes to ``impact_nb``;
* :func:`impact`, :func:`liquidation_cost`, :func:`decay`, :func:`half_life`,
  :func:`decay_rate_from_half_life`: validated Python entry points to the kernels;
* the Almgren and Chriss (2000) execution problem in plain numpy: the optimal liquidation trajectory, its
  expected cost and variance in the paper's closed forms, and the expected cost and variance of an arbitrary
  schedule.

Almgren-Chriss units, as in the paper but with seconds: holdings in shares, time in seconds, ``sigma`` the
**absolute** volatility in money per share per sqrt(second) (relative ``sigma`` times price), ``lam`` the risk
aversion in 1 / money, ``gamma`` in money / share**2, ``eta`` in money * second / share**2, ``epsilon`` in
money / share; expected costs in money, variances in money**2.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numpy as np

from almm_rllib.core.config import Config, ConfigError
from almm_rllib.core.impact_nb import (
    IMPACT_ALMGREN_CHRISS,
    IMPACT_NONE,
    IMPACT_SQRT,
    N_PARAMS,
    P_BETA,
    P_DAILY_VOLUME,
    P_DAY_SECONDS,
    P_DECAY_RATE,
    P_EPSILON,
    P_ETA,
    P_GAMMA,
    P_LIQUIDATION_SECONDS,
    decay_nb,
    impact_nb,
    liquidation_cost_nb,
)
from almm_rllib.core.market_facts import SESSION_SECONDS

__all__ = [
    "IMPACT_ALMGREN_CHRISS",
    "IMPACT_MODELS",
    "IMPACT_NONE",
    "IMPACT_SQRT",
    "ImpactConfig",
    "ImpactResult",
    "ac_eta_tilde",
    "ac_expected_cost",
    "ac_kappa",
    "ac_optimal_cost",
    "ac_optimal_trajectory",
    "ac_variance",
    "decay",
    "decay_rate_from_half_life",
    "half_life",
    "impact",
    "liquidation_cost",
]

#: Model names accepted by ``ImpactConfig.model`` and their compiled ids.
IMPACT_MODELS: dict[str, int] = {
    "none": IMPACT_NONE,
    "almgren_chriss": IMPACT_ALMGREN_CHRISS,
    "sqrt": IMPACT_SQRT,
}


def _real(owner: str, name: str, value) -> float:
    """``value`` as a float; refuses bools, non-numbers and NaN with a message naming ``owner.name``."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{owner}.{name} must be a real number, got {value!r}")
    x = float(value)
    if math.isnan(x):
        raise ValueError(f"{owner}.{name} must be a real number, got nan")
    return x


@dataclasses.dataclass(frozen=True)
class ImpactConfig(Config):
    """Which impact model the market applies to aggressive trades, and its parameters.

    Every numeric field is stored as a float. Values are checked on construction; a bad one raises
    ``ValueError`` naming the field, e.g. ``"ImpactConfig.eta must be >= 0, got -1.0"``.
    """

    model: str = "none"
    """One of ``"none"``, ``"almgren_chriss"``, ``"sqrt"`` (see ``impact_nb`` for the formulas)."""

    gamma: float = 0.0
    """Permanent impact, money per share per share traded: a trade of ``v`` shares moves the fair price by
    ``gamma * v`` (Almgren-Chriss and sqrt). >= 0, finite."""

    eta: float = 0.0
    """Almgren-Chriss linear temporary impact, money per share per (share / second): temporary shift
    ``eta * v / tau``. >= 0, finite."""

    epsilon: float = 0.0
    """Almgren-Chriss fixed temporary cost, money per share (half-spread plus fees): ``epsilon * sign(v)``.
    >= 0, finite."""

    beta: float = 1.0
    """Square-root law prefactor (the "Y" of the empirical literature), dimensionless. >= 0, finite."""

    daily_volume: float = 1.0e6
    """Square-root law daily traded volume, shares. > 0, finite."""

    day_seconds: float = SESSION_SECONDS
    """Length of one trading day in seconds (6.5 hours by default): the square-root law uses the daily
    relative volatility ``sigma * sqrt(day_seconds)``. > 0, finite."""

    decay_rate: float = math.log(2.0) / 10.0
    """Decay rate of the temporary displacement of the visible quotes, 1 / second (half-life
    ``ln 2 / decay_rate``; default 10 s). >= 0; ``inf`` means it vanishes at once, 0 that it never decays."""

    liquidation_seconds: float = 60.0
    """Duration, in seconds, of the single trade assumed to liquidate the final inventory when computing
    ``total_pnl_liquidated``. > 0, finite."""

    def _validate(self) -> None:
        if self.model not in IMPACT_MODELS:
            allowed = ", ".join(repr(k) for k in IMPACT_MODELS)
            raise ConfigError("model", f"must be one of {allowed}, got {self.model!r}")
        rules = {
            "gamma": ">= 0",
            "eta": ">= 0",
            "epsilon": ">= 0",
            "beta": ">= 0",
            "daily_volume": "> 0",
            "day_seconds": "> 0",
            "decay_rate": ">= 0 (inf allowed)",
            "liquidation_seconds": "> 0",
        }
        for name, rule in rules.items():
            x = getattr(self, name)
            if math.isinf(x) and name != "decay_rate":
                raise ConfigError(name, f"must be finite, got {x!r}")
            if not (x > 0.0 if rule.startswith("> ") else x >= 0.0):
                raise ConfigError(name, f"must be {rule}, got {x!r}")

    @property
    def model_id(self) -> int:
        """The compiled model id (``IMPACT_NONE``, ``IMPACT_ALMGREN_CHRISS`` or ``IMPACT_SQRT``)."""
        return IMPACT_MODELS[self.model]

    @property
    def half_life(self) -> float:
        """Half-life of the temporary displacement, seconds (``inf`` when ``decay_rate == 0``)."""
        return half_life(self.decay_rate)

    def to_params(self) -> np.ndarray:
        """The ``float64`` array of length ``N_PARAMS`` that ``impact_nb`` reads (``P_*`` layout)."""
        p = np.zeros(N_PARAMS, dtype=np.float64)
        p[P_GAMMA] = self.gamma
        p[P_ETA] = self.eta
        p[P_EPSILON] = self.epsilon
        p[P_BETA] = self.beta
        p[P_DAILY_VOLUME] = self.daily_volume
        p[P_DAY_SECONDS] = self.day_seconds
        p[P_DECAY_RATE] = self.decay_rate
        p[P_LIQUIDATION_SECONDS] = self.liquidation_seconds
        return p


class ImpactResult(NamedTuple):
    """What :func:`impact` returns."""

    permanent: float
    """Shift of the fair price, money per share, sign of the trade."""
    temporary: float
    """Shift of the trade's execution price, money per share, sign of the trade."""
    cost: float
    """Impact cost of the trade, money, >= 0."""


def _check_market(price, sigma) -> tuple[float, float]:
    price = _real("impact", "price", price)
    sigma = _real("impact", "sigma", sigma)
    if not (price > 0.0 and math.isfinite(price)):
        raise ValueError(f"impact.price must be > 0 and finite (money per share), got {price!r}")
    if not (sigma >= 0.0 and math.isfinite(sigma)):
        raise ValueError(f"impact.sigma must be >= 0 and finite (relative, per sqrt(second)), got {sigma!r}")
    return price, sigma


def impact(config: ImpactConfig, v: float, tau: float, price: float, sigma: float) -> ImpactResult:
    """Impact of one aggressive trade under ``config``; a validated wrapper around ``impact_nb``.

    Args:
        config: the impact model.
        v: signed trade, shares (> 0 buy, < 0 sell).
        tau: execution time of the trade, seconds, > 0.
        price: reference price, money per share, > 0.
        sigma: relative volatility, fraction of the price per sqrt(second), >= 0.
    """
    v = _real("impact", "v", v)
    tau = _real("impact", "tau", tau)
    if not math.isfinite(v):
        raise ValueError(f"impact.v must be finite (shares), got {v!r}")
    if not (tau > 0.0 and math.isfinite(tau)):
        raise ValueError(f"impact.tau must be > 0 and finite (seconds), got {tau!r}")
    price, sigma = _check_market(price, sigma)
    perm, temp, cost = impact_nb(config.model_id, config.to_params(), v, tau, price, sigma)
    return ImpactResult(float(perm), float(temp), float(cost))


def liquidation_cost(config: ImpactConfig, q: float, price: float, sigma: float) -> float:
    """Money (>= 0) it costs to liquidate ``q`` shares in one trade over ``config.liquidation_seconds``.

    ``total_pnl_liquidated = total_pnl - liquidation_cost(config, q_n, mid_n, sigma_n)`` (``metrics.md``).
    ``price`` in money per share, ``sigma`` relative per sqrt(second). See ``liquidation_cost_nb``.
    """
    q = _real("liquidation_cost", "q", q)
    if not math.isfinite(q):
        raise ValueError(f"liquidation_cost.q must be finite (shares), got {q!r}")
    price, sigma = _check_market(price, sigma)
    return float(liquidation_cost_nb(config.model_id, config.to_params(), q, price, sigma))


def half_life(decay_rate: float) -> float:
    """``ln 2 / decay_rate`` seconds: time for a temporary displacement to halve (``inf`` for rate 0)."""
    lam = _real("half_life", "decay_rate", decay_rate)
    if lam < 0.0:
        raise ValueError(f"half_life.decay_rate must be >= 0, got {lam!r}")
    return math.inf if lam == 0.0 else math.log(2.0) / lam


def decay_rate_from_half_life(half_life_s: float) -> float:
    """``ln 2 / half_life_s`` in 1 / second; the inverse of :func:`half_life`."""
    h = _real("decay_rate_from_half_life", "half_life_s", half_life_s)
    if not h > 0.0:
        raise ValueError(f"decay_rate_from_half_life.half_life_s must be > 0, got {h!r}")
    return 0.0 if math.isinf(h) else math.log(2.0) / h


def decay(state: np.ndarray, decay_rate: float, dt: float) -> None:
    """In place: ``state *= exp(-decay_rate * dt)``; ``state`` a 1-D C-contiguous ``float64`` array."""
    if not (isinstance(state, np.ndarray) and state.dtype == np.float64 and state.ndim == 1):
        raise ValueError("decay.state must be a 1-D float64 numpy array")
    if not state.flags.c_contiguous or not state.flags.writeable:
        raise ValueError("decay.state must be C-contiguous and writeable")
    lam = _real("decay", "decay_rate", decay_rate)
    dt = _real("decay", "dt", dt)
    if lam < 0.0:
        raise ValueError(f"decay.decay_rate must be >= 0, got {lam!r}")
    if not (dt >= 0.0 and math.isfinite(dt)):
        raise ValueError(f"decay.dt must be >= 0 and finite (seconds), got {dt!r}")
    decay_nb(state, lam, dt)


# ------------------------------------------------------------------------------------------------------------
# Almgren and Chriss (2000), "Optimal execution of portfolio transactions", sections 2-3. A schedule
# liquidates X shares over T = N * tau seconds: holdings x_0 = X, ..., x_N = 0 at times t_k = k * tau, trades
# n_k = x_{k-1} - x_k. Everything below is plain numpy, for analysis and tests, not for the step loop.

#: Below this kappa * T the optimal trajectory is the straight line to working precision: the relative
#: difference is at most (kappa T)**2 / 6 < 2e-17.
_KT_LINEAR = 1.0e-8


def _ac_args(T: float, N: int, sigma: float, lam: float, gamma: float, eta: float) -> tuple[float, float]:
    """Validate the Almgren-Chriss problem; return ``(tau, kappa)``."""
    if isinstance(N, bool) or not isinstance(N, int | np.integer) or N < 1:
        raise ValueError(f"almgren_chriss.N must be an integer >= 1, got {N!r}")
    T = _real("almgren_chriss", "T", T)
    if not (T > 0.0 and math.isfinite(T)):
        raise ValueError(f"almgren_chriss.T must be > 0 and finite (seconds), got {T!r}")
    tau = T / int(N)
    return tau, ac_kappa(tau, sigma, lam, gamma, eta)


def ac_eta_tilde(tau: float, gamma: float, eta: float) -> float:
    """``eta_tilde = eta - gamma * tau / 2``, money * second / share**2.

    It must be > 0: otherwise a buy followed by a sell of the same size, one step of ``tau`` apart, earns
    money (the permanent shift of the first trade pays more than the temporary cost of both).
    """
    return float(eta) - 0.5 * float(gamma) * float(tau)


def ac_kappa(tau: float, sigma: float, lam: float, gamma: float, eta: float) -> float:
    """The urgency ``kappa`` (1 / second) of the optimal Almgren-Chriss trajectory.

    ``kappa_tilde**2 = lam * sigma**2 / eta_tilde``, ``cosh(kappa * tau) = 1 + kappa_tilde**2 * tau**2 / 2``
    (the paper's definition), evaluated as ``kappa = 2 * asinh(kappa_tilde * tau / 2) / tau``: the same
    equation, since ``cosh(2y) = 1 + 2 sinh(y)**2``, without the cancellation of ``acosh(1 + small)``.
    ``lam = 0`` gives 0.
    Raises ``ValueError`` when ``eta_tilde <= 0`` or an argument is negative or not finite.
    """
    vals = {"tau": tau, "sigma": sigma, "lam": lam, "gamma": gamma, "eta": eta}
    for name, value in vals.items():
        x = _real("almgren_chriss", name, value)
        if not (x >= 0.0 and math.isfinite(x)):
            raise ValueError(f"almgren_chriss.{name} must be >= 0 and finite, got {x!r}")
        vals[name] = x
    if not vals["tau"] > 0.0:
        raise ValueError(f"almgren_chriss.tau must be > 0, got {vals['tau']!r}")
    eta_t = ac_eta_tilde(vals["tau"], vals["gamma"], vals["eta"])
    if not eta_t > 0.0:
        raise ValueError(
            f"almgren_chriss: eta_tilde = eta - gamma * tau / 2 must be > 0, got {eta_t!r} "
            f"(eta={vals['eta']!r}, gamma={vals['gamma']!r}, tau={vals['tau']!r})"
        )
    kt = math.sqrt(vals["lam"] * vals["sigma"] ** 2 / eta_t)
    return 2.0 * math.asinh(0.5 * kt * vals["tau"]) / vals["tau"]


def _sinh_ratio(p: float, q: float) -> float:
    """``sinh(p) / sinh(q)`` for ``0 <= p <= q``, ``q > 0``, without overflow."""
    if p == 0.0:
        return 0.0
    return math.exp(p - q) * (-math.expm1(-2.0 * p)) / (-math.expm1(-2.0 * q))


def ac_optimal_trajectory(
    X: float, T: float, N: int, *, sigma: float, lam: float, gamma: float, eta: float
) -> np.ndarray:
    """Optimal holdings ``x_0 .. x_N`` (shares, length ``N + 1``) for liquidating ``X`` shares over ``T`` s.

    ``x_k = X * sinh(kappa * (T - t_k)) / sinh(kappa * T)``, ``t_k = k * T / N``, ``kappa`` from
    :func:`ac_kappa`; it minimises ``E + lam * V`` over all schedules. ``lam = 0`` (or ``kappa * T`` below
    1e-8) gives the straight line ``x_k = X * (1 - k / N)``. ``X < 0`` (a purchase) mirrors ``X > 0``.
    ``x_0 = X`` and ``x_N = 0`` exactly.
    """
    X = _real("almgren_chriss", "X", X)
    if not math.isfinite(X):
        raise ValueError(f"almgren_chriss.X must be finite (shares), got {X!r}")
    tau, kappa = _ac_args(T, N, sigma, lam, gamma, eta)
    N = int(N)
    T = float(T)
    b = kappa * T
    x = np.empty(N + 1, dtype=np.float64)
    for k in range(N + 1):
        rest = T - k * tau if k < N else 0.0
        if b < _KT_LINEAR:
            x[k] = X * (N - k) / N
        else:
            x[k] = X * _sinh_ratio(kappa * rest, b)
    x[0] = X
    x[N] = 0.0
    return x


def ac_optimal_cost(
    X: float, T: float, N: int, *, sigma: float, lam: float, gamma: float, eta: float, epsilon: float = 0.0
) -> tuple[float, float]:
    """Expected cost ``E`` (money) and variance ``V`` (money**2) of the optimal trajectory, in closed form.

    With ``tau = T / N``, ``eta_tilde = eta - gamma * tau / 2`` and ``kappa`` from :func:`ac_kappa`
    (Almgren and Chriss 2000, after eq. (20))::

        E = gamma X^2 / 2 + epsilon |X|
            + eta_tilde X^2 tanh(kappa tau / 2) (tau sinh(2 kappa T) + 2 T sinh(kappa tau))
              / (2 tau^2 sinh^2(kappa T))
        V = sigma^2 X^2 / 2 (tau sinh(kappa T) cosh(kappa (T - tau)) - T sinh(kappa tau))
              / (sinh^2(kappa T) sinh(kappa tau))

    and in the limit ``kappa -> 0`` (``lam = 0``, the straight line)::

        E = gamma X^2 / 2 + epsilon |X| + eta_tilde X^2 / T
        V = sigma^2 X^2 T / 3 (1 - 1 / N) (1 - 1 / (2 N))

    Evaluated without overflow for large ``kappa T`` and without cancellation for small ``kappa T``: with
    ``a = kappa tau`` and ``m = 2 N - 1`` the numerator of ``V`` equals ``tau / 2 (sinh(m a) - m sinh(a))``,
    summed as its Taylor series (all terms positive) when ``m a < 1``.
    """
    X = _real("almgren_chriss", "X", X)
    eps = _real("almgren_chriss", "epsilon", epsilon)
    if not math.isfinite(X):
        raise ValueError(f"almgren_chriss.X must be finite (shares), got {X!r}")
    if not (eps >= 0.0 and math.isfinite(eps)):
        raise ValueError(f"almgren_chriss.epsilon must be >= 0 and finite, got {eps!r}")
    tau, kappa = _ac_args(T, N, sigma, lam, gamma, eta)
    N = int(N)
    T = float(T)
    sigma = float(sigma)
    eta_t = ac_eta_tilde(tau, gamma, eta)
    X2 = X * X
    base = 0.5 * float(gamma) * X2 + eps * abs(X)
    b = kappa * T
    if b < _KT_LINEAR:
        E = base + eta_t * X2 / T
        V = sigma**2 * X2 * T / 3.0 * (1.0 - 1.0 / N) * (1.0 - 0.5 / N)
        return E, V
    a = kappa * tau
    inv_sinh_b = 1.0 / math.sinh(b) if b < 710.0 else 0.0
    # E: tanh(a/2) (tau sinh(2b) + 2 T sinh(a)) / (2 tau^2 sinh^2 b)
    #  = tanh(a/2) (coth(b) / tau + T / tau^2 * (sinh(a) / sinh(b)) / sinh(b)); no cancellation.
    shape_e = math.tanh(0.5 * a) * (1.0 / (tau * math.tanh(b)) + T / tau**2 * _sinh_ratio(a, b) * inv_sinh_b)
    E = base + eta_t * X2 * shape_e
    m = 2 * N - 1
    ma = m * a
    if N == 1:  # sold in one trade: nothing is held over an interval
        shape_v = 0.0
    elif ma < 1.0:
        # sinh(m a) - m sinh(a) = sum over odd p >= 3 of ((m a)^p - m a^p) / p!
        s = 0.0
        p = 3
        term_ma = ma**3
        term_a = a**3
        fact = 6.0
        while True:
            term = (term_ma - m * term_a) / fact
            s += term
            if term <= 1e-18 * s or p > 60:
                break
            term_ma *= ma * ma
            term_a *= a * a
            fact *= (p + 1) * (p + 2)
            p += 2
        shape_v = s * inv_sinh_b * inv_sinh_b / math.sinh(a)
    else:
        # sinh(m a) / sinh(b)^2 = 2 exp(-a) (1 - exp(-2 m a)) / (1 - exp(-2 b))^2, since m a - 2 b = -a.
        ratio = 2.0 * math.exp(-a) * (-math.expm1(-2.0 * ma)) / math.expm1(-2.0 * b) ** 2
        sinh_a = math.sinh(a) if a < 710.0 else math.inf
        shape_v = ratio / sinh_a - m * inv_sinh_b * inv_sinh_b
    V = sigma**2 * X2 * tau / 4.0 * shape_v
    return E, V


def _nonneg(name: str, value) -> float:
    x = _real("almgren_chriss", name, value)
    if not (x >= 0.0 and math.isfinite(x)):
        raise ValueError(f"almgren_chriss.{name} must be >= 0 and finite, got {value!r}")
    return x


def _schedule(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.shape[0] < 2:
        raise ValueError(f"schedule x must be 1-D holdings x_0..x_N with N >= 1, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("schedule x must be finite")
    scale = float(np.max(np.abs(x)))
    if abs(x[-1]) > 1e-12 * scale:
        raise ValueError(f"schedule x must end flat (x_N = 0, a full liquidation), got x_N = {x[-1]!r}")
    return x


def ac_expected_cost(x, tau: float, *, gamma: float, eta: float, epsilon: float = 0.0) -> float:
    """Expected cost (money) of an arbitrary liquidation schedule under Almgren-Chriss impact.

    ``x`` holds ``x_0 = X, ..., x_N = 0`` (shares) at intervals of ``tau`` seconds; trades
    ``n_k = x_{k-1} - x_k``::

        E = gamma X^2 / 2 + epsilon sum |n_k| + (eta_tilde / tau) sum n_k^2,   eta_tilde = eta - gamma tau / 2
    """
    x = _schedule(x)
    tau = _real("almgren_chriss", "tau", tau)
    if not (tau > 0.0 and math.isfinite(tau)):
        raise ValueError(f"almgren_chriss.tau must be > 0 and finite (seconds), got {tau!r}")
    gamma, eta, epsilon = _nonneg("gamma", gamma), _nonneg("eta", eta), _nonneg("epsilon", epsilon)
    n = x[:-1] - x[1:]
    eta_t = ac_eta_tilde(tau, gamma, eta)
    X = float(x[0])
    return float(0.5 * gamma * X * X + epsilon * np.sum(np.abs(n)) + eta_t / tau * np.sum(n * n))


def ac_variance(x, tau: float, *, sigma: float) -> float:
    """Variance (money**2) of the cost of an arbitrary schedule: ``V = sigma^2 sum_{k=1..N} tau x_k^2``.

    ``x`` as in :func:`ac_expected_cost`; ``sigma`` absolute, money per share per sqrt(second).
    """
    x = _schedule(x)
    tau = _real("almgren_chriss", "tau", tau)
    if not (tau > 0.0 and math.isfinite(tau)):
        raise ValueError(f"almgren_chriss.tau must be > 0 and finite (seconds), got {tau!r}")
    sigma = _nonneg("sigma", sigma)
    return float(sigma**2 * tau * np.sum(x[1:] ** 2))
