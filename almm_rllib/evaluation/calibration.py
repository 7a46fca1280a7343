"""The calibration harness: baseline parameters measured on the simulated order-book market.

It builds envs and runs episodes, so it lives in the evaluation layer; the baselines keep only the lookup of the
result (:func:`almm_rllib.baselines.defaults.default_params`, by :class:`~almm_rllib.core.market_config.MarketConfig`).

The strategies' own defaults are the Avellaneda-Stoikov paper's (``k = 1.5`` per dollar, ``gamma = 0.1`` per
dollar with one-share fills, ``A = 140`` per second): on the order-book market, with a 1-cent tick and
100-share lots, they ask for half-spreads of ~65 ticks and reservation shifts of hundreds of ticks, which the
env clips to its action box. This module measures the market instead and tunes each strategy on it.

1. :func:`estimate_fill_intensity`: a probe agent holds one lot on each side at a fixed offset ``d`` (ticks from
   the mid, the action's unit), re-posted every step after a fill, over many runs per offset. The fill rate
   ``lambda(d)`` is fills per second of *exposure* (an order filled after ``u`` seconds of a step was exposed
   for ``u`` seconds, one still resting at the step's end for ``dt``: the maximum-likelihood rate of a Poisson
   fill process under that censoring), and ``lambda(d) = A exp(-k d)`` is fitted by Poisson maximum
   likelihood on the fill counts (:func:`fit_intensity`). The mid's volatility comes from the same runs.
2. :func:`calibrate`: ``A`` and ``k`` converted to each strategy's units (``k`` per money for
   Avellaneda-Stoikov, the symmetric strategy and GLFT; ``A`` per second for GLFT), then a small grid per
   strategy (``gamma``; the static spread's half-spread and size; the volatility-adaptive rule's base, multiplier
   and skew) scored by the mean per-episode Sharpe ratio (``metrics.md``) on **calibration seeds**
   (``1_000_000 + i`` by default; seeds below :data:`MIN_SEED` are refused, so the evaluation's ``0..N-1``
   never are). A candidate whose raw actions leave the env's action box on more than
   :data:`MAX_CLIPPED_FRACTION` of its steps is not admissible: the env would be choosing its quotes.
3. :func:`~almm_rllib.baselines.defaults.default_params` returns the shipped result (:mod:`almm_rllib.baselines.lob_defaults`) for an env on
   the default order-book market (any curriculum phase) and ``{}`` otherwise: the stylized market keeps the
   paper's parameters, and another order-book market needs its own calibration
   (``python -m almm_rllib.evaluation.calibration --env-config FILE.yaml --out FILE.py``).

Regenerate the shipped defaults (about a minute on one core)::

    python -m almm_rllib.evaluation.calibration --out almm_rllib/baselines/lob_defaults.py

The strategies keep ``sigma=None`` (the env's online volatility estimate, which follows the regimes); the
measured sigma is recorded for reference and sets the scale of the ``gamma`` grid only.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import json
import math
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from almm_rllib.baselines.base import ASK_OFFSET, ASK_SIZE, BID_OFFSET, BID_SIZE
from almm_rllib.baselines.defaults import market_fingerprint
from almm_rllib.baselines.registry import make_strategy, strategy_class

#: Calibration and probe seeds must be at least this (evaluation uses ``0..N-1``).
MIN_SEED = 100_000
#: First seed of the grid search's episodes (``DEFAULT_SEED + i``).
DEFAULT_SEED = 1_000_000
#: Number of calibration episodes per candidate.
DEFAULT_N_SEEDS = 24
#: First seed of the fill-intensity probe's runs (``DEFAULT_PROBE_SEED + j``).
DEFAULT_PROBE_SEED = 2_000_000
#: Simulated seconds of probing per offset (split into runs of the env's episode length).
DEFAULT_PROBE_SECONDS = 12_000.0
#: Probe offsets, ticks from the mid.
DEFAULT_DISTANCES = tuple(range(0, 11))
#: A candidate is admissible when at most this fraction of its calibration steps had an action outside the
#: env's box (stricter than the 5% the tests allow on other seeds: the fraction varies from seed to seed).
MAX_CLIPPED_FRACTION = 0.02
#: Strategies calibrated here (the random strategy is not).
CALIBRATED = (
    "avellaneda_stoikov",
    "gueant_lehalle_fernandez_tapia",
    "symmetric",
    "static_spread",
    "volatility_adaptive",
)
#: Risk aversions tried, per money per **share** (GLFT: times the shares of one order). On the default market
#: (sigma ~0.019 money/sqrt(s), 100-share lots) they span Avellaneda-Stoikov reservation shifts from ~0.005 to
#: ~5000 ticks per lot at mid-episode, and symmetric ``gamma sigma^2 tau`` widenings from ~0 to ~50 ticks;
#: candidates the action box would clip drop out (:data:`MAX_CLIPPED_FRACTION`).
GAMMA_GRID = (
    1e-5,
    3e-5,
    1e-4,
    2e-4,
    5e-4,
    1e-3,
    2e-3,
    5e-3,
    1e-2,
    2e-2,
    5e-2,
    0.1,
    0.2,
    0.5,
    1.0,
    2.0,
    5.0,
    10.0,
)
STATIC_HALF_SPREADS = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 20.0)
STATIC_SIZES = (1, 2, 3)
VA_BASE_TICKS = (0.0, 2.0, 4.0, 8.0, 12.0, 16.0)
VA_VOL_MULTS = (0.0, 0.5, 1.0, 2.0)
VA_SKEW_TICKS = (0.0, 2.0, 5.0, 10.0)
#: Inventory limit of the probe agent, lots (so that the limit never cuts a probe quote).
_PROBE_INVENTORY_LIMIT = 1_000_000


# ------------------------------------------------------------------------------------------------------------
# Configs and the market.


def _env_config(env_config: Any):
    """An :class:`~almm_rllib.env.EnvConfig` from a config, a mapping of its fields, or None (the default)."""
    from almm_rllib.env.config import EnvConfig

    if env_config is None:
        return EnvConfig()
    if isinstance(env_config, EnvConfig):
        return env_config
    if isinstance(env_config, dict):
        return EnvConfig.from_dict(dict(env_config), source="env_config")
    raise TypeError(f"env_config must be an EnvConfig, a mapping or None, got {type(env_config).__name__}")


def _market_of(env_config: Any):
    from almm_rllib.core.market_config import MarketConfig

    if isinstance(env_config, MarketConfig):
        return env_config
    return _env_config(env_config).market


def describe_market(env_config: Any = None) -> str:
    """One line on the market: model, price, tick, lot, regimes' volatilities."""
    m = _market_of(env_config)
    if m.model == "stylized":
        st = m.stylized
        return f"stylized market: ${m.initial_price:g}, sigma {st.sigma:g} money/sqrt(s), A {st.A:g}/s, k {st.k:g}/money"
    vols = ", ".join(f"{n} {v:g}" for n, v in zip(m.regimes.names, m.regimes.volatility))
    return (
        f"order-book market: ${m.initial_price:g}, tick {m.tick_size:g}, lot {m.lot_size} shares, "
        f"relative volatility per sqrt(s) by regime ({vols})"
    )


