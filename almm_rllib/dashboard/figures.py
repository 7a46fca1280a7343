"""The dashboard's Plotly figures, built from the tables of :mod:`.live` and :mod:`.runs` (no figures computed
here: only drawn)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from almm_rllib.results import schema as S

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
BID, ASK, MID = "#2ca02c", "#d62728", "#444444"
_LAYOUT = {"margin": {"l": 50, "r": 20, "t": 40, "b": 40}, "template": "plotly_white", "height": 330}


def _fig(title: str, **kw) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title=title, **{**_LAYOUT, **kw})
    return fig


def color_of(i: int) -> str:
    return COLORS[i % len(COLORS)]


# ------------------------------------------------------------------------------------------------------------
# Live Simulation. Redrawn several times a second: built as plain figure dicts and wrapped without validation
# (Plotly validates every property of a figure built trace by trace, or of a dict handed to Streamlit: hundreds
# of milliseconds for these four; the dicts below are fixed structures, covered by the tests).


def _unvalidated(spec: dict) -> go.Figure:
    return go.Figure(spec, _validate=False)  # plotly's BaseFigure option (plotly pinned in pyproject)


def _arr(x) -> np.ndarray:
    return np.asarray(x, np.float64)


def _layout(title: str, **kw) -> dict:
    return {"title": {"text": title}, **_LAYOUT, **kw}


def depth_ladder(depth: pd.DataFrame, bid: float | None, ask: float | None, tick: float = 0.01) -> go.Figure:
    """L2 ladder: price on the y axis, shares as horizontal bars (bids left, asks right), the agent's own
    resting shares outlined in black, its quotes as dashed lines (bars one ``tick`` high)."""
    layout = _layout(
        "Order book (L2), agent's orders marked",
        barmode="overlay",
        height=420,
        xaxis={"title": {"text": "shares (bids < 0 < asks)"}},
        yaxis={"title": {"text": "price ($)"}, "tickformat": ".2f"},
    )
    data = []
    if len(depth) == 0:
        layout["annotations"] = [
            {
                "text": "no order book in this market",
                "showarrow": False,
                "x": 0.5,
                "y": 0.5,
                "xref": "paper",
                "yref": "paper",
            }
        ]
        return _unvalidated({"data": data, "layout": layout})
    sides = depth["side"].to_numpy()
    price = depth["price"].to_numpy(np.float64)
    shares = depth["shares"].to_numpy(np.float64)
    own = depth["own_shares"].to_numpy(np.float64)
    for side, name, color in ((1, "bids", BID), (-1, "asks", ASK)):
        on = sides == side
        mine = on & (own > 0)
        sign = -1.0 if side == 1 else 1.0
        bar = {"type": "bar", "orientation": "h", "width": 0.9 * tick}
        data.append(
            {
                **bar,
                "y": price[on],
                "x": sign * shares[on],
                "name": name,
                "marker": {"color": color},
                "opacity": 0.45,
            }
        )
        data.append(
            {
                **bar,
                "y": price[mine],
                "x": sign * own[mine],
                "name": f"agent's {'bid' if side == 1 else 'ask'}",
                "marker": {"color": color, "line": {"color": "black", "width": 2}},
            }
        )
    layout["shapes"] = [
        {
            "type": "line",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "y0": p,
            "y1": p,
            "line": {"dash": "dash", "color": c},
        }
        for p, c in ((bid, BID), (ask, ASK))
        if p is not None and np.isfinite(p)
    ]
    return _unvalidated({"data": data, "layout": layout})


def price_chart(steps: pd.DataFrame, fills: pd.DataFrame) -> go.Figure:
    """Mid with the agent's bid and ask, and its fills as markers (buys up, sells down)."""
    t = _arr(steps[S.TIME])
    data = [
        {"type": "scatter", "x": t, "y": _arr(steps[S.MID]), "name": "mid", "line": {"color": MID}},
        {
            "type": "scatter",
            "x": t,
            "y": _arr(steps[S.BID_PRICE]),
            "name": "agent bid",
            "line": {"color": BID, "width": 1},
        },
        {
            "type": "scatter",
            "x": t,
            "y": _arr(steps[S.ASK_PRICE]),
            "name": "agent ask",
            "line": {"color": ASK, "width": 1},
        },
    ]
    for side, name, sym, color in ((1, "bought", "triangle-up", BID), (-1, "sold", "triangle-down", ASK)):
        f = fills[fills[S.SIDE] == side]
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": _arr(f[S.TIME]),
                "y": _arr(f[S.PRICE]),
                "name": name,
                "marker": {"symbol": sym, "size": 9, "color": color},
            }
        )
    layout = _layout(
        "Mid price, agent's quotes and fills",
        xaxis={"title": {"text": "time (s)"}},
        yaxis={"title": {"text": "price ($)"}},
    )
    return _unvalidated({"data": data, "layout": layout})


