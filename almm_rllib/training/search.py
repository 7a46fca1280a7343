"""Hyper-parameter search: the ``tune:`` section of an experiment YAML, built on Tune's own schedulers and searchers.

Schema (every key optional; unknown keys and impossible values are refused naming the key and the file)::

    tune:
      metric: env_runners/mm/sharpe     # result key that ranks trials (default: the callbacks' episode Sharpe)
      mode: max                         # max | min
      num_samples: 8                    # trials (with grid values: repeats of the whole grid)
      max_concurrent_trials: 1          # 0 = as many as the CPUs allow (pbt: must be 0 or >= num_samples)
      scheduler:                        # fifo (default) | asha | pbt
        type: pbt                       # tune.schedulers.PopulationBasedTraining
        time_attr: training_iteration
        perturbation_interval: 5        # pbt: exploit/explore every N time_attr units
        quantile_fraction: 0.25         # pbt: bottom fraction copies the top fraction
        resample_probability: 0.25      # pbt: resample from the space instead of perturbing
        burn_in_period: 0               # pbt
        mutate: [training.entropy_coeff]  # pbt: which search_space keys PBT mutates (default: all)
        # asha (tune.schedulers.ASHAScheduler): time_attr, max_t, grace_period, reduction_factor, brackets
      searcher: {type: random, seed: 0} # random | grid: Tune's BasicVariantGenerator (seeded: same trials)
      search_space:                     # dotted keys into this YAML -> a Tune domain
        training.entropy_coeff: {loguniform: [1.0e-4, 3.0e-2]}
        training.train_batch_size_per_learner: {choice: [1000, 2000, 4000]}
        environment.env_config.lambda_inventory: {loguniform: [1.0e-8, 1.0e-5]}
      selection:                        # after the search: pick the best trial by evaluation
        seeds: 3000000-3000019          # selection seeds: disjoint from the test seeds 0..N-1
        metric: sharpe                  # per-episode metric of the episodes table, mean over the seeds
        mode: max

Domains: ``{uniform: [lo, hi]}``, ``{loguniform: [lo, hi]}`` (lo > 0), ``{quniform: [lo, hi, q]}``,
``{randint: [lo, hi]}`` (hi exclusive, as in Tune), ``{choice: [a, b, ...]}``, ``{grid: [a, b, ...]}`` (every
value, ``tune.grid_search``). Searchable keys: ``training.<argument of the algorithm's training()>`` and
``environment.env_config.<EnvConfig field>`` (dotted for nested fields). Every end of a range and every choice is
validated as if written in the YAML, so an impossible value is refused before any trial starts; the batch-size
pair is checked across its extremes (the largest minibatch must fit the smallest batch).

Seeds: the test seeds are the evaluation runner's default ``0..N-1`` (``almm evaluate --seeds 50`` = 0..49);
baseline calibration uses 1,000,000+ and its fill probe 2,000,000+ (``evaluation/calibration.py``); the
selection of the best trial uses :data:`SELECTION_SEED` + i = 3,000,000+ by default. Seeds below
:data:`MIN_SELECTION_SEED` are refused, so a search never picks its winner on the seeds it is tested on.
"""

from __future__ import annotations

import copy
import json
import math
import pathlib
from typing import Any

from almm_rllib.core.config import ConfigError

#: Default metric: the per-episode Sharpe ratio the callbacks log (mean over the last 100 episodes).
DEFAULT_METRIC = "env_runners/mm/sharpe"
SCHEDULERS = ("fifo", "asha", "pbt")
SEARCHERS = ("random", "grid")
DOMAINS = ("uniform", "loguniform", "quniform", "randint", "choice", "grid")
TUNE_KEYS = {
    "metric",
    "mode",
    "num_samples",
    "max_concurrent_trials",
    "scheduler",
    "searcher",
    "search_space",
    "selection",
}
SCHEDULER_KEYS = {
    "fifo": {"type"},
    "asha": {"type", "time_attr", "max_t", "grace_period", "reduction_factor", "brackets"},
    "pbt": {
        "type",
        "time_attr",
        "perturbation_interval",
        "quantile_fraction",
        "resample_probability",
        "burn_in_period",
        "mutate",
    },
}
SEARCHER_KEYS = {"type", "seed"}
SELECTION_KEYS = {"seeds", "metric", "mode"}
#: First selection seed (selection uses ``SELECTION_SEED + i``).
SELECTION_SEED = 3_000_000
DEFAULT_SELECTION_SEEDS = 20
#: Selection seeds must be at least this: the evaluation's test seeds are 0..N-1.
MIN_SELECTION_SEED = 100_000
#: Algorithm-config dict keys that differ from the training() argument names.
_DICT_KEY = {"lambda_": "lambda"}


