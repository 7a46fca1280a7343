"""``almm compare``: the seed's table in one command (every baseline and every agent on the same test seeds).

Examples::

    almm compare --checkpoint ppo=results/tune/ppo_local/PPO_.../checkpoint_000009 \\
                 --checkpoint sac=results/tune/sac_local/SAC_.../checkpoint_000001          # 50 seeds 0..49
    almm compare --run results/compare-20261129-2300 --markdown table.md     # re-render an existing run

It runs :func:`evaluation.runner.evaluate` (common random numbers: every policy on the test seeds 0..N-1, the
runner's default), then prints :mod:`results.seed_table`'s markdown (the table, the best agent paired against
every baseline, the issue's targets) and writes it to ``table.md`` in the run folder. Selection of agents
(search trials) uses other seeds: 3,000,000+ (``training.search``), calibration of baselines 1,000,000+.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_SEEDS = 50
TABLE_FILE = "table.md"


def _named(text: str) -> tuple[str | None, str]:
    """``name=DIR`` -> (name, DIR); a bare ``DIR`` -> (None, DIR)."""
    name, sep, path = text.partition("=")
    if sep and "/" not in name and name.strip():
        return name.strip(), path
    return None, text


def agents_of(config: dict) -> list[str]:
    """Labels of the RL checkpoints of a run (``config.json``'s policies of kind ``checkpoint``)."""
    return [p["label"] for p in config.get("policies", []) if p.get("kind") == "checkpoint"]


def render(run_dir: str | Path, *, n_resamples: int | None = None) -> str:
    """The markdown of a run folder's table (written to ``<run>/table.md``)."""
    from almm_rllib.results import read_run
    from almm_rllib.results import schema as S
    from almm_rllib.results.io import write_text
    from almm_rllib.results.seed_table import seed_table, targets_markdown, to_markdown

    run = read_run(run_dir, tables=(S.EPISODES,))
    kw = {} if n_resamples is None else {"n_resamples": n_resamples}
    t = seed_table(run.episodes, agents_of(run.config), **kw)
    text = to_markdown(t) + "\n" + targets_markdown(t)
    write_text(text, Path(run_dir) / TABLE_FILE)
    return text


def run_compare(
    checkpoints: list[str],
    env_config,
    seeds,
    *,
    baselines: list[str] | None = None,
    out_dir: str = "results",
    run_name: str | None = None,
    workers: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> Path:
    """Evaluate ``checkpoints`` (``name=DIR`` or ``DIR``) and the baselines (default: every one) on ``seeds``."""
    from almm_rllib.baselines import STRATEGIES
    from almm_rllib.evaluation.commands import resolve_checkpoint_arg
    from almm_rllib.evaluation.runner import default_run_name, evaluate

    named = [_named(c) for c in checkpoints]
    names = [n or "" for n, _ in named]
    if any(names) and not all(names):
        raise ValueError("compare: name every checkpoint (name=DIR) or none")
    # a trial or experiment folder means its last checkpoint, as for almm evaluate
    policies = [resolve_checkpoint_arg(p) for _, p in named] + list(
        baselines if baselines is not None else STRATEGIES
    )
    return evaluate(
        policies,
        env_config,
        seeds,
        out_dir=out_dir,
        run_name=run_name or default_run_name("compare"),
        workers=workers,
        progress=progress,
        policy_names=names if all(names) and names else None,
        overwrite=overwrite,
    )


def _cmd_compare(args: argparse.Namespace) -> int:
    """Every baseline and the given agents on the same test seeds: the seed's table, in markdown."""
    from almm_rllib.evaluation.commands import env_config_from_args
    from almm_rllib.evaluation.policies import CheckpointError
    from almm_rllib.evaluation.runner import parse_seeds
    from almm_rllib.results import ResultsError

    try:
        if args.run:
            run_dir = Path(args.run)
        else:
            cfg = env_config_from_args(args.env_config, args.set, args.phase)
            run_dir = run_compare(
                args.checkpoint,
                cfg,
                parse_seeds(args.seeds),
                baselines=args.baselines,
                out_dir=args.out,
                run_name=args.run_name,
                workers=args.workers,
                progress=not args.no_progress,
                overwrite=args.overwrite,
            )
        text = render(run_dir)
    except (CheckpointError, ResultsError, ValueError) as e:
        print(f"almm compare: {e}", file=sys.stderr)
        return 2
    print(text)
    if args.markdown:
        from almm_rllib.results.io import write_text

        write_text(text, Path(args.markdown))
    print(f"run folder: {run_dir}\ntable: {Path(run_dir) / TABLE_FILE}")
    return 0


def add_compare_parser(sub) -> argparse.ArgumentParser:
    """Register ``almm compare`` on the ``almm`` parser's subparsers."""
    from almm_rllib.core.agent_schema import PHASES

    p = sub.add_parser("compare", help=_cmd_compare.__doc__, description=_cmd_compare.__doc__)
    p.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="an agent's RLlib checkpoint (PPO or SAC; a checkpoint, trial or experiment folder, or 'latest'), "
        "optionally named: ppo=DIR (repeatable)",
    )
    p.add_argument(
        "--baselines", nargs="*", metavar="POLICY", help="baseline specs (default: every baseline)"
    )
    p.add_argument(
        "--seeds", default=str(DEFAULT_SEEDS), help="test seeds: N (0..N-1), a-b or a list (default 50)"
    )
    p.add_argument("--run", help="render the table of an existing run folder instead of evaluating")
    p.add_argument("--markdown", metavar="FILE", help="also write the markdown to FILE")
    p.add_argument("--env-config", metavar="FILE.yaml", help="YAML mapping of EnvConfig fields")
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override an env config field"
    )
    p.add_argument("--phase", choices=PHASES, help="curriculum phase of the market")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--out", default="results")
    p.add_argument("--run-name", default=None)
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_compare)
    return p