def pnl_inventory_chart(steps: pd.DataFrame) -> go.Figure:
    """P&L above, inventory below, sharing the time axis."""
    t = _arr(steps[S.TIME])
    data = [
        {"type": "scatter", "x": t, "y": _arr(steps[S.PNL]), "name": "P&L", "line": {"color": COLORS[0]}},
        {
            "type": "scatter",
            "x": t,
            "y": _arr(steps[S.INVENTORY]),
            "name": "inventory",
            "xaxis": "x2",
            "yaxis": "y2",
            "line": {"color": COLORS[3]},
        },
    ]
    layout = _layout(
        "P&L and inventory",
        height=420,
        showlegend=False,
        xaxis={"anchor": "y", "matches": "x2", "showticklabels": False},
        yaxis={"domain": [0.55, 1.0], "title": {"text": "P&L ($)"}},
        xaxis2={"anchor": "y2", "title": {"text": "time (s)"}},
        yaxis2={"domain": [0.0, 0.45], "title": {"text": "inventory (shares)"}},
    )
    return _unvalidated({"data": data, "layout": layout})


def reward_chart(components: pd.DataFrame) -> go.Figure:
    """Cumulative reward and its components: P&L change minus the inventory, volatility and impact penalties."""
    t = _arr(components[S.TIME])
    parts = (
        ("reward", "reward", 1.0),
        ("dpnl", "P&L change", 1.0),
        ("penalty_inventory", "- inventory penalty", -1.0),
        ("penalty_volatility", "- volatility penalty", -1.0),
        ("penalty_impact", "- impact penalty", -1.0),
    )
    data = [
        {
            "type": "scatter",
            "x": t,
            "y": _arr(sign * components[col].cumsum()),
            "name": name,
            "line": {"color": color_of(i)},
        }
        for i, (col, name, sign) in enumerate(parts)
    ]
    layout = _layout(
        "Reward and its components (cumulative)",
        xaxis={"title": {"text": "time (s)"}},
        yaxis={"title": {"text": "$"}},
    )
    return _unvalidated({"data": data, "layout": layout})


# ------------------------------------------------------------------------------------------------------------
# Strategy Comparison and Portfolio View.


def equity_bands_chart(
    bands: pd.DataFrame, title: str = "Equity curves: mean P&L and 5-95% band"
) -> go.Figure:
    fig = _fig(title, xaxis_title="time (s)", yaxis_title="P&L ($)", height=400)
    for i, (s, g) in enumerate(bands.groupby(S.STRATEGY, sort=False)):
        c = color_of(i)
        fig.add_trace(
            go.Scatter(x=g[S.TIME], y=g["q95"], line={"width": 0}, showlegend=False, hoverinfo="skip")
        )
        fig.add_trace(
            go.Scatter(
                x=g[S.TIME],
                y=g["q05"],
                line={"width": 0},
                fill="tonexty",
                fillcolor=_rgba(c, 0.15),
                showlegend=False,
                hoverinfo="skip",
            )
        )
        fig.add_trace(go.Scatter(x=g[S.TIME], y=g["mean"], name=str(s), line={"color": c}))
    return fig


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def distributions_chart(episodes: pd.DataFrame, metrics) -> go.Figure:
    """Per-episode distribution of each metric, one box per strategy (points shown)."""
    fig = make_subplots(rows=1, cols=len(metrics), subplot_titles=list(metrics))
    for i, s in enumerate(pd.unique(episodes[S.STRATEGY])):
        e = episodes[episodes[S.STRATEGY] == s]
        for j, m in enumerate(metrics, 1):
            fig.add_trace(
                go.Box(
                    y=e[m],
                    name=str(s),
                    marker_color=color_of(i),
                    boxpoints="all",
                    showlegend=j == 1,
                    legendgroup=str(s),
                ),
                1,
                j,
            )
    fig.update_layout(**{**_LAYOUT, "height": 380}, title="Per-episode distributions")
    fig.update_xaxes(showticklabels=False)
    return fig