# ------------------------------------------------------------------------------------------------------------
# Fill intensity.


def fit_intensity(
    distances: Sequence[float], fills: Sequence[float], exposure: Sequence[float]
) -> tuple[float, float, float, float]:
    """Poisson maximum-likelihood fit of ``lambda(d) = A exp(-k d)``.

    ``fills[i]`` fills were seen in ``exposure[i]`` seconds of a quote at distance ``distances[i]``; the counts
    are modelled as Poisson with mean ``exposure * A * exp(-k d)``. Returns ``(A, k, se_A, se_k)`` with the
    standard errors from the inverse Fisher information (valid for Poisson counts; fills that arrive in
    bursts make the true errors larger). ``k`` is per unit of ``distances``.
    """
    d = np.asarray(distances, dtype=np.float64)
    n = np.asarray(fills, dtype=np.float64)
    e = np.asarray(exposure, dtype=np.float64)
    if not (d.shape == n.shape == e.shape) or d.ndim != 1:
        raise ValueError("fit_intensity: distances, fills and exposure must be 1-D and of equal length")
    use = e > 0
    d, n, e = d[use], n[use], e[use]
    if len(np.unique(d)) < 2 or np.count_nonzero(n) < 2 or np.any(n < 0):
        raise ValueError("fit_intensity: needs fills at two distances at least (and no negative counts)")
    # start: least squares on the log rates where there were fills, weighted by the counts
    pos = n > 0
    w = n[pos]
    slope, icpt = np.polyfit(d[pos], np.log(n[pos] / e[pos]), 1, w=np.sqrt(w))
    theta = np.array([icpt, -slope])

    def loglik(t: np.ndarray) -> float:
        eta = t[0] - t[1] * d
        return float(np.sum(n * eta - e * np.exp(eta)))

    x = np.stack([np.ones_like(d), -d], axis=1)
    ll = loglik(theta)
    for _ in range(100):
        mu = e * np.exp(theta[0] - theta[1] * d)
        grad = x.T @ (n - mu)
        info = (x * mu[:, None]).T @ x
        step = np.linalg.solve(info, grad)
        lam = 1.0
        while lam > 1e-8:
            cand = theta + lam * step
            ll_c = loglik(cand)
            if ll_c >= ll - 1e-12 * abs(ll):
                break
            lam *= 0.5
        theta, ll_old, ll = cand, ll, ll_c
        if np.max(np.abs(lam * step)) < 1e-12 or abs(ll - ll_old) < 1e-14 * max(1.0, abs(ll)):
            break
    mu = e * np.exp(theta[0] - theta[1] * d)
    cov = np.linalg.inv((x * mu[:, None]).T @ x)
    a_hat, k_hat = math.exp(theta[0]), float(theta[1])
    return a_hat, k_hat, a_hat * math.sqrt(cov[0, 0]), math.sqrt(cov[1, 1])


