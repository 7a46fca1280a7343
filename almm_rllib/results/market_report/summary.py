"""The summary table (simulated beside real, same units) and its plain-text form; number formatting."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from almm_rllib.results.market_report.comparison import format_comparison
from almm_rllib.results.market_report.record_stats import vr_at

if TYPE_CHECKING:
    from almm_rllib.core.market_config import FlowConfig


def fmt(x, digits: int = 3) -> str:
    """A figure for the tables: ``digits`` significant digits, ``n/a`` for None/NaN, strings as they are."""
    if x is None:
        return "n/a"
    if isinstance(x, str):
        return x
    x = float(x)
    if not math.isfinite(x):
        return "n/a" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if x == 0:
        return "0"
    a = abs(x)
    if a >= 1e5 or a < 1e-3:
        return f"{x:.{digits - 1}e}"
    return f"{x:,.{max(digits - 1 - int(math.floor(math.log10(a))), 0)}f}"


def _row(figure: str, unit: str, sim, lob, note: str = "") -> dict:
    """One row of the summary table."""
    return {"figure": figure, "unit": unit, "simulated": sim, "amzn": lob, "note": note}


def _expected_lognormal_lots(mu: float, sigma: float) -> float:
    """Mean of max(1, round(exp(mu + sigma z))): the simulator's lognormal order size in lots."""
    from scipy.stats import lognorm

    dist = lognorm(s=sigma, scale=math.exp(mu))
    kmax = int(min(max(dist.ppf(1 - 1e-12), 3), 1e6)) + 2
    k = np.arange(2, kmax + 1)
    pk = dist.cdf(k + 0.5) - dist.cdf(k - 0.5)
    return float(dist.cdf(1.5) + (k * pk).sum())


def mean_order_lots(flow: FlowConfig, market: bool) -> float:
    """Expected market (``market``) or limit order size in lots under ``flow``."""
    if market:
        return _expected_lognormal_lots(flow.market_size_mu, flow.market_size_sigma)
    if flow.size_model == "lognormal":
        return _expected_lognormal_lots(flow.size_mu, flow.size_sigma)
    return float(flow.size_sigma)


def _get(s, *path):
    """``s[p0][p1]...``; None when ``s`` is None or a list index is out of range."""
    if s is None:
        return None
    for p in path:
        if s is None:
            return None
        s = s[p] if isinstance(s, dict) else (s[p] if isinstance(p, int) and p < len(s) else None)
    return s


def _spread_over_vol(s):
    if s is None:
        return None
    v = s["returns"]["step"]["std_ticks"]
    return s["spread"]["mean"] / v if v and math.isfinite(v) and v > 0 else math.nan


def _depth_over_mo(s, mo):
    if s is None or mo is None:
        return None
    return s["depth"]["level1_mean"] / mo


def summary_rows(stats: dict) -> list[dict]:
    """The summary table: simulated (switching run) beside AMZN, same units, one row per figure."""
    sim = stats["simulated"]
    lob = (stats.get("lobster") or {}).get("stats")

    def both(*path):
        return _get(sim, *path), _get(lob, *path)

    return (
        _book_rows(stats, sim, lob, both)
        + _return_rows(stats["meta"]["dt"], sim, lob, both)
        + _flow_and_risk_rows(stats["meta"]["dt"], sim, both)
    )


def _book_rows(stats: dict, sim: dict, lob: dict | None, both) -> list[dict]:
    """Price, spread, depth, order sizes and aggressive volume."""
    dt = stats["meta"]["dt"]
    mo_sim = stats["meta"].get("market_order_mean_lots")
    mo_lob = (stats.get("lobster") or {}).get("market_order_mean_lots")
    return [
        _row("mean price", "$", *both("mean_price"), "AMZN is a ~$220 stock, the default market a $100 one"),
        _row("spread, mean", "ticks", *both("spread", "mean"), "not comparable across price levels"),
        _row("spread, median", "ticks", *both("spread", "median")),
        _row("spread 1-3 ticks", "share of time", *both("spread", "frac_1_to_3")),
        _row("spread in bps", "bps of price", *both("spread", "mean_bps"), "dimensionless"),
        _row(
            f"spread / std of {dt:g}-s mid change",
            "ratio",
            _spread_over_vol(sim),
            _spread_over_vol(lob),
            "spread in units of one-step price noise",
        ),
        _row("depth at level 1 (mean of sides)", "lots (100 sh)", *both("depth", "level1_mean")),
        _row("market-order size, mean", "lots", mo_sim, mo_lob, "sim: expectation from the FlowConfig"),
        _row(
            "level-1 depth / market-order size",
            "ratio",
            _depth_over_mo(sim, mo_sim),
            _depth_over_mo(lob, mo_lob),
            "how many typical market orders clear the touch",
        ),
        _row("aggressive volume", "lots / s", *both("activity", "aggressive_lots_per_s")),
    ]


