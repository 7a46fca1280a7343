"""The market report's microstructure section (issue 15, item 2): every statistic of
``results.microstructure.compare`` beside the real day, with its band and verdict, in the JSON, the HTML page
and the printed summary; a failing statistic carries its reason."""

from __future__ import annotations

import copy
import html
import json
import pathlib
import re

import numpy as np
import pytest

from almm_rllib.core.market_config import MarketConfig
from almm_rllib.data.lobster import read_lobster
from almm_rllib.results import market_report as mr
from almm_rllib.results import microstructure as ms
from almm_rllib.results.market_report import comparison, page

DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "lobster"


def _need_data() -> None:
    if not DATA.is_dir():
        pytest.fail(
            f"LOBSTER sample data not found at {DATA} (shared/data/lobster beside the clone)", pytrace=False
        )


def _expected_names() -> list[str]:
    """Every statistic of item 2 by the names ``compare`` gives them (one list per family)."""
    names = [f"R({t:g} s) / half-spread" for t in ms.TAUS] + ["R(60 s) / R(1 s)"]
    for h in ms.MARKOUT_HORIZONS:
        names.append(f"maker markout {h:g} s, all depths / half-spread")
        names += [f"maker markout {h:g} s, depth {b} ticks / half-spread" for b in ms.DEPTH_BUCKETS]
    names += ["market orders walking >= 1 tick"] + [
        f"market orders walking {b} ticks" for b in ("1", "2", "3+")
    ]
    names += [f"sign ACF lag {k}" for k in ms.SIGN_LAGS]
    names += [f"signature RV({s:g} s) / RV(60 s)" for s in ms.SIGNATURE_S[:-1]]
    names += ["volatility per sqrt-s (60-s sampling)"]
    names += [f"1-s mid change ACF lag {j}" for j in range(1, 6)]
    names += ["spread mean (ticks)", "spread p50 (ticks)", "spread p95 (ticks)"]
    names += ["touch depth / mean market-order size", "market-order inter-arrival CV"]
    names += [f"Fano factor of counts in {w:g} s" for w in ms.FANO_WINDOWS]
    return names


@pytest.fixture(scope="module")
def amzn() -> dict:
    _need_data()
    mpath, opath = mr.find_lobster_pair(DATA)
    return ms.microstructure_stats(ms.lobster_day(read_lobster(mpath, opath)))


def _short_report(tmp_path, **kw) -> pathlib.Path:
    """A 1,500-s report of the default market on seed 3 beside the LOBSTER day (short pinned runs)."""
    return mr.market_report(
        MarketConfig(),
        seconds=1500.0,
        pinned_seconds=300.0,
        burn_in_seconds=60.0,
        seed=3,
        out_dir=tmp_path,
        compare_lobster=DATA,
        **kw,
    )


