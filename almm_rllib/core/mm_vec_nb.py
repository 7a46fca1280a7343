"""N markets stepped in one compiled call: the kernel of the native vector environment.

Each market is the same :class:`~almm_rllib.core.market_state_nb.MarketState` a single env steps; the markets are
held in a ``numba.typed.List`` (one pointer to unbox per call, whatever N is, and whatever fields MarketState
has: the loop never names them). The per-market arrays of ``mm_nb`` (parameters, episode state, features,
observations, accumulators, actions) are stacked along a leading market axis; row ``k`` of each is exactly
the array a single env passes to :func:`~almm_rllib.core.mm_nb.mm_step_nb`, so market ``k`` evolves bit for
bit as it would in its own env.

The typed list is built and updated only through the compiled helpers below: they are cached on disk with
the other kernels, whereas typed-list methods called from Python are compiled again in every process.
"""

from __future__ import annotations

import numba
from numba.typed import List

from .mm_nb import mm_step_nb
from .nbopts import NJIT


@numba.njit(**NJIT)
def market_list_nb(state):
    """A typed list holding ``state`` (a MarketState); :func:`market_list_append_nb` adds the others."""
    out = List()
    out.append(state)
    return out


@numba.njit(**NJIT)
def market_list_append_nb(markets, state):
    markets.append(state)


@numba.njit(**NJIT)
def market_list_set_nb(markets, k, state):
    """Put ``state`` in slot ``k`` (a market's reset builds a new MarketState)."""
    markets[k] = state


@numba.njit(**NJIT)
def mm_step_many_nb(markets, act, mp, es, feat, obs, acc, todo, status):
    """``mm_step_nb`` on every market ``k`` with ``todo[k]``; its return code goes to ``status[k]``.

    ``act`` float64[N, n_agents, ACT_DIM] (clipped in place, as the single kernel does), ``mp`` float64[N,
    MP_SIZE], ``es`` float64[N, E], ``feat`` float64[N, n_agents, FT_SIZE], ``obs`` float32[N, n_agents,
    OBS_DIM], ``acc`` float64[N, n_agents, A]. A market that answers ``STEP_NEED_RANDOM`` has done nothing:
    the caller tops up its random buffers and calls again for it alone.
    """
    for k in range(len(markets)):
        if todo[k]:
            status[k] = mm_step_nb(markets[k], act[k], mp[k], es[k], feat[k], obs[k], acc[k])
