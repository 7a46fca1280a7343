"""The step-by-step episode of the dashboard's live mode is the runner's episode, bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from almm_rllib.evaluation import run_episode
from almm_rllib.evaluation.live import LiveEpisode
from almm_rllib.results import schema as S

CFG = {"episode_seconds": 40.0}


@pytest.mark.parametrize("spec", ["avellaneda_stoikov", "random"])
def test_live_episode_equals_run_episode(spec):
    live = LiveEpisode(spec, CFG, 5)
    assert live.k == 0 and live.metrics() == {}
    chunks = []
    while not live.done:
        chunks.append(live.step(7))
    assert sum(chunks) == live.n_steps == 40 and chunks[-1] == 40 % 7
    assert live.step(3) == 0  # nothing after the end
    ref = run_episode(spec, CFG, 5, run_id="live")
    pd.testing.assert_frame_equal(live.steps(), ref.steps)
    pd.testing.assert_frame_equal(live.fills(), ref.fills)
    assert live.metrics() == pytest.approx(ref.metrics(live.config), nan_ok=True)


def test_live_episode_views_of_the_market():
    live = LiveEpisode("static_spread", {"episode_seconds": 300.0}, 2)
    live.run_for(12.0)
    assert live.k == 12 and live.time == pytest.approx(12.0)
    d = live.depth(40)  # the static spread quotes 20 ticks away
    bids, asks = d[d["side"] == 1], d[d["side"] == -1]
    assert 0 < len(bids) <= 40 and 0 < len(asks) <= 40
    assert bids["price"].max() < asks["price"].min()
    # the agent's resting shares sit at its own quote prices and are part of those levels
    own = d[d["own_shares"] > 0]
    assert len(own) >= 1 and (own["own_shares"] <= own["shares"]).all()
    quotes = {1: live.info["bid_price"], -1: live.info["ask_price"]}
    for _, r in own.iterrows():
        assert r["price"] == pytest.approx(quotes[int(r["side"])])
    rc = live.reward_components()
    assert len(rc) == 12
    np.testing.assert_allclose(
        rc["reward"],
        rc["dpnl"]
        - rc["penalty_inventory"]
        - rc["penalty_volatility"]
        - rc["penalty_impact"]
        - rc["penalty_risk"],
        atol=1e-9,
    )
    np.testing.assert_array_equal(rc["dpnl"], live.steps()[S.DPNL])
