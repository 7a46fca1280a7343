"""The report's acceptance table (issue 15, item 2): every microstructure statistic of the simulated market
beside the real day's, with its tolerance band and a pass/fail verdict.

The statistics and their bands are :mod:`almm_rllib.results.microstructure`'s, computed there by one code
path for the real day (:func:`~almm_rllib.results.microstructure.lobster_day`) and the simulator
(:func:`~almm_rllib.results.microstructure.simulator_day`) and compared by
:func:`~almm_rllib.results.microstructure.compare`; this module only runs the simulated side, packs the rows
into the report's JSON and writes them as text. Nothing here computes a statistic.

The section (``market_stats.json`` key ``microstructure``): ``real`` and ``simulated`` (each day's
``microstructure_stats``; ``real`` is None without LOBSTER data), ``rows`` (one dict per statistic: ``name``,
``real``, ``sim``, ``band`` [lo, hi], ``verdict`` pass / fail / n/a, ``why``: the band's rule; the text and the
page add each failing row's measured cause, :func:`~almm_rllib.results.microstructure.failure_cause`), the
counts ``n_pass``, ``n_fail``, ``n_na``, ``n_total`` and the ``headline`` "N of M statistics within band";
with ``robustness`` (:func:`~almm_rllib.results.microstructure.seed_robustness`), the same comparison over
several simulated days: ``seeds``,
``fails_per_seed``, ``mean_fails``, ``at_most_one`` (days with at most one failing row) and ``row_fails`` (each
row that failed on some day: on how many).
"""

from __future__ import annotations

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


def comparison_section(real: dict | None, sim: dict) -> dict:
    """The report's ``microstructure`` section from the two days' statistics (``real`` None: no rows)."""
    rows = [] if real is None else [r._asdict() for r in ms.compare(real, sim)]
    for r in rows:
        r["band"] = list(r["band"])
    n = {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS}
    sec = {
        "real": real,
        "simulated": sim,
        "rows": rows,
        "n_pass": n["pass"],
        "n_fail": n["fail"],
        "n_na": n["n/a"],
        "n_total": len(rows),
    }
    sec["headline"] = headline(sec)
    return sec


def robustness_lines(sec: dict) -> list[str]:
    """The robustness of the verdicts as sentences (none without ``robustness``)."""
    rb = sec.get("robustness")
    if not rb:
        return []
    n, seeds = len(rb["seeds"]), rb["seeds"]
    span = f"seed {seeds[0]}" if n == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
    out = [
        f"Over {n} simulated days ({span}, the first is the table's): failing rows per day "
        f"{', '.join(str(f) for f in rb['fails_per_seed'])}; mean {rb['mean_fails']:.2f}; at most one on "
        f"{rb['at_most_one']} of {n} days. One day's verdicts carry its sampling noise: a row that fails on few "
        "days is near its band's edge, one that fails on most is a gap of the model."
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
    return text + (f", {sec['n_na']} n/a: too little data)" if sec["n_na"] else ")")


def failing(sec: dict) -> list[dict]:
    """The rows outside their band."""
    return [r for r in sec.get("rows", []) if r["verdict"] == "fail"]


def format_comparison(sec: dict) -> str:
    """The section as plain text: the headline, the table (``format_rows``) and each failing statistic's
    reason."""
    out = ["Microstructure vs the real day (issue 15, item 2): " + headline(sec)]
    if sec.get("real") is None:
        return out[0]
    rows = [ms.CompareRow(**{**r, "band": tuple(_num(b) for b in r["band"])}) for r in sec["rows"]]
    rows = [r._replace(real=_num(r.real), sim=_num(r.sim)) for r in rows]
    out.append(ms.format_rows(rows, real_name(sec), "simulated"))
    fails = failing(sec)
    if fails:
        out.append("Failing statistics and why:")
        out += [f"  - {r['name']}: {_why_failed(r)}{days_failing(sec, r['name'])}" for r in fails]
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
