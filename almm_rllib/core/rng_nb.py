"""The market's random streams.

Every random number comes from a numpy Generator (PCG64) made from the seed: Python fills a buffer of uniforms
per stream with ``Generator.random`` (``MarketSimulator._refill``) and the kernels turn them into the
distributions they need (inverse CDF, Box-Muller). Passing Generators into numba costs ~5 us per call each to
unbox, more than a whole market step; a buffer in the state (``MarketState.rbuf``/``rpos``) costs nothing.

Streams: flow (background arrivals and cancels), price (regime chain, fair price, jumps), agent (latencies).
Keeping them apart is what makes common random numbers hold: what the agents do changes how many agent-stream
numbers are drawn, never the flow or price streams.
"""

from __future__ import annotations

import numba
import numpy as np

from .nbopts import NJIT_INLINE

S_FLOW = 0
S_PRICE = 1
S_AGENT = 2
N_STREAMS = 3


@numba.njit(**NJIT_INLINE)
def uni_nb(ms, s):
    """Next uniform in [0, 1) of stream ``s`` (NaN if the buffer ran dry, which the caller sizes against)."""
    k = ms.rpos[s]
    if k >= ms.rbuf.shape[1]:
        ms.rpos[s] = k + 1
        return np.nan
    ms.rpos[s] = k + 1
    return ms.rbuf[s, k]


@numba.njit(**NJIT_INLINE)
def expo_nb(ms, s, scale):
    """Exponential with mean ``scale``."""
    return -np.log(1.0 - uni_nb(ms, s)) * scale


@numba.njit(**NJIT_INLINE)
def normal_nb(ms, s):
    """Standard normal (Box-Muller, two uniforms per draw)."""
    u1 = 1.0 - uni_nb(ms, s)
    u2 = uni_nb(ms, s)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@numba.njit(**NJIT_INLINE)
def geometric_inv_nb(u, p):
    """The geometric on {1, 2, ...} with success probability ``p`` at the uniform ``u`` (inverse CDF)."""
    if p >= 1.0:
        return 1.0
    return 1.0 + np.floor(np.log(1.0 - u) / np.log(1.0 - p))


@numba.njit(**NJIT_INLINE)
def geometric_nb(ms, s, p):
    """Geometric on {1, 2, ...} with success probability ``p``, drawn from stream ``s``."""
    return geometric_inv_nb(uni_nb(ms, s), p)
