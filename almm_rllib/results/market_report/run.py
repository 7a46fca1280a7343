"""The market report end to end: run the market, measure it, check it, draw it, write both files."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from almm_rllib.results.market_report import figures, page
from almm_rllib.results.market_report.checks import plausibility_checks
from almm_rllib.results.market_report.comparison import comparison_section, simulated_microstructure
from almm_rllib.results.market_report.real_data import default_lobster_dir, lobster_section
from almm_rllib.results.market_report.record_stats import fair_stats, market_stats, pinned_summary, valid_rows
from almm_rllib.results.market_report.simulate import default_seconds, pinned_config, simulate
from almm_rllib.results.market_report.summary import mean_order_lots, summary_rows
from almm_rllib.results.microstructure import seed_robustness

if TYPE_CHECKING:
    from almm_rllib.core.market_config import MarketConfig

REPORT_HTML = "report.html"
STATS_FILE = "market_stats.json"
#: ``compare_lobster`` default: the shared LOBSTER folder beside the repository if it exists.
AUTO = "auto"
#: Top-level keys of ``market_stats.json``.
STATS_KEYS = ("meta", "simulated", "per_regime", "lobster", "checks", "summary", "microstructure")


def jsonable(x: Any) -> Any:
    """Plain JSON: NaN and inf become null, numpy scalars and arrays become Python numbers and lists."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return [jsonable(v) for v in x.tolist()]
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, int | np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        x = float(x)
        return x if math.isfinite(x) else None
    return x


def market_report(
    config: MarketConfig | None = None,
    *,
    seconds: float | None = None,
    dt: float = 1.0,
    seed: int = 0,
    out_dir="market_report",
    compare_lobster=AUTO,
    pinned_seconds: float | None = None,
    burn_in_seconds: float = 300.0,
    lags: int = 20,
    coarse: int = 10,
    vol_tolerance: float = 0.25,
    robustness_days: int = 0,
) -> Path:
    """Run the background market alone, measure it, and write ``report.html`` and ``market_stats.json``.

    The ``microstructure`` section is issue 15's item 2: a second run of the background market (the same seed,
    burn-in and length, read fill by fill through ``results.microstructure.simulator_day``) measured and
    compared with the LOBSTER day by :mod:`almm_rllib.results.microstructure`, one verdict per statistic
    (:mod:`.comparison`).

    Args:
        config: the market (``model="lob"``); default ``MarketConfig()``.
        seconds: recorded length of the switching run; default :func:`default_seconds` (at least one 6.5-hour
            session and ``SWITCHES_PER_RUN`` mean spells of the slowest regime).
        dt: step length in seconds (returns, OFI and autocorrelations are per step; "coarse" = ``coarse`` steps).
        seed: seed of the switching run; pinned run ``i`` uses ``seed + 1 + i``.
        out_dir: folder for the two files (created if missing).
        compare_lobster: a LOBSTER folder or message file to put real statistics beside the simulated ones;
            ``AUTO`` (default) = the shared folder if it exists (:func:`default_lobster_dir`); None = no
            comparison. An explicit path that does not hold a pair raises ``FileNotFoundError``.
        pinned_seconds: recorded length of each pinned-regime run (default ``seconds``).
        burn_in_seconds: unrecorded run after the simulator's own warm-up, so the book starts in steady state.
        lags: autocorrelation lags; coarse: steps per coarse return; vol_tolerance: the volatility check's
            relative tolerance.
        robustness_days: with a real day to compare with, run the microstructure comparison on this many
            simulated days (seeds ``seed`` .. ``seed + robustness_days - 1``, the first being the report's own
            run): the table's verdicts judge the mean over them (the simulator's expected figure), and each
            row says on how many single days it fails and where the real figure falls among them
            (``microstructure.robustness``, :mod:`.comparison`). 0: the report's one day is judged alone.

    Returns:
        The path of ``report.html``. Both files are written under temporary names and renamed when complete.
    """
    config, seconds = _checked_args(config, seconds, dt, coarse)
    if not (isinstance(robustness_days, int) and robustness_days >= 0):
        raise ValueError(f"robustness_days must be an integer >= 0, got {robustness_days!r}")
    if pinned_seconds is None:
        pinned_seconds = seconds
    rc = config.regimes
    switching = bool(rc.switching and len(rc.names) > 1)
    check_memory(seconds, pinned_seconds, dt, len(rc.names))  # every regime also runs pinned
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    rec = simulate(config, seconds=seconds, dt=dt, seed=seed, burn_in_seconds=burn_in_seconds)
    sim = market_stats(rec, dt=dt, tick_size=config.tick_size, regimes=rc, lags=lags, coarse=coarse)
    per_regime, per_stats, pinned_recs = _pinned_runs(
        config, pinned_seconds, dt, seed, burn_in_seconds, lags, coarse
    )
    lob_sec, lob_rec = None, None
    src = default_lobster_dir() if compare_lobster == AUTO else compare_lobster
    if src is not None:
        lob_sec, lob_rec = lobster_section(src, dt=dt, lags=lags, coarse=coarse)

    micro_sim = simulated_microstructure(
        config, seconds=seconds, dt=dt, seed=seed, burn_in_seconds=burn_in_seconds
    )
    micro_real = lob_sec.pop("microstructure") if lob_sec else None
    robustness = None
    if robustness_days > 0 and micro_real is not None:
        robustness = seed_robustness(
            micro_real,
            list(range(seed, seed + robustness_days)),
            config=config,
            seconds=seconds,
            dt=dt,
            burn_in_seconds=burn_in_seconds,
            known={seed: micro_sim},  # the report's own day, not simulated again
        )
    micro = comparison_section(micro_real, micro_sim, robustness)
    meta = _meta(config, seed, seconds, pinned_seconds, burn_in_seconds, dt, coarse, lags, switching)
    stats = {
        "meta": meta,
        "simulated": sim,
        "per_regime": per_regime,
        "per_regime_stats": per_stats,
        "lobster": lob_sec,
        "checks": plausibility_checks(
            sim,
            per_regime,
            vol_tolerance=vol_tolerance,
            switching=switching,
            typical_spread_ticks=config.typical_spread_ticks if config.model == "lob" else None,
        ),
        "microstructure": micro,
    }
    stats["summary"] = summary_rows(stats)
    figs = figures.draw_all(rec, stats, pinned_recs, lob_rec, dt)
    return _write(out, stats, page.render_html(stats, figs))


