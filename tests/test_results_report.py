"""Terminal report (expected-performance table first) and the self-contained HTML report."""

from __future__ import annotations

import base64
import re

import numpy as np
import pandas as pd
import pytest

from almm_rllib.results import report, stats
from almm_rllib.results import schema as S
from almm_rllib.results.io import read_run, write_run
from almm_rllib.results.metrics import episodes_table
from tests.results_fixtures import make_episodes, simulate_run

HEADLINE = ["Sharpe", "Total P&L", "Max Drawdown", "Avg |Inventory|"]
SECTIONS = (
    "Expected performance",
    "P&amp;L paths",
    "Drawdown",
    "Inventory",
    "Spread captured vs adverse selection",
    "By market regime",
    "Other metrics",
    "Paired comparison vs avellaneda_stoikov",
)


@pytest.fixture(scope="module")
def sim_run(tmp_path_factory):
    steps, fills = simulate_run(seeds=(0, 1, 2, 3), n_steps=120)
    episodes = episodes_table(steps, fills, capital=1e4, horizon_s=1.0)
    run_dir = write_run(
        tmp_path_factory.mktemp("runs") / "sim", steps, fills, episodes, {"env": {"capital": 1e4}}
    )
    return run_dir, episodes


def test_terminal_report_headline_first(sim_run):
    _, episodes = sim_run
    text = report.format_report(episodes, n_resamples=999)
    lines = text.splitlines()
    i = lines.index("Expected performance")
    header = [c.strip() for c in lines[i + 1].split(" | ")]
    assert header[:5] == ["Strategy", *HEADLINE]
    rows = [ln.split(" | ")[0].strip() for ln in lines[i + 3 : i + 6]]
    assert rows == ["avellaneda_stoikov", "naive", "wide"]  # reference first
    # the Total P&L cell is mean [lo, hi] of the summary
    s = stats.summarize(episodes, [S.TOTAL_PNL], n_resamples=999)
    r = s[s.strategy == "wide"].iloc[0]
    wide_line = next(ln for ln in lines[i + 3 : i + 6] if ln.startswith("wide"))
    assert report.fmt_ci(r["mean"], r["ci_low"], r["ci_high"]) == wide_line.split(" | ")[2].strip()
    assert re.search(r"\[-?[\d.,]+, -?[\d.,]+\]", wide_line)


def test_terminal_report_other_metrics_and_paired(sim_run):
    _, episodes = sim_run
    t = report.report_tables(episodes, n_resamples=999)
    text = report.format_report(t)
    assert "Other metrics" in text
    for m in ("cross_episode_sharpe", "sortino", "calmar", "var_95", "cvar_95", "win_rate", "profit_factor",
              "fill_ratio", "spread_captured", "adverse_selection", "inventory_std", "volume"):  # fmt: skip
        assert m in t.details.index
        assert f"\n{m} " in text
    for m in report.HEADLINE:
        assert m not in t.details.index  # every *other* metric
    assert "Paired comparison vs avellaneda_stoikov" in text
    assert "Wilcoxon p" in text
    assert set(t.paired_table["Strategy"]) == {"naive", "wide"}
    # the paired table shows the raw comparison's numbers
    raw = t.paired.set_index(["strategy", "metric"]).loc[("wide", S.TOTAL_PNL)]
    shown = t.paired_table[(t.paired_table["Strategy"] == "wide") & (t.paired_table["Metric"] == S.TOTAL_PNL)]
    assert shown.iloc[0]["Wilcoxon p"] == report.fmt_p(raw["p_value"])
    assert shown.iloc[0]["Difference vs avellaneda_stoikov"] == report.fmt_num(raw["mean_diff"])


def test_confidence_level_is_shown(sim_run):
    _, episodes = sim_run
    text = report.format_report(episodes, confidence_level=0.9, n_resamples=499)
    assert "cells are mean [90% bootstrap CI]" in text
    assert "90% CI" in text and "95%" not in text
    wide95 = report.report_tables(episodes, n_resamples=499).headline.loc["wide", "Total P&L"]
    wide90 = report.report_tables(episodes, confidence_level=0.9, n_resamples=499).headline.loc[
        "wide", "Total P&L"
    ]
    assert wide90 != wide95  # a narrower interval


def test_report_still_renders_when_pairing_is_refused():
    ep = make_episodes({"avellaneda_stoikov": 0.0, "b": 1.0}, seeds=range(6))
    ep = ep[~((ep[S.STRATEGY] == "b") & (ep[S.SEED] == 5))]
    text = report.format_report(ep, n_resamples=499)
    assert "paired comparison refused" in text and "'b' lacks [5]" in text
    assert "Expected performance" in text
    text = report.format_report(make_episodes({"x": 0.0, "y": 1.0}, seeds=range(4)), n_resamples=499)
    assert "reference strategy 'avellaneda_stoikov' is not in" in text


