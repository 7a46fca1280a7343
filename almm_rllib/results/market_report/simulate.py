"""The background market alone: run lengths, the recorded run, the run with one regime pinned."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from almm_rllib.core.market_facts import SESSION_SECONDS

if TYPE_CHECKING:
    from almm_rllib.core.market_config import MarketConfig

#: Mean holding times per regime the default run length covers (see :func:`default_seconds`).
SWITCHES_PER_RUN = 60
#: One NASDAQ session, the length of the AMZN sample: the shortest default run.


def default_seconds(config: MarketConfig) -> float:
    """Run length covering ``SWITCHES_PER_RUN`` mean holding times of the slowest regime, at least one session."""
    q = config.regimes.generator()
    rates = -np.diag(q)
    slow = float(1.0 / rates[rates > 0].min()) if (rates > 0).any() else 0.0
    return float(max(SESSION_SECONDS, SWITCHES_PER_RUN * slow))


def n_steps(seconds: float, dt: float) -> int:
    """Steps of ``dt`` covering ``seconds`` (at least 2)."""
    return max(int(math.ceil(seconds / dt - 1e-9)), 2)


def simulate(
    config: MarketConfig, *, seconds: float, dt: float, seed: int, burn_in_seconds: float = 300.0
) -> np.ndarray:
    """Background market alone: ``burn_in_seconds`` unrecorded, then ``seconds`` recorded (``REC_*`` rows)."""
    from almm_rllib.core.market import MarketSimulator

    sim = MarketSimulator(config, n_agents=0, seed=seed)
    if burn_in_seconds > 0:
        sim.run_background(n_steps(burn_in_seconds, dt), dt)
    return sim.run_background(n_steps(seconds, dt), dt, record=True)


def pinned_config(config: MarketConfig, name: str) -> MarketConfig:
    """``config`` with the regime chain stopped in regime ``name``."""
    return config.replace(regimes=config.regimes.replace(switching=False, initial=name))