@dataclasses.dataclass(frozen=True)
class FillIntensity:
    """What :func:`estimate_fill_intensity` measured. Unpacks as ``A, k = fit`` (``k`` per **tick**)."""

    A: float
    """Fill rate of a one-lot quote at offset 0, per second (per side)."""
    k_tick: float
    """Decay of the fill rate per tick of offset."""
    k_money: float
    """The same per money: ``k_tick / tick_size`` (the unit of the strategies' ``k``)."""
    se_A: float
    """Standard error of ``A`` (Poisson; see :func:`fit_intensity`)."""
    se_k_tick: float
    """Standard error of ``k_tick``."""
    sigma: float
    """Volatility of the mid, money per sqrt-second: ``sqrt(mean(dmid^2) / dt)`` over every probe step."""
    sigma_rel: float
    """``sigma`` divided by the mean mid: relative volatility per sqrt-second."""
    tick_size: float
    """Money per tick of the market."""
    distances: tuple[float, ...]
    """Probe offsets, ticks."""
    fills: tuple[int, ...]
    """Fills per offset, both sides together."""
    exposure: tuple[float, ...]
    """Seconds of exposure per offset, both sides together."""
    seconds: float
    """Simulated seconds of probing per offset."""
    seeds: tuple[int, ...]
    """Seeds of the probe runs (the same runs for every offset: common random numbers)."""

    def __iter__(self) -> Iterator[float]:
        yield self.A
        yield self.k_tick

    @property
    def rates(self) -> tuple[float, ...]:
        """Measured ``lambda(d)`` per offset, fills per second per side."""
        return tuple(f / e if e > 0 else math.nan for f, e in zip(self.fills, self.exposure))

    def model_rate(self, d: float) -> float:
        """The fitted ``A exp(-k d)`` at offset ``d`` ticks."""
        return self.A * math.exp(-self.k_tick * d)

    def to_dict(self) -> dict[str, Any]:
        """A plain-data summary (floats rounded to 6 significant digits)."""
        return {
            "A_per_s": _sig(self.A),
            "se_A": _sig(self.se_A),
            "k_per_tick": _sig(self.k_tick),
            "se_k_per_tick": _sig(self.se_k_tick),
            "k_per_money": _sig(self.k_money),
            "sigma_money_per_sqrt_s": _sig(self.sigma),
            "sigma_relative_per_sqrt_s": _sig(self.sigma_rel),
            "probe_seconds_per_offset": self.seconds,
            "probe_seeds": _seed_range(self.seeds),
            "offsets_ticks": [float(x) for x in self.distances],
            "fills": [int(x) for x in self.fills],
            "exposure_s": [round(float(x), 1) for x in self.exposure],
            "rate_per_s": [_sig(x) for x in self.rates],
            "fitted_rate_per_s": [_sig(self.model_rate(x)) for x in self.distances],
        }


