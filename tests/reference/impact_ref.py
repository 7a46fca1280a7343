"""Slow, obviously correct references for ``almm_rllib.core.impact`` / ``impact_nb``.

Plain Python loops and the ``math`` module only; each follows the definition rather than the fast kernel's
algebra, so that agreement between the two means something:

* the impact family is written out model by model from its defining formulas;
* Almgren-Chriss costs come from simulating the paper's price dynamics with zero noise (implementation
  shortfall), not from the ``gamma X^2 / 2 + ...`` identity;
* the optimal trajectory comes from solving the discrete first-order conditions
  ``x_{k-1} - 2 x_k + x_{k+1} = kappa_tilde^2 tau^2 x_k`` (a tridiagonal system, Thomas algorithm), not from
  the ``sinh`` closed form.
"""

from __future__ import annotations

import math

from almm_rllib.core.market_facts import SESSION_SECONDS


def impact_ref(
    model,
    v,
    tau,
    price,
    sigma,
    *,
    gamma=0.0,
    eta=0.0,
    epsilon=0.0,
    beta=1.0,
    daily_volume=1e6,
    day_seconds=SESSION_SECONDS,
):
    """``(permanent, temporary, cost)`` of a trade of ``v`` shares; ``model`` a name of ``IMPACT_MODELS``."""
    if model == "none" or v == 0.0:
        return 0.0, 0.0, 0.0
    sign = 1.0 if v > 0 else -1.0
    if model == "almgren_chriss":
        rate = v / tau  # shares per second
        permanent = tau * (gamma * rate)  # tau * g(v / tau), g linear
        temporary = epsilon * sign + eta * rate  # h(v / tau)
        cost = abs(v) * abs(temporary)
        return permanent, temporary, cost
    if model == "sqrt":
        daily_sigma = sigma * math.sqrt(day_seconds)  # relative, per day
        relative = beta * daily_sigma * math.sqrt(abs(v) / daily_volume)
        temporary = sign * relative * price
        return gamma * v, temporary, abs(v) * abs(temporary)
    raise ValueError(model)


def decay_ref(value, lam, dt):
    """A temporary displacement ``value`` after ``dt`` seconds of exponential decay at rate ``lam``."""
    return value * math.exp(-lam * dt)


def ac_shortfall_ref(x, tau, *, gamma, eta, epsilon, S0=0.0):
    """Expected cost of a schedule by replaying Almgren-Chriss's dynamics with zero noise.

    ``x`` are holdings x_0..x_N (shares) at intervals of ``tau`` seconds. Trade k sells n_k = x_{k-1} - x_k
    at S~_k = S_{k-1} - h(n_k / tau); afterwards S_k = S_{k-1} - tau g(n_k / tau). Cost = X S0 - capture
    (independent of S0; the default 0 avoids the cancellation of two large numbers).
    """
    S = S0
    capture = 0.0
    for k in range(1, len(x)):
        n = x[k - 1] - x[k]
        rate = n / tau
        h = (epsilon * (1.0 if n > 0 else -1.0 if n < 0 else 0.0)) + eta * rate
        capture += n * (S - h)
        S = S - tau * gamma * rate
    return x[0] * S0 - capture


def ac_variance_ref(x, tau, sigma):
    """``sigma^2 sum_{k=1..N} tau x_k^2``: each x_k is exposed to one interval of price noise."""
    total = 0.0
    for k in range(1, len(x)):
        total += tau * x[k] * x[k]
    return sigma * sigma * total


def ac_trajectory_ref(X, T, N, *, sigma, lam, gamma, eta):
    """Optimal holdings by solving the first-order conditions of min E + lam V over x_1..x_{N-1}.

    d/dx_k [ (eta_tilde / tau) sum n^2 + lam sigma^2 tau sum x^2 ] = 0 gives
    x_{k-1} - (2 + c) x_k + x_{k+1} = 0 with c = lam sigma^2 tau^2 / eta_tilde, x_0 = X, x_N = 0.
    """
    tau = T / N
    eta_tilde = eta - 0.5 * gamma * tau
    c = lam * sigma * sigma * tau * tau / eta_tilde
    m = N - 1  # unknowns x_1..x_{N-1}
    if m == 0:
        return [X, 0.0]
    # tridiagonal: sub = 1, diag = -(2 + c), sup = 1; rhs = -X for the first row.
    diag = [-(2.0 + c)] * m
    rhs = [0.0] * m
    rhs[0] = -X
    cp = [0.0] * m
    dp = [0.0] * m
    cp[0] = 1.0 / diag[0]
    dp[0] = rhs[0] / diag[0]
    for i in range(1, m):
        den = diag[i] - cp[i - 1]
        cp[i] = 1.0 / den
        dp[i] = (rhs[i] - dp[i - 1]) / den
    sol = [0.0] * m
    sol[m - 1] = dp[m - 1]
    for i in range(m - 2, -1, -1):
        sol[i] = dp[i] - cp[i] * sol[i + 1]
    return [X, *sol, 0.0]


def ac_objective_ref(x, tau, *, sigma, lam, gamma, eta, epsilon):
    """``E + lam * V`` of a schedule, from the references above."""
    return ac_shortfall_ref(x, tau, gamma=gamma, eta=eta, epsilon=epsilon) + lam * ac_variance_ref(
        x, tau, sigma
    )
