"""One strategy on one market (:func:`simulate`), and the Avellaneda-Stoikov (2008) paper's table on the env's
stylized market (:func:`paper_table`).

The paper's set-up (section 4) in the env: the stylized market (``MarketConfig(model="stylized")``: the mid
moves +-sigma sqrt(dt) each step, a quote at distance delta from the mid is hit with probability
``A exp(-k delta) dt``, one share per hit) with ``S0 = 100``, ``sigma = 2``, ``A = 140``, ``k = 1.5``,
``dt = 0.005``, ``T = 1`` (200 steps), one-share lots, a 0.01 tick, and ``gamma`` in {0.01, 0.1, 1} for the
inventory strategy (Avellaneda-Stoikov) and the symmetric strategy, both told the true ``sigma = 2`` and the
time left in the episode. :func:`paper_table` reports the paper's columns (average spread, profit mean and
std, final inventory mean and std) from the run's logs, next to the same experiment in the baselines' own
plain-numpy simulation (:mod:`almm_rllib.baselines.paper`, same parameters and path count) and, for
``gamma = 0.1``, the figures printed in the paper.

Differences between the env and the paper's continuous model, by construction:

* quotes are rounded outward to the 0.01 tick (bid down, ask up), which widens the spread by up to a tick;
* the env bounds the offsets to ``[-100, 1000]`` ticks (``EnvConfig`` refuses wider bounds). With
  ``gamma = 1`` the inventory strategy skews by ``q * gamma * sigma^2 * tau = 4 q tau`` money, so early in the
  episode with ``|q| >= 1`` the quote on the reducing side lies more than 1.00 below (ask) or above (bid) the
  mid: the env quotes it at 1.00 instead. That quote is hit with probability 1 either way
  (``A exp(k) dt > 1``), but at a price up to ~0.5 better for the agent, so the env's ``gamma = 1`` profit of the
  inventory strategy is biased up relative to the paper's model;
* the env's fills are drawn before the mid moves (``fill_after_move=False`` in :mod:`.paper`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from almm_rllib.baselines.avellaneda_stoikov import (
    PAPER_A,
    PAPER_DT,
    PAPER_GAMMA,
    PAPER_GAMMAS,
    PAPER_K,
    PAPER_S0,
    PAPER_SIGMA,
    PAPER_T,
)
from almm_rllib.env.config import EnvConfig
from almm_rllib.evaluation.runner import default_run_name, evaluate
from almm_rllib.results import read_run
from almm_rllib.results import schema as S

#: Columns of :func:`paper_table`.
PAPER_COLUMNS = (
    "gamma",
    "strategy",
    "source",
    "n",
    "spread",
    "profit",
    "profit_std",
    "final_q",
    "final_q_std",
)


def simulate(
    strategy: str,
    env_config: EnvConfig | dict | None = None,
    n_episodes: int = 50,
    *,
    seed: int = 0,
    out_dir: str | os.PathLike[str] = "results",
    run_name: str | None = None,
    workers: int | None = None,
    phase: str | None = None,
    progress: bool = True,
    name: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Run one strategy (a policy spec: baseline with optional parameters, or a checkpoint folder) for
    ``n_episodes`` episodes on seeds ``seed .. seed + n_episodes - 1`` and write the run folder, exactly as
    :func:`~almm_rllib.evaluation.runner.evaluate` does. Returns the run folder."""
    if isinstance(n_episodes, bool) or not isinstance(n_episodes, int) or n_episodes < 1:
        raise ValueError(f"n_episodes must be an integer >= 1, got {n_episodes!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return evaluate(
        [strategy],
        env_config,
        list(range(seed, seed + n_episodes)),
        out_dir=out_dir,
        run_name=run_name or default_run_name("sim"),
        workers=workers,
        phase=phase,
        progress=progress,
        policy_names=[name] if name else None,
        overwrite=overwrite,
        extra_config={"kind": "simulate"},
    )