def _check_seed(seed: int, what: str) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"{what}: seeds must be integers, got {seed!r}")
    if seed < MIN_SEED:
        raise ValueError(
            f"{what}: seed {seed} is below {MIN_SEED}; calibration seeds must stay clear of the evaluation's "
            "0..N-1 (use e.g. 1_000_000 + i)"
        )
    return int(seed)


def _probe_config(env_config: Any, distances: Sequence[float]):
    cfg = _env_config(env_config)
    top = max(float(max(distances)), cfg.max_offset_ticks)
    low = min(float(min(distances)), cfg.min_offset_ticks)
    return cfg.replace(
        n_agents=1,
        inventory_limit_lots=_PROBE_INVENTORY_LIMIT,
        max_offset_ticks=top,
        min_offset_ticks=low,
        info_level="full",
        terminal_inventory="mark_to_mid",
    )


def estimate_fill_intensity(
    env_config: Any = None,
    *,
    seconds: float = DEFAULT_PROBE_SECONDS,
    seed: int = DEFAULT_PROBE_SEED,
    distances: Iterable[float] = DEFAULT_DISTANCES,
) -> FillIntensity:
    """Measure ``lambda(d)`` with one-lot probe quotes at fixed offsets and fit ``A exp(-k d)``.

    Args:
        env_config: the env whose market is probed (EnvConfig, mapping of its fields, or None). Its market,
            phase, ``dt`` and ``episode_seconds`` are used; the probe gets one agent, no inventory limit and an
            action box wide enough for ``distances``.
        seconds: simulated seconds of probing per offset, in runs of ``episode_seconds`` (rounded up).
        seed: seed of the first run (>= :data:`MIN_SEED`); run ``j`` uses ``seed + j`` for every offset.
        distances: offsets in ticks from the mid (the action's unit: the env rounds the prices outward).

    Returns:
        A :class:`FillIntensity` (unpacks as ``A, k_per_tick``).
    """
    from almm_rllib.env.core import MarketMakingCore

    dist = tuple(float(x) for x in distances)
    if len(dist) < 2 or any(not math.isfinite(x) for x in dist):
        raise ValueError(f"estimate_fill_intensity: need two finite distances at least, got {dist}")
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"estimate_fill_intensity: seconds must be > 0, got {seconds}")
    seed = _check_seed(seed, "estimate_fill_intensity")
    cfg = _probe_config(env_config, dist)
    core = MarketMakingCore(cfg)
    dt = cfg.dt
    n_runs = max(1, math.ceil(seconds / cfg.episode_seconds - 1e-9))
    seeds = tuple(seed + j for j in range(n_runs))
    fills = np.zeros(len(dist), np.int64)
    expo = np.zeros(len(dist), np.float64)
    ss, n_ret, mid_sum = 0.0, 0, 0.0
    for i, d in enumerate(dist):
        act = np.array([[d, d, 1.0, 1.0]], np.float64)
        for s in seeds:
            _, infos = core.reset(s)
            mid_prev = float(infos[0]["mid"])
            done = False
            while not done:
                t0 = core.sim.time
                _, _, done, infos = core.step(act)
                info = infos[0]
                first = {1.0: math.inf, -1.0: math.inf}  # first fill time of the bid (+1) and the ask (-1)
                for f in info["fills"]:
                    if f[0] < first[f[1]]:
                        first[f[1]] = f[0]
                for t in first.values():
                    if math.isfinite(t):
                        fills[i] += 1
                        expo[i] += min(max(t - t0, 0.0), dt)
                    else:
                        expo[i] += dt
                mid = float(info["mid"])
                ss += (mid - mid_prev) ** 2
                mid_sum += mid
                n_ret += 1
                mid_prev = mid
    a_hat, k_hat, se_a, se_k = fit_intensity(dist, fills, expo)
    tick = core.market_config.tick_size
    sigma = math.sqrt(ss / (n_ret * dt))
    return FillIntensity(
        A=a_hat,
        k_tick=k_hat,
        k_money=k_hat / tick,
        se_A=se_a,
        se_k_tick=se_k,
        sigma=sigma,
        sigma_rel=sigma / (mid_sum / n_ret),
        tick_size=tick,
        distances=dist,
        fills=tuple(int(x) for x in fills),
        exposure=tuple(float(x) for x in expo),
        seconds=float(n_runs * cfg.episode_seconds),
        seeds=seeds,
    )


