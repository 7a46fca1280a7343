"""The ``almm train`` subcommand (imports ray only when it runs)."""

from __future__ import annotations

import argparse
import sys

from almm_rllib.env.overrides import add_set_option, positive_int, positive_number


def add_train_parser(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train PPO or SAC from an experiment YAML with Tune (local Ray by default)",
        description="Train a PPO or SAC market maker from an experiment YAML (see experiments/README.md).",
    )
    p.add_argument("experiment", help="experiment YAML, e.g. experiments/ppo_local.yaml")
    add_set_option(
        p, "override a key of the YAML (dotted path, YAML value), e.g. --set stop.training_iteration=5"
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the interrupted experiment <storage>/<name> with its saved settings (experiment.yaml "
        "there); --set values that differ from the saved ones are refused",
    )
    p.add_argument(
        "--address", default=None, help="Ray cluster to join (default: $RAY_ADDRESS, else a local Ray)"
    )
    p.add_argument(
        "--storage", default=None, help="Tune storage path or URI (default: the YAML's, else results/tune)"
    )
    p.add_argument(
        "--num-cpus", type=positive_int, default=None, help="CPUs of the embedded local Ray (default: all)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument(
        "--progress-s",
        type=positive_number,
        default=10.0,
        metavar="SECONDS",
        help="seconds between progress lines (steps, return, market-making P&L, time left; default 10)",
    )
    p.set_defaults(func=cmd_train)


def resume_hint(args: argparse.Namespace, verb: str = "train") -> str:
    """The command that continues an interrupted run of ``args``."""
    import shlex

    parts = ["almm", "train", args.experiment, *[f"--set {shlex.quote(o)}" for o in args.overrides]]
    if getattr(args, "storage", None):
        parts.append(f"--storage {shlex.quote(args.storage)}")
    return " ".join([*parts, "--resume"])


def cmd_train(args: argparse.Namespace) -> int:
    """Train; exit 0 when done, 1 when every trial failed, 2 on a refused experiment, 130 on Ctrl-C (with the
    command that resumes)."""
    from almm_rllib.training.experiment import load_experiment
    from almm_rllib.training.train import TrainingInterrupted, run_experiment, summary_text

    exp = load_experiment(args.experiment, args.overrides)
    try:
        res = run_experiment(
            exp,
            resume=args.resume,
            address=args.address,
            storage=args.storage,
            num_cpus=args.num_cpus,
            verbose=0,
            progress_s=None if args.quiet else args.progress_s,
        )
    except TrainingInterrupted as e:
        print(
            f"almm train: interrupted; the experiment state is saved in {e.experiment_path}\n"
            f"almm train: continue with: {resume_hint(args)}",
            file=sys.stderr,
        )
        return 130
    except RuntimeError as e:  # every trial failed
        print(f"almm train: {e}", file=sys.stderr)
        return 1
    print(summary_text(res))
    return 0
