"""The ``almm`` command line. Each subcommand imports what it needs when it runs, so ``almm --help`` is fast.

Exit codes (every verb):

* 0: done;
* 1: the work ran and failed (every training trial errored, training left no checkpoint);
* 2: refused before anything ran: a bad option, value, file or checkpoint; one line on stderr names the option
  or the key and where it came from (argparse's usage errors share the code). ``ALMM_DEBUG=1`` adds the
  traceback;
* 130: interrupted (Ctrl-C / SIGINT; ``almm train`` prints how to resume). SIGTERM ends a run the same way,
  with 143 (``almm evaluate`` stops its workers and leaves no partial result; elsewhere SIGTERM's default
  action ends the process, which a shell reports as 143).
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def _cmd_demo(args: argparse.Namespace) -> int:
    """The main job: train PPO (experiments/ppo_local.yaml) on a local Ray, then evaluate the checkpoint
    against every baseline on the same seeds and print the comparison."""
    from almm_rllib.baselines import STRATEGIES
    from almm_rllib.evaluation.commands import print_report
    from almm_rllib.evaluation.runner import evaluate, parse_seeds
    from almm_rllib.training.experiment import load_experiment
    from almm_rllib.training.train import TrainingInterrupted, run_experiment, summary_text

    t0 = time.perf_counter()
    exp = load_experiment(args.experiment, args.overrides)
    seeds = parse_seeds(args.seeds)  # refused now, not after the training
    print(f"[1/2] training {exp.name} ({args.experiment}) on a local Ray ...", flush=True)
    try:
        res = run_experiment(
            exp, storage=args.storage, num_cpus=args.num_cpus, verbose=0, progress_s=args.progress_s
        )
    except TrainingInterrupted as e:
        print(
            f"almm demo: interrupted during training; nothing evaluated. The experiment state is saved in "
            f"{e.experiment_path}; continue it with: almm train {args.experiment} --storage {args.storage} --resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except RuntimeError as e:  # every trial failed
        print(f"almm demo: {e}", file=sys.stderr)
        return EXIT_FAILED
    print(summary_text(res), flush=True)
    if not res.best_checkpoint:
        print("almm demo: training produced no checkpoint", file=sys.stderr)
        return EXIT_FAILED
    env_cfg = exp.env_config.replace(info_level="full", seed=None)
    policies = [res.best_checkpoint, *STRATEGIES]
    print(
        f"[2/2] evaluating the checkpoint against {len(STRATEGIES)} baselines on {len(seeds)} common seeds ...",
        flush=True,
    )
    run_dir = evaluate(
        policies,
        env_cfg,
        seeds,
        out_dir=args.out,
        run_name=args.run_name,
        policy_names=["ppo"],
        progress=True,
    )
    print_report(run_dir)
    print(f"total wall time: {time.perf_counter() - t0:.0f} s")
    return 0


def _cmd_book_demo(args: argparse.Namespace) -> int:
    """Stream seeded random orders through the compiled book; print snapshots and throughput."""
    import numpy as np

    from almm_rllib import LimitOrderBook
    from almm_rllib.core.market_config import MarketConfig
    from almm_rllib.core.schema import EV_CANCEL, EV_LIMIT, EV_MARKET, STATUS_PARTIAL
    from almm_rllib.core.streams import random_event_stream

    market = MarketConfig()  # the default market's tick, lot and price

    def new_book() -> LimitOrderBook:
        return LimitOrderBook(
            tick_size=market.tick_size,
            lot_size=market.lot_size,
            initial_price=market.initial_price,
            capacity=400_000,
            fill_capacity=1 << 20,
        )

    book = new_book()
    ev = random_event_stream(args.events, seed=args.seed)
    kinds = np.bincount(ev["type"], minlength=8)
    print(
        f"almm demo: {len(ev):,} seeded events (seed {args.seed}): {kinds[EV_LIMIT]:,} limit, "
        f"{kinds[EV_MARKET]:,} market, {kinds[EV_CANCEL]:,} cancel; tick {market.tick_size:g}, "
        f"lot {market.lot_size} shares"
    )
    book.process_events(ev[:1000])  # compile (or load from numba's cache) before timing
    book = new_book()
    batches = np.array_split(ev, args.snapshots)
    total_t = 0.0
    n_fills = 0
    n_partial = 0
    for i, batch in enumerate(batches, 1):
        t0 = time.perf_counter()
        fills, results = book.process_events(batch)
        total_t += time.perf_counter() - t0
        n_fills += len(fills)
        n_partial += int(np.count_nonzero(results["status"] == STATUS_PARTIAL))
        depth = book.get_depth(3)
        bids = "  ".join(f"{q:>6,.0f}@{p:.2f}" for p, q in depth["bids"])
        asks = "  ".join(f"{q:>6,.0f}@{p:.2f}" for p, q in depth["asks"])
        print(
            f"[{i:>2}/{len(batches)}] mid {book.get_midprice():8.3f}  spread {book.get_spread():.2f}  "
            f"imbalance {book.get_order_book_imbalance(5):+.3f}  orders {book.n_orders:>6,}\n"
            f"        bids {bids}\n        asks {asks}"
        )
    book.check()
    print(
        f"throughput: {len(ev) / total_t / 1e6:.1f} M events/s through the compiled batch kernel "
        f"({n_fills:,} fills, {n_partial:,} market orders only partly filled); book invariants hold"
    )
    return 0


def _cmd_dashboard(args: argparse.Namespace) -> int:
    """Serve the dashboard (Streamlit) on HOST:PORT, reading run folders and checkpoints under --results."""
    import os

    # `python -m almm_rllib.dashboard` in this process's place (the cli and the dashboard do not import each
    # other); it checks the arguments and becomes the Streamlit server, so signals reach the server itself
    cmd = [sys.executable, "-m", "almm_rllib.dashboard", "--results", args.results, "--port", str(args.port)]
    os.execv(sys.executable, [*cmd, "--host", args.host])
    return 0  # pragma: no cover - execv does not return


def build_parser() -> argparse.ArgumentParser:
    from almm_rllib.env.overrides import add_set_option, positive_int, positive_number, run_name_arg

    ap = argparse.ArgumentParser(
        prog="almm",
        description="almm_rllib: RL market making on a simulated order book",
        epilog="exit codes: 0 done, 1 the run failed, 2 refused (bad option, value or file; one line on stderr "
        "names it), 130 interrupted (Ctrl-C)",
    )
    ap.add_argument("--version", action="store_true", help="print the version and exit")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("demo", help="train a small PPO market maker, evaluate it against every baseline")
    p.add_argument("--experiment", default="experiments/ppo_local.yaml", help="experiment YAML to train")
    add_set_option(p)
    p.add_argument("--seeds", default="20", help="evaluation seeds: N, a-b or a list (default 20)")
    p.add_argument("--storage", default="results/tune", help="Tune storage path (default results/tune)")
    p.add_argument("--out", default="results", help="where the evaluation run folder goes")
    p.add_argument("--run-name", type=run_name_arg, default=None, help="evaluation run folder name")
    p.add_argument("--num-cpus", type=positive_int, default=None)
    p.add_argument(
        "--progress-s", type=positive_number, default=10.0, help="seconds between training progress lines"
    )
    p.set_defaults(func=_cmd_demo)
    p = sub.add_parser("book-demo", help=_cmd_book_demo.__doc__)
    p.add_argument(
        "--events", type=positive_int, default=2_000_000, help="events to stream (default 2,000,000)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--snapshots", type=positive_int, default=5, help="book snapshots to print")
    p.set_defaults(func=_cmd_book_demo)
    p = sub.add_parser("dashboard", help=_cmd_dashboard.__doc__)
    p.add_argument("--results", default="results", help="results directory (default results)")
    p.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    p.add_argument(
        "--host", default="localhost", help="address to bind (default localhost: this machine only)"
    )
    p.set_defaults(func=_cmd_dashboard)
    from almm_rllib.results.market_report import add_market_report_parser

    add_market_report_parser(sub)
    from almm_rllib.training.commands import add_train_parser

    add_train_parser(sub)
    from almm_rllib.evaluation.commands import add_evaluate_parser, add_simulate_parser

    add_evaluate_parser(sub)
    add_simulate_parser(sub)
    from almm_rllib.evaluation.compare import add_compare_parser, add_multi_parser

    add_compare_parser(sub)
    add_multi_parser(sub)
    from almm_rllib.evaluation.backtest import add_backtest_parser

    add_backtest_parser(sub)
    from almm_rllib.evaluation.sim_to_real import add_sim_to_real_parser

    add_sim_to_real_parser(sub)
    from almm_rllib.evaluation.market_fit import add_calibrate_market_parser

    add_calibrate_market_parser(sub)
    return ap


EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  #: 128 + SIGTERM


def run_verb(name: str, func, args: argparse.Namespace) -> int:
    """Run one verb with the CLI's one error policy: a refused value (ConfigError, CheckpointError, any
    ValueError), a results folder that cannot be written or read (ResultsError) or a missing file is one
    line ``almm <verb>: <message>`` on stderr and exit code 2; Ctrl-C is ``almm <verb>: interrupted`` and 130,
    a SIGTERM turned into an interrupt (``evaluation.pool.Terminated``) the same line and 143.
    ``ALMM_DEBUG=1`` re-raises, for the traceback."""
    from almm_rllib.evaluation.pool import Terminated
    from almm_rllib.results.errors import ResultsError

    try:
        return int(func(args) or 0)
    except KeyboardInterrupt as e:
        print(f"almm {name}: interrupted", file=sys.stderr)
        return EXIT_TERMINATED if isinstance(e, Terminated) else EXIT_INTERRUPTED
    except (ValueError, ResultsError, FileNotFoundError) as e:
        if os.environ.get("ALMM_DEBUG"):
            raise
        msg = " ".join(str(e).split()) or type(e).__name__
        print(f"almm {name}: {msg}", file=sys.stderr)
        return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if args.version:
        from almm_rllib import __version__

        print(__version__)
        return 0
    if not getattr(args, "func", None):
        ap.print_help()
        return EXIT_USAGE
    return run_verb(args.command, args.func, args)


if __name__ == "__main__":
    sys.exit(main())
