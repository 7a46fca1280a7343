"""adverse_selection = side * (mid(t_fill) - mid(t_fill + H)), mid(t) the mid in force at t (metrics.md), by hand:
results.metrics on a step log and the env's compiled running accumulator give the same hand-computed figures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from almm_rllib.core import mm_nb as mm
from almm_rllib.core import replay_mm_nb as rmm
from almm_rllib.core.market_config import MarketConfig
from almm_rllib.core.market_state_nb import I_N_FILLS
from almm_rllib.core.schema import BUY, SELL
from almm_rllib.env.config import EnvConfig
from almm_rllib.env.core import MarketMakingCore
from almm_rllib.results import schema as S
from almm_rllib.results.metrics import episode_metrics, mid_in_force
from tests.results_fixtures import make_fills, make_steps

TICK = 0.01
# steps end at t = 1..5 s (dt = 1); the mid before the episode is MID[0], after step k it is MID[k]
MID = [100.00, 100.10, 100.30, 99.90, 100.20, 100.50]
# (step, time, side, price, qty, mid(t_fill)) worked out by hand:
FILLS = [
    (1, 0.5, -1, 100.02, 4.0, 100.00),  # inside step 1: no step has ended, the mid before the episode
    (2, 1.5, 1, 100.05, 10.0, 100.10),  # inside step 2: the mid of step 1 (ended at 1.0)
    (2, 2.0, -1, 100.40, 20.0, 100.30),  # exactly at the end of step 2: that step's own mid
    (4, 3.25, 1, 99.80, 5.0, 99.90),  # inside step 4: the mid of step 3
]
VOLUME = 39.0
# side * (mid(t_fill) - price) * qty: +0.08, +0.5, +2.0, +0.5
SPREAD = 3.08 / VOLUME
ADVERSE = {
    0.0: 0.0,  # mid(t_fill) - mid(t_fill) whatever the fill
    # t + H = 1.5 (between ends: step 1, 100.10), 2.5 (step 2, 100.30), 3.0 (exactly the end of step 3, 99.90),
    # 4.25 (step 4, 100.20): -1*(100.00-100.10)*4 = +0.4, (100.10-100.30)*10 = -2.0,
    # -1*(100.30-99.90)*20 = -8.0, (99.90-100.20)*5 = -1.5
    1.0: -11.1 / VOLUME,
    # t + H = 3.0 (exactly: step 3, 99.90), 4.0 (exactly: step 4, 100.20), 4.5 (step 4), 5.75 (past the end:
    # the last mid 100.50): -1*(100.00-99.90)*4 = -0.4, (100.10-100.20)*10 = -1.0,
    # -1*(100.30-100.20)*20 = -2.0, (99.90-100.50)*5 = -3.0
    2.5: -6.4 / VOLUME,
}


def _step_log():
    return make_steps([0.0] * 5, mid=MID[1:], time=[1.0, 2.0, 3.0, 4.0, 5.0])


@pytest.mark.parametrize("horizon", sorted(ADVERSE))
def test_results_metrics_by_hand(horizon):
    m = episode_metrics(_step_log(), make_fills(FILLS), capital=1e5, horizon_s=horizon)
    assert m[S.VOLUME] == VOLUME
    assert m[S.SPREAD_CAPTURED] == pytest.approx(SPREAD, rel=1e-12)
    assert m[S.ADVERSE_SELECTION] == pytest.approx(ADVERSE[horizon], rel=1e-12, abs=1e-15)


def test_mid_in_force_rule():
    time = np.array([1.0, 2.0, 3.0])
    mid = np.array([10.0, 20.0, 30.0])
    t = np.array([0.5, 1.0, 1.0 - 1e-12, 1.5, 2.0 + 1e-12, 3.0, 9.0])
    # before the first end: `before`; at an end (within 1e-9 s): that step; between: the earlier; past: the last
    got = mid_in_force(time, mid, t, before=-1.0)
    assert got.tolist() == [-1.0, 10.0, 10.0, 10.0, 20.0, 30.0, 30.0]


def _accumulator_figures(horizon: float) -> dict:
    """Drive the env's compiled accumulator (mm_nb._accumulate_nb, what the env calls every step) through the
    hand-built episode, on the same fill records the markets produce, and read the env's episode summary."""
    cfg = EnvConfig(
        dt=1.0,
        episode_seconds=5.0,
        adverse_horizon_s=horizon,
        market=MarketConfig(warmup_seconds=1.0, lot_size=1, tick_size=TICK),
    )
    core = MarketMakingCore(cfg)
    core.acc[:] = 0.0
    view = rmm.new_fill_view(8)
    f = core.feat[0]
    for k in range(1, 6):
        rows = [r for r in FILLS if r[0] == k]
        for j, (_, t, side, price, qty, _) in enumerate(rows):
            rec = view.fills[j]
            rec["time"] = t
            rec["price"] = round(price / TICK)
            rec["qty"] = int(qty)
            rec["maker_owner"] = 1  # the agent's resting quote
            rec["taker_owner"] = 0
            rec["aggressor"] = SELL if side == 1 else BUY
        view.i[:] = 0
        view.i[I_N_FILLS] = len(rows)
        f[mm.FT_MID_BEFORE] = MID[k - 1] / TICK
        f[mm.FT_MID] = MID[k] / TICK
        mm._accumulate_nb(view, core.mp, core.feat, core.acc, 1, float(k))
    assert core.acc[0, mm.ACC_STEPS] == 5
    return core.episode_summary(0)