def correlation_chart(corr: pd.DataFrame) -> go.Figure:
    fig = go.Figure(
        go.Heatmap(
            z=corr.to_numpy(),
            x=list(corr.columns),
            y=list(corr.index),
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            text=np.round(corr.to_numpy(), 2),
            texttemplate="%{text}",
        )
    )
    fig.update_layout(**_LAYOUT, title="Correlation of per-step P&L")
    fig.update_yaxes(autorange="reversed")  # the diagonal runs top left to bottom right
    return fig


# ------------------------------------------------------------------------------------------------------------
# Deep Analysis.


def equity_drawdown_chart(ep: pd.DataFrame, drawdown: np.ndarray) -> go.Figure:
    """Equity with its running peak, and the underwater chart (minus the drawdown)."""
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.65, 0.35],
        subplot_titles=("Equity (P&L) and running peak", "Underwater: drawdown from the peak ($)"),
    )
    t = ep[S.TIME]
    pnl = ep[S.PNL].to_numpy(np.float64)
    fig.add_trace(go.Scatter(x=t, y=pnl, name="P&L", line={"color": COLORS[0]}), 1, 1)
    fig.add_trace(go.Scatter(x=t, y=pnl + drawdown, name="peak", line={"color": "gray", "dash": "dot"}), 1, 1)
    fig.add_trace(go.Scatter(x=t, y=-drawdown, name="underwater", fill="tozeroy", line={"color": ASK}), 2, 1)
    fig.update_layout(**{**_LAYOUT, "height": 450}, title="Equity, drawdown and underwater")
    return fig


def histogram(values, title: str, xaxis: str, color: str = COLORS[0], nbins: int = 40) -> go.Figure:
    fig = _fig(title, xaxis_title=xaxis, yaxis_title="count")
    fig.add_trace(go.Histogram(x=np.asarray(values, np.float64), nbinsx=nbins, marker_color=color))
    return fig


def line_chart(x, y, title: str, xaxis: str, yaxis: str, color: str = COLORS[0]) -> go.Figure:
    fig = _fig(title, xaxis_title=xaxis, yaxis_title=yaxis)
    fig.add_trace(go.Scatter(x=x, y=y, line={"color": color}))
    return fig


def edge_chart(episodes: pd.DataFrame) -> go.Figure:
    """Spread captured against adverse selection, one point per episode (size: fill ratio)."""
    fig = _fig(
        "Spread captured vs adverse selection (per episode)",
        xaxis_title="adverse selection ($/share)",
        yaxis_title="spread captured ($/share)",
    )
    fr = episodes[S.FILL_RATIO].fillna(0.0).to_numpy(np.float64)
    fig.add_trace(
        go.Scatter(
            x=episodes[S.ADVERSE_SELECTION],
            y=episodes[S.SPREAD_CAPTURED],
            mode="markers",
            marker={"size": 6 + 30 * np.clip(fr, 0, 1), "color": COLORS[0]},
            text=episodes[S.SEED].astype(str),
            hovertemplate="seed %{text}<br>adverse %{x:.4f}<br>captured %{y:.4f}",
        )
    )
    lo = float(np.nanmin([episodes[S.ADVERSE_SELECTION].min(), episodes[S.SPREAD_CAPTURED].min(), 0.0]))
    hi = float(np.nanmax([episodes[S.ADVERSE_SELECTION].max(), episodes[S.SPREAD_CAPTURED].max(), 0.0]))
    fig.add_trace(
        go.Scatter(
            x=[lo, hi], y=[lo, hi], mode="lines", line={"dash": "dot", "color": "gray"}, name="break-even"
        )
    )
    return fig


def regime_chart(table: pd.DataFrame, names: dict[int, str] | None = None) -> go.Figure:
    fig = _fig(
        "Mean P&L per step by volatility regime (95% CI)", xaxis_title="regime", yaxis_title="$ per step"
    )
    names = names or {}
    x = [names.get(int(r), str(int(r))) for r in table["regime"]]
    fig.add_trace(
        go.Bar(
            x=x,
            y=table["mean_dpnl"],
            marker_color=COLORS[0],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": table["ci_high"] - table["mean_dpnl"],
                "arrayminus": table["mean_dpnl"] - table["ci_low"],
            },
        )
    )
    return fig
