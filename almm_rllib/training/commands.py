"""The ``almm train`` subcommand (imports ray only when it runs)."""

from __future__ import annotations

import argparse
import sys


def add_train_parser(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train PPO or SAC from an experiment YAML with Tune (local Ray by default)",
        description="Train a PPO or SAC market maker from an experiment YAML (see experiments/README.md).",
    )
    p.add_argument("experiment", help="experiment YAML, e.g. experiments/ppo_local.yaml")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a key of the YAML (dotted path, YAML value), e.g. --set stop.training_iteration=5",
    )
    p.add_argument(
        "--resume", action="store_true", help="continue an interrupted experiment from its checkpoints"
    )
    p.add_argument(
        "--address", default=None, help="Ray cluster to join (default: $RAY_ADDRESS, else a local Ray)"
    )
    p.add_argument(
        "--storage", default=None, help="Tune storage path or URI (default: the YAML's, else results/tune)"
    )
    p.add_argument("--num-cpus", type=int, default=None, help="CPUs of the embedded local Ray (default: all)")
    p.add_argument("--quiet", action="store_true", help="less Tune output")
    p.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    from almm_rllib.core.config import ConfigError
    from almm_rllib.training.experiment import load_experiment

    try:
        exp = load_experiment(args.experiment, args.overrides)
    except ConfigError as e:
        print(f"almm train: {e}", file=sys.stderr)
        return 2
    from almm_rllib.training.train import run_experiment, summary_text

    res = run_experiment(
        exp,
        resume=args.resume,
        address=args.address,
        storage=args.storage,
        num_cpus=args.num_cpus,
        verbose=0 if args.quiet else 1,
    )
    print(summary_text(res))
    return 0
