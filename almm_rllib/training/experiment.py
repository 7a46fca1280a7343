"""Experiment YAMLs: schema, loading with ``--set`` overrides, validation, and building the ``PPOConfig``.

Schema (every key optional unless marked; unknown keys are refused with the key path and the file)::

    name: ppo_local                  # required: the Tune experiment name (folder under the storage path)
    algorithm: PPO                   # PPO (default) or SAC, both on RLlib's new stack (training/algorithms.py)
    description: "..."               # free text
    seed: 0                          # seeds RLlib (config.debugging(seed=...)) and the env's episode seeds
    storage: results/tune            # Tune storage path (relative = to the current directory) or a URI
    stop:                            # Tune stop criteria: "/"-joined result keys -> thresholds
      num_env_steps_sampled_lifetime: 60000
    checkpoint:                      # tune.CheckpointConfig
      frequency: 5                   #   every N iterations (0 = only at the end)
      at_end: true
      num_to_keep: 3                 #   best kept, by score_attribute
      score_attribute: env_runners/episode_return_mean
      score_order: max
    max_failures: 2                  # trial restarts from the last checkpoint after a crash
    torch_threads: {learner: 1, env_runner: 1}   # torch intra-op threads of the learner (algorithm process)
                                     #   and of each EnvRunner (defaults: train.TORCH_THREADS)
    curriculum:                      # phases by sampled env steps; see callbacks.Curriculum
      - {phase: low_volatility, until: 250000}
      - {phase: medium_volatility, until: 500000}
      - {phase: high_volatility, until: 1000000}
      - {phase: regime_switching}
    multi_agent:                     # AlgorithmConfig.multi_agent(...) plus the project's shorthands
      policies: [learner]            #   module ids
      shared: true                   #   true: every learning agent maps to the first policy
      baselines: {mm_2: avellaneda_stoikov}   # agents driven by a non-trainable baseline module
    # sections named after AlgorithmConfig builder methods; their keys are that method's arguments:
    environment: {env: almm_mm, env_config: {...EnvConfig fields...}}
    env_runners: {num_env_runners: 1, num_envs_per_env_runner: 2}
    learners: {num_learners: 0, num_gpus_per_learner: 0}
    training: {lr: {linear_decay_from: 3.0e-4}, clip_param: 0.2, ...}
    rl_module: {model_config: {fcnet_hiddens: [256, 256, 128], fcnet_activation: relu, vf_share_layers: true}}
    evaluation: {evaluation_interval: 5, evaluation_duration: 10, evaluation_config: {explore: false}}
    fault_tolerance: {restart_failed_env_runners: true}
    resources / debugging / reporting / framework / callbacks: passed to the builder of the same name
    tune:                            # hyper-parameter search (schedulers, searchers, spaces): training/search.py

Project shorthands inside the builder sections:

* ``training.lr: {linear_decay_from: X}`` -> ``[[0, X], [T, 0.0]]`` with T = ``stop.num_env_steps_sampled_lifetime``
  (RLlib's piecewise-linear schedule over sampled env steps: linear decay to zero over the run).
* ``environment.env_config`` is validated as an :class:`~almm_rllib.env.EnvConfig` (errors name the key).

Network (the seed's Dense(256)-ReLU-Dense(256)-ReLU-Dense(128)-ReLU shared by a 4-D policy head and a 1-D
value head) maps onto RLlib's ``DefaultModelConfig`` as ``fcnet_hiddens=[256, 256, 128]``,
``fcnet_activation="relu"``, ``vf_share_layers=True``, ``head_fcnet_hiddens=[]``: one shared encoder, a
``pi`` head Linear(128 -> 8) (mean and log-std of a diagonal Gaussian over the 4 action dimensions) and a
``vf`` head Linear(128 -> 1).
"""

from __future__ import annotations

import inspect
import pathlib
from dataclasses import dataclass, field
from typing import Any

import yaml

from almm_rllib.core.agent_schema import RLLIB_ENV, RLLIB_ENV_MULTI, RLLIB_ENV_NAMES, agent_ids, check_phase
from almm_rllib.core.config import ConfigError
from almm_rllib.env import overrides as _overrides
from almm_rllib.env.config import EnvConfig