def _err(source: str, key: str, msg: str) -> ConfigError:
    from almm_rllib.training.experiment import ExperimentError

    return ExperimentError(key, msg, source)


def _num(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


# ------------------------------------------------------------------------------------------------------------
# Validation.


def _domain(source: str, key: str, body) -> tuple[str, list]:
    """``(kind, args)`` of a search-space entry, checked."""
    if not isinstance(body, dict) or len(body) != 1:
        raise _err(source, key, f"must be a mapping with one of {', '.join(DOMAINS)}, got {body!r}")
    kind, args = next(iter(body.items()))
    if kind not in DOMAINS:
        raise _err(source, f"{key}.{kind}", f"is not a known domain (known: {', '.join(DOMAINS)})")
    if not isinstance(args, list) or not args:
        raise _err(source, f"{key}.{kind}", f"must be a non-empty list, got {args!r}")
    if kind in ("choice", "grid"):
        return kind, list(args)
    n = 3 if kind == "quniform" else 2
    if len(args) != n or not all(_num(a) for a in args):
        raise _err(source, f"{key}.{kind}", f"must be {n} finite numbers, got {args!r}")
    lo, hi = args[0], args[1]
    if not lo < hi:
        raise _err(source, f"{key}.{kind}", f"needs low < high, got {args!r}")
    if kind == "loguniform" and lo <= 0:
        raise _err(source, f"{key}.{kind}", f"needs low > 0, got {lo!r}")
    if kind == "randint" and not (float(lo).is_integer() and float(hi).is_integer()):
        raise _err(source, f"{key}.{kind}", f"needs integers, got {args!r}")
    if kind == "quniform" and args[2] <= 0:
        raise _err(source, f"{key}.{kind}", f"needs q > 0, got {args[2]!r}")
    return kind, list(args)


def _corners(kind: str, args: list) -> list:
    """The values that bound what a domain can sample (ranges: both ends; choices: every value)."""
    if kind in ("choice", "grid"):
        return list(args)
    if kind == "randint":
        return [int(args[0]), int(args[1]) - 1]
    return [args[0], args[1]]


def _set_path(spec: dict, path: list[str], value) -> None:
    node = spec
    for p in path[:-1]:
        node = node.setdefault(p, {})
    node[path[-1]] = value


def _check_path(source: str, key: str, path: str) -> list[str]:
    parts = path.split(".")
    if any(not p for p in parts):
        raise _err(source, key, "has an empty part")
    if parts[0] == "training" and len(parts) == 2:
        return parts
    if parts[:2] == ["environment", "env_config"] and len(parts) >= 3:
        return parts
    raise _err(source, key, "is not searchable: use training.<argument> or environment.env_config.<field>")


def validate_tune(spec: dict, source: str) -> None:
    """Check the ``tune:`` section of ``spec`` (read from ``source``); errors name ``tune.<key>`` and the file."""
    from almm_rllib.training.experiment import validate

    tune = spec.get("tune")
    if not isinstance(tune, dict):
        raise _err(source, "tune", f"must be a mapping, got {type(tune).__name__}")
    for k in tune:
        if k not in TUNE_KEYS:
            raise _err(source, f"tune.{k}", f"is not a known key (known: {', '.join(sorted(TUNE_KEYS))})")
    if "num_samples" in spec and "num_samples" in tune:
        raise _err(source, "tune.num_samples", "is also given at the top level; keep one")
    if "metric" in tune and (not isinstance(tune["metric"], str) or not tune["metric"]):
        raise _err(source, "tune.metric", f"must be a result key such as {DEFAULT_METRIC}")
    if tune.get("mode", "max") not in ("max", "min"):
        raise _err(source, "tune.mode", f"must be 'max' or 'min', got {tune['mode']!r}")
    for k, lo in (("num_samples", 1), ("max_concurrent_trials", 0)):
        if k in tune and not (isinstance(tune[k], int) and not isinstance(tune[k], bool) and tune[k] >= lo):
            raise _err(source, f"tune.{k}", f"must be an integer >= {lo}, got {tune[k]!r}")

    space = tune.get("search_space") or {}
    if not isinstance(space, dict):
        raise _err(source, "tune.search_space", "must be a mapping of dotted keys to domains")
    base = {k: v for k, v in spec.items() if k != "tune"}
    domains = {}
    for path, body in space.items():
        key = f"tune.search_space.{path}"
        _check_path(source, key, str(path))
        domains[path] = _domain(source, key, body)
    _check_batch_pair(spec, source, domains)
    for path, (kind, args) in domains.items():
        key = f"tune.search_space.{path}"
        for value in _corners(kind, args):
            trial = copy.deepcopy(base)
            _set_path(trial, str(path).split("."), value)
            _loosen_batch_pair(trial, domains, str(path))
            try:
                validate(trial, source)
            except ConfigError as e:
                raise _err(source, key, f"value {value!r} is impossible: {e.key} {e.message}") from None
    _validate_scheduler(tune, source, domains)
    _validate_searcher(tune, source, domains)
    _validate_selection(tune, source)


def _range(spec: dict, domains: dict, path: str) -> tuple[float, float] | None:
    if path in domains:
        vals = [v for v in _corners(*domains[path]) if _num(v)]
        return (min(vals), max(vals)) if vals else None
    sect, key = path.split(".")
    v = (spec.get(sect) or {}).get(key)
    return (v, v) if _num(v) else None


_BATCH, _MINIBATCH = "training.train_batch_size_per_learner", "training.minibatch_size"


def _loosen_batch_pair(trial: dict, domains: dict, path: str) -> None:
    """While one end of a batch size is checked alone, give its partner (if searched) the value that suits it
    best; the pair itself is checked by :func:`_check_batch_pair`."""
    other = {_BATCH: _MINIBATCH, _MINIBATCH: _BATCH}.get(path)
    if other in domains:
        vals = [v for v in _corners(*domains[other]) if _num(v)]
        if vals:
            trial["training"][other.split(".")[1]] = max(vals) if other == _BATCH else min(vals)


def _check_batch_pair(spec: dict, source: str, domains: dict) -> None:
    mb = _range(spec, domains, _MINIBATCH)
    tb = _range(spec, domains, _BATCH)
    if mb and tb and mb[1] > tb[0]:
        raise _err(
            source,
            "tune.search_space",
            f"training.minibatch_size can reach {mb[1]}, more than the smallest "
            f"training.train_batch_size_per_learner {tb[0]}",
        )


def _validate_scheduler(tune: dict, source: str, domains: dict) -> None:
    sch = tune.get("scheduler") or {"type": "fifo"}
    if not isinstance(sch, dict) or sch.get("type") not in SCHEDULERS:
        raise _err(source, "tune.scheduler.type", f"must be one of {', '.join(SCHEDULERS)}, got {sch!r}")
    kind = sch["type"]
    n, limit = tune.get("num_samples", 1), tune.get("max_concurrent_trials", 0)
    if kind == "pbt" and 0 < limit < n:
        # the limit makes the searcher create trials `limit` at a time, so PBT never has a paused or pending
        # trial to switch to: every trial runs to its end alone and nothing is exploited (measured: 8 trials
        # with limit 1 ran one after another, no exploit in the log)
        raise _err(
            source,
            "tune.max_concurrent_trials",
            f"is {limit} with {n} PBT trials: trials would be created {limit} at a time and never exploit one "
            "another (a random search); leave it 0, the CPUs decide how many run at once and PBT pauses and "
            "resumes the rest",
        )
    for k, v in sch.items():
        if k not in SCHEDULER_KEYS[kind]:
            known = ", ".join(sorted(SCHEDULER_KEYS[kind]))
            raise _err(
                source, f"tune.scheduler.{k}", f"is not a key of the {kind} scheduler (known: {known})"
            )
        if k in ("max_t", "grace_period", "perturbation_interval") and not (_num(v) and v > 0):
            raise _err(source, f"tune.scheduler.{k}", f"must be > 0, got {v!r}")
        if k in ("reduction_factor",) and not (_num(v) and v > 1):
            raise _err(source, f"tune.scheduler.{k}", f"must be > 1, got {v!r}")
        if k == "brackets" and not (isinstance(v, int) and v >= 1):
            raise _err(source, f"tune.scheduler.{k}", f"must be an integer >= 1, got {v!r}")
        if k == "quantile_fraction" and not (_num(v) and 0 <= v <= 0.5):
            raise _err(source, f"tune.scheduler.{k}", f"must be in [0, 0.5], got {v!r}")
        if k == "resample_probability" and not (_num(v) and 0 <= v <= 1):
            raise _err(source, f"tune.scheduler.{k}", f"must be in [0, 1], got {v!r}")
        if k == "burn_in_period" and not (_num(v) and v >= 0):
            raise _err(source, f"tune.scheduler.{k}", f"must be >= 0, got {v!r}")
        if k == "time_attr" and not isinstance(v, str):
            raise _err(source, f"tune.scheduler.{k}", f"must be a result key, got {v!r}")
    if kind == "asha" and "grace_period" in sch and "max_t" in sch and sch["grace_period"] > sch["max_t"]:
        raise _err(source, "tune.scheduler.grace_period", "must be <= tune.scheduler.max_t")
    if kind == "pbt":
        mutate = sch.get("mutate", list(domains))
        if not isinstance(mutate, list) or not mutate:
            raise _err(source, "tune.scheduler.mutate", "must be a non-empty list of tune.search_space keys")
        for m in mutate:
            if m not in domains:
                raise _err(source, "tune.scheduler.mutate", f"{m!r} is not a key of tune.search_space")
            if domains[m][0] == "grid":
                raise _err(source, f"tune.search_space.{m}", "pbt cannot mutate a grid; use choice")


def _validate_searcher(tune: dict, source: str, domains: dict) -> None:
    se = tune.get("searcher") or {"type": "random"}
    if not isinstance(se, dict) or se.get("type") not in SEARCHERS:
        raise _err(source, "tune.searcher.type", f"must be one of {', '.join(SEARCHERS)}, got {se!r}")
    for k, v in se.items():
        if k not in SEARCHER_KEYS:
            raise _err(
                source,
                f"tune.searcher.{k}",
                f"is not a known key (known: {', '.join(sorted(SEARCHER_KEYS))})",
            )
        if k == "seed" and not (isinstance(v, int) and not isinstance(v, bool) and v >= 0):
            raise _err(source, "tune.searcher.seed", f"must be an integer >= 0, got {v!r}")
    if se["type"] == "grid" and any(kind != "grid" for kind, _ in domains.values()):
        raise _err(
            source, "tune.searcher.type", "grid needs every tune.search_space entry to be a {grid: [...]}"
        )


def _validate_selection(tune: dict, source: str) -> None:
    sel = tune.get("selection")
    if sel is None:
        return
    if not isinstance(sel, dict):
        raise _err(source, "tune.selection", "must be a mapping")
    for k in sel:
        if k not in SELECTION_KEYS:
            raise _err(
                source,
                f"tune.selection.{k}",
                f"is not a known key (known: {', '.join(sorted(SELECTION_KEYS))})",
            )
    if sel.get("mode", "max") not in ("max", "min"):
        raise _err(source, "tune.selection.mode", f"must be 'max' or 'min', got {sel['mode']!r}")
    if "metric" in sel:
        from almm_rllib.results import schema as S

        if sel["metric"] not in S.EPISODE_METRICS:
            raise _err(source, "tune.selection.metric", f"is not a per-episode metric, got {sel['metric']!r}")
    try:
        seeds = selection_seeds(tune)
    except ValueError as e:
        raise _err(source, "tune.selection.seeds", str(e)) from None
    low = [s for s in seeds if s < MIN_SELECTION_SEED]
    if low:
        raise _err(
            source,
            "tune.selection.seeds",
            f"must be >= {MIN_SELECTION_SEED} (the test seeds are 0..N-1), got {low[:5]}",
        )


def selection_seeds(tune: dict) -> list[int]:
    """The selection seeds of a ``tune:`` section (default ``SELECTION_SEED + 0..19``)."""
    from almm_rllib.evaluation.runner import parse_seeds

    sel = tune.get("selection") or {}
    seeds = sel.get("seeds")
    if seeds is None:
        return list(range(SELECTION_SEED, SELECTION_SEED + DEFAULT_SELECTION_SEEDS))
    return parse_seeds(seeds if isinstance(seeds, int | list) else str(seeds))


# ------------------------------------------------------------------------------------------------------------
# Building the Tuner's parts.


def _tune_domain(kind: str, args: list):
    from ray import tune

    if kind == "uniform":
        return tune.uniform(float(args[0]), float(args[1]))
    if kind == "loguniform":
        return tune.loguniform(float(args[0]), float(args[1]))
    if kind == "quniform":
        return tune.quniform(float(args[0]), float(args[1]), float(args[2]))
    if kind == "randint":
        return tune.randint(int(args[0]), int(args[1]))
    if kind == "choice":
        return tune.choice(list(args))
    return tune.grid_search(list(args))


def _dict_path(path: str) -> list[str]:
    """Where a search-space key lives in the AlgorithmConfig's dict form."""
    parts = path.split(".")
    if parts[0] == "training":
        return [_DICT_KEY.get(parts[1], parts[1])]
    return parts[1:]  # environment.env_config.x -> env_config.x


def _nested(paths_values: dict[str, Any]) -> dict:
    out: dict = {}
    for path, value in paths_values.items():
        _set_path(out, _dict_path(path), value)
    return out


def search_metric(spec: dict) -> tuple[str, str]:
    tune = spec.get("tune") or {}
    return str(tune.get("metric", DEFAULT_METRIC)), str(tune.get("mode", "max"))


def tuner_parts(spec: dict, config) -> tuple[dict, dict]:
    """``(param_space, TuneConfig kwargs)`` for an experiment with a ``tune:`` section.

    ``param_space`` is the built AlgorithmConfig as a dict (RLlib's ``to_dict``; the Algorithm rebuilds its
    config with ``update_from_dict``) with every search-space key replaced by its Tune domain.
    """
    import os

    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, PopulationBasedTraining
    from ray.tune.search import BasicVariantGenerator

    # the market-making metrics exist only once an episode has ended; the schedulers skip results without
    # them (they CONTINUE), Tune's strict check would instead fail the trial on its first short iteration
    os.environ.setdefault("TUNE_DISABLE_STRICT_METRIC_CHECKING", "1")
    tune = spec["tune"]
    metric, mode = search_metric(spec)
    domains = {p: _tune_domain(*_domain("", p, b)) for p, b in (tune.get("search_space") or {}).items()}
    param_space = config.to_dict()
    for path, dom in domains.items():
        node = param_space
        dpath = _dict_path(path)
        for p in dpath[:-1]:
            node = node.setdefault(p, {})
        node[dpath[-1]] = dom
    sch = dict(tune.get("scheduler") or {"type": "fifo"})
    kind = sch.pop("type")
    if kind == "asha":
        scheduler = ASHAScheduler(**sch)
    elif kind == "pbt":
        mutate = sch.pop("mutate", list(domains))
        scheduler = PopulationBasedTraining(
            hyperparam_mutations=_nested({m: domains[m] for m in mutate}), **sch
        )
    else:
        scheduler = FIFOScheduler()
    se = tune.get("searcher") or {}
    searcher = BasicVariantGenerator(
        random_state=se.get("seed", spec.get("seed")),
        max_concurrent=int(tune.get("max_concurrent_trials", 0)),
    )
    kwargs = {
        "metric": metric,
        "mode": mode,
        "num_samples": int(tune.get("num_samples", spec.get("num_samples", 1))),
        "scheduler": scheduler,
        "search_alg": searcher,
    }
    return param_space, kwargs


# ------------------------------------------------------------------------------------------------------------
# After the search: the trials table and the selection of the best trial by evaluation.

#: Result keys written beside each trial's searched values in ``search_trials.csv``.
REPORT_KEYS = (
    "training_iteration",
    "num_env_steps_sampled_lifetime",
    "env_runners/episode_return_mean",
    "env_runners/episode_len_mean",
    "env_runners/mm/pnl",
    "env_runners/mm/sharpe",
    "env_runners/mm/max_drawdown",
    "env_runners/mm/avg_abs_inventory",
    "env_runners/mm/fill_ratio",
    "env_runners/mm/n_fills",
)


def _get(d: dict, path: list[str]):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def trials_table(spec: dict, results):
    """One row per trial: its path, its searched values, its last market-making metrics, its last checkpoint."""
    import pandas as pd
    from ray.tune.utils import flatten_dict

    space = list((spec.get("tune") or {}).get("search_space") or {})
    rows = []
    for r in results:
        flat = flatten_dict(dict(r.metrics or {}), delimiter="/")
        row = {"trial": pathlib.Path(r.path).name if r.path else None}
        for path in space:
            keys = _dict_path(path)
            v = _get(r.config or {}, keys)
            if v is None and len(keys) == 1:  # a property of AlgorithmConfig: its dict form is "_<name>"
                v = _get(r.config or {}, ["_" + keys[0]])
            row[path] = v
        for k in REPORT_KEYS:
            row[k] = flat.get(k)
        row["checkpoint"] = r.checkpoint.path if r.checkpoint else None
        row["error"] = None if r.error is None else f"{type(r.error).__name__}"
        rows.append(row)
    return pd.DataFrame(rows)


def select_best(spec: dict, env_config, table, *, out_dir: str | pathlib.Path, workers: int | None = None):
    """Evaluate every trial's last checkpoint on the selection seeds and pick the best.

    Returns ``(best checkpoint path, the table with the selection score per trial)``; writes
    ``selection.json`` and the evaluation run (``selection/``) under ``out_dir``.
    """
    from almm_rllib.evaluation.runner import evaluate
    from almm_rllib.results import read_run
    from almm_rllib.results import schema as S
    from almm_rllib.results.io import write_text

    tune = spec.get("tune") or {}
    sel = tune.get("selection") or {}
    metric, mode = sel.get("metric", S.SHARPE), sel.get("mode", "max")
    seeds = selection_seeds(tune)
    cands = table[table["checkpoint"].notna()]
    if cands.empty:
        raise RuntimeError("no trial of the search left a checkpoint to select from")
    labels = [f"trial_{i}" for i in range(len(cands))]
    run_dir = evaluate(
        list(cands["checkpoint"]),
        env_config,
        seeds,
        out_dir=str(out_dir),
        run_name="selection",
        policy_names=labels,
        workers=workers,
        progress=False,
        overwrite=True,
    )
    eps = read_run(run_dir, tables=(S.EPISODES,)).episodes
    score = eps.groupby(S.STRATEGY)[metric].mean()
    table = table.copy()
    table[f"selection_{metric}"] = None
    for lab, idx in zip(labels, cands.index, strict=True):
        table.loc[idx, f"selection_{metric}"] = float(score[lab])
    best_label = score.idxmax() if mode == "max" else score.idxmin()
    best_idx = cands.index[labels.index(best_label)]
    best = str(table.loc[best_idx, "checkpoint"])
    write_text(
        json.dumps(
            {
                "metric": metric,
                "mode": mode,
                "seeds": [seeds[0], seeds[-1], len(seeds)],
                "scores": {
                    str(table.loc[i, "trial"]): float(score[lab])
                    for lab, i in zip(labels, cands.index, strict=True)
                },
                "best_trial": str(table.loc[best_idx, "trial"]),
                "best_checkpoint": best,
            },
            indent=2,
        ),
        pathlib.Path(out_dir) / "selection.json",
    )
    return best, table


def finish_search(exp, results, res, *, workers: int | None = None):
    """After a search: select the best trial by evaluating every trial's last checkpoint on the selection seeds
    (the experiment's own market, not a trial's sampled episode length or penalties), write
    ``search_trials.csv`` (searched values, last training metrics, selection score) and ``selection.json``;
    returns ``res`` with the selected trial's checkpoint as the best checkpoint."""
    import dataclasses

    from almm_rllib.results.io import write_text

    exp_path = pathlib.Path(res.experiment_path)
    table = trials_table(exp.spec, results)
    env_cfg = exp.env_config.replace(info_level="full", seed=None)
    best, table = select_best(exp.spec, env_cfg, table, out_dir=exp_path, workers=workers)
    write_text(table.to_csv(index=False), exp_path / "search_trials.csv")
    shown = [c for c in table.columns if c not in ("checkpoint", "error")]
    print(
        f"search trials ({exp_path / 'search_trials.csv'}):\n{table[shown].to_string(index=False)}",
        flush=True,
    )
    row = table[table["checkpoint"] == best].iloc[0]
    return dataclasses.replace(
        res,
        best_checkpoint=best,
        last_checkpoint=best,
        trial_path=str(pathlib.Path(best).parent),
        metrics={**res.metrics, "selection/trial": str(row["trial"])},
    )


__all__ = [
    "DEFAULT_METRIC",
    "MIN_SELECTION_SEED",
    "SELECTION_SEED",
    "search_metric",
    "select_best",
    "selection_seeds",
    "trials_table",
    "tuner_parts",
    "validate_tune",
]
