"""The ``almm evaluate`` and ``almm simulate`` subcommands.

``add_evaluate_parser(sub)`` and ``add_simulate_parser(sub)`` register them on the ``almm`` parser's
subparsers; everything heavy is imported when a command runs, so ``almm --help`` stays fast.

Examples::

    almm evaluate                                          # every baseline, seeds 0..49, default market
    almm evaluate avellaneda_stoikov "glft:gamma=0.05" path/to/checkpoint_000010 --policy-name ppo_v1
    almm evaluate static_spread random --seeds 100-199 --env-config env.yaml --set dt=0.5 --phase high_volatility
    almm simulate volatility_adaptive --episodes 20 --set market.flow.limit_rate=12
    almm simulate --paper --episodes 1000                  # the Avellaneda-Stoikov (2008) table
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from almm_rllib.core.agent_schema import PHASES

#: Default number of seeds of ``almm evaluate`` / episodes of ``almm simulate``.
DEFAULT_EPISODES = 50


# ------------------------------------------------------------------------------------------------------------
# Env config from the command line.


def _set_dotted(target: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    d = target
    for p in parts[:-1]:
        nxt = d.setdefault(p, {})
        if not isinstance(nxt, dict):
            raise ValueError(f"--set {key}: {p!r} is not a mapping")
        d = nxt
    d[parts[-1]] = value


def env_config_from_args(path: str | None, sets: list[str] | None, phase: str | None = None):
    """The :class:`EnvConfig` of ``--env-config FILE.yaml`` (a mapping of EnvConfig fields, or an experiment YAML
    with an ``env_config`` mapping at the top or under ``environment``) plus ``--set key=value`` overrides
    (dotted keys, YAML values) and ``--phase``. Errors name the file or the ``--set`` option."""
    import yaml

    from almm_rllib.core.config import ConfigError
    from almm_rllib.env.config import EnvConfig

    data: dict = {}
    source = "command line"
    if path:
        p = Path(path)
        if not p.is_file():
            raise SystemExit(f"almm: {p}: env config file not found")
        try:
            loaded = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as e:
            raise SystemExit(f"almm: {p}: not valid YAML ({e})") from None
        if not isinstance(loaded, dict):
            raise SystemExit(f"almm: {p}: expected a mapping of env config fields")
        if isinstance(loaded.get("environment"), dict) and "env_config" in loaded["environment"]:
            loaded = loaded["environment"]["env_config"]
        elif isinstance(loaded.get("env_config"), dict):
            loaded = loaded["env_config"]
        data = dict(loaded)
        source = str(p)
    for item in sets or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SystemExit(f"almm: --set {item!r}: expected key=value")
        try:
            _set_dotted(data, key.strip(), yaml.safe_load(value))
        except (ValueError, yaml.YAMLError) as e:
            raise SystemExit(f"almm: --set {item!r}: {e}") from None
        source = f"{source} + --set" if "--set" not in source else source
    if phase is not None:
        data["phase"] = phase
    try:
        return EnvConfig.from_dict(data, source=source)
    except ConfigError as e:
        raise SystemExit(f"almm: {e}") from None


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--env-config", metavar="FILE.yaml", help="YAML mapping of EnvConfig fields")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one env config field (dotted keys, YAML values; repeatable), e.g. market.lot_size=1",
    )
    p.add_argument("--phase", choices=PHASES, help="curriculum phase of the market")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    p.add_argument("--out", default="results", help="parent folder of the run folder (default results/)")
    p.add_argument("--run-name", help="run folder name (default eval-/sim-<date>-<time>)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run folder's files")
    p.add_argument(
        "--report",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="print the terminal report and write report.html (default: on)",
    )
    p.add_argument("--reference", help="reference strategy of the paired comparison (default: AS when run)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _seeds_from_args(args: argparse.Namespace) -> list[int]:
    from almm_rllib.evaluation.runner import parse_seeds

    if args.seeds is not None and args.episodes is not None:
        seeds = parse_seeds(args.seeds)
        if len(seeds) != args.episodes:
            raise SystemExit(f"almm: --seeds gives {len(seeds)} seeds but --episodes says {args.episodes}")
        return seeds
    if args.seeds is not None:
        return parse_seeds(args.seeds)
    return parse_seeds(args.episodes if args.episodes is not None else DEFAULT_EPISODES)


def _reference(args: argparse.Namespace, labels: list[str]) -> str:
    from almm_rllib.results.stats import DEFAULT_REFERENCE

    if args.reference:
        return args.reference
    if DEFAULT_REFERENCE in labels:
        return DEFAULT_REFERENCE
    for lab in labels:
        if lab.split(":", 1)[0] == DEFAULT_REFERENCE:
            return lab
    return labels[0]


def print_report(run_dir: str | Path, reference: str | None = None) -> Path:
    """Print the terminal report of a run folder, write its ``report.html`` and print both paths.

    ``reference``: the paired comparison's reference strategy (default: ``avellaneda_stoikov`` when it ran,
    else the first AS variant, else the first strategy). Returns the HTML report's path.
    """
    from almm_rllib.results import format_report, read_run, write_html_report
    from almm_rllib.results import schema as S

    run_dir = Path(run_dir)
    run = read_run(run_dir, tables=(S.STEPS, S.EPISODES))
    labels = list(dict.fromkeys(run.episodes[S.STRATEGY]))
    ref = _reference(argparse.Namespace(reference=reference), labels)
    print(format_report(run.episodes, reference=ref))
    html = write_html_report(run_dir, run=run, reference=ref)
    print(f"run folder: {run_dir}")
    print(f"HTML report: {html}")
    return html


def _report(run_dir: Path, args: argparse.Namespace) -> None:
    print_report(run_dir, getattr(args, "reference", None))


def _finish(run_dir: Path, args: argparse.Namespace) -> int:
    """Print the report (and write report.html) unless ``--no-report``; always the run folder."""
    if args.report:
        _report(run_dir, args)
    else:
        print(f"run folder: {run_dir}")
    return 0


# ------------------------------------------------------------------------------------------------------------
# almm evaluate


def _cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate baselines and RL checkpoints on the same seeds; write Parquet logs and a report."""
    from almm_rllib.baselines import STRATEGIES
    from almm_rllib.evaluation.policies import CheckpointError
    from almm_rllib.evaluation.runner import evaluate
    from almm_rllib.results import ResultsError

    cfg = env_config_from_args(args.env_config, args.set, args.phase)
    seeds = _seeds_from_args(args)
    policies = [*args.checkpoint, *args.policies]
    if not args.policies:
        policies += list(STRATEGIES)  # checkpoints alone are compared with every baseline
    try:
        run_dir = evaluate(
            policies,
            cfg,
            seeds,
            out_dir=args.out,
            run_name=args.run_name,
            workers=args.workers,
            progress=not args.no_progress,
            policy_names=args.policy_name or None,
            module_id=args.module_id,
            overwrite=args.overwrite,
        )
    except (CheckpointError, ResultsError, ValueError) as e:
        print(f"almm evaluate: {e}", file=sys.stderr)
        return 2
    return _finish(run_dir, args)


