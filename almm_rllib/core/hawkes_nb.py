"""Hawkes arrivals with an exponential kernel, simulated exactly in O(1) per event.

Intensity ``lambda(t) = mu + sum_i alpha * exp(-beta * (t - t_i))`` over past arrivals ``t_i``; the state is the
excess ``lambda(t) - mu`` alone, which decays by ``exp(-beta * dt)`` and jumps by ``alpha`` at each arrival. The
branching ratio ``n = alpha / beta`` (< 1) is the mean number of arrivals each arrival triggers, and the mean
rate is ``mu / (1 - n)``. The waiting time to the next arrival is drawn exactly with two uniforms (Dassios &
Zhao 2013, "Exact simulation of Hawkes process with exponentially decaying intensity", Algorithm 2): the
minimum of the baseline's exponential wait and the first arrival of the decaying excess, whose survival
function ``exp(-excess * (1 - exp(-beta s)) / beta)`` is inverted in closed form.

Two kernels (``hawkes_wait2_nb``): ``lambda(t) = mu + sum_i [alpha1 exp(-beta1 (t - t_i)) + alpha2 exp(-beta2
(t - t_i))]``, a fast kernel for the bursts within a second and a slow one for the clustering over tens of
seconds (a real day's Fano factor of market-order counts keeps growing from 1-s to 60-s windows; one
exponential kernel saturates after ``1 / (beta (1 - n))`` seconds). Each arrival raises both excesses; given
the state, the baseline and the two decaying excesses are independent inhomogeneous Poisson processes, so the
next arrival is exactly the earliest of their three first arrivals, each inverted from its own uniform.
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
    return min(s, excess_wait_nb(excess, beta, u1))


@numba.njit(**NJIT_INLINE)
def excess_wait_nb(excess, beta, u):
    """Seconds to the first arrival of an excess intensity ``excess`` decaying at ``beta`` (uniform ``u``):
    ``inf`` when it dies out first (probability ``exp(-excess / beta)``)."""
    if excess > 0.0:
        d = 1.0 + beta * np.log(1.0 - u) / excess
        if d > 0.0:
            return -np.log(d) / beta
    return np.inf


@numba.njit(**NJIT_INLINE)
def hawkes_wait2_nb(excess1, excess2, mu, beta1, beta2, u1, u2, u3):
    """Seconds to the next arrival of the two-kernel process: the earliest of the baseline's wait (``u2``), the
    fast excess's first arrival (``u1``) and the slow excess's (``u3``); ``inf`` when none can come."""
    return min(hawkes_wait_nb(excess1, mu, beta1, u1, u2), excess_wait_nb(excess2, beta2, u3))


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


@numba.njit(**NJIT_HOT)
def hawkes2_times_nb(mu, alpha1, beta1, alpha2, beta2, horizon, excess0, uniforms, times, excess_before):
    """``hawkes_times_nb`` for the two-kernel process, three uniforms per candidate as the market kernel draws
    them: ``excess0`` and the rows of ``excess_before`` (shape ``(len(times), 2)``) are the (fast, slow)
    excesses. Returns the number of arrivals and the two excesses at ``horizon`` (or just after the last
    arrival when ``times`` or the uniforms run out first)."""
    t = 0.0
    e1 = excess0[0]
    e2 = excess0[1]
    k = 0
    j = 0
    while j + 2 < uniforms.shape[0] and k < times.shape[0]:
        w = hawkes_wait2_nb(e1, e2, mu, beta1, beta2, uniforms[j], uniforms[j + 1], uniforms[j + 2])
        j += 3
        if t + w >= horizon:
            return k, e1 * np.exp(-beta1 * (horizon - t)), e2 * np.exp(-beta2 * (horizon - t))
        t += w
        excess_before[k, 0] = e1 * np.exp(-beta1 * w)
        excess_before[k, 1] = e2 * np.exp(-beta2 * w)
        times[k] = t
        e1 = hawkes_after_nb(e1, beta1, alpha1, w)
        e2 = hawkes_after_nb(e2, beta2, alpha2, w)
        k += 1
    return k, e1, e2
