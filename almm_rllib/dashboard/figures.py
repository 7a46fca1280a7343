"""The dashboard's Plotly figures, built from the tables of :mod:`.live` and :mod:`.runs` (no figures computed
here: only drawn)."""

from __future__ import annotations

import base64

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
# Live Simulation: two figures of two panels, redrawn several times a second (the market) and once a second
# (the account). Each is built once per session; an update only replaces its traces' data, as plotly.js typed
# arrays (base64). Plotly converts every numpy array it is handed through narwhals (~1 ms an array), builds ~80
# properties per new trace and copies the figure with its template twice on the way to Streamlit: the four
# figures rebuilt from frames per update that these replace cost ~21 ms of server CPU, the market figure ~6 ms
# (measured on a 300-s episode). In the browser, plotly.js's automargin measured every tick label and laid the
# figure out again on each update (half of Chromium's time per update, CDP profile): the axes have fixed
# margins instead, and the panels that need not follow every step (P&L, reward) are redrawn once a second.

#: A small white template (what ``plotly_white`` sets that is visible under Streamlit's theme).
LIGHT_TEMPLATE = {
    "layout": {
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "xaxis": {"gridcolor": "#EBF0F8", "zerolinecolor": "#EBF0F8", "linecolor": "#EBF0F8"},
        "yaxis": {"gridcolor": "#EBF0F8", "zerolinecolor": "#EBF0F8", "linecolor": "#EBF0F8"},
    }
}
#: Titles of the live figures and of their panels.
MARKET_TITLE = "Live market"
MARKET_PANELS = ("Order book (L2), agent's orders marked", "Mid price, agent's quotes and fills")
ACCOUNT_TITLE = "Live account"
ACCOUNT_PANELS = ("P&L and inventory", "Reward and its components (cumulative)")
#: (component, legend name, sign) of the reward panel: the P&L change minus the four penalties.
REWARD_PARTS = (
    ("reward", "reward", 1.0),
    ("dpnl", "P&L change", 1.0),
    ("penalty_inventory", "- inventory penalty", -1.0),
    ("penalty_volatility", "- volatility penalty", -1.0),
    ("penalty_impact", "- impact penalty", -1.0),
    ("penalty_risk", "- risk (P&L variance) penalty", -1.0),
)


def typed_array(x) -> dict:
    """``x`` as a plotly.js typed array (``{"dtype": "f8", "bdata": base64}``, what plotly itself sends for
    numpy arrays), so that plotly passes it through untouched."""
    a = np.ascontiguousarray(x, "<f8")
    return {"dtype": "f8", "bdata": base64.b64encode(a.tobytes()).decode("ascii")}


def _two_panels(
    title: str, panels: tuple[str, str], widths: list[float], secondary: bool, height: int
) -> go.Figure:
    """A two-panel layout through ``make_subplots`` (built once per live figure)."""
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=widths,
        specs=[[{"secondary_y": secondary}, {}]],
        subplot_titles=panels,
        horizontal_spacing=0.15 if secondary else 0.09,  # room for the left panel's right axis
    )
    fig.update_layout(
        **{**_LAYOUT, "height": height},
        title=title,
        barmode="overlay",
        # the legend 48 px below the plot, under the x axes' titles (fixed margins, see _small)
        legend={"orientation": "h", "y": -48 / (height - 60 - 95), "yanchor": "top"},
        uirevision="live",  # zoom and hidden traces survive the updates
    )
    return fig


def _market_layout() -> dict:
    fig = _two_panels(MARKET_TITLE, MARKET_PANELS, [0.3, 0.7], False, 430)
    fig.update_xaxes(title_text="shares (bids < 0 < asks)", col=1)
    fig.update_yaxes(title_text="price ($)", tickformat=".2f", matches="y2", col=1)
    fig.update_xaxes(title_text="time (s)", col=2)
    fig.update_yaxes(showticklabels=False, col=2)  # the ladder's price labels serve both (same y range)
    return _small(fig)


def _account_layout() -> dict:
    fig = _two_panels(ACCOUNT_TITLE, ACCOUNT_PANELS, [0.5, 0.5], True, 360)
    fig.update_xaxes(title_text="time (s)")
    fig.update_yaxes(title_text="P&L ($)", col=1, secondary_y=False)
    fig.update_yaxes(title_text="inventory (shares)", col=1, secondary_y=True, showgrid=False)
    fig.update_yaxes(title_text="$", col=2)
    return _small(fig)


def _small(fig: go.Figure) -> dict:
    # fixed margins instead of plotly.js's automargin, which measures every tick label and re-lays the figure
    # out on each update (half of the browser's time per update, measured with CDP's profiler)
    # and tick labels allowed to overflow (plotly.js otherwise measures each against the div on each update)
    fig.update_xaxes(automargin=False, ticklabeloverflow="allow")
    fig.update_yaxes(automargin=False, ticklabeloverflow="allow")
    fig.update_layout(margin={"l": 75, "r": 65, "t": 60, "b": 95})
    layout = fig.to_plotly_json()["layout"]
    # plotly_white spelled out in full is ~2,000 properties that plotly would copy twice per update; the few that
    # show (Streamlit's theme styles the rest) are kept
    layout["template"] = LIGHT_TEMPLATE
    return layout