def add_evaluate_parser(sub) -> argparse.ArgumentParser:
    """Register ``almm evaluate`` on the ``almm`` parser's subparsers."""
    p = sub.add_parser(
        "evaluate",
        help=_cmd_evaluate.__doc__,
        description=_cmd_evaluate.__doc__
        + " A POLICY is a baseline name, optionally with parameters (avellaneda_stoikov:gamma=0.01,k=2), or an "
        "RLlib checkpoint folder (Tune checkpoint_00000N or Algorithm.save_to_path).",
    )
    p.add_argument(
        "policies", nargs="*", metavar="POLICY", help="policies to evaluate (default: every baseline)"
    )
    p.add_argument(
        "--seeds", help=f"N (0..N-1), a-b (inclusive) or a comma list (default: {DEFAULT_EPISODES} seeds)"
    )
    p.add_argument("--episodes", type=int, help="number of seeds 0..N-1 (same as --seeds N)")
    p.add_argument(
        "--policy-name",
        action="append",
        metavar="NAME",
        help="label in the results: one per policy, or one per checkpoint, in order (repeatable)",
    )
    p.add_argument("--module-id", help="RLModule to load from checkpoints (default default_policy)")
    p.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        metavar="DIR",
        help="an RLlib checkpoint folder to evaluate (repeatable); same as giving it as a POLICY",
    )
    _add_common(p)
    p.set_defaults(func=_cmd_evaluate)
    return p


# ------------------------------------------------------------------------------------------------------------
# almm simulate


def _cmd_simulate(args: argparse.Namespace) -> int:
    """Run one strategy on one market for N episodes (or, with --paper, the Avellaneda-Stoikov 2008 table)."""
    from almm_rllib.evaluation.policies import CheckpointError
    from almm_rllib.evaluation.simulate import format_paper_table, paper_table, simulate
    from almm_rllib.results import ResultsError

    if args.paper:
        if args.strategy:
            raise SystemExit("almm simulate: --paper runs its own two strategies; give no STRATEGY")
        if args.env_config or args.set or args.phase:
            raise SystemExit(
                "almm simulate: --paper uses the paper's market; --env-config/--set/--phase do not apply"
            )
        gammas = [float(g) for g in args.gammas.split(",") if g.strip()]
        table = paper_table(
            gammas,
            args.episodes or 1000,
            seed=args.seed,
            out_dir=args.out,
            run_name=args.run_name,
            workers=args.workers,
            progress=not args.no_progress,
        )
        print("Avellaneda-Stoikov (2008), section 4, on the env's stylized market")
        print(format_paper_table(table))
        return 0
    if not args.strategy:
        raise SystemExit("almm simulate: give a STRATEGY (or --paper)")
    cfg = env_config_from_args(args.env_config, args.set, args.phase)
    try:
        run_dir = simulate(
            args.strategy,
            cfg,
            args.episodes or DEFAULT_EPISODES,
            seed=args.seed,
            out_dir=args.out,
            run_name=args.run_name,
            workers=args.workers,
            progress=not args.no_progress,
            name=args.policy_name,
            overwrite=args.overwrite,
        )
    except (CheckpointError, ResultsError, ValueError) as e:
        print(f"almm simulate: {e}", file=sys.stderr)
        return 2
    return _finish(run_dir, args)


def add_simulate_parser(sub) -> argparse.ArgumentParser:
    """Register ``almm simulate`` on the ``almm`` parser's subparsers."""
    p = sub.add_parser("simulate", help=_cmd_simulate.__doc__, description=_cmd_simulate.__doc__)
    p.add_argument("strategy", nargs="?", metavar="STRATEGY", help="a policy spec (baseline or checkpoint)")
    p.add_argument(
        "--episodes",
        type=int,
        help=f"episodes (default {DEFAULT_EPISODES}; 1000 with --paper, as in the paper)",
    )
    p.add_argument("--seed", type=int, default=0, help="first seed (episodes use seed, seed+1, ...)")
    p.add_argument("--policy-name", help="label of the strategy in the results")
    p.add_argument(
        "--paper", action="store_true", help="the Avellaneda-Stoikov (2008) table on the stylized market"
    )
    p.add_argument("--gammas", default="0.01,0.1,1", help="--paper: risk aversions (default 0.01,0.1,1)")
    _add_common(p)
    p.set_defaults(func=_cmd_simulate)
    return p
