"""Update rate of the dashboard's live mode, in a real browser.

Serves the app (``streamlit run`` on a free localhost port), opens it in Chromium (Playwright, the system's
``chromium``), starts a 300-s episode of the default agent on the default market at 10 simulated seconds per
second and counts, for ``--seconds``, the page's updates as the browser shows them (each a later simulated time
in the page) and the app's own update counter (the live caption's ``N updates``: fragment runs on the server).
Prints both rates and their ratio to the target (>= 5 updates a second), the CPU time per update of the
server and of Chromium, and the machine's load average (on a shared machine the browser's rate drops with the
load: Chromium renders the charts on the same cores).

    python benchmarks/bench_dashboard.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

from almm_rllib.dashboard import probe
from almm_rllib.dashboard.server import DashboardServer

TARGET = 5.0


def _cpu_s(*pids: int) -> float:
    """CPU seconds (user + system) of these processes; 0 for one that is gone."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    return total


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            kids = [
                int(k)
                for t in os.listdir(f"/proc/{p}/task")
                for k in Path(f"/proc/{p}/task/{t}/children").read_text().split()
            ]
        except OSError:
            continue
        out += kids
        todo += kids
    return out


def _app_updates(page) -> int:
    """The live caption's update counter (fragment runs since Start)."""
    text = page.locator('[data-testid="stCaptionContainer"]').filter(has_text=" updates").first.inner_text()
    return int(re.search(r"(\d+) updates", text).group(1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="how long to count updates (default 10)")
    args = ap.parse_args(argv)
    why = probe.missing()
    if why:
        print(f"bench_dashboard: {why}", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, DashboardServer(Path(tmp)) as server, sync_playwright() as p:
        browser = probe.launch(p)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1100})
            page.goto(server.url)
            page.get_by_role("heading", name="Live Simulation").wait_for(timeout=120_000)
            page.get_by_role("button", name="Start").wait_for(timeout=120_000)
            page.wait_for_timeout(2000)
            page.get_by_role("button", name="Start").click()
            probe.wait_running(page)
            chromium = [
                c for c in _descendants(os.getpid()) if c not in (server.proc.pid, *server.children())
            ]
            cpu0, ccpu0, app0 = _cpu_s(server.proc.pid), _cpu_s(*chromium), _app_updates(page)
            seen, elapsed = probe.count_updates(page, args.seconds)
            cpu, ccpu = _cpu_s(server.proc.pid) - cpu0, _cpu_s(*chromium) - ccpu0
            app = _app_updates(page) - app0
        finally:
            browser.close()
    n = len(seen) - 1
    rate, app_rate = n / elapsed, app / elapsed
    first, last = (int(v.split(" /")[0]) for v in (seen[0], seen[-1]))
    print(
        f"live mode, 300-s episode at 10x: {n} page updates seen by the browser in {elapsed:.1f} s = {rate:.1f} "
        f"updates/s (simulated time {first} -> {last} s); target >= {TARGET:g}: ratio {rate / TARGET:.2f} "
        f"({'met' if rate >= TARGET else 'NOT met'})"
    )
    print(
        f"app's update counter: {app} updates in {elapsed:.1f} s = {app_rate:.1f} updates/s; ratio to the target "
        f"{app_rate / TARGET:.2f}"
    )
    if n:
        print(
            f"CPU per page update: server {cpu / n * 1000:.0f} ms, browser (Chromium and Playwright) {ccpu / n * 1000:.0f} ms "
            f"(server alone allows {n / max(cpu, 1e-9):.1f} updates/s on one free core)"
        )
    print(f"load average (1 min) {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
