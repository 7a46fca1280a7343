"""``almm backtest``: baselines and checkpoints quoting inside a replayed LOBSTER day.

    almm backtest avellaneda_stoikov static_spread --data /work/shared/data/lobster --ticker AMZN \\
        --window 36000 55000 --episode-seconds 300 --seeds 0-9

The same run folder, Parquet step / fill / episode tables and report as ``almm evaluate``; each seed is an
episode starting at a seeded random time inside the window (``almm_rllib.env.replay``). Equivalent to
``almm evaluate --set market.model=replay --set market.data=DIR --set market.ticker=AMZN ...``.
"""

from __future__ import annotations

import argparse

from almm_rllib.evaluation.commands import (
    _add_common,
    _finish,
    _seeds_from_args,
    env_config_from_args,
    policies_from_args,
)


def _cmd_backtest(args: argparse.Namespace) -> int:
    """Backtest policies on a replayed LOBSTER day; write Parquet logs and a report."""
    from almm_rllib.evaluation.runner import evaluate, market_note

    market = replay_sets(args)
    if args.episode_seconds is not None:
        market.append(f"episode_seconds={args.episode_seconds}")
    cfg = env_config_from_args(args.env_config, [*market, *args.set], args.phase)
    seeds = _seeds_from_args(args)
    policies = policies_from_args(args)
    note = market_note(cfg)
    run_dir = evaluate(
        policies,
        cfg,
        seeds,
        out_dir=args.out,
        run_name=args.run_name,
        workers=args.workers,
        progress=not args.no_progress,
        overwrite=args.overwrite,
    )
    code = _finish(run_dir, args)
    print(f"note: {note}")
    return code


def replay_sets(args: argparse.Namespace) -> list[str]:
    """``--set`` items selecting the replay market from ``--data``, ``--ticker``, ``--window``, ``--latency``."""
    market = ["market.model=replay", f"market.data={args.data}", f"market.ticker={args.ticker}"]
    if args.window:
        market.append(f"market.window=[{args.window[0]}, {args.window[1]}]")
    if args.latency is not None:
        market.append(f"market.latency={args.latency}")
    return market


def add_backtest_parser(sub) -> argparse.ArgumentParser:
    """Register ``almm backtest`` on the ``almm`` parser's subparsers."""
    p = sub.add_parser("backtest", help=_cmd_backtest.__doc__, description=_cmd_backtest.__doc__)
    add_replay_arguments(p)
    _add_common(p)
    p.set_defaults(func=_cmd_backtest)
    return p


def add_replay_arguments(p: argparse.ArgumentParser) -> None:
    """Policies, the replayed day and the seeds (shared by ``almm backtest`` and ``almm sim-to-real``)."""
    p.add_argument(
        "policies",
        nargs="*",
        metavar="POLICY",
        help="policies (default: every baseline, with any checkpoint)",
    )
    p.add_argument("--data", required=True, help="folder of the LOBSTER message/orderbook files")
    p.add_argument("--ticker", required=True, help="ticker of the day to replay")
    p.add_argument(
        "--window",
        nargs=2,
        type=float,
        metavar=("START", "END"),
        help="seconds after midnight (default: all)",
    )
    p.add_argument("--episode-seconds", type=float, help="episode length (default: the env config's)")
    p.add_argument("--latency", type=float, help="seconds from decision to book (default 0.005)")
    p.add_argument("--seeds", help="N (0..N-1), a-b (inclusive) or a comma list (default: 50 seeds)")
    p.add_argument("--episodes", type=int, help="number of seeds 0..N-1 (same as --seeds N)")
    p.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        metavar="DIR",
        help="an RLlib checkpoint (a folder, a Tune trial or experiment folder, or 'latest'); repeatable",
    )
