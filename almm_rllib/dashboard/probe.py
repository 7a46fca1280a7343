"""Driving the served app in Chromium with Playwright: what the browser tests and ``benchmarks/bench_dashboard.py``
share. Chromium is the system's (``apt-get install chromium``; launched by path, Playwright's own browser
download is not used); ``playwright`` is a test dependency, imported by the caller."""

from __future__ import annotations

import os
import shutil
import time

#: The browser: ``$ALMM_CHROMIUM``, else ``chromium`` on the PATH, else Debian's path.
CHROMIUM = os.environ.get("ALMM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
#: Selectors of what Streamlit shows for an exception and for ``st.error``.
ERROR_SELECTORS = ('[data-testid="stException"]', '[data-testid="stAlertContentError"]')


def missing() -> str | None:
    """Why the browser cannot be driven here (None when it can)."""
    if not os.access(CHROMIUM, os.X_OK):
        return f"Chromium not found at {CHROMIUM} (as root: make browser, i.e. apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)


def metric_value(page, label: str) -> str:
    """The value shown by the ``st.metric`` whose label contains ``label``."""
    metric = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()


def wait_status(page, status: str, timeout_ms: float = 60_000) -> None:
    """Until the live mode's Status metric reads ``status`` (``running``, ``paused``, ...)."""
    page.wait_for_function(
        """(s) => [...document.querySelectorAll('[data-testid="stMetricValue"]')].some(v => v.innerText === s)""",
        arg=status,
        timeout=timeout_ms,
    )


def wait_running(page, timeout_ms: float = 60_000) -> None:
    wait_status(page, "running", timeout_ms)


_METRIC_JS = """(label) => {
    const m = [...document.querySelectorAll('[data-testid="stMetric"]')].find(e => e.innerText.includes(label));
    const v = m && m.querySelector('[data-testid="stMetricValue"]');
    return v ? v.innerText.trim() : null;
}"""


def count_updates(
    page, seconds: float, label: str = "Simulated time", poll_ms: float = 50
) -> tuple[list[str], float]:
    """The successive values of the live mode's simulated time seen in ``seconds`` (one query every
    ``poll_ms``; at 10 simulated seconds per second each page update moves the clock by at least one 1-s
    step), and the wall time they took."""
    seen, t0 = [], time.monotonic()
    while time.monotonic() - t0 < seconds:
        v = page.evaluate(_METRIC_JS, label)
        if v is not None and (not seen or v != seen[-1]):
            seen.append(v)
        page.wait_for_timeout(poll_ms)
    return seen, time.monotonic() - t0


def errors_shown(page) -> list[str]:
    """Texts of the error elements on the page (exceptions and ``st.error`` messages)."""
    out = []
    for sel in ERROR_SELECTORS:
        loc = page.locator(sel)
        out += [loc.nth(i).inner_text() for i in range(loc.count())]
    return out
