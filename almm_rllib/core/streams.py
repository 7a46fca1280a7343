"""Synthetic event streams for the book: the demo, the differential tests and the benchmark share this one.

``random_event_stream(n, seed)`` draws a seeded stream of book events around a slowly drifting reference
price: by default about half limit orders near the touch (geometric distance in ticks from the reference, so
some land inside the spread or cross), a tenth market orders, and the rest cancels of orders submitted
earlier and not yet cancelled (some of which will have been filled: the book answers "unknown order", as an
exchange would). Sizes are 1 + geometric lots.
"""

from __future__ import annotations

import numba
import numpy as np

from .nbopts import NJIT
from .schema import BUY, EV_CANCEL, EV_LIMIT, EV_MARKET, EVENT_DTYPE, NO_PRICE, SELL


@numba.njit(**NJIT)
def _fill_stream_nb(rng, ev, p_limit, p_market, centre, dist_p, size_p, drift_every, max_pool):
    n = ev.shape[0]
    pool = np.empty(max_pool, np.int64)  # ids submitted and not yet cancelled by this stream
    n_pool = 0
    ref = centre
    next_id = 1
    t = 0.0
    for i in range(n):
        t += 1e-6
        e = ev[i]
        e.time = t
        if drift_every > 0 and i % drift_every == 0 and i > 0:
            ref += rng.integers(-1, 2)
        u = rng.random()
        if u < p_limit or n_pool == 0:
            side = BUY if rng.random() < 0.5 else SELL
            d = rng.geometric(dist_p) - 2  # -1 .. : a few land one tick through the reference
            e.type = EV_LIMIT
            e.side = side
            e.price = ref - d if side == BUY else ref + d
            e.qty = rng.geometric(size_p)
            e.owner = rng.integers(0, 4)
            e.order_id = next_id
            if n_pool < max_pool:
                pool[n_pool] = next_id
                n_pool += 1
            next_id += 1
        elif u < p_limit + p_market:
            e.type = EV_MARKET
            e.side = BUY if rng.random() < 0.5 else SELL
            e.price = NO_PRICE
            e.qty = rng.geometric(size_p)
            e.owner = rng.integers(0, 4)
            e.order_id = next_id
            next_id += 1
        else:
            k = rng.integers(0, n_pool)
            e.type = EV_CANCEL
            e.side = 0
            e.price = NO_PRICE
            e.qty = 0
            e.owner = 0
            e.order_id = pool[k]
            n_pool -= 1
            pool[k] = pool[n_pool]
    return ev


def random_event_stream(
    n: int,
    seed: int,
    *,
    p_limit: float = 0.5,
    p_market: float = 0.1,
    centre: int = 10_000,
    dist_p: float = 0.35,
    size_p: float = 0.3,
    drift_every: int = 2_000,
    max_pool: int = 20_000,
) -> np.ndarray:
    """A seeded stream of ``n`` events (``EVENT_DTYPE``, prices in ticks around ``centre``, sizes in lots).

    ``max_pool`` caps how many submitted orders the stream remembers as cancellable (oldest kept).
    """
    if not 0 <= p_limit <= 1 or not 0 <= p_market <= 1 or p_limit + p_market > 1:
        raise ValueError(
            f"need 0 <= p_limit, p_market and p_limit + p_market <= 1, got {p_limit}, {p_market}"
        )
    ev = np.zeros(n, EVENT_DTYPE)
    return _fill_stream_nb(
        np.random.default_rng(seed), ev, p_limit, p_market, centre, dist_p, size_p, drift_every, max_pool
    )
