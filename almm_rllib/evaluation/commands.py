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

from almm_rllib.core.agent_schema import PHASES
from almm_rllib.env.overrides import positive_int, run_name_arg

#: Default number of seeds of ``almm evaluate`` / episodes of ``almm simulate``.
DEFAULT_EPISODES = 50


# ------------------------------------------------------------------------------------------------------------
# Env config from the command line.


def env_config_from_args(path: str | None, sets: list[str] | None, phase: str | None = None):
    """The :class:`EnvConfig` of ``--env-config FILE.yaml`` (a mapping of EnvConfig fields, or an experiment YAML
    with an ``env_config`` mapping at the top or under ``environment``) plus ``--set key=value`` overrides
    (dotted keys, values as :mod:`almm_rllib.env.overrides` reads them) and ``--phase``.

    Raises:
        ConfigError: naming the file or the ``--set`` option and the key.
    """
    from almm_rllib.core.config import ConfigError
    from almm_rllib.env.config import EnvConfig
    from almm_rllib.env.overrides import apply_overrides, check_finite, load_yaml

    data: dict = {}
    source = "command line"
    if path:
        p = Path(path)
        if not p.is_file():
            raise ConfigError("", "env config file not found", f"--env-config {p}")
        loaded = load_yaml(p.read_text(), where=str(p)) or {}
        if not isinstance(loaded, dict):
            raise ConfigError("", "expected a mapping of env config fields", str(p))
        if isinstance(loaded.get("environment"), dict) and "env_config" in loaded["environment"]:
            loaded = loaded["environment"]["env_config"]
        elif isinstance(loaded.get("env_config"), dict):
            loaded = loaded["env_config"]
        check_finite(loaded, where=str(p))
        data = dict(loaded)
        source = str(p)
    if sets:
        data = apply_overrides(data, sets, where="--set")
        source = f"{source} + --set"
    if phase is not None:
        data["phase"] = phase
    return EnvConfig.from_dict(data, source=source)


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
    p.add_argument(
        "--workers", type=positive_int, default=None, help="worker processes, >= 1 (default: all cores)"
    )
    p.add_argument("--out", default="results", help="parent folder of the run folder (default results/)")
    p.add_argument(
        "--run-name",
        type=run_name_arg,
        help="run folder name inside --out, no path separators (default eval-/sim-<date>-<time>)",
    )
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
    from almm_rllib.evaluation.runner import parse_seeds as _parse

    def parse_seeds(text):
        try:
            return _parse(text)
        except ValueError as e:
            raise ValueError(f"--seeds {text!r}: {e}") from None

    if args.seeds is not None and args.episodes is not None:
        seeds = parse_seeds(args.seeds)
        if len(seeds) != args.episodes:
            raise ValueError(f"--seeds gives {len(seeds)} seeds but --episodes says {args.episodes}")
        return seeds
    if args.seeds is not None:
        return parse_seeds(args.seeds)
    return parse_seeds(args.episodes if args.episodes is not None else DEFAULT_EPISODES)


def _reference(args: argparse.Namespace, labels: list[str]) -> str:
    from almm_rllib.results.stats import DEFAULT_REFERENCE

    if args.reference:
        if args.reference not in labels:
            raise ValueError(
                f"--reference {args.reference!r} is not one of the strategies run: {', '.join(labels)}"
            )
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
    from almm_rllib.evaluation.runner import evaluate, resolve_policies

    cfg = env_config_from_args(args.env_config, args.set, args.phase)
    seeds = _seeds_from_args(args)
    specs = resolve_policies(policies_from_args(args), args.policy_name or None, module_id=args.module_id)
    labels = [s.label for s in specs]
    _reference(args, labels)  # an unknown --reference is refused before the run, not after it
    print(f"almm evaluate: {len(specs)} policies on {len(seeds)} seeds: {', '.join(labels)}", flush=True)
    run_dir = evaluate(
        specs,
        cfg,
        seeds,
        out_dir=args.out,
        run_name=args.run_name,
        workers=args.workers,
        progress=not args.no_progress,
        overwrite=args.overwrite,
    )
    return _finish(run_dir, args)


def policies_from_args(args: argparse.Namespace) -> list[str]:
    """``--checkpoint`` folders (``latest``, a checkpoint, a trial or experiment folder) and the named
    policies; with checkpoints only, or nothing, every baseline runs too (``almm evaluate``, ``backtest``,
    ``sim-to-real``)."""
    from almm_rllib.baselines import STRATEGIES

    policies = [*(resolve_checkpoint_arg(c) for c in args.checkpoint), *args.policies]
    if not args.policies:
        policies += list(STRATEGIES)
    return policies


def parse_gammas(text: str) -> list[float]:
    """``--gammas 0.01,0.1,1`` -> floats > 0; a bad item is refused naming the option."""
    from almm_rllib.env.overrides import parse_value

    out = []
    for item in filter(None, (g.strip() for g in text.split(","))):
        v = parse_value(item, key="", where="--gammas")
        if isinstance(v, bool) or not isinstance(v, int | float) or v <= 0:
            raise ValueError(f"--gammas: each risk aversion must be a number > 0, got {item!r}")
        out.append(float(v))
    if not out:
        raise ValueError(f"--gammas: give at least one risk aversion, got {text!r}")
    return out


