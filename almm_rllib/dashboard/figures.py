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
# Live Simulation.


def depth_ladder(depth: pd.DataFrame, bid: float | None, ask: float | None) -> go.Figure:
    """L2 ladder: price on the y axis, shares as horizontal bars (bids left, asks right), the agent's own
    resting shares as a darker overlay, its quotes as dashed lines."""
    fig = _fig("Order book (L2), agent's orders marked", barmode="overlay", height=420)
    if len(depth) == 0:
        fig.add_annotation(
            text="no order book in this market", showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper"
        )
        return fig
    for side, name, color in ((1, "bids", BID), (-1, "asks", ASK)):
        d = depth[depth["side"] == side]
        sign = -1.0 if side == 1 else 1.0
        fig.add_trace(
            go.Bar(
                y=d["price"],
                x=sign * d["shares"],
                orientation="h",
                name=name,
                marker_color=color,
                opacity=0.45,
            )
        )
        own = d[d["own_shares"] > 0]
        fig.add_trace(
            go.Bar(
                y=own["price"],
                x=sign * own["own_shares"],
                orientation="h",
                name=f"agent's {'bid' if side == 1 else 'ask'}",
                marker_color=color,
                marker_line={"color": "black", "width": 2},
            )
        )
    for price, color, label in ((bid, BID, "agent bid"), (ask, ASK, "agent ask")):
        if price is not None and np.isfinite(price):
            fig.add_hline(y=price, line_dash="dash", line_color=color, annotation_text=label)
    fig.update_layout(xaxis_title="shares (bids < 0 < asks)", yaxis_title="price ($)", yaxis_tickformat=".2f")
    return fig


def price_chart(steps: pd.DataFrame, fills: pd.DataFrame) -> go.Figure:
    """Mid with the agent's bid and ask, and its fills as markers (buys up, sells down)."""
    fig = _fig("Mid price, agent's quotes and fills", xaxis_title="time (s)", yaxis_title="price ($)")
    t = steps[S.TIME]
    fig.add_trace(go.Scatter(x=t, y=steps[S.MID], name="mid", line={"color": MID}))
    fig.add_trace(go.Scatter(x=t, y=steps[S.BID_PRICE], name="agent bid", line={"color": BID, "width": 1}))
    fig.add_trace(go.Scatter(x=t, y=steps[S.ASK_PRICE], name="agent ask", line={"color": ASK, "width": 1}))
    for side, name, sym, color in ((1, "bought", "triangle-up", BID), (-1, "sold", "triangle-down", ASK)):
        f = fills[fills[S.SIDE] == side]
        fig.add_trace(
            go.Scatter(
                x=f[S.TIME],
                y=f[S.PRICE],
                mode="markers",
                name=name,
                marker={"symbol": sym, "size": 9, "color": color},
            )
        )
    return fig


def pnl_inventory_chart(steps: pd.DataFrame) -> go.Figure:
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, subplot_titles=("P&L ($)", "Inventory (shares)"))
    fig.add_trace(go.Scatter(x=steps[S.TIME], y=steps[S.PNL], name="P&L", line={"color": COLORS[0]}), 1, 1)
    fig.add_trace(
        go.Scatter(x=steps[S.TIME], y=steps[S.INVENTORY], name="inventory", line={"color": COLORS[3]}), 2, 1
    )
    fig.update_layout(**{**_LAYOUT, "height": 420}, showlegend=False, title="P&L and inventory")
    return fig


def reward_chart(components: pd.DataFrame) -> go.Figure:
    """Cumulative reward and its components: P&L change minus the inventory, volatility and impact penalties."""
    fig = _fig("Reward and its components (cumulative)", xaxis_title="time (s)", yaxis_title="$")
    t = components[S.TIME]
    for i, (col, name, sign) in enumerate(
        (
            ("reward", "reward", 1.0),
            ("dpnl", "P&L change", 1.0),
            ("penalty_inventory", "- inventory penalty", -1.0),
            ("penalty_volatility", "- volatility penalty", -1.0),
            ("penalty_impact", "- impact penalty", -1.0),
        )
    ):
        fig.add_trace(
            go.Scatter(x=t, y=sign * components[col].cumsum(), name=name, line={"color": color_of(i)})
        )
    return fig


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