def _cmd_evaluate_multi(args) -> int:
    """Evaluate a multi-agent checkpoint: every maker of the book driven by its module, on common seeds."""
    import sys

    from almm_rllib.evaluation.commands import env_config_from_args, resolve_checkpoint_arg
    from almm_rllib.evaluation.multi_agent import evaluate_multi
    from almm_rllib.evaluation.policies import CheckpointError, parse_params
    from almm_rllib.evaluation.runner import parse_seeds

    cfg = env_config_from_args(args.env_config, args.set, args.phase)
    try:
        modules = parse_params(",".join(args.module), where="--module") if args.module else None
        out, text = evaluate_multi(
            resolve_checkpoint_arg(args.checkpoint),
            cfg,
            parse_seeds(args.seeds),
            out_dir=args.out,
            modules=modules,
        )
    except (CheckpointError, ValueError) as e:
        print(f"almm evaluate-multi: {e}", file=sys.stderr)
        return 2
    print(text)
    print(f"written: {out / 'multi_agent.md'}, {out / 'multi_agent_episodes.csv'}")
    return 0


def add_multi_parser(sub):
    """Register ``almm evaluate-multi`` on the ``almm`` parser's subparsers."""
    from almm_rllib.core.agent_schema import PHASES

    p = sub.add_parser(
        "evaluate-multi", help=_cmd_evaluate_multi.__doc__, description=_cmd_evaluate_multi.__doc__
    )
    p.add_argument(
        "checkpoint",
        help="checkpoint of a multi-agent experiment, or its trial or experiment folder (its last checkpoint), "
        "or latest",
    )
    p.add_argument(
        "--env-config",
        metavar="FILE.yaml",
        help="the experiment YAML it was trained with (its environment.env_config), or an EnvConfig mapping",
    )
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override an env config field"
    )
    p.add_argument("--phase", choices=PHASES)
    p.add_argument("--seeds", default="50", help="test seeds: N (0..N-1), a-b or a list (default 50)")
    p.add_argument("--module", action="append", default=[], metavar="AGENT=MODULE", help="agent -> module id")
    p.add_argument("--out", default="results/multi_agent", help="output folder (default results/multi_agent)")
    p.set_defaults(func=_cmd_evaluate_multi)
    return p


__all__ = ["add_compare_parser", "add_multi_parser", "agents_of", "render", "run_compare"]