def paper_env_config(**overrides: Any) -> EnvConfig:
    """The env on the paper's stylized market (see the module docstring); ``overrides`` are EnvConfig fields.

    No inventory limit to speak of (the paper has none), offsets as wide as the env allows, one-lot quotes, no
    reward penalties (the table is about P&L).
    """
    base: dict[str, Any] = {
        "market": {
            "model": "stylized",
            "lot_size": 1,
            "initial_price": PAPER_S0,
            "tick_size": 0.01,
            "stylized": {"sigma": PAPER_SIGMA, "A": PAPER_A, "k": PAPER_K, "fill_size": "one_lot"},
        },
        "dt": PAPER_DT,
        "episode_seconds": PAPER_T,
        "inventory_limit_lots": 1_000_000,
        "min_offset_ticks": -100.0,
        "max_offset_ticks": 1000.0,
        "max_size_lots": 1.0,
        "lambda_inventory": 0.0,
        "lambda_volatility": 0.0,
        "lambda_impact": 0.0,
    }
    return EnvConfig.from_dict(base, source="paper_env_config").merged(overrides or None)


def paper_specs(gamma: float) -> dict[str, str]:
    """``{"inventory": spec, "symmetric": spec}`` of the paper's two strategies at ``gamma``."""
    params = f"gamma={gamma!r},k={PAPER_K!r},sigma={PAPER_SIGMA!r}"
    return {"inventory": f"avellaneda_stoikov:{params}", "symmetric": f"symmetric:{params}"}


def episode_spreads(steps: pd.DataFrame) -> pd.Series:
    """Per (strategy, seed): the mean of ``ask_price - bid_price`` over the steps quoting both sides."""
    both = steps[np.isfinite(steps[S.BID_PRICE]) & np.isfinite(steps[S.ASK_PRICE])]
    spread = both[S.ASK_PRICE] - both[S.BID_PRICE]
    return spread.groupby([both[S.STRATEGY], both[S.SEED]]).mean()


def paper_rows_from_run(run_dir: str | os.PathLike[str], gamma: float) -> list[dict[str, Any]]:
    """The paper's table rows (one per strategy) from a run folder."""
    run = read_run(run_dir, tables=(S.STEPS, S.EPISODES))
    spreads = episode_spreads(run.steps)
    rows = []
    for strategy, ep in run.episodes.groupby(S.STRATEGY, sort=False):
        profit = ep[S.TOTAL_PNL].to_numpy(np.float64)
        q = ep[S.FINAL_INVENTORY].to_numpy(np.float64)
        rows.append(
            {
                "gamma": gamma,
                "strategy": strategy,
                "source": "env",
                "n": len(ep),
                "spread": float(spreads.loc[strategy].mean()) if strategy in spreads.index else float("nan"),
                "profit": float(profit.mean()),
                "profit_std": float(profit.std(ddof=1)) if len(profit) > 1 else float("nan"),
                "final_q": float(q.mean()),
                "final_q_std": float(q.std(ddof=1)) if len(q) > 1 else float("nan"),
            }
        )
    return rows


