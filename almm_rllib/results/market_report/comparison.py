"""The report's acceptance table (issue 15, item 2): every microstructure statistic of the simulated market
beside the real day's, with its tolerance band and a pass/fail verdict.

The statistics and their bands are :mod:`almm_rllib.results.microstructure`'s, computed there by one code
path for the real day (:func:`~almm_rllib.results.microstructure.lobster_day`) and the simulator
(:func:`~almm_rllib.results.microstructure.simulator_day`) and compared by
:func:`~almm_rllib.results.microstructure.compare`; this module only runs the simulated side, packs the rows
into the report's JSON and writes them as text. Nothing here computes a statistic.

The verdicts judge the simulator's expected figure: with ``robustness`` (several simulated days,
:func:`~almm_rllib.results.microstructure.seed_robustness`) the simulated column is the mean over those days
(:func:`~almm_rllib.results.microstructure.pool_stats`), because the band is built around one real day and
already allows for that day's sampling error, and one simulated day would add its own a second time (a row
near its band's edge then passes or fails by the day drawn). Beside each row: on how many single days it
fails, and where the real figure falls among the simulated days (``real_rank``: 0 or 1 when it lies outside
every one of them, a gap of the model that a wide band can hide; the text and the page list those rows).

The section (``market_stats.json`` key ``microstructure``): ``real`` and ``simulated`` (the statistics the
table compares: the real day's and the simulator's, pooled over the days when there are several), ``first_day``
(the statistics of the report's own run, seed ``seed``), ``days`` (the simulated days behind the simulated
column: 1 or the robustness seeds' count), ``rows`` (one dict per statistic: ``name``, ``real``, ``sim``,
``band`` [lo, hi], ``verdict`` pass / fail / n/a, ``why``: the band's rule; with robustness also
``days_failing`` and ``real_rank``; the text and the page add each failing row's measured cause,
:func:`~almm_rllib.results.microstructure.failure_cause`), the counts ``n_pass``, ``n_fail``, ``n_na``,
``n_total``, ``outside`` (the rows whose real figure lies outside every simulated day) and the ``headline``
"N of M statistics within band"; ``robustness``: ``seeds``, ``fails_per_seed``, ``mean_fails``,
``at_most_one`` (days with at most one failing row) and ``row_fails`` (each row that failed on some day: on how
many).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from almm_rllib.results import microstructure as ms

if TYPE_CHECKING:
    from almm_rllib.core.market_config import MarketConfig

VERDICTS = ("pass", "fail", "n/a")


def simulated_microstructure(
    config: MarketConfig, *, seconds: float, dt: float, seed: int, burn_in_seconds: float
) -> dict:
    """``microstructure_stats`` of the background market alone (``simulator_day`` with the report's seed,
    length and burn-in)."""
    day = ms.simulator_day(config, seconds=seconds, dt=dt, seed=seed, burn_in_seconds=burn_in_seconds)
    return ms.microstructure_stats(day)


def comparison_section(real: dict | None, sim: dict, robustness: dict | None = None) -> dict:
    """The report's ``microstructure`` section from the real day's statistics and the simulator's (``real``
    None: no rows): ``sim`` is the report's own day; with ``robustness`` the table compares the mean over its
    days instead (``robustness["pooled"]``) and each row says on how many days it fails and where the real
    figure falls among them."""
    pooled = robustness is not None
    table_sim = robustness["pooled"] if pooled else sim
    rows = [] if real is None else [r._asdict() for r in ms.compare(real, table_sim)]
    for r in rows:
        r["band"] = list(r["band"])
        if pooled:
            r["days_failing"] = robustness["row_fails"].get(r["name"], 0)
            r["real_rank"] = ms.real_rank(r["real"], robustness["row_values"].get(r["name"], []))
    n = {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS}
    sec = {
        "real": real,
        "simulated": table_sim,
        "first_day": sim,
        "days": len(robustness["seeds"]) if pooled else 1,
        "rows": rows,
        "n_pass": n["pass"],
        "n_fail": n["fail"],
        "n_na": n["n/a"],
        "n_total": len(rows),
    }
    # with one day every rank is 0 or 1: "outside all days" only means something over several
    sec["outside"] = [r["name"] for r in rows if r.get("real_rank") in (0.0, 1.0)] if multi_day(sec) else []
    if pooled:
        sec["robustness"] = {k: v for k, v in robustness.items() if k not in ("pooled", "row_values")}
    sec["headline"] = headline(sec)
    return sec


def multi_day(sec: dict) -> bool:
    """Whether the simulated column is the mean of several days (``comparison_section`` sets ``days`` > 1 only
    from ``robustness``): the per-day columns, the gaps line and the headline's day count apply."""
    return sec.get("days", 1) > 1


def simulated_label(sec: dict) -> str:
    """The simulated column's head: one day, or the mean over the robustness days."""
    return f"simulated (mean of {sec['days']} days)" if multi_day(sec) else "simulated"


