"""The economics of the default market (issue 15, item 4), as tests on the evaluation runner.

Every figure comes from ``evaluation.runner.run_episode`` on the default ``EnvConfig`` market (the
``amzn_2012_06_21`` preset, whatever its fitted parameters are) over ``SEEDS``, 50 common seeds (common random
numbers: each strategy meets the same background flow on a seed). The real day's figures are computed from the
LOBSTER file in ``shared/data/lobster`` by ``results.microstructure`` (nothing hard-coded here).

* random quoting is not profitable: mean total P&L <= 0, or its 95% bootstrap interval
  (``results.stats.bootstrap_ci``) contains 0;
* no state-blind free lunch: a quote resting ``d`` = 0, 1, 2, 3 ticks behind the best price on both sides
  (re-placed every step at ``best_bid - d`` / ``best_ask + d``, one lot) has a mean 60-s markout of its fills
  (``markout_H`` of ``docs/metrics.md``, quantity-weighted: ``results.analysis.fill_markouts``) within
  ``max(2 se, MARKOUT_TOL_HS half-spreads)`` of the real day's maker markout of executions ``d`` ticks behind
  their market order's first price (``microstructure.markouts``; the real bucket ``3+`` for ``d = 3``). ``se``
  combines the real day's batch-means standard error with the simulation's standard error clustered by
  episode; the half-spread is the real day's mean before its market orders. This is the band ``compare()``
  puts on a markout the real day does not measure significantly;
* the baselines' calibration (``baselines/lob_defaults.py``, written by ``evaluation.calibration``) describes
  the default market and no longer picks the deepest offset of its grid;
* the mean 10-s markout of a passive fill (every maker fill of the resting quotes above, quantity-weighted)
  is adverse for the maker (< 0), as on the real day;
* the Avellaneda-Stoikov paper table on the stylized market (untouched by issue 15) is reproduced by the
  tests of ``tests/test_baselines.py`` (``test_paper_mean_profit_in_the_papers_ballpark``,
  ``test_paper_dispersion_in_the_papers_ballpark``,
  ``test_paper_inventory_strategy_has_less_risk_than_symmetric``,
  ``test_paper_average_spread_is_the_closed_form``) and ``tests/test_evaluation.py``
  (``test_cli_simulate_paper_table``); not repeated here.

Episodes are ``EPISODE_S`` = 180 s (a 60-s markout is measured on fills of the first 120 s only, so no
horizon runs past the episode's end). Run time: 250 episodes of 180 steps plus one pass over the LOBSTER
file; measured 40 to 52 s for the whole file (``pytest tests/test_economics.py``, 2026-11-30) on the
project's 2-core machine shared with other jobs (load average ~8), once numba's on-disk cache is warm (the
first run after a change to ``almm_rllib/core`` compiles the kernels first, a few minutes).
"""

from __future__ import annotations

import math
import pathlib

import numpy as np
import pytest

from almm_rllib.baselines import lob_defaults
from almm_rllib.baselines.base import prices_to_action
from almm_rllib.baselines.defaults import market_fingerprint
from almm_rllib.data.lobster import read_lobster
from almm_rllib.env.config import EnvConfig
from almm_rllib.evaluation.policies import Policy
from almm_rllib.evaluation.runner import run_episode
from almm_rllib.results import microstructure as ms
from almm_rllib.results import schema as S
from almm_rllib.results.analysis import fill_markouts, markout_column
from almm_rllib.results.stats import bootstrap_ci

DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "lobster"
#: 50 common seeds.
SEEDS = tuple(range(15_000, 15_050))
EPISODE_S = 180.0
DEPTHS = (0, 1, 2, 3)
#: Half-width of the markout band in the real day's half-spreads, when 2 se is narrower.
MARKOUT_TOL_HS = 0.25
#: Rule-based baselines whose grid is a distance from the mid: strategy -> that parameter.
OFFSET_PARAMS = {"static_spread": "half_spread_ticks", "volatility_adaptive": "base_ticks"}


class RestBehindBest(Policy):
    """One lot on each side, ``depth`` ticks behind the best price of that side, re-placed every step."""

    needs_view = True

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.label = f"rest_behind_best_{depth}"

    def act(self, obs, view):
        off = self.depth * view.tick_size
        return prices_to_action(view.mid, view.tick_size, view.best_bid - off, view.best_ask + off, 1, 1)


def _cfg() -> EnvConfig:
    return EnvConfig(episode_seconds=EPISODE_S)


@pytest.fixture(scope="module")
def real() -> dict:
    """The real day's maker markouts (``microstructure.markouts``) and its mean half-spread (money)."""
    msgs = sorted(DATA.glob("AMZN_*_message_*.csv"))
    if not msgs:
        pytest.fail(
            f"LOBSTER AMZN day not found in {DATA} (shared/data/lobster beside the clone)", pytrace=False
        )
    day = ms.lobster_day(
        read_lobster(msgs[0], msgs[0].with_name(msgs[0].name.replace("_message_", "_orderbook_")))
    )
    mk = ms.markouts(day)
    return {"markout": mk, "half_spread": mk["all"]["60"]["money"] / mk["all"]["60"]["hs"]}


