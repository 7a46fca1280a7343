"""Compiled market-impact kernels: one model family behind one signature.

The market step kernel calls these from inside its own ``njit`` loop, so nothing here takes or returns a
Python object: a model is an ``int`` id (``IMPACT_*`` below) plus a flat ``float64`` parameter array built by
:meth:`almm_rllib.core.impact.ImpactConfig.to_params` (layout: the ``P_*`` indices below).

Units (money = quote currency):

* ``v``: signed aggressive trade in **shares** (lots times lot size; > 0 buy, < 0 sell).
* ``tau``: seconds over which the trade is executed (the step length), > 0.
* ``price``: the reference price ``S`` in **money per share** (ticks times tick size), > 0.
* ``sigma``: **relative** volatility of the price, fraction of the price per sqrt(second), >= 0 (the same
  ``sigma_t`` as in ``metrics.md``); the absolute volatility is ``sigma * price`` money per share per sqrt(s).

The one signature, for every model::

    permanent, temporary, cost = impact_nb(model, params, v, tau, price, sigma)

* ``permanent``: shift of the latent fair price caused by the trade, money per share, sign of ``v``.
* ``temporary``: shift of the trade's own execution price, money per share, sign of ``v``. The market feeds it
  to the decaying tracker (:func:`decay_nb`, :func:`decay_add_nb`) to displace the visible quotes.
* ``cost``: the trade's impact cost in money, ``v * temporary >= 0``.

Convention shared by every model (Almgren and Chriss 2000, section 2): a trade executes at the pre-trade price
plus its temporary shift; its own permanent shift only moves the price seen by later trades. Hence the cost of
one trade is ``v * temporary`` and the permanent part never enters it (it reaches P&L through the mark to mid
of the inventory still held).

Models:

* ``IMPACT_NONE``: everything 0.
* ``IMPACT_ALMGREN_CHRISS``: with rate ``r = v / tau``, permanent ``tau * g(r) = gamma * v`` and temporary
  ``h(r) = epsilon * sign(v) + eta * r``, so ``cost = epsilon * |v| + eta * v**2 / tau``. Reads neither
  ``price`` nor ``sigma``.
* ``IMPACT_SQRT``: square-root law in **relative** form,
  ``temporary / price = beta * sigma * sqrt(day_seconds) * sqrt(|v| / daily_volume) * sign(v)``
  (``sigma * sqrt(day_seconds)`` is the daily relative volatility), so
  ``temporary = beta * sigma * sqrt(day_seconds) * price * sqrt(|v| / daily_volume) * sign(v)`` money per
  share and ``cost = |v| * |temporary|``. Permanent part linear, ``gamma * v``: a concave (square-root)
  permanent impact admits price manipulation by splitting trades (Huberman and Stanzl 2004, Gatheral 2010),
  which a learning agent would find. Ignores ``tau``.
"""

from __future__ import annotations

import math

import numba

from almm_rllib.core.nbopts import NJIT

# ------------------------------------------------------------------------------------------------------------
# Model ids.
IMPACT_NONE = 0  #: no impact
IMPACT_ALMGREN_CHRISS = 1  #: linear permanent + (fixed + linear) temporary, Almgren and Chriss (2000)
IMPACT_SQRT = 2  #: square-root temporary impact, linear permanent

# ------------------------------------------------------------------------------------------------------------
# Layout of the parameter array (``ImpactConfig.to_params``). Every model gets the full array and reads what
# it needs, so the layout does not depend on the model.
P_GAMMA = 0  #: permanent coefficient, money per share per share (Almgren-Chriss and sqrt)
P_ETA = 1  #: Almgren-Chriss linear temporary coefficient, money * second / share**2
P_EPSILON = 2  #: Almgren-Chriss fixed temporary cost, money per share
P_BETA = 3  #: square-root law prefactor, dimensionless
P_DAILY_VOLUME = 4  #: square-root law daily volume, shares
P_DAY_SECONDS = 5  #: seconds in one trading day (turns sigma per sqrt(second) into daily sigma)
P_DECAY_RATE = 6  #: decay rate of the temporary displacement of the quotes, 1 / second
P_LIQUIDATION_SECONDS = 7  #: duration of the end-of-episode liquidation trade, seconds
N_PARAMS = 8