def test_number_formats():
    assert report.fmt_num(float("nan")) == "n/a"
    assert report.fmt_num(0.0) == "0"
    assert report.fmt_num(1234.56) == "1,235"
    assert report.fmt_num(3.14159) == "3.142"
    assert report.fmt_num(-0.012345) == "-0.01235"
    assert report.fmt_num(2.5e-7) == "2.500e-07"
    assert report.fmt_p(0.5) == "0.5000"
    assert report.fmt_p(1.9e-6) == "1.9e-06"
    assert report.fmt_ci(1.0, float("nan"), float("nan")) == "1"
    assert report.fmt_ci(1.0, 0.5, 1.5) == "1 [0.5, 1.5]"


def test_html_report(sim_run):
    run_dir, _ = sim_run
    path = report.write_html_report(run_dir, n_resamples=499)
    assert path == run_dir / "report.html"
    assert not [p for p in run_dir.iterdir() if p.name.endswith(".tmp")]
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(images) == 5  # P&L, drawdown, inventory, spread vs adverse selection, regimes
    for b64 in images:
        png = base64.b64decode(b64)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    for title in ("Sharpe", "Total P&amp;L", "Max Drawdown", "Avg |Inventory|"):
        assert f"<th>{title}</th>" in text
    for section in SECTIONS:
        assert f"<h2>{section}</h2>" in text
    assert "<td>wide</td>" in text and "<td>naive</td>" in text
    assert not re.search(r'(src|href)="(https?:)?//', text)  # nothing loaded from elsewhere


def test_html_report_custom_path_and_empty_run(tmp_path, sim_run):
    run_dir, _ = sim_run
    run = read_run(run_dir)
    empty = type(run)(
        path=run.path,
        steps=run.steps.iloc[0:0],
        fills=run.fills,
        episodes=run.episodes.iloc[0:0],
        config=run.config,
        version=run.version,
    )
    out = report.write_html_report(run_dir, path=tmp_path / "e.html", run=empty)
    assert "nothing to report" in out.read_text()


def test_regime_breakdown_matches_pooled_means(sim_run):
    run_dir, _ = sim_run
    steps = read_run(run_dir, tables=("steps",)).steps
    tab = report.regime_breakdown(steps, n_resamples=199)
    assert set(tab["regime"]) == {0, 1}
    assert len(tab) == 3 * 2
    r = tab[(tab.strategy == "wide") & (tab.regime == 1)].iloc[0]
    sub = steps[(steps[S.STRATEGY] == "wide") & (steps[S.REGIME] == 1)]
    per_ep = sub.groupby(S.SEED)[S.DPNL].mean()
    assert r["mean_dpnl"] == pytest.approx(per_ep.mean())
    assert r["n_episodes"] == 4 and r["n_steps"] == len(sub)
    assert r["ci_low"] <= r["mean_dpnl"] <= r["ci_high"]


def test_inventory_bins_follow_lot_levels():
    bins = report._inventory_bins(np.array([-20.0, -10.0, 0.0, 10.0, 0.0]))
    np.testing.assert_allclose(bins, [-25.0, -15.0, -5.0, 5.0, 15.0])
    assert len(report._inventory_bins(np.linspace(-1, 1, 500))) == 61
    assert len(report._inventory_bins(np.array([0.0, 1e-12, 1000.0]))) == 61  # no billion tiny bins


def test_report_needs_headline_columns():
    with pytest.raises(ValueError, match="headline metric column 'max_drawdown'"):
        report.report_tables(pd.DataFrame({S.STRATEGY: ["a"], S.SHARPE: [1.0], S.TOTAL_PNL: [1.0]}))


def test_shared_html_pieces_escape_and_join():
    from almm_rllib.results.html import frame_table, img, table

    assert table(["a<b", "n"], [["x&y", 3]]) == (
        "<table><tr><th>a&lt;b</th><th>n</th></tr><tr><td>x&amp;y</td><td>3</td></tr></table>"
    )
    df = pd.DataFrame({"v": ["1"]}, index=pd.Index(["r"], name="k"))
    assert (
        frame_table(df) == "<table>\n<tr><th>k</th><th>v</th></tr>\n<tr><td>r</td><td>1</td></tr>\n</table>"
    )
    assert img("QUJD", 'a"b') == '<figure><img alt="a&quot;b" src="data:image/png;base64,QUJD"></figure>'
    assert img("QUJD", "a", "c<d").endswith("<figcaption>c&lt;d</figcaption></figure>")