def outside_line(sec: dict) -> str:
    """The rows whose real figure lies outside every simulated day, as a sentence ("" when none or one day)."""
    if not multi_day(sec):
        return ""
    names = sec.get("outside") or []
    if not names:
        return (
            f"The real day's figure lies within the range of the {sec['days']} simulated days on every row."
        )
    below = [r["name"] for r in sec["rows"] if r["name"] in names and r["real_rank"] == 0.0]
    above = [n for n in names if n not in below]
    parts = []
    if below:
        parts.append("below every one: " + "; ".join(below))
    if above:
        parts.append("above every one: " + "; ".join(above))
    n_days, n_rows = sec["days"], sum(math.isfinite(_num(r.get("real_rank"))) for r in sec["rows"])
    return (
        f"Gaps the bands let through: the real day's figure lies outside all {n_days} simulated days on "
        f"{len(names)} row{'s' if len(names) > 1 else ''} ({'; '.join(parts)}). A model that matched the real "
        f"day would put it there by chance on about 2/{n_days + 1} of the rows ({2 * n_rows / (n_days + 1):.1f} "
        f"of {n_rows}); beyond that, these are statistics the model misses even where the verdict is pass."
    )


def robustness_lines(sec: dict) -> list[str]:
    """The robustness of the verdicts as sentences (none without ``robustness``)."""
    rb = sec.get("robustness")
    if not rb:
        return []
    n, seeds = len(rb["seeds"]), rb["seeds"]
    span = f"seed {seeds[0]}" if n == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
    out = [
        f"Judged day by day over the {n} simulated days ({span}; the first is the report's own run): failing "
        f"rows per day {', '.join(str(f) for f in rb['fails_per_seed'])}; mean {rb['mean_fails']:.2f}; at most "
        f"one on {rb['at_most_one']} of {n} days. One day's verdicts carry its sampling noise: a row that fails "
        "on few days is near its band's edge, one that fails on most is a gap of the model."
    ]
    out += [f"  {name}: fails on {k} of {n} days" for name, k in rb["row_fails"].items()]
    return out


def days_failing(sec: dict, name: str) -> str:
    """``" (fails on k of N simulated days)"`` for a row, or "" without ``robustness``."""
    rb = sec.get("robustness")
    if not rb:
        return ""
    return f" (fails on {rb['row_fails'].get(name, 0)} of {len(rb['seeds'])} simulated days)"


def real_name(sec: dict) -> str:
    """Short name of the real day (its ticker and date), for column heads."""
    info = (sec.get("real") or {}).get("info") or {}
    return " ".join(str(x) for x in (info.get("ticker"), info.get("date")) if x) or "real day"


def headline(sec: dict) -> str:
    """``"N of M statistics within band"`` (with the failing and unjudged counts), or why there are none."""
    if sec.get("real") is None:
        return "no real day to compare with: the microstructure statistics have no verdict"
    text = f"{sec['n_pass']} of {sec['n_total']} statistics within band"
    text += f" against {real_name(sec)} ({sec['n_fail']} fail"
    text += f", {sec['n_na']} n/a: too little data)" if sec["n_na"] else ")"
    if multi_day(sec):
        rb = sec["robustness"]
        seeds = rb["seeds"]
        text += (
            f", the simulator's figures the mean of {sec['days']} simulated days (seeds {seeds[0]}-{seeds[-1]}; "
            f"day by day {rb['mean_fails']:.2f} failing rows on average)"
        )
    return text


def failing(sec: dict) -> list[dict]:
    """The rows outside their band."""
    return [r for r in sec.get("rows", []) if r["verdict"] == "fail"]


def format_comparison(sec: dict) -> str:
    """The section as plain text: the headline, the table (``format_rows``) and each failing statistic's
    reason."""
    out = ["Microstructure vs the real day (issue 15, item 2): " + headline(sec)]
    if sec.get("real") is None:
        return out[0]
    rows = [
        ms.CompareRow(
            r["name"],
            _num(r["real"]),
            _num(r["sim"]),
            tuple(_num(b) for b in r["band"]),
            r["verdict"],
            r["why"],
        )
        for r in sec["rows"]
    ]
    extra = []
    if multi_day(sec):
        extra = [
            (f"days failing (of {sec['days']})", [r.get("days_failing", 0) for r in sec["rows"]]),
            ("real's rank", [_num(r.get("real_rank")) for r in sec["rows"]]),
        ]
    out.append(ms.format_rows(rows, real_name(sec), simulated_label(sec), extra=extra))
    fails = failing(sec)
    if fails:
        out.append("Failing statistics and why:")
        out += [f"  - {r['name']}: {_why_failed(r)}{days_failing(sec, r['name'])}" for r in fails]
    gaps = outside_line(sec)
    if gaps:
        out.append(gaps)
    out += robustness_lines(sec)
    return "\n".join(out)


def _num(x) -> float:
    """A JSON null (NaN written out) back to NaN."""
    return float("nan") if x is None else float(x)


def _why_failed(r: dict) -> str:
    """A failing row's reason: its value, where its band lies, and the band's rule."""
    lo, hi = (_num(b) for b in r["band"])
    sim, real = _num(r["sim"]), _num(r["real"])
    side = "above" if sim > hi else "below"
    return (
        f"simulated {sim:.3g} is {side} the band [{lo:.3g}, {hi:.3g}] around the real {real:.3g} ({r['why']}). "
        f"Cause: {ms.failure_cause(r['name'])}"
    )