def test_report_shows_every_statistic_beside_amzn_with_its_verdict(tmp_path):
    _need_data()
    path = _short_report(tmp_path)
    st = json.loads((path.parent / mr.STATS_FILE).read_text(encoding="utf-8"))
    sec = st["microstructure"]
    assert "microstructure" not in st["lobster"]  # stored once, in the section
    assert sec["real"]["info"]["ticker"] == "AMZN" and sec["simulated"]["info"]["source"] == "simulator"
    assert sec["simulated"]["seconds"] == pytest.approx(1500.0)
    rows = sec["rows"]
    assert [r["name"] for r in rows] == _expected_names()
    assert all(r["verdict"] in ("pass", "fail", "n/a") and r["why"] for r in rows)
    for r in rows:  # the verdict is the band's
        if r["verdict"] != "n/a":
            assert r["verdict"] == ("pass" if r["band"][0] <= r["sim"] <= r["band"][1] else "fail"), r
    n_pass = sum(r["verdict"] == "pass" for r in rows)
    assert sec["n_pass"] == n_pass and sec["n_total"] == len(rows) == 52
    assert sec["headline"].startswith(f"{n_pass} of {len(rows)} statistics within band against AMZN")
    # the real figures are the LOBSTER day's own, through the same code path
    mpath, opath = mr.find_lobster_pair(DATA)
    own = ms.microstructure_stats(ms.lobster_day(read_lobster(mpath, opath)))
    by_name = {r["name"]: r for r in rows}
    assert by_name["spread mean (ticks)"]["real"] == pytest.approx(own["spread"]["mean_ticks"])
    assert by_name["sign ACF lag 1"]["real"] == pytest.approx(own["sign_acf"]["1"])

    html_page = path.read_text(encoding="utf-8")
    assert 'id="microstructure"' in html_page and sec["headline"] in html_page
    body = html_page.split('id="microstructure"', 1)[1]
    for r in rows:
        assert html.escape(r["name"]) in body, r["name"]
    table_rows = re.findall(r"<tr><td class=\"l\">(.*?)</td>.*?<span class=\"(pass|fail|na)\">", body)
    assert [name for name, _ in table_rows] == [html.escape(r["name"]) for r in rows]
    assert [v for _, v in table_rows] == [{"n/a": "na"}.get(r["verdict"], r["verdict"]) for r in rows]

    text = mr.format_summary(st)
    assert sec["headline"] in text
    for r in rows:
        line = next(x for x in text.splitlines() if x.startswith(r["name"] + " "))
        assert f" {r['verdict']} " in line, line
    for r in comparison.failing(sec):
        assert f"  - {r['name']}: simulated" in text and r["why"] in text


def test_a_forced_failing_statistic_shows_its_reason(amzn):
    sim = copy.deepcopy(amzn)
    sim["info"] = {"source": "simulator"}
    same = comparison.comparison_section(amzn, sim)
    assert same["n_fail"] == 0 and same["n_pass"] + same["n_na"] == same["n_total"] == 52  # itself: in band
    sim["spread"]["mean_ticks"] *= 3.0  # far outside +-25%
    sec = comparison.comparison_section(amzn, json.loads(json.dumps(mr.jsonable(sim))))
    fails = comparison.failing(sec)
    assert [r["name"] for r in fails] == ["spread mean (ticks)"] and sec["n_fail"] == 1
    assert fails[0]["why"] == "+-25%"
    assert sec["headline"] == (
        f"{sec['n_total'] - 1 - sec['n_na']} of 52 statistics within band against AMZN 2012-06-21 (1 fail"
        + (f", {sec['n_na']} n/a: too little data)" if sec["n_na"] else ")")
    )
    real = amzn["spread"]["mean_ticks"]
    text = comparison.format_comparison(sec)
    assert f"  - spread mean (ticks): simulated {3 * real:.3g} is above the band" in text
    assert "(+-25%)" in text.splitlines()[-1]
    html_page = "\n".join(page.microstructure_section({"microstructure": sec}))
    item = re.search(r"<li><b>spread mean \(ticks\)</b>: (.*?)</li>", html_page)
    assert item is not None and "+-25%" in item.group(1)
    assert html_page.count('<span class="fail">') == 1
    assert "not a known gap of the model" in text.splitlines()[-1] and "not a known gap" in item.group(1)