#: AlgorithmConfig builder methods an experiment may configure, in the order they are applied.
BUILDER_SECTIONS = (
    "environment",
    "env_runners",
    "learners",
    "training",
    "rl_module",
    "evaluation",
    "multi_agent",
    "fault_tolerance",
    "resources",
    "debugging",
    "reporting",
    "framework",
    "callbacks",
)
TOP_KEYS = {
    "name",
    "algorithm",
    "description",
    "seed",
    "storage",
    "stop",
    "checkpoint",
    "max_failures",
    "curriculum",
    "num_samples",
    "tune",
    "torch_threads",
    "warm_start",
    *BUILDER_SECTIONS,
}
CHECKPOINT_KEYS = {"frequency", "at_end", "num_to_keep", "score_attribute", "score_order"}
MULTI_AGENT_EXTRA = {"shared", "baselines", "learning_agents"}
ENV_NAMES = RLLIB_ENV_NAMES


class ExperimentError(ConfigError):
    """An experiment file that cannot work; the message names the key and the file."""


@dataclass
class Experiment:
    """A validated experiment: the raw (override-applied) mapping plus where it came from."""

    spec: dict
    source: str
    overrides: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec["name"]

    @property
    def env_config(self) -> EnvConfig:
        env = self.spec.get("environment", {})
        return EnvConfig.from_dict(
            env.get("env_config", {}), source=self.source, prefix="environment.env_config"
        )

    @property
    def curriculum(self) -> list[tuple[str, float]]:
        """[(phase, until_steps)], the last phase open-ended (until = inf)."""
        out = []
        for item in self.spec.get("curriculum") or []:
            out.append((item["phase"], float(item.get("until", float("inf")))))
        return out

    @property
    def stop(self) -> dict:
        return dict(self.spec.get("stop") or {})

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.spec, sort_keys=False)