# Over 80 lines only through its docstring (the body is ~60 lines: one loop over gammas, one cross-check).
def paper_table(
    gammas: Sequence[float] = PAPER_GAMMAS,
    n_episodes: int = 1000,
    *,
    seed: int = 0,
    out_dir: str | os.PathLike[str] | None = None,
    run_name: str | None = None,
    workers: int | None = None,
    progress: bool = True,
    cross_check: bool = True,
) -> pd.DataFrame:
    """The Avellaneda-Stoikov (2008) table on the env's stylized market.

    For each ``gamma``: the inventory and symmetric strategies on the same ``n_episodes`` seeds
    (``seed .. seed + n - 1``), written as the run folder ``<out_dir>/<run_name>-gamma<gamma>/`` (a temporary
    folder, removed afterwards, when ``out_dir`` is None). ``cross_check`` adds the same experiment in the
    baselines' plain-numpy simulation (:func:`almm_rllib.baselines.paper.paper_comparison`, ``n_episodes``
    paths from ``seed``; source ``"paper.py"``) and, where the paper printed them, its figures (source
    :data:`almm_rllib.baselines.paper.PAPER_TABLE_SOURCE`, the October 2006 working paper's table, ``gamma = 0.1``
    only).

    Returns:
        DataFrame with columns :data:`PAPER_COLUMNS`, rows ordered by gamma, strategy, source; its
        ``attrs["run_dirs"]`` lists the run folders written (empty when ``out_dir`` is None).
    """
    from almm_rllib.baselines import paper

    cfg = paper_env_config()
    base_name = run_name or default_run_name("paper")
    rows: list[dict[str, Any]] = []
    run_dirs: list[str] = []  # in ``table.attrs["run_dirs"]`` (none when they were temporary)
    with tempfile.TemporaryDirectory(prefix="almm-paper-") as tmp:
        root = Path(out_dir) if out_dir is not None else Path(tmp)
        for gamma in gammas:
            specs = paper_specs(gamma)
            run_dir = evaluate(
                list(specs.values()),
                cfg,
                list(range(seed, seed + n_episodes)),
                out_dir=root,
                run_name=f"{base_name}-gamma{gamma:g}",
                workers=workers,
                progress=progress,
                policy_names=list(specs),
                extra_config={"kind": "paper", "gamma": gamma},
            )
            rows += paper_rows_from_run(run_dir, gamma)
            if out_dir is not None:
                run_dirs.append(str(run_dir))
            if cross_check:
                market = paper.PaperMarket(
                    s0=PAPER_S0, T=PAPER_T, sigma=PAPER_SIGMA, dt=PAPER_DT, A=PAPER_A, k=PAPER_K
                )
                for strategy, res in paper.paper_comparison(gamma, n_episodes, seed, market).items():
                    rows.append(
                        {
                            "gamma": gamma,
                            "strategy": strategy,
                            "source": "paper.py",
                            "n": n_episodes,
                            **res.summary(),
                        }
                    )
                if gamma == PAPER_GAMMA:
                    for strategy, fig in paper.PAPER_TABLE_GAMMA_0_1.items():
                        rows.append(
                            {
                                "gamma": gamma,
                                "strategy": strategy,
                                "source": paper.PAPER_TABLE_SOURCE,
                                "n": paper.PAPER_N_PATHS,
                                "spread": float("nan"),
                                "profit": fig["profit"],
                                "profit_std": fig["profit_std"],
                                "final_q": float("nan"),
                                "final_q_std": fig["final_q_std"],
                            }
                        )
    out = pd.DataFrame(rows, columns=list(PAPER_COLUMNS))
    order = {"env": 0, "paper.py": 1, paper.PAPER_TABLE_SOURCE: 2}
    out = out.sort_values(
        ["gamma", "strategy", "source"],
        key=lambda c: c.map(order) if c.name == "source" else c,
        kind="mergesort",
    ).reset_index(drop=True)
    out.attrs["run_dirs"] = run_dirs
    return out


def format_paper_table(table: pd.DataFrame) -> str:
    """The paper's table as text."""
    from almm_rllib.results.report import fmt_num, text_table

    shown = table.copy()
    for c in ("spread", "profit", "profit_std", "final_q", "final_q_std"):
        shown[c] = [fmt_num(x) for x in shown[c]]
    shown["gamma"] = [f"{g:g}" for g in shown["gamma"]]
    shown["n"] = [str(int(n)) for n in shown["n"]]
    shown = shown.rename(
        columns={
            "spread": "Avg spread",
            "profit": "Profit",
            "profit_std": "Std(Profit)",
            "final_q": "Final q",
            "final_q_std": "Std(Final q)",
        }
    )
    return text_table(shown, index=False)


__all__ = [
    "PAPER_COLUMNS",
    "PAPER_GAMMAS",
    "episode_spreads",
    "format_paper_table",
    "paper_env_config",
    "paper_rows_from_run",
    "paper_specs",
    "paper_table",
    "simulate",
]