#: Copies of the recordings alive at once while the statistics run (estimate for :func:`check_memory`).
ANALYSIS_COPIES = 4


def _available_memory() -> float:
    """Bytes of memory available now (Linux ``MemAvailable``; else physical memory; inf when unknown)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return math.inf


def check_memory(seconds: float, pinned_seconds: float, dt: float, n_pinned: int) -> float:
    """Refuse a run whose recordings would not fit in memory, before anything runs (a float64 row of
    ``REC_SIZE`` columns per step, for the switching run and each pinned run, about ``ANALYSIS_COPIES`` times
    over while the statistics are computed). Returns the estimate in bytes."""
    from almm_rllib.core.market_state_nb import REC_SIZE

    rows = seconds / dt + n_pinned * pinned_seconds / dt
    need = rows * REC_SIZE * 8.0 * ANALYSIS_COPIES
    have = _available_memory()
    if need > 0.8 * have:
        most = 0.8 * have / (REC_SIZE * 8.0 * ANALYSIS_COPIES * (1 + n_pinned)) * dt
        raise ValueError(
            f"--seconds {seconds:g}: the recordings would need about {need / 2**30:,.1f} GiB of memory and "
            f"{have / 2**30:,.1f} GiB are available; at most about {most:,.0f} seconds fit"
        )
    return need


def _checked_args(config: MarketConfig | None, seconds: float | None, dt, coarse: int):
    """The market (default ``MarketConfig()``) and run length, checked; raises naming the bad argument."""
    from almm_rllib.core.market_config import MarketConfig

    if config is None:
        config = MarketConfig()
    if not isinstance(config, MarketConfig):
        raise TypeError(f"market_report needs a MarketConfig, got {type(config).__name__}")
    if config.model != "lob":
        raise ValueError(
            f"the realism report measures the order-book market (model='lob'), got model={config.model!r}"
        )
    if not (isinstance(dt, int | float) and math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a positive number of seconds, got {dt!r}")
    if seconds is None:
        seconds = default_seconds(config)
    if not (math.isfinite(seconds) and seconds >= 2 * coarse * dt):
        raise ValueError(f"seconds must cover at least {2 * coarse} steps of {dt:g} s, got {seconds!r}")
    return config, seconds


def _pinned_runs(
    config: MarketConfig,
    seconds: float,
    dt: float,
    seed: int,
    burn_in_seconds: float,
    lags: int,
    coarse: int,
) -> tuple[dict, dict, dict[str, np.ndarray]]:
    """One run per regime with the chain stopped there (seed ``seed + 1 + i``): per regime, the volatility
    summary, the full statistics and the record."""
    rc = config.regimes
    per_regime: dict = {}
    per_stats: dict = {}
    pinned_recs: dict = {}
    for i, name in enumerate(rc.names):
        prec = simulate(
            pinned_config(config, name),
            seconds=seconds,
            dt=dt,
            seed=seed + 1 + i,
            burn_in_seconds=burn_in_seconds,
        )
        st = market_stats(prec, dt=dt, tick_size=config.tick_size, lags=lags, coarse=coarse)
        summ = pinned_summary(st, fair_stats(valid_rows(prec), dt, coarse), rc.volatility[i])
        # the fair price is the configured GBM only when order flow does not move it (issue 15: impact of every
        # market order, and diffusion_scale making the configured volatility the mid's total)
        scales = rc.diffusion_scale or (1.0,) * len(rc.names)
        summ["fair_is_gbm"] = bool(config.formation.impact_ticks == 0 and scales[i] == 1.0)
        summ["coarse_horizon_s"] = coarse * dt
        per_regime[name] = summ
        per_stats[name] = st
        pinned_recs[name] = prec
    return per_regime, per_stats, pinned_recs


def _meta(config, seed, seconds, pinned_seconds, burn_in_seconds, dt, coarse, lags, switching) -> dict:
    """The ``meta`` section: the run's settings, the expected order sizes and the configuration."""
    from almm_rllib import __version__

    return {
        "version": __version__,
        "seed": seed,
        "seconds": float(seconds),
        "pinned_seconds": float(pinned_seconds),
        "burn_in_seconds": float(burn_in_seconds),
        "dt": float(dt),
        "coarse_steps": coarse,
        "lags": lags,
        "switching": switching,
        "market_order_mean_lots": mean_order_lots(config.flow, market=True),
        "limit_order_mean_lots": mean_order_lots(config.flow, market=False),
        "config": config.to_dict(),
    }


def _write(out: Path, stats: dict, page_text: str) -> Path:
    """``market_stats.json`` then ``report.html`` into ``out``, each under a temporary name then renamed."""
    from almm_rllib.results.io import write_text

    write_text(json.dumps(jsonable(stats), indent=1, allow_nan=False), out / STATS_FILE)
    return write_text(page_text, out / REPORT_HTML)
