"""The market report's figures: matplotlib's Agg canvas (no pyplot state), returned as base64 PNGs."""

from __future__ import annotations

import math

import numpy as np

from almm_rllib.results.figures import new_figure, png
from almm_rllib.results.market_report.estimators import MIN_POINTS
from almm_rllib.results.market_report.record_stats import blocks, rec_columns, valid_rows

_SIM, _AMZN, _FAIR = "#1f77b4", "#d62728", "#7f7f7f"
_REG_COLORS = ("#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def _figure(width: float = 8.0, height: float = 3.8, ncols: int = 1):
    """A figure with one row of ``ncols`` axes: ``(fig, axes)``."""
    fig = new_figure(width, height)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, axes


def plot_spread(sim: dict, lob: dict | None) -> str:
    fig, (a, b) = _figure(9, 3.6, 2)
    pm = sim["spread"]["pmf"]
    a.bar(list(pm), list(pm.values()), color=_SIM, width=0.8)
    a.set_xlabel("spread (ticks)")
    a.set_ylabel("share of time")
    a.set_title("simulated")
    a.set_xlim(0, max(10, max(pm) + 1) if pm else 10)
    if lob is not None:
        pl = lob["spread"]["pmf"]
        b.bar(list(pl), list(pl.values()), color=_AMZN, width=0.8)
        b.set_title("AMZN (a $220 stock: wider in ticks)")
        b.set_xlabel("spread (ticks)")
    else:
        b.text(0.5, 0.5, "no LOBSTER data", ha="center", va="center", transform=b.transAxes)
        b.set_axis_off()
    return png(fig)


def plot_depth(sim: dict, per_regime_stats: dict, lob: dict | None) -> str:
    fig, (a,) = _figure(8, 3.8)
    lv = np.arange(1, len(sim["depth"]["bid"]) + 1)
    a.bar(-lv, sim["depth"]["bid"], color=_SIM, alpha=0.35, label="bids (switching run)")
    a.bar(lv, sim["depth"]["ask"], color=_SIM, alpha=0.6, label="asks (switching run)")
    for i, (name, st) in enumerate(per_regime_stats.items()):
        c = _REG_COLORS[i % len(_REG_COLORS)]
        a.plot(-lv, st["depth"]["bid"], "o-", color=c, label=f"{name} (pinned)")
        a.plot(lv, st["depth"]["ask"], "o-", color=c)
    if lob is not None:
        a.plot(
            [-1, 1],
            [lob["depth"]["bid"][0], lob["depth"]["ask"][0]],
            "D",
            color=_AMZN,
            ms=8,
            label="AMZN level 1",
        )
    a.axvline(0, color="k", lw=0.5)
    a.set_xticks(np.r_[-lv[::-1], lv], [str(x) for x in np.r_[lv[::-1], lv]])
    a.set_xlabel("level (bid side left, ask side right)")
    a.set_ylabel("mean lots")
    a.legend(fontsize=8, ncols=2)
    return png(fig)


def _acf_panel(ax, series: list[tuple[str, list[float], str]], n: int, title: str) -> None:
    for label, acf, color in series:
        lags = np.arange(1, len(acf) + 1)
        ax.plot(lags, acf, "o-", color=color, label=label, ms=3)
    if n > 0:
        band = 2 / math.sqrt(n)
        ax.axhspan(-band, band, color="0.85", zorder=0, label="+-2/sqrt(n)")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("lag")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)


def plot_acf(sim: dict, lob: dict | None) -> str:
    fig, (a, b) = _figure(10, 3.8, 2)
    for ax, key in ((a, "step"), (b, "coarse")):
        rs = sim["returns"][key]
        series = [("simulated", rs["acf"], _SIM)]
        if lob is not None:
            series.append(("AMZN", lob["returns"][key]["acf"], _AMZN))
        _acf_panel(ax, series, rs["n"], f"mid-return autocorrelation, {rs['horizon_s']:g}-s returns")
    return png(fig)


