"""``python -m almm_rllib.dashboard [--results DIR] [--port N] [--host HOST]``: serve the dashboard.

Runs ``streamlit run almm_rllib/dashboard/app.py`` in this process's place (the same Python), bound to
``localhost`` unless ``--host`` says otherwise, with the results directory passed in ``$ALMM_DASHBOARD_RESULTS``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from almm_rllib.dashboard.paths import RESULTS_ENV, DashboardError, results_root
from almm_rllib.dashboard.server import DEFAULT_HOST, DEFAULT_PORT, streamlit_command


def add_arguments(ap: argparse.ArgumentParser) -> argparse.ArgumentParser:
    ap.add_argument(
        "--results",
        default="results",
        help="results directory: run folders and checkpoints (default results)",
    )
    ap.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    ap.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST}: this machine only)"
    )
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = add_arguments(argparse.ArgumentParser(prog="almm dashboard", description="serve the dashboard"))
    args = ap.parse_args(argv)
    if not (1 <= args.port <= 65535):
        print(f"almm dashboard: --port must be in 1..65535, got {args.port}", file=sys.stderr)
        return 2
    if args.results == "results":
        Path("results").mkdir(exist_ok=True)  # the default folder of a fresh clone
    try:
        root = results_root(args.results)
    except DashboardError as e:
        print(f"almm dashboard: {e}", file=sys.stderr)
        return 2
    cmd = streamlit_command(args.port, args.host)
    print(f"almm dashboard: http://{args.host}:{args.port}  (results directory {root})", flush=True)
    os.environ[RESULTS_ENV] = str(root)
    os.execv(cmd[0], cmd)  # replaces this process: signals and the exit status are streamlit's
    return 0  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