# ------------------------------------------------------------------------------------------------------------
# Scoring candidates.


@dataclasses.dataclass(frozen=True)
class Score:
    """One candidate's calibration episodes."""

    strategy: str
    params: dict[str, Any]
    sharpe: float
    """Mean per-episode Sharpe ratio (``metrics.md``)."""
    sharpe_se: float
    """Standard error of that mean across episodes."""
    pnl: float
    """Mean total P&L, money."""
    avg_abs_inventory: float
    """Mean of the episodes' average ``|inventory|``, shares."""
    n_fills: float
    """Mean fills per episode."""
    clipped: float
    """Fraction of steps whose raw action left the env's action box."""

    @property
    def admissible(self) -> bool:
        return self.clipped <= MAX_CLIPPED_FRACTION

    def to_dict(self) -> dict[str, Any]:
        return {
            "sharpe": _sig(self.sharpe, 4),
            "sharpe_se": _sig(self.sharpe_se, 3),
            "pnl": _sig(self.pnl, 4),
            "avg_abs_inventory": _sig(self.avg_abs_inventory, 4),
            "n_fills": _sig(self.n_fills, 4),
            "clipped": _sig(self.clipped, 3),
        }


def clipped_action(action: np.ndarray, low: np.ndarray, high: np.ndarray) -> bool:
    """Whether the env would clip ``action``: a quoted side (size that rounds to a lot) whose offset or size
    lies outside ``[low, high]``."""
    for off, size in ((BID_OFFSET, BID_SIZE), (ASK_OFFSET, ASK_SIZE)):
        if action[size] >= 0.5 and not (low[off] <= action[off] <= high[off] and action[size] <= high[size]):
            return True
    return False


def score(strategy: str, params: dict[str, Any], env_config: Any, seeds: Sequence[int]) -> Score:
    """Run ``strategy`` with ``params`` (exactly these: no calibrated defaults are added) for one episode per
    seed, as the evaluation runner does (the env's own :class:`MarketView` each step), and summarise."""
    from almm_rllib.env.gym_env import MarketMakingGymEnv
    from almm_rllib.evaluation.views import view_from_env

    cfg = _env_config(env_config).replace(info_level="full", n_agents=1)
    env = _env_cache(cfg, MarketMakingGymEnv)
    low = env.core.act_low.astype(np.float64)
    high = env.core.act_high.astype(np.float64)
    strat = make_strategy(strategy, **params)
    sharpe, pnl, inv, nf = [], [], [], []
    n_clip = n_steps = 0
    for s in seeds:
        obs, info = env.reset(seed=int(s))
        strat.reset(int(s))
        k = 0
        done = False
        while not done:
            action = strat.act(view_from_env(env.core, info, obs, k))
            n_clip += clipped_action(action, low, high)
            obs, _, term, trunc, info = env.step(action)
            done = term or trunc
            k += 1
        n_steps += k
        ep = info["episode"]
        sharpe.append(ep["sharpe"])
        pnl.append(ep["pnl"])
        inv.append(ep["avg_abs_inventory"])
        nf.append(ep["n_fills"])
    sh = np.asarray(sharpe)
    return Score(
        strategy=strat.name,
        params=dict(params),
        sharpe=float(sh.mean()),
        sharpe_se=float(sh.std(ddof=1) / math.sqrt(len(sh))) if len(sh) > 1 else math.nan,
        pnl=float(np.mean(pnl)),
        avg_abs_inventory=float(np.mean(inv)),
        n_fills=float(np.mean(nf)),
        clipped=n_clip / max(n_steps, 1),
    )


_ENVS: dict[Any, Any] = {}


def _env_cache(cfg, cls):
    env = _ENVS.get(cfg)
    if env is None:
        _ENVS.clear()
        env = _ENVS[cfg] = cls(cfg)
    return env


def _score_task(task: tuple) -> Score:
    return score(*task)


# ------------------------------------------------------------------------------------------------------------
# The grids.


