"""The market report's HTML page: one function per section, each saying what its figure shows and which
plausibility check it supports."""

from __future__ import annotations

import html
import json

from almm_rllib.results.html import img, table
from almm_rllib.results.market_report.comparison import (
    days_failing,
    failing,
    headline,
    multi_day,
    outside_line,
    real_name,
    robustness_lines,
    simulated_label,
)
from almm_rllib.results.market_report.summary import fmt, summary_rows
from almm_rllib.results.microstructure import failure_cause

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1150px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child,td.l{text-align:left}
.pass{color:#fff;background:#2e7d32;border-radius:3px;padding:0 .4em;font-weight:600}
.fail{color:#fff;background:#c62828;border-radius:3px;padding:0 .4em;font-weight:600}
.na{color:#fff;background:#777;border-radius:3px;padding:0 .4em;font-weight:600}
.meta{color:#555;font-size:.9em}.note{background:#fff8e1;padding:.5em .8em;border-left:3px solid #f9a825}
figure{margin:1em 0}img{max-width:100%}figcaption{color:#555;font-size:.9em}
"""


def _badge(passed: bool | None) -> str:
    cls, txt = {True: ("pass", "PASS"), False: ("fail", "FAIL"), None: ("na", "n/a")}[passed]
    return f'<span class="{cls}">{txt}</span>'


def _checks_for(checks: list[dict], *ids: str) -> str:
    items = [c for c in checks if c["id"] in ids]
    if not items:
        return ""
    lis = "".join(
        f"<li>{_badge(c['passed'])} <b>{html.escape(c['title'])}</b>: {html.escape(c['value'])} "
        f"(criterion: {html.escape(c['criterion'])}). {html.escape(c['why'])}</li>"
        for c in items
    )
    return f"<ul>{lis}</ul>"


def render_html(stats: dict, figs: dict[str, str]) -> str:
    """The whole page from ``market_report``'s statistics and figures (name -> base64 PNG)."""
    p: list[str] = []
    for section in (
        _head,
        _summary_section,
        microstructure_section,
        _per_regime_section,
        _book_sections,
        _return_sections,
        _regime_section,
        _var_and_config_sections,
    ):
        p += section(stats, figs)
    p.append("</body></html>")
    return "\n".join(x for x in p if x)


def _head(stats: dict, figs: dict[str, str]) -> list[str]:
    """Title, run description and every check with its verdict."""
    meta = stats["meta"]
    checks = stats["checks"]
    dt = stats["meta"]["dt"]
    n_pass = sum(c["passed"] is True for c in checks)
    n_fail = sum(c["passed"] is False for c in checks)
    title = "almm_rllib market realism report"
    p = [
        "<!DOCTYPE html>",
        f'<html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>{_CSS}</style></head><body>',
        f"<h1>{title}</h1>",
        '<p class="meta">'
        + html.escape(
            f"background market alone (no agents), seed {meta['seed']}, {meta['seconds']:,.0f} s at dt = {dt:g} s "
            f"with regime switching after a {meta['burn_in_seconds']:g} s burn-in, plus {meta['pinned_seconds']:,.0f} s "
            f"per pinned regime; almm_rllib {meta['version']}"
        )
        + "</p>",
        f"<p>Plausibility checks: <b>{n_pass} passed</b>, <b>{n_fail} failed</b> of {len(checks)}. "
        "Each section says what its figure shows and which check it supports. Figures are computed from the "
        "step records by one function for the simulation and the real data alike.</p>",
        _checks_for(checks, *[c["id"] for c in checks]),
    ]
    if stats.get("microstructure") is not None:
        p.append(
            '<p>Microstructure against the real day (issue 15, item 2): <a href="#microstructure"><b>'
            + html.escape(headline(stats["microstructure"]))
            + "</b></a>.</p>"
        )
    return p


def _summary_section(stats: dict, figs: dict[str, str]) -> list[str]:
    """The summary table, simulated beside AMZN, with the note on comparing them."""
    lob = stats.get("lobster")
    dt = stats["meta"]["dt"]
    p: list[str] = []
    rows = summary_rows(stats)
    head = ["figure", "unit", "simulated"] + (["AMZN"] if lob else []) + ["note"]
    body = [
        [r["figure"], r["unit"], fmt(r["simulated"])] + ([fmt(r["amzn"])] if lob else []) + [r["note"]]
        for r in rows
    ]
    p += ["<h2>Summary: simulated vs real</h2>"]
    if lob:
        p.append(
            f'<p class="note">{html.escape(lob["notes"])} Real data: {html.escape(lob["ticker"] or "?")} '
            f"{html.escape(lob['date'] or '')}, NASDAQ via LOBSTER, resampled onto the same {dt:g}-s grid; "
            f"sizes in lots of {lob['lot_shares']} shares.</p>"
        )
    else:
        p.append('<p class="note">No LOBSTER data was compared (none found, or switched off).</p>')
    p.append(table(head, body))
    return p


_VERDICT_BADGE = {"pass": True, "fail": False, "n/a": None}


def microstructure_section(stats: dict, figs: dict[str, str] | None = None) -> list[str]:
    """Issue 15, item 2: every microstructure statistic beside the real day's, with its band and verdict, the
    headline count and the reason of each failing statistic (the rows of ``results.microstructure.compare``)."""
    sec = stats.get("microstructure")
    if sec is None:
        return []
    p = [
        '<h2 id="microstructure">Microstructure vs the real day</h2>',
        f"<p><b>{html.escape(headline(sec))}</b>.</p>",
        "<p>One code path (<code>almm_rllib.results.microstructure</code>) measures the real LOBSTER day and "
        "a run of the simulated market read fill by fill: the response of the mid to a market order, the "
        "maker's markout of passive executions by depth, how far market orders walk, the memory of order "
        "signs, the signature plot and 1-s return autocorrelation, the spread, the depth at the touch and the "
        "clustering of arrivals. Figures are scale-free (half-spreads, ticks, ratios, correlations); each "
        "band is the rule in the last column, widened to two standard errors where the real day is a small "
        "sample. With several simulated days the simulated column is their mean, the simulator's expected "
        "figure (the band already allows for the real day's sampling error; one simulated day would add its "
        "own); beside it, on how many single days the row fails and where the real figure falls among the "
        "simulated days (0 or 1: outside all of them).</p>",
    ]
    if sec.get("real") is None:
        return p
    fails = failing(sec)
    if fails:
        items = "".join(
            f"<li><b>{html.escape(r['name'])}</b>: simulated {fmt(r['sim'])}, band "
            f"[{fmt(r['band'][0])}, {fmt(r['band'][1])}] around {fmt(r['real'])}. "
            f"Band rule: {html.escape(r['why'])}. Cause: {html.escape(failure_cause(r['name']))}."
            f"{html.escape(days_failing(sec, r['name']))}</li>"
            for r in fails
        )
        p.append(f"<p>Failing statistics and why:</p><ul>{items}</ul>")
    gaps = outside_line(sec)
    if gaps:
        p.append(f'<p id="outside">{html.escape(gaps)}</p>')
    rb_lines = robustness_lines(sec)
    if rb_lines:
        p.append(f'<p id="robustness">{html.escape(rb_lines[0])}</p>')
        if len(rb_lines) > 1:
            p.append("<ul>" + "".join(f"<li>{html.escape(x.strip())}</li>" for x in rb_lines[1:]) + "</ul>")
    per_day = multi_day(sec)
    head = ["statistic", real_name(sec), simulated_label(sec), "band", "verdict"]
    head += [f"days failing (of {sec['days']})", "real's rank"] if per_day else []
    head.append("why")
    lines = ["<table>", "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
    for r in sec["rows"]:
        cells = [
            html.escape(r["name"]),
            fmt(r["real"]),
            fmt(r["sim"]),
            f"[{fmt(r['band'][0])}, {fmt(r['band'][1])}]",
            _badge(_VERDICT_BADGE[r["verdict"]]),
        ]
        if per_day:
            cells += [str(r.get("days_failing", 0)), fmt(r.get("real_rank"))]
        lines.append(
            '<tr><td class="l">'
            + "</td><td>".join(cells)
            + f'</td><td class="l">{html.escape(r["why"])}</td></tr>'
        )
    lines.append("</table>")
    p.append("\n".join(lines))
    return p


def _per_regime_section(stats: dict, figs: dict[str, str]) -> list[str]:
    """Per-regime volatility of the pinned runs, and the quotes tracking the fair price."""
    checks = stats["checks"]
    p: list[str] = []
    per = stats["per_regime"]
    if per:
        p.append("<h2>Per-regime volatility (pinned runs)</h2>")
        p.append(
            "<p>Each regime is run alone (switching off) so that its volatility is measured without switches. "
            "<i>configured</i> is <code>RegimeConfig.volatility</code>, the volatility of the latent fair price; "
            "the mid is measured at one step, at the coarse horizon and at the longest horizon with 30 returns. "
            "The right panel is the volatility signature: vol per sqrt-second against the horizon. A flat line at "
            "the configured level is a market whose mid follows the fair price; a line rising with the horizon "
            "is a mid that lags (it under-reacts at short horizons and catches up later, which also shows up as "
            "positive return autocorrelation); a falling line is noise that reverts (bid-ask bounce).</p>"
        )
        ph = [
            "regime",
            "configured",
            "fair",
            "mid 1 step",
            "mid coarse",
            "mid longest",
            "ratio step",
            "ratio coarse",
            "ratio longest",
            "|mid - fair| sd (ticks)",
            "spread",
            "depth L1",
            "acf1",
            "VR coarse",
        ]
        pr = [
            [
                n,
                fmt(v["configured_vol"]),
                fmt(v["fair_vol_step"]),
                fmt(v["mid_vol_step"]),
                fmt(v["mid_vol_coarse"]),
                fmt(v["mid_vol_long"]),
                fmt(v["ratio_step"]),
                fmt(v["ratio_coarse"]),
                fmt(v["ratio_long"]),
                fmt(v["gap_std_ticks"]),
                fmt(v["spread_mean"]),
                fmt(v["depth_level1"]),
                fmt(v["acf1_step"]),
                fmt(v["variance_ratio_coarse"]),
            ]
            for n, v in per.items()
        ]
        p += [
            table(ph, pr),
            img(figs["vol"], "volatility per regime"),
            _checks_for(checks, "vol_step", "vol_coarse", "fair_vol"),
        ]
        if "tracking" in figs:
            p.append(
                "<p>The quotes against the latent fair price in one pinned regime: how closely and how fast the "
                "book follows the value it is built around.</p>"
            )
            p.append(img(figs["tracking"], "quotes vs fair price"))
    return p


def _book_sections(stats: dict, figs: dict[str, str]) -> list[str]:
    """Spread distribution and depth profile."""
    checks = stats["checks"]
    p = [
        "<h2>Spread</h2>",
        "<p>Share of time at each bid-ask spread (ticks), sampled at the end of every step. A liquid stock near "
        "$100 with a one-cent tick mostly trades at one or two ticks. AMZN, at $220, has a much wider spread in "
        "ticks, so compare its spread in bps and in units of one-step price noise (summary table) rather than "
        "the tick counts.</p>",
        img(figs["spread"], "spread distribution"),
        _checks_for(checks, "spread"),
        "<h2>Depth profile</h2>",
        "<p>Mean lots resting at the five best non-empty price levels per side, for the switching run and each "
        "pinned regime (depth thins when the market is volatile and cancels faster). The AMZN file has level 1 "
        "only.</p>",
        img(figs["depth"], "depth profile"),
    ]
    return p


def _return_sections(stats: dict, figs: dict[str, str]) -> list[str]:
    """Return autocorrelation, volatility clustering, heavy tails and order-flow imbalance."""
    sim = stats["simulated"]
    lob = stats.get("lobster")
    checks = stats["checks"]
    dt = stats["meta"]["dt"]
    hc = stats["simulated"]["returns"]["coarse"]["horizon_s"]
    p = [
        "<h2>Mid-return autocorrelation</h2>",
        f"<p>Autocorrelation of log mid returns at lags 1 to {len(sim['returns']['step']['acf'])}, for "
        f"{dt:g}-s returns (left) and {hc:g}-s returns (right); the grey band is +-2/sqrt(n), the 95% band of "
        "a series without autocorrelation. Real mid returns are close to unpredictable: a large-tick stock "
        "shows a small negative lag-1 value at short horizons (bid-ask bounce, quote refills), a small-tick "
        "one such as AMZN a value near zero, and neither shows much at longer horizons. A clearly positive "
        "value that decays over several lags is a mid that trends after its value moved: it lags.</p>",
        img(figs["acf"], "return autocorrelation"),
        _checks_for(checks, "bounce", "acf_coarse"),
        "<h2>Volatility clustering</h2>",
        "<p>Autocorrelation of |r| and of r^2 of one-step returns. Positive, slowly decaying values mean calm "
        "and busy periods persist. In the simulator they come from the regime chain: the grey line (one regime "
        "pinned) shows what remains without switches.</p>",
        img(figs["clustering"], "volatility clustering"),
        _checks_for(checks, "clustering"),
        "<h2>Heavy tails</h2>",
        "<p>QQ plot of standardised one-step returns against the normal, and their density on a log scale. "
        "Points above the dashed line on the right (below it on the left) are fat tails. Discrete ticks make "
        "the short-horizon QQ plot a staircase.</p>",
        table(
            ["", "simulated"] + (["AMZN"] if lob else []),
            [
                [f"excess kurtosis, {dt:g} s", fmt(sim["returns"]["step"]["kurtosis"])]
                + ([fmt(lob["stats"]["returns"]["step"]["kurtosis"])] if lob else []),
                [f"excess kurtosis, {hc:g} s", fmt(sim["returns"]["coarse"]["kurtosis"])]
                + ([fmt(lob["stats"]["returns"]["coarse"]["kurtosis"])] if lob else []),
                [
                    "share beyond 4 sd (normal 6.3e-05)",
                    fmt(sim["returns"]["step"]["tails"]["frac_beyond_4sd"]),
                ]
                + ([fmt(lob["stats"]["returns"]["step"]["tails"]["frac_beyond_4sd"])] if lob else []),
            ]
            + [
                [
                    f"standardised quantile {q} (normal {fmt(sim['returns']['step']['tails']['normal'][q])})",
                    fmt(sim["returns"]["step"]["tails"]["quantiles"][q]),
                ]
                + ([fmt(lob["stats"]["returns"]["step"]["tails"]["quantiles"][q])] if lob else [])
                for q in sim["returns"]["step"]["tails"]["quantiles"]
            ],
        ),
        img(figs["tails"], "QQ plot"),
        _checks_for(checks, "tails"),
        "<h2>Order-flow imbalance</h2>",
        "<p>Aggressive buy minus sell lots in a step against the mid change in the same step (binned means and "
        "the least-squares line). A positive slope is the price impact of order flow. The next-step correlation "
        f"(summary table) says whether flow predicts the next move: the simulated value is "
        f"{fmt(sim['ofi']['step']['next_corr'])}"
        + (f", AMZN's {fmt(lob['stats']['ofi']['step']['next_corr'])}" if lob else "")
        + ". AMZN's flow counts visible and hidden executions.</p>",
        img(figs["ofi"], "order-flow imbalance"),
        _checks_for(checks, "ofi"),
    ]
    return p


def _regime_section(stats: dict, figs: dict[str, str]) -> list[str]:
    """Regime occupancy against the chain, spells and per-regime volatility of the switching run."""
    sim = stats["simulated"]
    checks = stats["checks"]
    p: list[str] = []
    reg = sim.get("regimes")
    if reg is not None:
        p += [
            "<h2>Regimes</h2>",
            "<p>Share of time in each regime against the stationary distribution of the configured chain, with "
            "batch-means error bars, and the first hour of the switching run (mid, fair price, regime).</p>",
            table(
                [
                    "regime",
                    "occupancy",
                    "stationary",
                    "se",
                    "mean spell (s)",
                    "expected spell (s)",
                    "mid vol 1 step (switching run)",
                    "configured vol",
                ],
                [
                    [
                        n,
                        fmt(reg["occupancy"][j]),
                        fmt(reg["stationary"][j]),
                        fmt(reg["occupancy_se"][j]),
                        fmt(reg["mean_holding_s"][j]),
                        fmt(reg["expected_holding_s"][j]),
                        fmt(reg["vol_step"][j]),
                        fmt(reg["configured_vol"][j]),
                    ]
                    for j, n in enumerate(reg["names"])
                ],
            ),
            f"<p>{reg['n_switches']} regime changes observed.</p>",
            img(figs["regimes"], "regime occupancy"),
            _checks_for(checks, "occupancy"),
        ]
    return p


def _var_and_config_sections(stats: dict, figs: dict[str, str]) -> list[str]:
    """Value at risk of one-step returns and the configuration."""
    meta = stats["meta"]
    sim = stats["simulated"]
    lob = stats.get("lobster")
    p: list[str] = []
    vc = sim["returns"]["step"]["var_cvar"]
    p += [
        "<h2>Value at risk of one-step mid returns</h2>",
        "<p>Historical VaR and CVaR (expected shortfall) of one-step log mid returns, as positive losses of a "
        "long position (<code>core.risk.var_cvar</code>, the metrics.md definition).</p>",
        table(
            ["level", "VaR (bps)", "CVaR (bps)"] + (["AMZN VaR", "AMZN CVaR"] if lob else []),
            [
                [f"{float(k):.0%}", fmt(v["var_bps"]), fmt(v["cvar_bps"])]
                + (
                    [
                        fmt(lob["stats"]["returns"]["step"]["var_cvar"][k]["var_bps"]),
                        fmt(lob["stats"]["returns"]["step"]["var_cvar"][k]["cvar_bps"]),
                    ]
                    if lob
                    else []
                )
                for k, v in vc.items()
            ],
        ),
        img(figs["var"], "VaR"),
        "<h2>Configuration</h2>",
        "<details><summary>MarketConfig</summary><pre>"
        + html.escape(json.dumps(meta["config"], indent=2))
        + "</pre></details>",
        '<p class="meta">All figures: market_stats.json beside this page.</p>',
    ]
    return p
