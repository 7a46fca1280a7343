"""The latent price: the regime chain and the fair price (step items 1 and 2 of :mod:`market_nb`).

* **Regime**: the continuous-time Markov chain jumps over the window (exponential holding times); the regime at
  the end of the window sets the volatility and the flow rates of the whole window (regime changes take effect
  at step boundaries; regimes last minutes, steps about a second).
* **Fair price**: geometric Brownian motion with the regime's volatility plus compound-Poisson jumps; the
  temporary-impact displacement decays by ``exp(-lambda dt)``.

Both draw only from the price stream.
"""

from __future__ import annotations

import numba
import numpy as np

from .market_state_nb import F_FAIR, F_SIGMA, F_TEMP, I_REGIME, P_JUMP_RATE, P_JUMP_STD, P_SWITCHING, R_VOL
from .nbopts import NJIT_INLINE
from .rng_nb import S_PRICE, expo_nb, normal_nb, uni_nb


@numba.njit(**NJIT_INLINE)
def advance_regime_nb(ms, dt):
    r = ms.i[I_REGIME]
    if ms.p[P_SWITCHING] == 0.0:
        return r
    left = dt
    n = ms.q.shape[0]
    while True:
        rate = -ms.q[r, r]
        if rate <= 0.0:
            break
        w = expo_nb(ms, S_PRICE, 1.0 / rate)
        if w >= left:
            break
        left -= w
        u = uni_nb(ms, S_PRICE) * rate
        acc = 0.0
        nxt = r
        for j in range(n):
            if j == r:
                continue
            acc += ms.q[r, j]
            nxt = j
            if u < acc:
                break
        r = nxt
    ms.i[I_REGIME] = r
    return r


@numba.njit(**NJIT_INLINE)
def advance_fair_nb(ms, dt, r):
    sig = ms.reg[r, R_VOL]
    z = normal_nb(ms, S_PRICE)
    fair = ms.f[F_FAIR] * np.exp(sig * np.sqrt(dt) * z - 0.5 * sig * sig * dt)
    jr = ms.p[P_JUMP_RATE]
    if jr > 0.0:
        t = expo_nb(ms, S_PRICE, 1.0 / jr)
        while t < dt:
            fair *= np.exp(ms.p[P_JUMP_STD] * normal_nb(ms, S_PRICE))
            t += expo_nb(ms, S_PRICE, 1.0 / jr)
    ms.f[F_FAIR] = fair
    ms.f[F_SIGMA] = sig
    lam = ms.imp[6]  # decay rate (impact_nb.P_DECAY_RATE)
    if ms.f[F_TEMP] != 0.0:
        ms.f[F_TEMP] *= np.exp(-lam * dt) if np.isfinite(lam) else 0.0
