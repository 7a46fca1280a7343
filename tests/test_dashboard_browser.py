"""The dashboard in a real browser: ``streamlit run`` on a free localhost port, driven by Playwright in Chromium.

Chromium comes from the system package manager (``make browser``: ``apt-get install chromium``; Playwright's
own browser download is not used). Without it the test is skipped with the reason, and with
``ALMM_REQUIRE_BROWSER=1`` (``.ci/run``) that skip is a failure.

Screenshots of the four modes go to ``$ALMM_SCREENSHOT_DIR`` (default: the test's temp folder); the test
prints where, and prints the update rate of the live mode it saw (``benchmarks/bench_dashboard.py`` measures
it against the target of 5 updates a second).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from almm_rllib.dashboard import probe
from almm_rllib.dashboard.server import DashboardServer

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    why = probe.missing()
    if why:
        if os.environ.get("ALMM_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests required (ALMM_REQUIRE_BROWSER=1) but cannot run: {why}")
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = probe.launch(p)
        try:
            yield b
        finally:
            b.close()


def _no_errors(page, where: str) -> None:
    shown = probe.errors_shown(page)
    assert shown == [], f"{where}: error element(s): {shown}"


def _wait_idle(page, timeout_s: float = 120.0) -> None:
    """Until the script has finished running (Streamlit's 'Running...' status widget is gone)."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=timeout_s * 1000)


def _plots(page) -> int:
    """Plotly charts drawn on the page (each holds its svg)."""
    return page.locator('[data-testid="stPlotlyChart"]').filter(has=page.locator(".main-svg")).count()


def _mode(page, name: str) -> None:
    page.locator('[data-testid="stSidebar"] [data-testid="stRadio"] label').filter(has_text=name).click()
    page.get_by_role("heading", name=name).wait_for(timeout=60_000)
    _wait_idle(page)


def test_four_modes_in_chromium(browser, tmp_path):
    shots = Path(os.environ.get("ALMM_SCREENSHOT_DIR") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    results = tmp_path / "results"
    results.mkdir()
    console: list[str] = []
    with DashboardServer(results, log=tmp_path / "streamlit.log") as server:
        page = browser.new_page(viewport={"width": 1600, "height": 2200})
        page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: console.append(f"page error: {e}"))
        page.goto(server.url)
        page.get_by_role("heading", name="Live Simulation").wait_for(timeout=120_000)
        _wait_idle(page)

        # -- Live Simulation: start, the simulated time advances by itself, the charts render -----------------
        assert probe.metric_value(page, "Simulated time") == "0 / 300"
        page.get_by_role("button", name="Start").click()
        probe.wait_running(page)
        seen, elapsed = probe.count_updates(page, 10.0)
        rate = (len(seen) - 1) / elapsed
        first, last = (int(v.split(" /")[0]) for v in (seen[0], seen[-1]))
        print(
            f"\nlive mode: {len(seen) - 1} updates in {elapsed:.1f} s = {rate:.1f} updates/s (simulated time "
            f"{first} -> {last} s of a 300-s episode at 10x; load average {os.getloadavg()[0]:.1f})"
        )
        assert len(seen) >= 3 and last > first, f"the simulated time did not advance by itself: {seen}"
        assert probe.metric_value(page, "Status") == "running"
        page.get_by_role("button", name="Pause").click()
        probe.wait_status(page, "paused")  # the fragment may still be updating when the click lands
        _wait_idle(page)
        assert probe.metric_value(page, "Status") == "paused"
        page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for()
        charts = page.locator('[data-testid="stPlotlyChart"]')
        assert charts.count() == 2  # the market (every update) and the account (once a second)
        for title in (
            "Order book (L2)",
            "Mid price, agent's quotes and fills",
            "P&L and inventory",
            "Reward and",
        ):
            assert charts.filter(has_text=title).locator(".main-svg").count() >= 1, title
        assert page.locator('[data-testid="stPlotlyChart"] .scatterlayer .trace').count() >= 8
        assert page.locator('[data-testid="stPlotlyChart"] .barlayer .trace').count() >= 2
        _no_errors(page, "Live Simulation")
        page.screenshot(path=str(shots / "live_simulation.png"), full_page=True)

        # -- Strategy Comparison: two strategies, three episodes -------------------------------------------
        _mode(page, "Strategy Comparison")
        episodes = page.get_by_role("spinbutton", name="Episodes")
        episodes.fill("3")
        episodes.press("Enter")
        _wait_idle(page)
        page.get_by_role("button", name="Run comparison").click()
        page.get_by_text("Expected performance").wait_for(timeout=300_000)
        _wait_idle(page)
        assert page.get_by_text("2 strategies, 3 seeds").count() == 1
        # the table component loads lazily after the text (slow on a busy machine)
        page.locator('[data-testid="stDataFrame"]').nth(1).wait_for(timeout=60_000)
        assert page.locator('[data-testid="stDataFrame"]').count() == 2  # expected performance, paired
        assert page.get_by_text("Paired comparison against avellaneda_stoikov").count() == 1
        assert _plots(page) == 2
        _no_errors(page, "Strategy Comparison")
        page.screenshot(path=str(shots / "strategy_comparison.png"), full_page=True)
        runs = [p for p in results.iterdir() if (p / "episodes.parquet").is_file()]
        assert len(runs) == 1

        # -- Deep Analysis and Portfolio View of that run -------------------------------------------------
        _mode(page, "Deep Analysis")
        page.locator('[data-testid="stPlotlyChart"]').filter(
            has_text="Equity, drawdown and underwater"
        ).wait_for()
        assert _plots(page) >= 7 and page.get_by_text("every fill with its markouts").count() == 1
        _no_errors(page, "Deep Analysis")
        page.screenshot(path=str(shots / "deep_analysis.png"), full_page=True)

        _mode(page, "Portfolio View")
        page.locator('[data-testid="stPlotlyChart"]').filter(
            has_text="Correlation of per-step P&L"
        ).wait_for()
        assert probe.metric_value(page, "Diversification ratio") not in ("", "nan")
        _no_errors(page, "Portfolio View")
        page.screenshot(path=str(shots / "portfolio_view.png"), full_page=True)
        page.close()
        pid, kids = server.proc.pid, server.children()
    # everything the test started is gone
    for p in (pid, *kids):
        assert not Path(f"/proc/{p}").exists() or "zombie" in Path(f"/proc/{p}/status").read_text()
    print(f"screenshots: {shots}")
    assert console == [], f"browser console errors: {console}"
