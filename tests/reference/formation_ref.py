"""Slow, obviously correct references for the price-formation kernels (``core.hawkes_nb``, ``core.price_nb``).

Plain Python and ``math`` only, each written from the definition rather than the kernel's recursion:

* the Hawkes intensity is the sum over every past arrival, ``mu + sum_i alpha * exp(-beta * (t - t_i))``, and
  its compensator (integrated intensity) is integrated term by term;
* the propagator is the sum over every past market order, ``sum_i eps_i * I(v_i) * G(t - t_i)`` with
  ``G(l) = perm + (1 - perm) * exp(-decay * l)``, not the O(1) decayed state.
"""

from __future__ import annotations

import math


def hawkes_intensity_ref(t, times, mu, alpha, beta):
    """lambda(t) from every arrival strictly before ``t``."""
    return mu + sum(alpha * math.exp(-beta * (t - ti)) for ti in times if ti < t)


def hawkes_excess_before_ref(times, excess0, alpha, beta):
    """The excess intensity just before each arrival, with ``excess0`` at time 0."""
    out = []
    for k, tk in enumerate(times):
        x = excess0 * math.exp(-beta * tk)
        x += sum(alpha * math.exp(-beta * (tk - ti)) for ti in times[:k])
        out.append(x)
    return out


def hawkes_compensator_ref(a, b, times, excess0, mu, alpha, beta):
    """Integral of the intensity over [a, b] (0 <= a <= b), arrivals at ``times`` and ``excess0`` at time 0."""
    total = mu * (b - a)
    total += excess0 / beta * (math.exp(-beta * a) - math.exp(-beta * b))
    for ti in times:
        lo = max(a, ti)
        if lo < b:
            total += alpha / beta * (math.exp(-beta * (lo - ti)) - math.exp(-beta * (b - ti)))
    return total


def propagator_ref(t, times, signs, lots, ticks, expo, ref, perm, decay):
    """Impact (ticks) at ``t`` of the market orders at ``times`` <= t."""
    total = 0.0
    for ti, s, v in zip(times, signs, lots, strict=True):
        if ti <= t and v > 0 and ticks != 0:
            size = ticks * (v / ref) ** expo
            total += s * size * (perm + (1.0 - perm) * math.exp(-decay * (t - ti)))
    return total