def test_a_known_gap_fails_with_its_measured_cause(amzn):
    """Every known gap names rows the comparison has; a failing one is reported with its cause, in the text
    and on the page, and the cause is not given to rows it does not name."""
    names = [r["name"] for r in comparison.comparison_section(amzn, amzn)["rows"]]
    for prefixes, cause in ms.KNOWN_GAPS:
        for prefix in prefixes:
            assert any(n.startswith(prefix) for n in names), prefix
        assert cause.startswith("known gap of the model") and "docs/market-calibration.md" in cause
    sim = copy.deepcopy(amzn)
    sim["info"] = {"source": "simulator"}
    sim["arrivals"]["fano"]["1"] = 4.0 * amzn["arrivals"]["fano"]["1"]  # outside the factor-2 band
    sec = comparison.comparison_section(amzn, json.loads(json.dumps(mr.jsonable(sim))))
    (row,) = comparison.failing(sec)
    assert row["name"] == "Fano factor of counts in 1 s"
    assert ms.known_gap(row["name"]) == dict(ms.KNOWN_GAPS)[("Fano factor of counts in 1 s",)]
    line = comparison.format_comparison(sec).splitlines()[-1]
    assert line.startswith("  - Fano factor of counts in 1 s: simulated") and "Cause: known gap" in line
    html_page = "\n".join(page.microstructure_section({"microstructure": sec}))
    assert "Cause: known gap of the model: market orders are a Hawkes process" in html_page
    assert ms.known_gap("Fano factor of counts in 10 s") is None
    assert ms.known_gap("maker markout 1 s, depth 0 ticks / half-spread") is None  # at the touch: no gap
    assert ms.known_gap("maker markout 1 s, depth 2 ticks / half-spread").startswith("known gap")
    assert ms.format_failures(ms.compare(amzn, amzn)) == ""


def test_the_verdicts_judge_the_mean_over_simulated_days(tmp_path):
    """``robustness_days`` (``almm market-report --days``): the comparison over seeds ``seed .. seed + N - 1``
    at the report's length; the table judges the mean over those days (each row's simulated figure the mean of
    its per-day figures), the first day is the report's own run, reused (as that day simulated afresh), each
    row says on how many single days it fails and where the real figure falls among them, and the text and
    the page say it."""
    _need_data()
    n = 3
    path = _short_report(tmp_path, robustness_days=n)
    st = json.loads((path.parent / mr.STATS_FILE).read_text(encoding="utf-8"))
    sec = st["microstructure"]
    rb = sec["robustness"]
    assert rb["seeds"] == [3, 4, 5] and len(rb["fails_per_seed"]) == n and sec["days"] == n
    first = [r for r in ms.compare(sec["real"], sec["first_day"]) if r.verdict == "fail"]
    assert rb["fails_per_seed"][0] == len(first)  # the first day is the report's own run
    afresh = ms.seed_robustness(
        sec["real"], [3, 4, 5], config=MarketConfig(), seconds=1500.0, burn_in_seconds=60.0
    )
    assert afresh["fails_per_seed"] == rb["fails_per_seed"] and afresh["row_fails"] == rb["row_fails"]
    assert sec["simulated"]["info"]["days"] == n
    by_name = {r["name"]: r for r in sec["rows"]}
    for name in (
        "spread mean (ticks)",
        "sign ACF lag 1",
        "R(10 s) / half-spread",
        "Fano factor of counts in 1 s",
    ):
        assert by_name[name]["sim"] == pytest.approx(np.mean(afresh["row_values"][name])), name
    for r in sec["rows"]:  # the verdict is the pooled figure's, the per-day columns are the days'
        if r["verdict"] != "n/a":
            assert r["verdict"] == ("pass" if r["band"][0] <= r["sim"] <= r["band"][1] else "fail"), r
        assert r["days_failing"] == rb["row_fails"].get(r["name"], 0) <= n
        want = ms.real_rank(r["real"], afresh["row_values"][r["name"]])
        assert r["real_rank"] == want or (r["real_rank"] is None and np.isnan(want)), r["name"]
    assert sec["outside"] == [r["name"] for r in sec["rows"] if r["real_rank"] in (0.0, 1.0)]
    assert rb["mean_fails"] == pytest.approx(np.mean(rb["fails_per_seed"]))
    assert rb["at_most_one"] == sum(f <= 1 for f in rb["fails_per_seed"])
    assert sum(rb["row_fails"].values()) == sum(rb["fails_per_seed"])
    assert "the mean of 3 simulated days (seeds 3-5;" in sec["headline"]
    text = mr.format_summary(st)
    assert (
        "Judged day by day over the 3 simulated days (seeds 3-5; the first is the report's own run)" in text
    )
    assert "simulated (mean of 3 days)" in text and "days failing (of 3)" in text
    for name, k in rb["row_fails"].items():
        assert f"  {name}: fails on {k} of {n} days" in text
    for r in comparison.failing(sec):
        line = next(x for x in text.splitlines() if x.startswith(f"  - {r['name']}: simulated"))
        assert line.endswith(f"(fails on {r['days_failing']} of {n} simulated days)")
    if sec["outside"]:
        assert "Gaps the bands let through" in text and all(name in text for name in sec["outside"])
    html_page = path.read_text(encoding="utf-8")
    assert 'id="robustness"' in html_page and "Judged day by day over the 3 simulated days" in html_page
    assert "<th>simulated (mean of 3 days)</th>" in html_page and "<th>real&#x27;s rank</th>" in html_page
    # refused when negative
    with pytest.raises(ValueError, match="robustness_days must be an integer >= 0"):
        mr.market_report(MarketConfig(), seconds=300.0, out_dir=tmp_path, robustness_days=-1)


