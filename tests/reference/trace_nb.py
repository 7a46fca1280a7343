"""Compiled trace runner: applies events one by one and records the book's observable state after each,
so that a million-event differential test against the reference costs one compiled call per chunk."""

from __future__ import annotations

import numba
import numpy as np

from almm_rllib.core import book_nb as nb
from almm_rllib.core.schema import BUY, SELL, STATUS_ORDER_TABLE_FULL


@numba.njit(cache=True)
def trace_nb(st, events, fills, results, best, depth, qpos, check_every):
    """best[i] = (bid, ask); depth[i, s, k] = (price, qty) for side s (0 bid, 1 ask); qpos[i] = (ahead, rank) of
    the event's order id. Runs ``check_nb`` every ``check_every`` events (1 = after every event).
    Returns (n_done, nfill, status, first_bad_event, check_code)."""
    nfill = 0
    dn = depth.shape[2]
    pbuf = np.zeros(dn, np.int64)
    qbuf = np.zeros(dn, np.int64)
    for i in range(events.shape[0]):
        e = events[i]
        status, filled, rested, nfill2 = nb.apply_event_nb(
            st, fills, nfill, e.type, e.side, e.price, e.qty, e.owner, e.order_id, e.time
        )
        if status >= STATUS_ORDER_TABLE_FULL:
            return i, nfill, status, -1, 0
        nfill = nfill2
        results[i].status = status
        results[i].filled = filled
        results[i].rested = rested
        best[i, 0] = nb.best_bid_nb(st)
        best[i, 1] = nb.best_ask_nb(st)
        for s in range(2):
            k = nb.depth_nb(st, BUY if s == 0 else SELL, dn, pbuf, qbuf)
            for j in range(dn):
                depth[i, s, j, 0] = pbuf[j] if j < k else 0
                depth[i, s, j, 1] = qbuf[j] if j < k else 0
        a, r = nb.queue_position_nb(st, e.order_id)
        qpos[i, 0] = a
        qpos[i, 1] = r
        if check_every > 0 and (i + 1) % check_every == 0:
            code = nb.check_nb(st)
            if code != 0:
                return i + 1, nfill, 0, i, code
    return events.shape[0], nfill, 0, -1, 0
