"""Run folders for the Strategy Comparison, Deep Analysis and Portfolio View modes.

A comparison runs through :func:`almm_rllib.evaluation.evaluate` and lands as an ordinary run folder under
the results directory; every figure of a run comes from :mod:`almm_rllib.results` (report tables, metrics,
analysis). This module only selects and reshapes.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from almm_rllib.core.risk import var_cvar
from almm_rllib.dashboard.paths import DashboardError, inside, run_folder
from almm_rllib.env import EnvConfig
from almm_rllib.evaluation import CheckpointError, evaluate
from almm_rllib.results import ResultsError, read_run, report_tables
from almm_rllib.results import analysis as A
from almm_rllib.results import schema as S
from almm_rllib.results.metrics import VAR_ALPHA, drawdown_path
from almm_rllib.results.report import regime_breakdown

MAX_EPISODES = 500
#: Metrics whose per-episode distributions the comparison shows.
DISTRIBUTION_METRICS = (S.TOTAL_PNL, S.SHARPE, S.MAX_DRAWDOWN, S.AVG_ABS_INVENTORY)
_NAME_OK = re.compile(r"[A-Za-z0-9_.-]+")


@dataclasses.dataclass
class Run:
    """A run folder read for the page: its tables, its env config and its strategies."""

    name: str
    path: Path
    steps: pd.DataFrame
    fills: pd.DataFrame
    episodes: pd.DataFrame
    config: dict[str, Any]
    env: EnvConfig | None

    @property
    def strategies(self) -> list[str]:
        return list(pd.unique(self.episodes[S.STRATEGY]))

    def metric_kwargs(self) -> dict[str, float]:
        """The env config's capital, adverse-selection horizon and step (what the run's metrics used)."""
        env = self.env or EnvConfig()
        return {"capital": env.capital, "horizon_s": env.adverse_horizon_s, "step_dt": env.dt}


def load_run(root: Path, name: str) -> Run:
    """Read a run folder under ``root``; a wrong or unreadable folder is a :class:`DashboardError`."""
    path = run_folder(root, name)
    try:
        data = read_run(path)
    except (ResultsError, ValueError, OSError) as e:
        raise DashboardError(f"run folder {name!r} cannot be read: {e}") from e
    if len(data.episodes) == 0:
        raise DashboardError(f"run folder {name!r} holds no episodes")
    env = None
    raw = data.config.get("env_config")
    if isinstance(raw, dict):
        try:
            env = EnvConfig.from_dict(dict(raw), source=f"{name}/config.json")
        except (ValueError, TypeError):
            env = None  # written by another version: the metrics fall back to the default config's figures
    return Run(
        name=str(name),
        path=path,
        steps=data.steps,
        fills=data.fills,
        episodes=data.episodes,
        config=data.config,
        env=env,
    )


# ------------------------------------------------------------------------------------------------------------
# Strategy Comparison.


def run_comparison(
    root: Path,
    policies: Sequence[str],
    n_episodes: int,
    env_config: EnvConfig,
    *,
    run_name: str | None = None,
    first_seed: int = 0,
    on_progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Evaluate ``policies`` (baseline names, checkpoint folders under ``root``) on seeds ``first_seed ..
    first_seed + n_episodes - 1`` and write the run folder under ``root``; returns it."""
    if len(policies) < 1:
        raise DashboardError("choose at least one strategy or checkpoint")
    if not (1 <= int(n_episodes) <= MAX_EPISODES):
        raise DashboardError(f"number of episodes must be between 1 and {MAX_EPISODES}, got {n_episodes}")
    if run_name is not None:
        if not _NAME_OK.fullmatch(run_name):
            raise DashboardError(f"run name {run_name!r}: use letters, digits, '_', '-' and '.' only")
        if (root / run_name).exists():
            raise DashboardError(f"run folder {run_name!r} already exists under {str(root)!r}")
    specs = []
    for p in policies:
        if "/" in p or Path(p).is_absolute():
            specs.append(str(inside(root, p)))
        else:
            specs.append(p)
    seeds = list(range(int(first_seed), int(first_seed) + int(n_episodes)))
    try:
        return evaluate(
            specs,
            env_config,
            seeds,
            out_dir=root,
            run_name=run_name,
            workers=1,
            progress=False,
            on_progress=on_progress,
            extra_config={"source": "dashboard"},
        )
    except CheckpointError as e:
        raise DashboardError(f"checkpoint cannot be used: {e}") from e
    except (ValueError, ResultsError) as e:
        raise DashboardError(str(e)) from e


def comparison(run: Run, reference: str):
    """The report's tables (``results.report_tables``): expected performance with 95% intervals and the paired
    comparison against ``reference`` with Wilcoxon p-values."""
    if reference not in run.strategies:
        raise DashboardError(f"reference {reference!r} is not a strategy of run {run.name!r}")
    return report_tables(run.episodes, reference=reference)