def plot_vol(per_regime: dict, sim: dict, per_regime_stats: dict, lob: dict | None) -> str:
    fig, (a, b) = _figure(11, 4.0, 2)
    names = list(per_regime)
    x = np.arange(len(names))
    w = 0.16
    cols = (
        ("configured_vol", "configured", "k"),
        ("fair_vol_step", "fair price", _FAIR),
        ("mid_vol_step", "mid, one step", _SIM),
        ("mid_vol_coarse", "mid, coarse", "#17becf"),
        ("mid_vol_long", "mid, longest horizon", "#9467bd"),
    )
    for i, (k, label, c) in enumerate(cols):
        a.bar(x + (i - 2) * w, [per_regime[n][k] for n in names], w, color=c, label=label)
    reg = sim.get("regimes")
    if reg is not None:
        a.plot(x, reg["vol_step"], "x", color="r", ms=9, label="mid, one step (switching run)")
    a.set_xticks(x, names)
    a.set_ylabel("relative vol per sqrt-second")
    a.set_title("volatility per regime (pinned runs)", fontsize=10)
    a.legend(fontsize=7)
    for i, (name, st) in enumerate(per_regime_stats.items()):
        sg = st["signature"]
        b.plot(
            sg["horizon_s"],
            sg["vol_per_sqrt_s"],
            "o-",
            color=_REG_COLORS[i % len(_REG_COLORS)],
            ms=3,
            label=name,
        )
        b.axhline(per_regime[name]["configured_vol"], color=_REG_COLORS[i % len(_REG_COLORS)], ls=":", lw=1)
    sg = sim["signature"]
    b.plot(sg["horizon_s"], sg["vol_per_sqrt_s"], "s-", color=_SIM, ms=3, label="switching run")
    if lob is not None:
        sg = lob["signature"]
        b.plot(sg["horizon_s"], sg["vol_per_sqrt_s"], "D-", color=_AMZN, ms=3, label="AMZN")
    b.set_xscale("log")
    b.set_xlabel("horizon (s)")
    b.set_ylabel("vol per sqrt-second")
    b.set_title("volatility signature (dotted: configured)", fontsize=10)
    b.legend(fontsize=7)
    return png(fig)


def plot_clustering(sim: dict, pinned: dict | None, lob: dict | None) -> str:
    fig, (a, b) = _figure(10, 3.8, 2)
    for ax, key, title in ((a, "abs_acf", "|r|"), (b, "sq_acf", "r^2")):
        series = [("simulated, switching", sim["returns"]["step"][key], _SIM)]
        if pinned is not None:
            series.append(("simulated, one regime pinned", pinned["returns"]["step"][key], _FAIR))
        if lob is not None:
            series.append(("AMZN", lob["returns"]["step"][key], _AMZN))
        _acf_panel(ax, series, sim["returns"]["step"]["n"], f"autocorrelation of {title}, one-step returns")
    return png(fig)


def plot_tails(r_sim: np.ndarray, r_pin: np.ndarray | None, r_lob: np.ndarray | None) -> str:
    from scipy.stats import norm

    fig, (a, b) = _figure(10, 4.0, 2)
    for r, label, c in (
        (r_sim, "simulated, switching", _SIM),
        (r_pin, "simulated, pinned", _FAIR),
        (r_lob, "AMZN", _AMZN),
    ):
        if r is None or r.size < MIN_POINTS or np.std(r) == 0:
            continue
        z = np.sort((r - r.mean()) / r.std(ddof=1))
        p = (np.arange(1, z.size + 1) - 0.5) / z.size
        keep = np.unique(
            np.r_[
                np.linspace(0, z.size - 1, 2000).astype(int),
                np.arange(min(50, z.size)),
                np.arange(max(z.size - 50, 0), z.size),
            ]
        )
        a.plot(norm.ppf(p[keep]), z[keep], ".", ms=3, color=c, label=label)
        lim = np.quantile(np.abs(z), 0.999) * 1.2
        bins = np.linspace(-lim, lim, 61)
        h, e = np.histogram(z, bins=bins, density=True)
        b.step((e[:-1] + e[1:]) / 2, np.maximum(h, 1e-6), where="mid", color=c, label=label)
    g = np.linspace(-5, 5, 101)
    a.plot(g, g, "k--", lw=0.8, label="normal")
    a.set_xlabel("normal quantile")
    a.set_ylabel("standardised return quantile")
    a.set_title("QQ plot vs the normal", fontsize=10)
    a.legend(fontsize=8)
    b.plot(g, norm.pdf(g), "k--", lw=0.8, label="normal")
    b.set_yscale("log")
    b.set_ylim(1e-5, None)
    b.set_xlabel("standardised return")
    b.set_title("density (log scale)", fontsize=10)
    b.legend(fontsize=8)
    return png(fig)


