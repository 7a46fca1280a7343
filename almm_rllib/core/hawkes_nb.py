"""Hawkes arrivals with an exponential kernel, simulated exactly in O(1) per event.

Intensity ``lambda(t) = mu + sum_i alpha * exp(-beta * (t - t_i))`` over past arrivals ``t_i``; the state is the
excess ``lambda(t) - mu`` alone, which decays by ``exp(-beta * dt)`` and jumps by ``alpha`` at each arrival. The
branching ratio ``n = alpha / beta`` (< 1) is the mean number of arrivals each arrival triggers, and the mean
rate is ``mu / (1 - n)``. The waiting time to the next arrival is drawn exactly with two uniforms (Dassios &
Zhao 2013, "Exact simulation of Hawkes process with exponentially decaying intensity", Algorithm 2): the
minimum of the baseline's exponential wait and the first arrival of the decaying excess, whose survival
function ``exp(-excess * (1 - exp(-beta s)) / beta)`` is inverted in closed form.
"""

from __future__ import annotations

import numba
import numpy as np

from .nbopts import NJIT_HOT, NJIT_INLINE


@numba.njit(**NJIT_INLINE)
def hawkes_wait_nb(excess, mu, beta, u1, u2):
    """Seconds to the next arrival given the excess intensity ``excess`` now, baseline ``mu`` and decay ``beta``;
    ``u1``, ``u2`` uniforms in [0, 1). ``inf`` when no arrival can come (``mu`` = 0 and the excess dies out)."""
    s = np.inf
    if mu > 0.0:
        s = -np.log(1.0 - u2) / mu
    if excess > 0.0:
        d = 1.0 + beta * np.log(1.0 - u1) / excess
        if d > 0.0:
            s1 = -np.log(d) / beta
            if s1 < s:
                s = s1
    return s


@numba.njit(**NJIT_INLINE)
def hawkes_after_nb(excess, beta, alpha, wait):
    """The excess intensity just after an arrival ``wait`` seconds from now."""
    return excess * np.exp(-beta * wait) + alpha


@numba.njit(**NJIT_HOT)
def hawkes_times_nb(mu, alpha, beta, horizon, excess0, uniforms, times, excess_before):
    """Arrival times over [0, horizon) from the uniforms (two per candidate), as the market kernel draws them;
    ``excess_before[k]`` is the excess intensity just before arrival ``k``. Returns the number of arrivals and
    the excess at ``horizon``; when ``times`` or the uniforms run out first, the count so far and the excess
    just after the last arrival."""
    t = 0.0
    exc = excess0
    k = 0
    j = 0
    while j + 1 < uniforms.shape[0] and k < times.shape[0]:
        w = hawkes_wait_nb(exc, mu, beta, uniforms[j], uniforms[j + 1])
        j += 2
        if t + w >= horizon:
            return k, exc * np.exp(-beta * (horizon - t))
        t += w
        excess_before[k] = exc * np.exp(-beta * w)
        times[k] = t
        exc = hawkes_after_nb(exc, beta, alpha, w)
        k += 1
    return k, exc