def candidates(fit: FillIntensity, env_config: Any = None) -> dict[str, list[dict[str, Any]]]:
    """The parameter sets tried per strategy, in the strategies' units: ``k`` per money and ``A`` per second
    from ``fit``; ``gamma`` from :data:`GAMMA_GRID` (per money per share; GLFT's is per order of one lot, so
    times the lot size); the rule-based strategies' grids are in ticks and lots."""
    lot = float(_market_of(env_config).lot_size)
    k = _sig(fit.k_money)
    a = _sig(fit.A)
    u = grid_scale(env_config)  # exact: the deepest value is the box edge
    return {
        "avellaneda_stoikov": [{"gamma": g, "k": k} for g in GAMMA_GRID],
        "symmetric": [{"gamma": g, "k": k} for g in GAMMA_GRID],
        "gueant_lehalle_fernandez_tapia": [{"gamma": _sig(g * lot), "k": k, "A": a} for g in GAMMA_GRID],
        "static_spread": [
            {"half_spread_ticks": _sig(h * u), "size": s} for s in STATIC_SIZES for h in STATIC_HALF_SPREADS
        ],
        "volatility_adaptive": [
            {"base_ticks": _sig(b * u), "vol_mult": m, "skew_ticks": _sig(sk * u)}
            for b in VA_BASE_TICKS
            for m in VA_VOL_MULTS
            for sk in VA_SKEW_TICKS
        ],
    }


def grid_scale(env_config: Any = None) -> float:
    """Factor applied to the rule-based strategies' grids in ticks (:data:`STATIC_HALF_SPREADS`,
    :data:`VA_BASE_TICKS`, :data:`VA_SKEW_TICKS`, written for a 20-tick action box): the env's
    ``max_offset_ticks / 20``, so that the grids span the action box of any market (1 on ``generic_large_tick``,
    whose box is 20 ticks; 2.56 on ``amzn_2012_06_21``, whose box follows its 12.8-tick spread)."""
    from almm_rllib.core.market_config import MarketConfig
    from almm_rllib.env.config import EnvConfig

    cfg = EnvConfig(market=env_config) if isinstance(env_config, MarketConfig) else _env_config(env_config)
    return max(1.0, float(cfg.max_offset_ticks) / 20.0)


def best(scores: Sequence[Score]) -> Score:
    """The admissible candidate with the highest mean Sharpe (the least clipped one if none is admissible)."""
    ok = [s for s in scores if s.admissible]
    if not ok:
        return min(scores, key=lambda s: s.clipped)
    return max(ok, key=lambda s: s.sharpe)


def _grid_table(scores: Sequence[Score]) -> dict[str, list]:
    keys = list(scores[0].params)
    rows = [
        [*(s.params[k] for k in keys), _sig(s.sharpe, 4), _sig(s.sharpe_se, 3), _sig(s.clipped, 3)]
        for s in scores
    ]
    return {"columns": [*keys, "sharpe", "sharpe_se", "clipped"], "rows": rows}