def _return_rows(dt: float, sim: dict, lob: dict | None, both) -> list[dict]:
    """Volatility, variance ratio, autocorrelations, kurtosis and zero moves of the mid."""
    hc = sim["returns"]["coarse"]["horizon_s"]
    return [
        _row(f"mid vol at {dt:g} s", "per sqrt-s", *both("returns", "step", "vol_per_sqrt_s")),
        _row(f"mid vol at {hc:g} s", "per sqrt-s", *both("returns", "coarse", "vol_per_sqrt_s")),
        _row(
            f"variance ratio VR({hc:g} s)",
            "ratio",
            vr_at(sim, hc),
            vr_at(lob, hc) if lob else None,
            "1 = random walk, > 1 trending, < 1 mean-reverting",
        ),
        _row(f"return acf lag 1 at {dt:g} s", "corr", *both("returns", "step", "acf", 0)),
        _row(f"return acf lag 1 at {hc:g} s", "corr", *both("returns", "coarse", "acf", 0)),
        _row(f"|r| acf lag 1 at {dt:g} s", "corr", *both("returns", "step", "abs_acf", 0)),
        _row(f"r^2 acf lag 1 at {dt:g} s", "corr", *both("returns", "step", "sq_acf", 0)),
        _row(
            f"|r| acf mean of lags 1-{len(sim['returns']['step']['abs_acf'])}",
            "corr",
            float(np.nanmean(sim["returns"]["step"]["abs_acf"])),
            float(np.nanmean(lob["returns"]["step"]["abs_acf"])) if lob else None,
        ),
        _row(f"excess kurtosis at {dt:g} s", "", *both("returns", "step", "kurtosis")),
        _row(f"excess kurtosis at {hc:g} s", "", *both("returns", "coarse", "kurtosis")),
        _row(f"steps with no mid change ({dt:g} s)", "share", *both("returns", "step", "frac_zero")),
    ]


def _flow_and_risk_rows(dt: float, sim: dict, both) -> list[dict]:
    """Order-flow imbalance against the mid, VaR and CVaR of one-step returns."""
    hc = sim["returns"]["coarse"]["horizon_s"]
    rows = [
        _row(f"OFI vs same-step mid change ({dt:g} s)", "corr", *both("ofi", "step", "corr")),
        _row(f"OFI vs next-step mid change ({dt:g} s)", "corr", *both("ofi", "step", "next_corr")),
        _row(f"OFI vs mid change at {hc:g} s", "corr", *both("ofi", "coarse", "corr")),
        _row(
            "OFI impact slope", "ticks / lot", *both("ofi", "step", "slope_ticks_per_lot"), "scale-dependent"
        ),
    ]
    for level in ("0.95", "0.99"):
        pct = f"{float(level):.0%}"
        for key, name in (("var_bps", "VaR"), ("cvar_bps", "CVaR")):
            rows.append(
                _row(
                    f"{name} {pct} of {dt:g}-s mid return",
                    "bps",
                    *both("returns", "step", "var_cvar", level, key),
                )
            )
    return rows


def format_summary(stats: dict) -> str:
    """The summary table, the checks and the microstructure comparison (issue 15, item 2) as plain text."""
    rows = summary_rows(stats)
    has_lob = stats.get("lobster") is not None
    head = ["figure", "unit", "simulated"] + (["AMZN"] if has_lob else [])
    body = [
        [r["figure"], r["unit"], fmt(r["simulated"])] + ([fmt(r["amzn"])] if has_lob else []) for r in rows
    ]
    w = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]

    def line(cells):
        return "  ".join(c.ljust(w[i]) if i < 2 else c.rjust(w[i]) for i, c in enumerate(cells))

    out = [line(head), "  ".join("-" * x for x in w), *map(line, body), ""]
    for c in stats["checks"]:
        mark = {True: "PASS", False: "FAIL", None: " n/a"}[c["passed"]]
        judged = (
            ""
            if c["passed"] is not None or not c["criterion"].startswith("too short")
            else f" ({c['criterion']})"
        )
        out.append(f"[{mark}] {c['title']}: {c['value']}{judged}")
    if stats.get("microstructure") is not None:
        out += ["", format_comparison(stats["microstructure"])]
    return "\n".join(out)