@numba.njit(**NJIT)
def impact_nb(model, params, v, tau, price, sigma):
    """Impact of one signed aggressive trade: ``(permanent, temporary, cost)``.

    Args:
        model: ``IMPACT_NONE``, ``IMPACT_ALMGREN_CHRISS`` or ``IMPACT_SQRT``.
        params: ``float64`` array of length ``N_PARAMS`` (``ImpactConfig.to_params()``).
        v: signed trade, shares (> 0 buy, < 0 sell).
        tau: execution time of the trade, seconds, > 0 (read by Almgren-Chriss only).
        price: reference price, money per share, > 0 (read by the square-root law only).
        sigma: relative volatility per sqrt(second), >= 0 (read by the square-root law only).

    Returns:
        ``(permanent, temporary, cost)``: price shifts in money per share with the sign of ``v``, and the cost
        ``v * temporary >= 0`` in money. Exact formulas: module docstring.

    Raises ``ValueError`` for an unknown model id or, for Almgren-Chriss, ``tau <= 0``.
    """
    if model == IMPACT_NONE:
        return 0.0, 0.0, 0.0
    if model == IMPACT_ALMGREN_CHRISS:
        if not tau > 0.0:
            raise ValueError("impact_nb: Almgren-Chriss needs tau > 0")
        if v == 0.0:
            return 0.0, 0.0, 0.0
        sgn = 1.0 if v > 0.0 else -1.0
        temporary = params[P_EPSILON] * sgn + params[P_ETA] * (v / tau)
        return params[P_GAMMA] * v, temporary, v * temporary
    if model == IMPACT_SQRT:
        if v == 0.0:
            return 0.0, 0.0, 0.0
        sgn = 1.0 if v > 0.0 else -1.0
        daily_sigma = sigma * math.sqrt(params[P_DAY_SECONDS])
        size = abs(v)
        temporary = sgn * params[P_BETA] * daily_sigma * price * math.sqrt(size / params[P_DAILY_VOLUME])
        return params[P_GAMMA] * v, temporary, v * temporary
    raise ValueError("impact_nb: unknown impact model id")


@numba.njit(**NJIT)
def liquidation_cost_nb(model, params, q, price, sigma):
    """Cost, in money (>= 0), of liquidating an inventory of ``q`` shares in one trade.

    The trade is ``-q`` shares executed over ``params[P_LIQUIDATION_SECONDS]`` seconds:
    ``impact_nb(model, params, -q, params[P_LIQUIDATION_SECONDS], price, sigma)[2]``. For Almgren-Chriss
    this is ``epsilon * |q| + eta * q**2 / T_liq``, which is also the model's expected cost of the
    one-interval schedule (N = 1) over ``T_liq``. Used for ``total_pnl_liquidated = total_pnl - cost``.
    """
    return impact_nb(model, params, -q, params[P_LIQUIDATION_SECONDS], price, sigma)[2]


@numba.njit(**NJIT)
def decay_factor_nb(lam, dt):
    """``exp(-lam * dt)`` for ``lam >= 0`` (``inf``: instant decay) and ``dt >= 0``; 1 when ``dt == 0``."""
    if dt < 0.0:
        raise ValueError("decay: dt must be >= 0")
    if dt == 0.0 or lam == 0.0:
        return 1.0
    return math.exp(-lam * dt)


@numba.njit(**NJIT)
def decay_nb(state, lam, dt):
    """Let a temporary displacement decay for ``dt`` seconds, in place: ``state *= exp(-lam * dt)``.

    ``state`` is a ``float64`` array of displacements in money per share (one element for a market-wide
    displacement of the quotes, or one per agent); ``lam`` is the decay rate in 1 / second, half-life
    ``ln 2 / lam``. Decaying ``dt1`` then ``dt2`` equals decaying ``dt1 + dt2``.
    """
    f = decay_factor_nb(lam, dt)
    if f == 1.0:
        return
    for i in range(state.shape[0]):
        state[i] *= f


@numba.njit(**NJIT)
def decay_add_nb(state, i, temporary):
    """Add a new temporary shift (money per share, signed, e.g. ``impact_nb(...)[1]``) to ``state[i]``."""
    state[i] += temporary
