"""Market realism report: does the simulated background market behave like a market?

:func:`market_report` runs the order-book market alone (no agents) for a long stretch with the regime chain
switching, plus one run per regime with the regime pinned (so each regime's volatility is measured without
switches), computes the stylised facts of :func:`market_stats` on the recorded steps and writes, atomically,

* ``market_stats.json``: every figure (simulated, per pinned regime, real LOBSTER data, plausibility checks, the
  summary table, the configuration);
* ``report.html``: a self-contained page (inline PNG plots drawn on matplotlib's Agg canvas, no pyplot state)
  that explains each figure and says whether the simulated market passes a plausibility check.

Units: prices in ticks, sizes in **lots** (LOBSTER shares are divided by 100, the simulator's default lot),
time in seconds, returns are log returns of the mid price over one step of ``dt`` seconds unless a key says
otherwise (``_ticks``: mid change in ticks; ``_bps``: basis points), volatilities are *relative* per
sqrt-second (the unit of ``RegimeConfig.volatility``).

The modules, one idea each (each imports only those above it in this list):

* :mod:`.estimators`: the numerical estimators (autocorrelation, kurtosis, weighted quantiles...), one set for
  the simulator and the real day;
* :mod:`.record_stats`: :func:`market_stats` and :func:`regime_stats` of a record array (rows = steps,
  columns = ``market_nb.REC_*``), the same function for the simulator, a synthetic array in the tests and
  real NASDAQ data resampled onto the same clock grid;
* :mod:`.lobster_stats`: :func:`lobster_stats`, a LOBSTER day's own event statistics (calibration targets);
* :mod:`.simulate`: the background market alone (:func:`simulate`, :func:`default_seconds`);
* :mod:`.real_data`: finding a LOBSTER pair and resampling it onto the clock (:func:`lobster_record`);
* :mod:`.comparison`: issue 15's item 2, every statistic of :mod:`almm_rllib.results.microstructure` on the
  simulator beside the real day with its band and verdict (``market_stats.json`` key ``microstructure``);
* :mod:`.summary`, :mod:`.checks`: the summary table and the plausibility checks;
* :mod:`.figures`, :mod:`.page`: the plots and the HTML page (helpers shared with the evaluation report in
  :mod:`almm_rllib.results.figures` and :mod:`almm_rllib.results.html`);
* :mod:`.run`: :func:`market_report` end to end; :mod:`.cli`: the ``almm market-report`` verb.

Layer: results (numpy, scipy, matplotlib, pandas; no ray, torch or gymnasium; may read ``almm_rllib.data``);
heavy modules are imported inside the functions that need them, so ``almm --help`` stays fast.
"""

from almm_rllib.results.market_report.checks import plausibility_checks
from almm_rllib.results.market_report.cli import add_market_report_parser
from almm_rllib.results.market_report.lobster_stats import lobster_stats
from almm_rllib.results.market_report.real_data import (
    LOBSTER_LOT_SHARES,
    default_lobster_dir,
    find_lobster_pair,
    lobster_record,
)
from almm_rllib.results.market_report.record_stats import market_stats, regime_stats
from almm_rllib.results.market_report.run import (
    AUTO,
    REPORT_HTML,
    STATS_FILE,
    STATS_KEYS,
    check_memory,
    jsonable,
    market_report,
)
from almm_rllib.results.market_report.simulate import (
    SESSION_SECONDS,
    SWITCHES_PER_RUN,
    default_seconds,
    simulate,
)
from almm_rllib.results.market_report.summary import format_summary, summary_rows

__all__ = [
    "AUTO",
    "LOBSTER_LOT_SHARES",
    "REPORT_HTML",
    "SESSION_SECONDS",
    "STATS_FILE",
    "STATS_KEYS",
    "SWITCHES_PER_RUN",
    "add_market_report_parser",
    "check_memory",
    "default_lobster_dir",
    "default_seconds",
    "find_lobster_pair",
    "format_summary",
    "jsonable",
    "lobster_record",
    "lobster_stats",
    "market_report",
    "market_stats",
    "plausibility_checks",
    "regime_stats",
    "simulate",
    "summary_rows",
]