@pytest.mark.parametrize("horizon", sorted(ADVERSE))
def test_env_accumulator_by_hand(horizon):
    got = _accumulator_figures(horizon)
    assert got["volume"] == VOLUME
    assert got["spread_captured"] == pytest.approx(SPREAD, rel=1e-9)
    assert got["adverse_selection"] == pytest.approx(ADVERSE[horizon], rel=1e-9, abs=1e-12)


def test_stylized_market_fills_get_their_steps_own_mid_and_the_env_agrees():
    """Stylized fills are stamped at the step end: mid(t_fill) is that step's own mid (the definition as
    written), in the fill log and in the env's running figures alike."""
    from almm_rllib.env.gym_env import MarketMakingGymEnv
    from almm_rllib.evaluation.policies import Policy
    from almm_rllib.evaluation.runner import run_episode

    class Tight(Policy):
        label = "tight"

        def act(self, obs, view):
            inv = float(obs[2])
            return np.array([1.0 + 2.0 * max(inv, 0.0), 1.0 + 2.0 * max(-inv, 0.0), 1.0, 1.0], np.float32)

    cfg = EnvConfig.from_dict(
        {
            "market": {"model": "stylized", "lot_size": 1},
            "dt": 0.5,
            "episode_seconds": 60.0,
            "adverse_horizon_s": 1.25,  # 2.5 steps: t_fill + H falls between step ends
        }
    )
    log = run_episode(Tight(), cfg, seed=3)
    fills, steps = log.fills, log.steps
    assert len(fills) > 10
    step_mid = steps.set_index(S.STEP)[S.MID]
    step_time = steps.set_index(S.STEP)[S.TIME]
    np.testing.assert_allclose(fills[S.TIME], step_time.loc[fills[S.STEP]].to_numpy(), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(fills[S.MID_AT_FILL], step_mid.loc[fills[S.STEP]].to_numpy())
    want = log.metrics(cfg)
    env = MarketMakingGymEnv(cfg)
    obs, _ = env.reset(seed=3)
    done = False
    while not done:
        obs, _, _, done, info = env.step(Tight().act(obs, None))
    got = info["episode"]
    for key in ("spread_captured", "adverse_selection", "volume"):
        assert not math.isnan(want[key])
        assert got[key] == pytest.approx(want[key], rel=1e-9, abs=1e-9), key