def calibration_record(
    env_config: Any = None,
    *,
    seeds: Sequence[int] | None = None,
    probe_seconds: float = DEFAULT_PROBE_SECONDS,
    probe_seed: int = DEFAULT_PROBE_SEED,
    distances: Iterable[float] = DEFAULT_DISTANCES,
    strategies: Sequence[str] = CALIBRATED,
    workers: int = 1,
    progress: bool = False,
) -> dict[str, Any]:
    """Everything :func:`calibrate` does, with its evidence: ``params`` (per strategy), ``fit``
    (:meth:`FillIntensity.to_dict`), ``scores`` (the chosen candidate's), ``grid`` (every candidate's score),
    and how it was made (market, env settings, seeds, date, wall time)."""
    t_start = time.perf_counter()
    cfg = _env_config(env_config)
    seed_list = [DEFAULT_SEED + i for i in range(DEFAULT_N_SEEDS)] if seeds is None else list(seeds)
    if not seed_list:
        raise ValueError("calibrate: no seeds")
    seed_list = [_check_seed(s, "calibrate") for s in seed_list]
    names = [strategy_class(s).name for s in strategies]
    unknown = sorted(set(names) - set(CALIBRATED))
    if unknown:
        raise ValueError(f"calibrate: no calibration for {unknown}; calibrated: {', '.join(CALIBRATED)}")
    _say(progress, f"probing fill intensity ({probe_seconds:g} s per offset) ...")
    fit = estimate_fill_intensity(cfg, seconds=probe_seconds, seed=probe_seed, distances=distances)
    _say(
        progress,
        f"  A = {fit.A:.4g}/s, k = {fit.k_tick:.4g}/tick ({fit.k_money:.4g}/money), sigma = {fit.sigma:.4g}",
    )
    grid = candidates(fit, cfg)
    tasks = [(name, p, cfg, seed_list) for name in names for p in grid[name]]
    _say(progress, f"scoring {len(tasks)} candidates x {len(seed_list)} seeds ...")
    if workers > 1:
        import concurrent.futures as cf
        import multiprocessing

        ctx = multiprocessing.get_context(
            "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        )
        with cf.ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            results = list(pool.map(_score_task, tasks, chunksize=4))
    else:
        results = [_score_task(t) for t in tasks]
    by_name: dict[str, list[Score]] = {n: [] for n in names}
    for r in results:
        by_name[r.strategy].append(r)
    params, chosen = {}, {}
    for name in names:
        b = best(by_name[name])
        params[name] = dict(b.params)
        chosen[name] = {**b.to_dict(), "admissible": b.admissible, "candidates": len(by_name[name])}
        _say(
            progress,
            f"  {name}: {params[name]}  sharpe {b.sharpe:.3f} +- {b.sharpe_se:.3f}, clipped {b.clipped:.3f}",
        )
    return {
        "params": params,
        "fit": fit.to_dict(),
        "scores": chosen,
        "grid": {n: _grid_table(by_name[n]) for n in names},
        "market": describe_market(cfg),
        "market_fingerprint": market_fingerprint(cfg.market),
        "env": {
            "dt": cfg.dt,
            "episode_seconds": cfg.episode_seconds,
            "min_offset_ticks": cfg.min_offset_ticks,
            "max_offset_ticks": cfg.max_offset_ticks,
            "max_size_lots": cfg.max_size_lots,
            "inventory_limit_lots": cfg.inventory_limit_lots,
            "phase": cfg.phase,
        },
        "seeds": _seed_range(seed_list),
        "objective": "mean per-episode sharpe (metrics.md) over the calibration seeds; admissible when at most "
        f"{MAX_CLIPPED_FRACTION:g} of the steps had an action outside the env's box",
        "date": _dt.date.today().isoformat(),
        "wall_s": round(time.perf_counter() - t_start, 1),
    }


def calibrate(
    env_config: Any = None, *, seeds: Sequence[int] | None = None, **kwargs: Any
) -> dict[str, dict]:
    """Calibrated parameters per strategy for ``env_config``'s market (see the module docstring).

    Args:
        env_config: the env (EnvConfig, mapping of its fields, or None for the default).
        seeds: calibration episode seeds, each >= :data:`MIN_SEED` (default ``1_000_000 + i``, i < 24).
        kwargs: ``probe_seconds``, ``probe_seed``, ``distances``, ``strategies``, ``workers``, ``progress``
            (see :func:`calibration_record`).

    Returns:
        ``{strategy: params}`` for avellaneda_stoikov, gueant_lehalle_fernandez_tapia, symmetric,
        static_spread and volatility_adaptive (or the ``strategies`` asked for).
    """
    return calibration_record(env_config, seeds=seeds, **kwargs)["params"]


# ------------------------------------------------------------------------------------------------------------
# Writing the defaults module.


def _sig(x: float, digits: int = 6) -> float:
    x = float(x)
    if not math.isfinite(x) or x == 0.0:
        return x
    return float(f"{x:.{digits}g}")


def _seed_range(seeds: Sequence[int]) -> str:
    s = sorted(int(x) for x in seeds)
    if s == list(range(s[0], s[0] + len(s))):
        return f"{s[0]}-{s[-1]}" if len(s) > 1 else str(s[0])
    return ",".join(map(str, s))


def _literal(obj: Any, indent: int = 0) -> str:
    """Python source for plain data, laid out as ``ruff format`` lays it out (one item per line)."""
    pad = " " * (indent + 4)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{pad}{_literal(str(k))}: {_literal(v, indent + 4)}," for k, v in obj.items()]
        return "{\n" + "\n".join(items) + "\n" + " " * indent + "}"
    if isinstance(obj, list | tuple):
        if not obj:
            return "[]"
        flat = "[" + ", ".join(_literal(v) for v in obj) + "]"
        if all(not isinstance(v, dict | list | tuple) for v in obj) and indent + len(flat) < 90:
            return flat
        return "[\n" + "\n".join(f"{pad}{_literal(v, indent + 4)}," for v in obj) + "\n" + " " * indent + "]"
    if isinstance(obj, str):
        return json.dumps(obj, ensure_ascii=True)
    if isinstance(obj, bool) or obj is None:
        return repr(obj)
    if isinstance(obj, float):
        return repr(obj) if math.isfinite(obj) else f'float("{obj}")'
    if isinstance(obj, int | np.integer):
        return str(int(obj))
    raise TypeError(f"cannot write {type(obj).__name__} {obj!r}")


def render_defaults(record: dict[str, Any]) -> str:
    """The source of a defaults module (like :mod:`almm_rllib.baselines.lob_defaults`) for a record of
    :func:`calibration_record`."""
    meta = {k: record[k] for k in ("market", "env", "seeds", "objective", "date", "wall_s")}
    return (
        '"""Calibrated baseline parameters for the default order-book market (generated: do not edit).\n\n'
        "Written by ``python -m almm_rllib.evaluation.calibration --out almm_rllib/baselines/lob_defaults.py``\n"
        "(:mod:`almm_rllib.evaluation.calibration`); :func:`~almm_rllib.baselines.defaults.default_params`\n"
        "returns ``PARAMS[strategy]`` for an env whose market has ``MARKET_FINGERPRINT``. Units: the strategies'\n"
        "(``k`` per money, ``A`` per second, ``gamma`` per money per share; GLFT's per money per order of one lot;\n"
        "ticks and lots for the rule-based strategies). ``FIT``: the probe's fill rates and the fitted\n"
        "``A exp(-k d)``; ``SCORES``: the chosen candidates on the calibration seeds; ``GRID``: every candidate.\n"
        '"""\n\n'
        f"MARKET_FINGERPRINT = {_literal(record['market_fingerprint'])}\n\n"
        f"CALIBRATION = {_literal(meta)}\n\n"
        f"FIT = {_literal(record['fit'])}\n\n"
        f"PARAMS = {_literal(record['params'])}\n\n"
        f"SCORES = {_literal(record['scores'])}\n\n"
        f"GRID = {_literal(record['grid'])}\n"
    )


def _say(on: bool, text: str) -> None:
    if on:
        print(text, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m almm_rllib.evaluation.calibration --out FILE.py``: calibrate and write a defaults module."""
    p = argparse.ArgumentParser(prog="python -m almm_rllib.evaluation.calibration", description=main.__doc__)
    p.add_argument(
        "--out", required=True, help="the Python module to write (e.g. almm_rllib/baselines/lob_defaults.py)"
    )
    p.add_argument(
        "--env-config", metavar="FILE.yaml", help="YAML mapping of EnvConfig fields (default env if absent)"
    )
    p.add_argument("--seeds", type=int, default=DEFAULT_N_SEEDS, help="calibration episodes per candidate")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="first calibration seed")
    p.add_argument(
        "--probe-seconds", type=float, default=DEFAULT_PROBE_SECONDS, help="probe seconds per offset"
    )
    p.add_argument("--probe-seed", type=int, default=DEFAULT_PROBE_SEED, help="first probe seed")
    p.add_argument("--workers", type=int, default=1, help="worker processes for the grid (default 1)")
    p.add_argument("--grid-json", metavar="FILE.json", help="also write every candidate's score here")
    args = p.parse_args(argv)
    cfg = None
    if args.env_config:
        import yaml

        cfg = _env_config(yaml.safe_load(Path(args.env_config).read_text()) or {})
    record = calibration_record(
        cfg,
        seeds=[args.seed + i for i in range(args.seeds)],
        probe_seconds=args.probe_seconds,
        probe_seed=args.probe_seed,
        workers=args.workers,
        progress=True,
    )
    Path(args.out).write_text(render_defaults(record))
    if args.grid_json:
        Path(args.grid_json).write_text(json.dumps(record["grid"], indent=1))
    print(f"wrote {args.out} ({record['wall_s']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
