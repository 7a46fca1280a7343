"""Results layer: pinned Parquet tables of an evaluation run, per-episode metrics, statistics and reports.

numpy / pandas / pyarrow / scipy / matplotlib only: nothing here imports ray, torch or gymnasium, and
matplotlib is imported only when a report is drawn.

* :mod:`~almm_rllib.results.schema`: the ``steps``, ``fills`` and ``episodes`` schemas and column names.
* :mod:`~almm_rllib.results.io`: atomic writes and checked reads of a run folder.
* :mod:`~almm_rllib.results.metrics`: every per-episode figure of ``docs/metrics.md``.
* :mod:`~almm_rllib.results.stats`: across-episode summaries and paired comparisons.
* :mod:`~almm_rllib.results.report`: terminal tables and the HTML report.
* :mod:`~almm_rllib.results.analysis`: fill markouts, rolling Sharpe, portfolios of strategies.
"""

from almm_rllib.results.errors import ResultsError, SchemaError
from almm_rllib.results.io import RunData, RunWriter, read_run, read_table, write_run, write_table
from almm_rllib.results.metrics import episode_metrics, episodes_table, fifo_round_trips
from almm_rllib.results.report import format_report, report_tables, write_html_report
from almm_rllib.results.schema import (
    EPISODES_SCHEMA,
    FILLS_SCHEMA,
    STEPS_SCHEMA,
    conform,
)
from almm_rllib.results.stats import PairingError, cross_episode_sharpe, paired_comparison, summarize

__all__ = [
    "EPISODES_SCHEMA",
    "FILLS_SCHEMA",
    "STEPS_SCHEMA",
    "PairingError",
    "ResultsError",
    "RunData",
    "RunWriter",
    "SchemaError",
    "conform",
    "cross_episode_sharpe",
    "episode_metrics",
    "episodes_table",
    "fifo_round_trips",
    "format_report",
    "paired_comparison",
    "read_run",
    "read_table",
    "report_tables",
    "summarize",
    "write_html_report",
    "write_run",
    "write_table",
]
