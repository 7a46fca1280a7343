"""Figures of the reports: a matplotlib figure on the Agg canvas (no pyplot state) and its inline PNG.

Shared by the evaluation report (:mod:`almm_rllib.results.report`) and the market realism report
(:mod:`almm_rllib.results.market_report`). matplotlib is imported only when a figure is drawn.
"""

from __future__ import annotations

import base64
import io

#: Colours of the strategies / series, in order (matplotlib's tab10 without grey first).
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf")


def new_figure(width: float = 8.0, height: float = 4.2):
    """A ``width`` x ``height`` inch figure at 100 dpi, constrained layout, drawn on its own Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png(fig) -> str:
    """The figure as a base64 PNG (for an inline ``data:`` image)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")