def _err(source: str, key: str, msg: str) -> ExperimentError:
    return ExperimentError(key, msg, source)


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b.c=value`` -> (["a", "b", "c"], value); values as every ``--set`` reads them
    (:func:`almm_rllib.env.overrides.parse_value`: YAML 1.2 numbers, NaN/inf refused)."""
    return _overrides.parse_override(text, where="--set")


def apply_overrides(spec: dict, overrides: list[str]) -> dict:
    return _overrides.apply_overrides(spec, overrides, where="--set")


def load_experiment(path: str | pathlib.Path, overrides: list[str] | None = None) -> Experiment:
    """Read, apply ``--set`` overrides, validate. Errors name the key and the file."""
    path = pathlib.Path(path)
    source = str(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ExperimentError("", f"experiment file not found: {path}") from None
    except OSError as e:
        raise ExperimentError("", f"cannot read {path}: {e}") from None
    spec = _overrides.load_yaml(text, where=source)
    if not isinstance(spec, dict):
        raise _err(source, "", "must be a YAML mapping at the top level")
    spec = apply_overrides(spec, overrides or [])
    validate(spec, source)
    return Experiment(spec=spec, source=source, overrides=list(overrides or []))


def _validate_warm_start(spec: dict, source: str) -> None:
    """``warm_start: {strategy, steps, epochs, std, lr}`` (``training/warm_start.py``): PPO, single agent."""
    if spec.get("warm_start") is None:
        return
    from almm_rllib.training.algorithms import algorithm_name
    from almm_rllib.training.warm_start import WARM_START_KEYS

    ws = spec["warm_start"]
    if not isinstance(ws, dict) or "strategy" not in ws:
        raise _err(source, "warm_start", f"must be a mapping with a 'strategy' (a baseline), got {ws!r}")
    for k in ws:
        if k not in WARM_START_KEYS:
            raise _err(
                source, f"warm_start.{k}", f"is not a known key (known: {', '.join(sorted(WARM_START_KEYS))})"
            )
    from almm_rllib.evaluation.policies import parse_policy_spec

    try:
        kind = parse_policy_spec(str(ws["strategy"])).kind
    except ValueError as e:
        raise _err(source, "warm_start.strategy", str(e)) from None
    if kind != "baseline":
        raise _err(source, "warm_start.strategy", f"must be a baseline strategy, got {ws['strategy']!r}")
    for k in ("steps", "epochs"):
        if k in ws:
            _check_number(source, f"warm_start.{k}", ws[k], lo=1, integer=True)
    for k in ("std", "lr"):
        if k in ws:
            _check_number(source, f"warm_start.{k}", ws[k], positive=True)
    if algorithm_name(spec) != "PPO" or spec.get("multi_agent"):
        raise _err(source, "warm_start", "is for single-agent PPO experiments")


def _builder_params(section: str, algorithm: str = "PPO") -> set[str]:
    """Arguments of ``<Algo>Config.<section>()``, including those it forwards to its base classes."""
    from almm_rllib.training.algorithms import config_class

    names: set[str] = set()
    for klass in config_class(algorithm).__mro__:
        fn = klass.__dict__.get(section)
        if fn is None:
            continue
        for n, p in inspect.signature(fn).parameters.items():
            if n != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                names.add(n)
    return names


def _check_number(source, key, v, *, lo=None, integer=False, positive=False):
    ok = isinstance(v, int | float) and not isinstance(v, bool)
    if integer:
        ok = ok and float(v).is_integer()
    if not ok:
        raise _err(source, key, f"must be {'an integer' if integer else 'a number'}, got {v!r}")
    if positive and v <= 0:
        raise _err(source, key, f"must be > 0, got {v!r}")
    if lo is not None and v < lo:
        raise _err(source, key, f"must be >= {lo}, got {v!r}")


def validate(spec: dict, source: str) -> None:
    _overrides.check_finite(spec, where=source)  # NaN or inf in any number, anywhere
    for k in spec:
        if k not in TOP_KEYS:
            raise _err(source, str(k), f"is not a known key (known: {', '.join(sorted(TOP_KEYS))})")
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip() or "/" in name:
        raise _err(source, "name", f"is required: a non-empty string without '/', got {name!r}")
    from almm_rllib.training.algorithms import ALGORITHMS, algorithm_name

    if algorithm_name(spec) not in ALGORITHMS:
        raise _err(source, "algorithm", f"must be one of {', '.join(ALGORITHMS)}, got {spec['algorithm']!r}")
    if "seed" in spec and spec["seed"] is not None:
        _check_number(source, "seed", spec["seed"], lo=0, integer=True)
    if "storage" in spec and not isinstance(spec["storage"], str):
        raise _err(source, "storage", f"must be a path or URI string, got {spec['storage']!r}")
    if "max_failures" in spec:
        _check_number(source, "max_failures", spec["max_failures"], lo=-1, integer=True)
    if "num_samples" in spec:
        _check_number(source, "num_samples", spec["num_samples"], lo=1, integer=True)
    stop = spec.get("stop") or {}
    if not isinstance(stop, dict) or not stop:
        raise _err(source, "stop", "must be a non-empty mapping of result keys to thresholds")
    for k, v in stop.items():
        _check_stop_key(source, str(k))
        _check_number(source, f"stop.{k}", v)
    ck = spec.get("checkpoint") or {}
    if not isinstance(ck, dict):
        raise _err(source, "checkpoint", "must be a mapping")
    for k, v in ck.items():
        if k not in CHECKPOINT_KEYS:
            raise _err(
                source, f"checkpoint.{k}", f"is not a known key (known: {', '.join(sorted(CHECKPOINT_KEYS))})"
            )
        if k in ("frequency", "num_to_keep"):
            _check_number(source, f"checkpoint.{k}", v, lo=0 if k == "frequency" else 1, integer=True)
        if k == "score_order" and v not in ("max", "min"):
            raise _err(source, "checkpoint.score_order", f"must be 'max' or 'min', got {v!r}")
    _validate_curriculum(spec, source)
    _validate_warm_start(spec, source)
    _validate_torch_threads(spec, source)
    for section in BUILDER_SECTIONS:
        if section not in spec:
            continue
        body = spec[section]
        if not isinstance(body, dict):
            raise _err(
                source, section, f"must be a mapping of {section}() arguments, got {type(body).__name__}"
            )
        allowed = _builder_params(section, algorithm_name(spec))
        if section == "multi_agent":
            allowed |= MULTI_AGENT_EXTRA
        for k in body:
            if k not in allowed:
                raise _err(
                    source,
                    f"{section}.{k}",
                    f"is not an argument of AlgorithmConfig.{section}() for {algorithm_name(spec)} "
                    f"(known: {', '.join(sorted(allowed))})",
                )
    _validate_sections(spec, source)
    if "tune" in spec:
        from almm_rllib.training.search import validate_tune

        validate_tune(spec, source)


def _validate_torch_threads(spec: dict, source: str) -> None:
    tt = spec.get("torch_threads")
    if tt is None:
        return
    if not isinstance(tt, dict):
        raise _err(source, "torch_threads", "must be a mapping {learner: n, env_runner: n}")
    for k, v in tt.items():
        if k not in ("learner", "env_runner"):
            raise _err(source, f"torch_threads.{k}", "is not a known key (known: env_runner, learner)")
        _check_number(source, f"torch_threads.{k}", v, lo=1, integer=True)


def _validate_curriculum(spec: dict, source: str) -> None:
    cur = spec.get("curriculum")
    if cur is None:
        return
    if not isinstance(cur, list) or not cur:
        raise _err(source, "curriculum", "must be a non-empty list of {phase, until} items")
    prev = 0.0
    for i, item in enumerate(cur):
        key = f"curriculum[{i}]"
        if not isinstance(item, dict) or "phase" not in item:
            raise _err(source, key, "must be a mapping with a 'phase'")
        extra = set(item) - {"phase", "until"}
        if extra:
            raise _err(source, f"{key}.{sorted(extra)[0]}", "is not a known key (known: phase, until)")
        try:
            check_phase(item["phase"], key=f"{key}.phase")
        except ConfigError as e:
            raise _err(source, e.key, e.message) from None
        last = i == len(cur) - 1
        if "until" in item:
            _check_number(source, f"{key}.until", item["until"], positive=True)
            if item["until"] <= prev:
                raise _err(
                    source, f"{key}.until", f"must increase along the list, got {item['until']} after {prev}"
                )
            prev = item["until"]
        elif not last:
            raise _err(source, f"{key}.until", "is required for every phase but the last")


def _validate_sections(spec: dict, source: str) -> None:
    env = spec.get("environment", {})
    if "env" in env and env["env"] not in ENV_NAMES:
        raise _err(source, "environment.env", f"must be one of {', '.join(ENV_NAMES)}, got {env['env']!r}")
    env_cfg = EnvConfig.from_dict(env.get("env_config", {}), source=source, prefix="environment.env_config")
    multi = env.get("env", RLLIB_ENV) == RLLIB_ENV_MULTI
    if spec.get("multi_agent") and not multi:
        raise _err(source, "multi_agent", f"needs environment.env: {RLLIB_ENV_MULTI}")
    if multi:
        ids = agent_ids(env_cfg.n_agents)
        for aid, strat in (spec.get("multi_agent", {}).get("baselines") or {}).items():
            if aid not in ids:
                raise _err(
                    source, f"multi_agent.baselines.{aid}", f"is not an agent of the env ({', '.join(ids)})"
                )
            from almm_rllib.baselines import STRATEGIES

            known = set(STRATEGIES) | {"glft"}
            if str(strat).split(":")[0] not in known:
                raise _err(source, f"multi_agent.baselines.{aid}", f"unknown strategy {strat!r}")
    runners = spec.get("env_runners", {})
    for k in ("num_env_runners", "num_envs_per_env_runner"):
        if k in runners:
            _check_number(
                source, f"env_runners.{k}", runners[k], lo=0 if k == "num_env_runners" else 1, integer=True
            )
    tr = spec.get("training", {})
    lr = tr.get("lr")
    if isinstance(lr, dict):
        if set(lr) != {"linear_decay_from"}:
            raise _err(source, "training.lr", "as a mapping takes exactly one key: linear_decay_from")
        _check_number(source, "training.lr.linear_decay_from", lr["linear_decay_from"], positive=True)
        if "num_env_steps_sampled_lifetime" not in (spec.get("stop") or {}):
            raise _err(source, "training.lr", "linear_decay_from needs stop.num_env_steps_sampled_lifetime")
    elif isinstance(lr, list):
        _check_schedule(source, "training.lr", lr)
    elif lr is not None:
        _check_number(source, "training.lr", lr, positive=True)
    for k in ("train_batch_size_per_learner", "minibatch_size", "num_epochs"):
        if k in tr:
            _check_number(source, f"training.{k}", tr[k], integer=True, positive=True)
    if "minibatch_size" in tr and "train_batch_size_per_learner" in tr:
        if tr["minibatch_size"] > tr["train_batch_size_per_learner"]:
            raise _err(source, "training.minibatch_size", "must be <= training.train_batch_size_per_learner")
    for k in NONNEGATIVE_TRAINING:
        if tr.get(k) is not None:
            _check_number(source, f"training.{k}", tr[k], lo=0)
    if isinstance(tr.get("entropy_coeff"), list):
        _check_schedule(source, "training.entropy_coeff", tr["entropy_coeff"])
    elif tr.get("entropy_coeff") is not None:
        _check_number(source, "training.entropy_coeff", tr["entropy_coeff"], lo=0)
    for section in ("env_runners", "learners", "resources", "evaluation"):
        _check_resources(source, section, spec.get(section) or {})
    for k in ("clip_param", "lambda_", "gamma"):
        if k in tr:
            _check_number(source, f"training.{k}", tr[k], lo=0)
            if k in ("lambda_", "gamma") and tr[k] > 1:
                raise _err(source, f"training.{k}", f"must be in [0, 1], got {tr[k]}")


#: PPO coefficients that must be >= 0 (a negative one trains something else than PPO, or nothing).
NONNEGATIVE_TRAINING = ("vf_loss_coeff", "kl_coeff", "kl_target", "vf_clip_param", "grad_clip")

#: Result keys a ``stop`` mapping may name (Tune stops on ``"/"``-joined keys of the training result; a key the
#: result never holds would never stop the run). Read off the ``progress.csv`` of a run of this project.
STOP_KEYS = {
    "training_iteration",
    "iterations_since_restore",
    "time_total_s",
    "time_this_iter_s",
    "time_since_restore",
    "num_env_steps_sampled_lifetime",
    "num_training_step_calls_per_iteration",
    "curriculum/phase_index",
    "env_runners/episode_return_mean",
    "env_runners/episode_return_max",
    "env_runners/episode_return_min",
    "env_runners/episode_len_mean",
    "env_runners/episode_len_max",
    "env_runners/episode_len_min",
    "env_runners/episode_duration_sec_mean",
    "env_runners/num_episodes",
    "env_runners/num_episodes_lifetime",
    "env_runners/num_env_steps_sampled",
    "env_runners/num_env_steps_sampled_lifetime",
}


def _stop_keys() -> set[str]:
    from almm_rllib.training.callbacks import MM_METRICS  # imports ray: only when a stop key is unknown

    keys = set(STOP_KEYS) | {f"env_runners/mm/{m}" for m in MM_METRICS}
    keys |= {f"evaluation/{k}" for k in keys if k.startswith("env_runners/")}
    return keys


def _check_stop_key(source: str, key: str) -> None:
    if key in STOP_KEYS:
        return
    known = _stop_keys()
    if key not in known:
        import difflib

        close = difflib.get_close_matches(key, sorted(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise _err(
            source,
            f"stop.{key}",
            f"is not a result key the run reports, so it would never stop it{hint}; known: "
            + ", ".join(sorted(known)),
        )


def _check_schedule(source: str, key: str, sched: list) -> None:
    """RLlib's piecewise-linear schedule ``[[0, v0], [t1, v1], ...]``: steps from 0, increasing; values >= 0."""
    shape = "must be a schedule [[0, v0], [t1, v1], ...] starting at step 0, steps increasing, values >= 0"
    if not sched or any(not (isinstance(p, list | tuple) and len(p) == 2) for p in sched):
        raise _err(source, key, f"{shape}; got {sched!r}")
    prev = -1
    for i, (t, v) in enumerate(sched):
        _check_number(source, f"{key}[{i}][0]", t, lo=0, integer=True)
        _check_number(source, f"{key}[{i}][1]", v, lo=0)
        if (i == 0 and t != 0) or t <= prev:
            raise _err(source, key, f"{shape}; got step {t} at position {i}")
        prev = t


def _check_resources(source: str, section: str, body: dict) -> None:
    """Resource amounts (``num_*`` counts, ``*_per_*`` shares, custom resource maps) must be >= 0: a negative
    one leaves the trial pending forever."""
    for k, v in body.items():
        if k.startswith("custom_resources") and isinstance(v, dict):
            for name, amount in v.items():
                _check_number(source, f"{section}.{k}.{name}", amount, lo=0)
        elif ("num_" in k or "_per_" in k) and v is not None and not isinstance(v, str | dict | list):
            _check_number(source, f"{section}.{k}", v, lo=0)