def _market_traces() -> list[dict]:
    bar = {"type": "bar", "orientation": "h", "xaxis": "x", "yaxis": "y"}
    price = {"type": "scatter", "mode": "lines", "xaxis": "x2", "yaxis": "y2"}
    mark = {**price, "mode": "markers"}
    return [
        {**bar, "name": "bids", "marker": {"color": BID}, "opacity": 0.45},
        {**bar, "name": "asks", "marker": {"color": ASK}, "opacity": 0.45},
        {**bar, "name": "agent's bid", "marker": {"color": BID, "line": {"color": "black", "width": 2}}},
        {**bar, "name": "agent's ask", "marker": {"color": ASK, "line": {"color": "black", "width": 2}}},
        {**price, "name": "mid", "line": {"color": MID}},
        {**price, "name": "agent bid", "line": {"color": BID, "width": 1}},
        {**price, "name": "agent ask", "line": {"color": ASK, "width": 1}},
        {**mark, "name": "bought", "marker": {"symbol": "triangle-up", "size": 9, "color": BID}},
        {**mark, "name": "sold", "marker": {"symbol": "triangle-down", "size": 9, "color": ASK}},
    ]


def _account_traces() -> list[dict]:
    line = {"type": "scatter", "mode": "lines"}
    return [
        {**line, "xaxis": "x", "yaxis": "y", "name": "P&L", "line": {"color": COLORS[0]}},
        {
            **line,
            "xaxis": "x",
            "yaxis": "y2",
            "name": "inventory",
            "line": {"color": COLORS[3], "dash": "dot"},
        },
        *(
            {**line, "xaxis": "x2", "yaxis": "y3", "name": name, "line": {"color": color_of(i)}}
            for i, (_, name, _) in enumerate(REWARD_PARTS)
        ),
    ]


class LiveChart:
    """The live figures, built (and validated) once per live session; their ``update_*`` methods replace only
    the data arrays, quote lines and note.

    * :attr:`market`: the L2 ladder (price on the y axis shared with the price panel, bids left, asks right,
      the agent's own resting shares outlined, its quotes dashed) and the mid with the agent's quotes and
      fills (buys up, sells down);
    * :attr:`account`: P&L with inventory (right axis), and the cumulative reward with its components.
    """

    def __init__(self) -> None:
        self.market = go.Figure({"data": _market_traces(), "layout": _market_layout()})
        self.account = go.Figure({"data": _account_traces(), "layout": _account_layout()})
        self._annotations = self.market.layout.annotations
        self._note: str | None = None
        # the agent's quotes now, dashed across the ladder (moved, or hidden, by each update)
        self.market.layout.shapes = [
            {
                "type": "line",
                "xref": "x domain",
                "yref": "y",
                "x0": 0,
                "x1": 1,
                "y0": 0,
                "y1": 0,
                "visible": False,
                "line": {"dash": "dash", "color": c},
            }
            for c in (BID, ASK)
        ]

    def update_market(self, v: dict, running: bool = False) -> go.Figure:
        """The market figure showing :meth:`LiveSession.view`'s arrays ``v``; without its legend while
        ``running`` (plotly.js redraws a legend on every update; it comes back when the episode pauses)."""
        fig = self.market
        tr = fig.data
        depth = v["depth"]
        sides = depth["side"].to_numpy()
        price = depth["price"].to_numpy(np.float64)
        shares = depth["shares"].to_numpy(np.float64)
        own = depth["own_shares"].to_numpy(np.float64)
        t = typed_array(v["time"])
        with fig.batch_update():
            for i, side in enumerate((1, -1)):
                sign = -1.0 if side == 1 else 1.0
                on = sides == side
                mine = on & (own > 0)
                for k, (rows, q) in enumerate(((on, shares), (mine, own))):
                    bar = tr[i + 2 * k]
                    bar.y, bar.x = typed_array(price[rows]), typed_array(sign * q[rows])
                    bar.width = 0.9 * v["tick"]
            for j, key in enumerate(("mid", "bid", "ask")):
                tr[4 + j].x, tr[4 + j].y = t, typed_array(v[key])
            for j, side in enumerate((1, -1)):
                on = v["fill_side"] == side
                tr[7 + j].x, tr[7 + j].y = typed_array(v["fill_time"][on]), typed_array(v["fill_price"][on])
            for shape, p in zip(fig.layout.shapes, (v["bid_now"], v["ask_now"])):
                shown = p is not None and bool(np.isfinite(p))
                shape.visible = shown
                if shown:
                    shape.y0 = shape.y1 = p
            fig.layout.showlegend = not running
            note = v.get("depth_note") if len(depth) == 0 else None
            if note != self._note:  # annotations are costly to validate: set only when the note changes
                self._note = note
                extra = {"showarrow": False, "x": 0.5, "y": 0.5, "xref": "x domain", "yref": "y domain"}
                fig.layout.annotations = [*self._annotations, *([{"text": note, **extra}] if note else [])]
        return fig

    def update_account(self, v: dict) -> go.Figure:
        """The account figure showing :meth:`LiveSession.view`'s arrays ``v``."""
        fig = self.account
        tr = fig.data
        t = typed_array(v["time"])
        with fig.batch_update():
            tr[0].x, tr[0].y = t, typed_array(v["pnl"])
            tr[1].x, tr[1].y = t, typed_array(v["inventory"])
            for j, (col, _, sign) in enumerate(REWARD_PARTS):
                tr[2 + j].x, tr[2 + j].y = t, typed_array(sign * v[f"cum_{col}"])
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