def equity_bands(steps: pd.DataFrame, value: str = S.PNL) -> pd.DataFrame:
    """Per strategy and step: the mean, 5% and 95% quantiles of ``value`` over the episodes."""
    g = steps.groupby([S.STRATEGY, S.STEP], sort=True)[value]
    out = g.agg(mean="mean").join(g.quantile(0.05).rename("q05")).join(g.quantile(0.95).rename("q95"))
    time = steps.groupby([S.STRATEGY, S.STEP], sort=True)[S.TIME].first()
    return out.join(time).reset_index()


# ------------------------------------------------------------------------------------------------------------
# Deep Analysis.


@dataclasses.dataclass
class StrategyView:
    """One strategy of a run, one of its episodes picked out."""

    strategy: str
    seed: int
    seeds: list[int]
    episode_steps: pd.DataFrame
    drawdown: np.ndarray
    rolling_sharpe: np.ndarray
    episodes: pd.DataFrame
    trades: pd.DataFrame
    risk: pd.DataFrame
    regimes: pd.DataFrame
    inventory: np.ndarray
    step_pnl: np.ndarray


def strategy_view(run: Run, strategy: str, seed: int | None = None, window: int = 30) -> StrategyView:
    """Everything Deep Analysis shows for ``strategy`` of ``run`` (``seed``: the episode of the path charts,
    default the first)."""
    if strategy not in run.strategies:
        raise DashboardError(
            f"strategy {strategy!r} is not in run {run.name!r} ({', '.join(run.strategies)})"
        )
    steps = run.steps[run.steps[S.STRATEGY] == strategy]
    seeds = sorted(int(s) for s in pd.unique(steps[S.SEED]))
    seed = seeds[0] if seed is None else int(seed)
    if seed not in seeds:
        raise DashboardError(f"seed {seed} is not an episode of {strategy!r} in this run")
    ep = steps[steps[S.SEED] == seed].sort_values(S.STEP)
    n = len(ep)
    if not (2 <= window <= max(2, n)):
        raise DashboardError(f"rolling window must be between 2 and {max(2, n)} steps, got {window}")
    fills = run.fills[run.fills[S.STRATEGY] == strategy]
    trades = A.fill_markouts(steps, fills)
    eps = run.episodes[run.episodes[S.STRATEGY] == strategy]
    x = steps[S.DPNL].to_numpy(np.float64)
    pooled = var_cvar(x, VAR_ALPHA)
    totals = eps[S.TOTAL_PNL].to_numpy(np.float64)
    per_ep = var_cvar(totals, VAR_ALPHA) if len(totals) >= 2 else None
    risk = pd.DataFrame(
        [
            ("step P&L, pooled over episodes", float(pooled.var), float(pooled.cvar), len(x)),
            (
                "step P&L, mean of the episodes' own",
                float(eps[S.VAR_95].mean()),
                float(eps[S.CVAR_95].mean()),
                len(eps),
            ),
            (
                "episode total P&L",
                float(per_ep.var) if per_ep else float("nan"),
                float(per_ep.cvar) if per_ep else float("nan"),
                len(totals),
            ),
        ],
        columns=["of", "VaR 95% ($)", "CVaR 95% ($)", "observations"],
    )
    return StrategyView(
        strategy=strategy,
        seed=seed,
        seeds=seeds,
        episode_steps=ep,
        drawdown=drawdown_path(ep[S.PNL].to_numpy(np.float64))[1:],
        rolling_sharpe=A.rolling_sharpe(ep[S.DPNL].to_numpy(np.float64), min(window, n)),
        episodes=eps,
        trades=trades,
        risk=risk,
        regimes=regime_breakdown(steps, [strategy]),
        inventory=steps[S.INVENTORY].to_numpy(np.float64),
        step_pnl=x,
    )


# ------------------------------------------------------------------------------------------------------------
# Portfolio View.


@dataclasses.dataclass
class PortfolioView:
    weights: pd.Series
    correlation: pd.DataFrame
    diversification_ratio: float
    table: pd.DataFrame
    equity: pd.DataFrame


def portfolio_view(
    run: Run, strategies: Sequence[str], weighting: str = "equal", custom: dict[str, float] | None = None
) -> PortfolioView:
    """Portfolio of ``strategies`` of ``run`` (``results.analysis``): weights, correlation of step P&L, the
    diversification ratio, the members' and the portfolio's figures and mean equity curves."""
    strategies = list(strategies)
    if len(strategies) < 2:
        raise DashboardError("choose at least two strategies for a portfolio")
    unknown = [s for s in strategies if s not in run.strategies]
    if unknown:
        raise DashboardError(f"strategies not in run {run.name!r}: {unknown}")
    try:
        matrix = A.step_pnl_matrix(run.steps, strategies)
        weights = A.portfolio_weights(matrix, weighting, custom)
        _, table = A.portfolio_summary(run.steps, weights, **run.metric_kwargs())
    except ValueError as e:
        raise DashboardError(f"portfolio: {e}") from e
    port = A.portfolio_steps(run.steps, weights)
    members = run.steps[run.steps[S.STRATEGY].isin(strategies)]
    equity = equity_bands(pd.concat([members, port], ignore_index=True))
    return PortfolioView(
        weights=weights,
        correlation=matrix.corr(),
        diversification_ratio=A.diversification_ratio(matrix, weights),
        table=table,
        equity=equity,
    )