def resolve_checkpoint_arg(text: str, storage: str | Path = "results/tune") -> str:
    """The checkpoint folder meant by ``--checkpoint TEXT``:

    * ``latest``: the newest ``checkpoint_*`` of any trial under ``storage`` (default results/tune);
    * a Tune trial folder (holding ``checkpoint_*``): its last checkpoint (highest number);
    * a Tune experiment folder (holding one trial folder): that trial's last checkpoint; with several trials
      the choice is refused, listing them;
    * anything else: as given (a checkpoint folder; checked when loaded).
    """

    def last_of(trial: Path) -> Path | None:
        cks = sorted(trial.glob("checkpoint_*"), key=lambda c: (len(c.name), c.name))
        return cks[-1] if cks else None

    if text == "latest":
        cks = [c for c in Path(storage).glob("*/*/checkpoint_*") if c.is_dir()]
        if not cks:
            raise ValueError(
                f"--checkpoint latest: no checkpoint under {storage}/ (train one first: almm train)"
            )
        return str(max(cks, key=lambda c: c.stat().st_mtime))
    p = Path(text)
    if not p.is_dir() or p.name.startswith("checkpoint_") or (p / "rllib_checkpoint.json").exists():
        return text
    ck = last_of(p)
    if ck is not None:
        return str(ck)
    trials = sorted(t for t in p.iterdir() if t.is_dir() and last_of(t) is not None)
    if len(trials) == 1:
        return str(last_of(trials[0]))
    if len(trials) > 1:
        raise ValueError(
            f"--checkpoint {text}: holds {len(trials)} trials with checkpoints "
            f"({', '.join(t.name for t in trials[:4])}{', ...' if len(trials) > 4 else ''}); name one of them"
        )
    return text


def add_evaluate_parser(sub) -> argparse.ArgumentParser:
    """Register ``almm evaluate`` on the ``almm`` parser's subparsers."""
    p = sub.add_parser(
        "evaluate",
        help=_cmd_evaluate.__doc__,
        description=_cmd_evaluate.__doc__
        + " A POLICY is a baseline name, optionally with parameters (avellaneda_stoikov:gamma=0.01,k=2), or an "
        "RLlib checkpoint folder (Tune checkpoint_00000N or Algorithm.save_to_path).",
        epilog=baselines_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "policies", nargs="*", metavar="POLICY", help="policies to evaluate (default: every baseline)"
    )
    p.add_argument(
        "--seeds", help=f"N (0..N-1), a-b (inclusive) or a comma list (default: {DEFAULT_EPISODES} seeds)"
    )
    p.add_argument("--episodes", type=positive_int, help="number of seeds 0..N-1 (same as --seeds N)")
    p.add_argument(
        "--policy-name",
        action="append",
        metavar="NAME",
        help="label in the results: one per policy, or one per checkpoint, in order (repeatable)",
    )
    p.add_argument("--module-id", help="RLModule to load from checkpoints (default default_policy)")
    p.add_argument(
        "--checkpoint",
        action="extend",
        nargs="+",
        default=[],
        metavar="DIR",
        help="RLlib checkpoints to evaluate (every path after it, repeatable): a checkpoint_N folder, a Tune "
        "trial folder (its last checkpoint), an experiment folder with one trial, or 'latest' (the newest "
        "checkpoint under results/tune)",
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
            raise ValueError("--paper runs its own two strategies; give no STRATEGY")
        if args.env_config or args.set or args.phase:
            raise ValueError("--paper uses the paper's market; --env-config/--set/--phase do not apply")
        gammas = parse_gammas(args.gammas)
        table = paper_table(
            gammas,
            args.episodes or 1000,
            seed=args.seed,
            out_dir=args.out,
            run_name=args.run_name,
            workers=args.workers,
            progress=not args.no_progress,
        )
        print(
            "Avellaneda-Stoikov (2008), section 4, on the env's stylized market; the published figures are those "
            "of the October 2006 working paper's table"
        )
        print(format_paper_table(table))
        for run_dir in table.attrs.get("run_dirs", []):
            print(f"run folder: {run_dir}")
        return 0
    if not args.strategy:
        raise ValueError("give a STRATEGY (or --paper)")
    cfg = env_config_from_args(args.env_config, args.set, args.phase)
    from almm_rllib.evaluation.policies import parse_policy_spec

    _reference(args, [parse_policy_spec(args.strategy).with_label(args.policy_name).label])  # before the run
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


def baselines_help() -> str:
    """The baselines and their parameters, for ``--help``."""
    import dataclasses

    from almm_rllib.baselines import ALIASES, STRATEGIES, strategy_class

    lines = ["baselines (NAME or NAME:param=value,...; parameters default to the market's calibration):"]
    for name in STRATEGIES:
        cls = strategy_class(name)
        params = ", ".join(f.name for f in dataclasses.fields(cls.params_cls))
        lines.append(f"  {name:<22} {params}")
    if ALIASES:
        lines.append("aliases: " + ", ".join(f"{a} -> {t}" for a, t in sorted(ALIASES.items())))
    return "\n".join(lines)


def add_simulate_parser(sub) -> argparse.ArgumentParser:
    """Register ``almm simulate`` on the ``almm`` parser's subparsers."""
    p = sub.add_parser("simulate", help=_cmd_simulate.__doc__, description=_cmd_simulate.__doc__)
    p.add_argument("strategy", nargs="?", metavar="STRATEGY", help="a policy spec (baseline or checkpoint)")
    p.add_argument(
        "--episodes",
        type=positive_int,
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