def test_a_real_day_outside_every_simulated_day_is_named_even_when_it_passes(amzn):
    """A row whose real figure lies below every simulated day is listed as a gap the band let through, though
    its pooled figure is within the band."""
    days = []
    for k in range(4):
        d = copy.deepcopy(amzn)
        d["info"] = {"source": "simulator"}
        d["spread"]["mean_ticks"] = amzn["spread"]["mean_ticks"] * (1.1 + 0.02 * k)  # inside +-25%, all above
        days.append(d)
    rb = ms.seed_robustness(amzn, [0, 1, 2, 3], known=dict(enumerate(days)))
    sec = comparison.comparison_section(amzn, days[0], rb)
    row = next(r for r in sec["rows"] if r["name"] == "spread mean (ticks)")
    assert row["verdict"] == "pass" and row["real_rank"] == 0.0 and row["days_failing"] == 0
    assert row["sim"] == pytest.approx(amzn["spread"]["mean_ticks"] * 1.13)
    assert "spread mean (ticks)" in sec["outside"]
    line = comparison.outside_line(sec)
    assert line.startswith(
        "Gaps the bands let through: the real day's figure lies outside all 4 simulated days"
    )
    assert "below every one: " in line and "spread mean (ticks)" in line.split("below every one: ")[1]
    assert line in comparison.format_comparison(sec)
    assert 'id="outside"' in "\n".join(page.microstructure_section({"microstructure": sec}))


def test_market_report_days_option_is_checked_by_the_parser(capsys):
    from almm_rllib.cli import main as cli_main

    with pytest.raises(SystemExit) as exit_:
        cli_main(["market-report", "--days", "-2", "--no-lobster"])
    assert exit_.value.code == 2
    assert "argument --days: must be an integer >= 0, got -2" in capsys.readouterr().err


def test_without_a_real_day_the_section_says_so(amzn):
    sec = comparison.comparison_section(None, amzn)
    assert sec["rows"] == [] and sec["n_total"] == 0
    assert "no real day" in sec["headline"]
    assert comparison.format_comparison(sec).endswith(sec["headline"])
    assert "no real day" in "\n".join(page.microstructure_section({"microstructure": sec}))


def test_spread_quantiles_are_whole_ticks_at_a_high_price_level():
    # 9 ticks at $222 in money is 0.0899999... ticks x 0.01: a quantile of 8.9999999 would fail a band that
    # starts at 9
    n = 50
    ticks = 22_213 + np.arange(n) % 3  # money = ticks x tick size, as both adapters build it
    bid, ask = ticks * 0.01, (ticks + 9) * 0.01
    assert not np.all((ask - bid) / 0.01 == 9.0)  # the rounding noise is there
    q = ms.QuoteSeries(np.arange(n, dtype=float), bid, ask, np.ones(n), np.ones(n), tick_size=0.01)
    sp = ms.spread_stats(ms.MarketDay("t", q, ms.group_executions([], [], [], [], tick_size=0.01)))
    assert sp["p50"] == 9.0 and sp["p5"] == 9.0 and sp["mean_ticks"] == pytest.approx(9.0, abs=1e-9)
