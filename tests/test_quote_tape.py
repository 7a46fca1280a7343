"""The simulator's quote tape: the touch after every event that changed it (``MarketSimulator(quote_tape=True)``),
the event-resolution quotes the microstructure statistics are measured on, as on a LOBSTER day."""

from __future__ import annotations

import numpy as np
import pytest

from almm_rllib.core import market_nb as mk
from almm_rllib.core.market import MarketSimulator
from almm_rllib.core.market_config import MarketConfig
from almm_rllib.core.schema import BUY, SELL
from almm_rllib.results import microstructure as ms

SECONDS = 1500


def _touch(sim: MarketSimulator) -> tuple[float, float, float, float]:
    bb, ba = sim.best_ticks()
    return (
        np.nan if bb is None else float(bb),
        np.nan if ba is None else float(ba),
        0.0 if bb is None else float(sim.level_lots(BUY, bb)),
        0.0 if ba is None else float(sim.level_lots(SELL, ba)),
    )


def _same(a, b) -> bool:
    return all((x == y) or (np.isnan(x) and np.isnan(y)) for x, y in zip(a, b, strict=True))


@pytest.fixture(scope="module")
def taped():
    """(per-step tape rows, per-step fills, per-step end-of-step touch, (start time, start touch)) of the
    default market."""
    sim = MarketSimulator(MarketConfig(), n_agents=0, seed=5, quote_tape=True)
    start = (sim.time, *_touch(sim))
    tapes, fills, ends = [], [], []
    for _ in range(SECONDS):
        fills.append(sim.step(1.0).fills)
        tapes.append(sim.step_quotes())
        ends.append(_touch(sim))
    return tapes, fills, ends, start


def test_tape_changes_nothing_in_the_market():
    """On or off, the same seed gives the same fills, book and accounts bit for bit."""
    a = MarketSimulator(MarketConfig(), n_agents=1, seed=9, quote_tape=True)
    b = MarketSimulator(MarketConfig(), n_agents=1, seed=9)
    for k in range(300):
        for s in (a, b):
            if k % 7 == 0:  # an agent quoting too, so its orders are in the events the tape follows
                bb, ba = s.best_ticks()
                if bb is not None and ba is not None:
                    s.set_quote(0, bid=(bb - 1, 1), ask=(ba + 1, 1))
        fa, fb = a.step(1.0).fills, b.step(1.0).fills
        assert fa.size == fb.size and all(np.array_equal(fa[n], fb[n]) for n in fa.dtype.names)
    for x, y in zip(a.state.book, b.state.book, strict=True):
        assert np.array_equal(x, y)
    for name in ("f", "cash", "inv", "p"):
        assert np.array_equal(getattr(a.state, name), getattr(b.state, name), equal_nan=True)
    assert b.state.tape.shape[0] == 0 and a.state.tape.shape[0] == MarketConfig().max_events_per_step
    with pytest.raises(RuntimeError, match="quote_tape=True"):
        b.step_quotes()


def test_tape_rows_are_the_touch_changes_in_event_order(taped):
    tapes, _, ends, start = taped
    prev, t0 = start[1:], None
    n_rows = 0
    for k, (rows, end) in enumerate(zip(tapes, ends, strict=True)):
        lo, hi = start[0] + k, start[0] + k + 1
        for r in rows:
            row = tuple(r[[mk.TAPE_BID, mk.TAPE_ASK, mk.TAPE_BID_LOTS, mk.TAPE_ASK_LOTS]])
            assert not _same(row, prev), "a row is written only when the touch changed"
            assert lo <= r[mk.TAPE_TIME] <= hi and (t0 is None or r[mk.TAPE_TIME] >= t0)
            assert not (row[1] <= row[0]), "never crossed or locked"
            prev, t0 = row, r[mk.TAPE_TIME]
            n_rows += 1
        # the last row of a step is the touch at its end; a step without rows left the touch as it was
        assert _same(prev, end)
    assert n_rows > SECONDS / 4  # on this market the touch changes about every 2 s


def test_every_market_order_trades_first_at_the_touch_the_tape_shows_before_it(taped):
    """An independent check of the tape's timing: a background market order's first execution is at the
    opposite best in force just before it (the last tape row with an earlier time stamp)."""
    tapes, fills, _, start = taped
    rows = np.concatenate([np.array([start])] + [t for t in tapes if t.size])
    f = np.concatenate([x for x in fills if x.size])
    first = np.r_[True, f["taker_order_id"][1:] != f["taker_order_id"][:-1]]
    f = f[first]
    assert f.size > 200
    i = np.searchsorted(rows[:, mk.TAPE_TIME], f["time"], side="left") - 1
    ask, bid = rows[i, mk.TAPE_ASK], rows[i, mk.TAPE_BID]
    expect = np.where(f["aggressor"] == BUY, ask, bid)
    assert np.array_equal(f["price"].astype(np.float64), expect)
    # and the touch after it moved or thinned on the side it took from
    j = np.searchsorted(rows[:, mk.TAPE_TIME], f["time"], side="right") - 1
    after_ask, after_bid = rows[j, mk.TAPE_ASK], rows[j, mk.TAPE_BID]
    took_ask = f["aggressor"] == BUY
    assert (
        (after_ask[took_ask] > ask[took_ask])
        | (rows[j, mk.TAPE_ASK_LOTS][took_ask] < rows[i, mk.TAPE_ASK_LOTS][took_ask])
    ).mean() > 0.9
    assert (
        (after_bid[~took_ask] < bid[~took_ask])
        | (rows[j, mk.TAPE_BID_LOTS][~took_ask] < rows[i, mk.TAPE_BID_LOTS][~took_ask])
    ).mean() > 0.9


def test_simulator_day_is_measured_at_event_resolution():
    """The recorded day has a quote row per touch change (at event times); its orders are the step-resolution
    record's, and at every step end its quotes agree with it."""
    cfg = MarketConfig()
    fine = ms.record_simulator(MarketSimulator(cfg, n_agents=0, seed=4, quote_tape=True), seconds=400.0)
    coarse = ms.record_simulator(MarketSimulator(cfg, n_agents=0, seed=4), seconds=400.0)
    assert fine.info["quote_resolution"] == "event" and coarse.info["quote_resolution"] == "1 s"
    assert (fine.quotes.time[1:] % 1.0 != 0).all()  # the rows are at event times, not at step ends
    assert np.array_equal(fine.orders.time, coarse.orders.time)
    assert np.array_equal(fine.orders.fill_price, coarse.orders.fill_price)
    i = fine.quotes.row_at(coarse.quotes.time)
    for name in ("bid", "ask", "bid_size", "ask_size"):
        assert np.array_equal(getattr(fine.quotes, name)[i], getattr(coarse.quotes, name), equal_nan=True)
    assert fine.quotes.end == coarse.quotes.end
    # "just before" differs: at step resolution the mid before an order can be a second old
    m_fine, _, _ = ms._before(fine)
    m_coarse, _, _ = ms._before(coarse)
    assert (m_fine != m_coarse).mean() > 0.2
    assert (
        ms.simulator_day(cfg, seconds=50.0, seed=1, burn_in_seconds=10.0).info["quote_resolution"] == "event"
    )
