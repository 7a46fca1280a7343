"""Update rate of the dashboard's live mode, in a real browser.

Serves the app (``streamlit run`` on a free localhost port), opens it in Chromium (Playwright, the system's
``chromium``), starts a 300-s episode of the default agent at 10 simulated seconds per second and counts the
page's updates (each shows a later simulated time) for ``--seconds``. Prints the updates per second against the
target (>= 5), the server's CPU seconds per update and the rate that CPU cost allows on one free core, and the
machine's load average (on a shared machine the wall-clock rate drops with the load).

    python benchmarks/bench_dashboard.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from almm_rllib.dashboard import probe
from almm_rllib.dashboard.server import DashboardServer

TARGET = 5.0


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


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
            cpu0 = _cpu_s(server.proc.pid)
            seen, elapsed = probe.count_updates(page, args.seconds)
            cpu = _cpu_s(server.proc.pid) - cpu0
        finally:
            browser.close()
    n = len(seen) - 1
    rate = n / elapsed
    first, last = (int(v.split(" /")[0]) for v in (seen[0], seen[-1]))
    print(
        f"live mode, 300-s episode at 10x: {n} page updates in {elapsed:.1f} s = {rate:.1f} updates/s "
        f"(simulated time {first} -> {last} s); target >= {TARGET:g}: {'met' if rate >= TARGET else 'NOT met'}"
    )
    if n:
        print(
            f"server CPU: {cpu / n * 1000:.0f} ms per update -> at most {n / cpu:.1f} updates/s on one free core"
        )
    print(f"load average (1 min) {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