def _binned(
    x: np.ndarray, y: np.ndarray, nbins: int = 21, min_count: int = 20
) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``y`` in equal-width bins of ``x`` between its 0.5% and 99.5% quantiles (bins with at least
    ``min_count`` points; flow is mostly zero on real data, so quantile bins would collapse)."""
    if x.size < MIN_POINTS:
        return np.array([]), np.array([])
    lo, hi = np.quantile(x, [0.005, 0.995])
    if hi <= lo:
        return np.array([]), np.array([])
    edges = np.linspace(lo, hi, nbins + 1)
    idx = np.searchsorted(edges, x, side="right") - 1
    xs, ys = [], []
    for i in range(nbins):
        sel = idx == i
        if sel.sum() >= min_count:
            xs.append(x[sel].mean())
            ys.append(y[sel].mean())
    return np.array(xs), np.array(ys)


def plot_ofi(f_sim, dm_sim, f_lob, dm_lob, sim: dict, lob: dict | None) -> str:
    fig, axes = _figure(10, 3.8, 2)
    for ax, f, dm, st, label, c in (
        (axes[0], f_sim, dm_sim, sim, "simulated", _SIM),
        (axes[1], f_lob, dm_lob, lob, "AMZN", _AMZN),
    ):
        if f is None or st is None:
            ax.text(0.5, 0.5, "no LOBSTER data", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            continue
        xs, ys = _binned(f, dm)
        ax.plot(xs, ys, "o", color=c, label="mean mid change per OFI bin")
        o = st["ofi"]["step"]
        if math.isfinite(o["slope_ticks_per_lot"]):
            g = np.linspace(np.quantile(f, 0.01), np.quantile(f, 0.99), 2)
            ax.plot(
                g,
                o["intercept_ticks"] + o["slope_ticks_per_lot"] * g,
                "k--",
                lw=1,
                label=f"OLS, corr {o['corr']:.2f}",
            )
        ax.axhline(0, color="k", lw=0.5)
        ax.axvline(0, color="k", lw=0.5)
        ax.set_xlabel("aggressive buy - sell lots in the step")
        ax.set_ylabel("mid change in the step (ticks)")
        ax.set_title(label, fontsize=10)
        ax.legend(fontsize=8)
    return png(fig)


def plot_regimes(reg: dict, rec: np.ndarray, dt: float) -> str:
    mk = rec_columns()
    fig, (a, b) = _figure(11, 3.8, 2)
    x = np.arange(len(reg["names"]))
    a.bar(
        x - 0.2,
        reg["occupancy"],
        0.4,
        yerr=2 * np.asarray(reg["occupancy_se"]),
        color=_SIM,
        label="realised (+-2 se)",
    )
    a.bar(x + 0.2, reg["stationary"], 0.4, color=_FAIR, label="stationary pi")
    a.set_xticks(x, reg["names"])
    a.set_ylabel("share of time")
    a.set_title("regime occupancy", fontsize=10)
    a.legend(fontsize=8)
    n = min(rec.shape[0], max(int(3600 / dt), 2))
    t = np.arange(n) * dt
    b.plot(t, rec[:n, mk.REC_FAIR], color=_FAIR, lw=0.6, label="fair price")
    b.plot(t, rec[:n, mk.REC_MID], color=_SIM, lw=1.0, label="mid")
    rg = rec[:n, mk.REC_REGIME].astype(int)
    lo, hi = np.nanmin(rec[:n, mk.REC_MID]), np.nanmax(rec[:n, mk.REC_MID])
    for j, name in enumerate(reg["names"]):
        b.fill_between(
            t,
            lo,
            hi,
            where=rg == j,
            color=_REG_COLORS[j % len(_REG_COLORS)],
            alpha=0.15,
            step="mid",
            label=name,
        )
    b.set_xlabel("seconds")
    b.set_ylabel("ticks")
    b.set_title("first hour: mid, fair price and regime", fontsize=10)
    b.legend(fontsize=7, ncols=2)
    return png(fig)


def plot_tracking(rec: np.ndarray, dt: float, name: str) -> str:
    mk = rec_columns()
    fig, (a,) = _figure(9, 3.4)
    n = min(rec.shape[0], max(int(600 / dt), 2))
    t = np.arange(n) * dt
    a.step(t, rec[:n, mk.REC_BID], where="post", color="#2ca02c", lw=0.7, label="best bid")
    a.step(t, rec[:n, mk.REC_ASK], where="post", color="#d62728", lw=0.7, label="best ask")
    a.plot(t, rec[:n, mk.REC_FAIR], color="k", lw=0.9, label="fair price")
    a.set_xlabel("seconds")
    a.set_ylabel("ticks")
    a.set_title(f"ten minutes of the pinned '{name}' regime: quotes vs the latent fair price", fontsize=10)
    a.legend(fontsize=8)
    return png(fig)


def plot_var(r: np.ndarray, sim: dict) -> str:
    fig, (a,) = _figure(8, 3.4)
    x = 1e4 * r
    lim = np.quantile(np.abs(x), 0.999) * 1.2 if x.size else 1.0
    a.hist(x, bins=np.linspace(-lim, lim, 81), color=_SIM, alpha=0.7)
    vc = sim["returns"]["step"]["var_cvar"]
    for key, ls in (("0.95", "--"), ("0.99", ":")):
        a.axvline(-vc[key]["var_bps"], color="k", ls=ls, label=f"VaR {float(key):.0%}")
        a.axvline(-vc[key]["cvar_bps"], color="r", ls=ls, label=f"CVaR {float(key):.0%}")
    a.set_yscale("log")
    a.set_xlabel("one-step mid return (bps)")
    a.set_ylabel("steps")
    a.legend(fontsize=8)
    return png(fig)


def _step_series(rec: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-step log returns, mid changes (ticks) and aggressive buy - sell lots of a checked record."""
    mk = rec_columns()
    flow = np.nan_to_num(rec[:, mk.REC_MKT_BUY] - rec[:, mk.REC_MKT_SELL])
    return blocks(rec[:, mk.REC_MID], flow, 1)


