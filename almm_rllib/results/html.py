"""HTML pieces of the self-contained report pages: tables, inline images, escaping.

Shared by the evaluation report (:mod:`almm_rllib.results.report`) and the market realism report
(:mod:`almm_rllib.results.market_report`); each page keeps its own style sheet and sections.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

escape = html.escape


def table(head: Sequence[str], rows: Iterable[Sequence], *, sep: str = "") -> str:
    """An HTML table: a header row of ``head`` then one row per item of ``rows`` (cells escaped, ``str()`` of
    each); ``sep`` goes between the table's lines (``"\\n"`` for a readable source)."""
    out = ["<table>", "<tr>" + "".join(f"<th>{escape(str(h))}</th>" for h in head) + "</tr>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>")
    out.append("</table>")
    return sep.join(out)


def frame_table(df, *, index: bool = True) -> str:
    """An HTML table of a pandas DataFrame (its index as the first column when ``index``), one line per row."""
    head = ([df.index.name or ""] if index else []) + [str(c) for c in df.columns]
    rows = (
        ([str(i)] if index else []) + [str(v) for v in row]
        for i, row in zip(df.index, df.itertuples(index=False, name=None))
    )
    return table(head, rows, sep="\n")


def img(b64: str, alt: str, caption: str | None = None) -> str:
    """An inline base64 PNG in a ``<figure>``, with an escaped caption when given."""
    cap = "" if caption is None else f"<figcaption>{escape(caption)}</figcaption>"
    return f'<figure><img alt="{escape(alt)}" src="data:image/png;base64,{b64}">{cap}</figure>'