@pytest.fixture(scope="module")
def resting() -> dict[int, list]:
    """depth -> the episode logs of the resting quote on every seed."""
    cfg = _cfg()
    return {d: [run_episode(RestBehindBest(d), cfg, s) for s in SEEDS] for d in DEPTHS}


def _maker_markouts(logs, h: float) -> tuple[float, float, int]:
    """Quantity-weighted mean markout at ``h`` of the maker fills with ``t + h`` inside the episode, its
    standard error clustered by episode (ratio estimator), and the fill count."""
    num, den, n = [], [], 0
    for log in logs:
        f = fill_markouts(log.steps, log.fills, horizons=(h,))
        end = float(log.steps[S.TIME].max())
        f = f[f[S.IS_MAKER].astype(bool) & (f[S.TIME].to_numpy() + h <= end + 1e-9)]
        q = f[S.QTY].to_numpy(np.float64)
        num.append(float(np.sum(q * f[markout_column(h)].to_numpy(np.float64))))
        den.append(float(q.sum()))
        n += len(f)
    a, b = np.asarray(num), np.asarray(den)
    if b.sum() <= 0:
        return math.nan, math.nan, 0
    m = a.sum() / b.sum()
    k = a.size
    se = math.sqrt(k / (k - 1) * np.sum((a - m * b) ** 2)) / b.sum()
    return float(m), float(se), n


def test_random_quoting_is_not_profitable():
    cfg = _cfg()
    pnl = np.array([run_episode("random", cfg, s).metrics(cfg)[S.TOTAL_PNL] for s in SEEDS])
    lo, hi, _ = bootstrap_ci(pnl)
    mean = float(pnl.mean())
    print(f"random quoting: mean total P&L {mean:.2f}, 95% CI [{lo:.2f}, {hi:.2f}] over {len(SEEDS)} seeds")
    assert mean <= 0 or lo <= 0 <= hi, (
        f"random quoting earns {mean:.2f} per episode, 95% CI [{lo:.2f}, {hi:.2f}]"
    )


@pytest.mark.parametrize("depth", DEPTHS)
def test_resting_quote_markout_matches_the_real_day(resting, real, depth):
    sim, sim_se, n = _maker_markouts(resting[depth], 60.0)
    bucket = ms.DEPTH_BUCKETS[min(depth, len(ms.DEPTH_BUCKETS) - 1)]
    r = real["markout"][bucket]["60"]
    tol = max(2 * math.hypot(sim_se, r["money_se"]), MARKOUT_TOL_HS * real["half_spread"])
    print(
        f"depth {depth}: simulated 60-s markout {sim:.4f} +- {sim_se:.4f} ({n} fills); real (bucket {bucket}) "
        f"{r['money']:.4f} +- {r['money_se']:.4f}; tolerance {tol:.4f}"
    )
    assert n >= 30, f"only {n} fills at depth {depth}: too few to judge"
    assert abs(sim - r["money"]) <= tol, (
        f"depth {depth}: simulated 60-s markout {sim:.4f} vs the real day's {r['money']:.4f} (tolerance {tol:.4f})"
    )


def test_passive_fill_markout_at_10s_is_adverse(resting):
    m, se, n = _maker_markouts([log for d in DEPTHS for log in resting[d]], 10.0)
    print(f"10-s markout of {n} passive fills: {m:.4f} +- {se:.4f}")
    assert n >= 100
    assert m < 0, f"the mean 10-s markout of a passive fill is {m:.4f} +- {se:.4f}: not adverse for the maker"


def test_calibrated_defaults_describe_the_default_market():
    assert lob_defaults.MARKET_FINGERPRINT == market_fingerprint(_cfg().market), (
        "baselines/lob_defaults.py was calibrated on another market than the default one: regenerate it with "
        "python -m almm_rllib.evaluation.calibration --out almm_rllib/baselines/lob_defaults.py"
    )


@pytest.mark.parametrize("strategy", sorted(OFFSET_PARAMS))
def test_calibration_does_not_pick_the_deepest_offset(strategy):
    param = OFFSET_PARAMS[strategy]
    grid = lob_defaults.GRID[strategy]
    col = grid["columns"].index(param)
    offsets = sorted({row[col] for row in grid["rows"]})
    chosen = lob_defaults.PARAMS[strategy][param]
    assert chosen in offsets
    assert chosen < offsets[-1], (
        f"{strategy}: the calibration picks {param} = {chosen}, the deepest of its grid {offsets}: a quote "
        "far from the market still earns the most"
    )