def draw_all(
    rec: np.ndarray,
    stats: dict,
    pinned_recs: dict[str, np.ndarray],
    lob_rec: np.ndarray | None,
    dt: float,
) -> dict[str, str]:
    """Every figure of the report (name -> base64 PNG) from the switching run's record, the statistics
    (``market_report``'s ``stats``), the pinned runs' records and the LOBSTER day's record (or None)."""
    mk = rec_columns()
    sim, per_regime, per_stats = stats["simulated"], stats["per_regime"], stats["per_regime_stats"]
    lob_st = stats["lobster"]["stats"] if stats["lobster"] else None
    vrec = valid_rows(rec)
    r_sim, dm_sim, f_sim = _step_series(vrec)
    names = list(pinned_recs)
    mid_name = names[len(names) // 2]
    prec = valid_rows(pinned_recs[mid_name])
    r_pin = np.diff(np.log(prec[:, mk.REC_MID]))
    r_lob = dm_lob = f_lob = None
    if lob_rec is not None:
        r_lob, dm_lob, f_lob = _step_series(valid_rows(lob_rec))
    figs = {
        "spread": plot_spread(sim, lob_st),
        "depth": plot_depth(sim, per_stats, lob_st),
        "acf": plot_acf(sim, lob_st),
        "vol": plot_vol(per_regime, sim, per_stats, lob_st),
        "tracking": plot_tracking(prec, dt, mid_name),
        "clustering": plot_clustering(sim, per_stats[mid_name], lob_st),
        "tails": plot_tails(r_sim, r_pin, r_lob),
        "ofi": plot_ofi(f_sim, dm_sim, f_lob, dm_lob, sim, lob_st),
        "var": plot_var(r_sim, sim),
    }
    if sim.get("regimes") is not None:
        figs["regimes"] = plot_regimes(sim["regimes"], vrec, dt)
    return figs
