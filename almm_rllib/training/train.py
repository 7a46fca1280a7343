"""Build a PPOConfig from an experiment and run it with Tune, on an embedded local Ray or an existing cluster."""

from __future__ import annotations

import functools
import os
import pathlib
import time
from dataclasses import dataclass

from almm_rllib.core.agent_schema import RLLIB_ENV, agent_ids
from almm_rllib.training.experiment import BUILDER_SECTIONS, Experiment

DEFAULT_STORAGE = "results/tune"
#: How RLlib vectorises ``almm_mm`` unless an experiment says otherwise: the env creator returns the native
#: ``MarketMakingVectorEnv`` (gymnasium.VectorizeMode.VECTOR_ENTRY_POINT).
VECTORIZE_MODE = "vector_entry_point"
#: Torch intra-op threads unless an experiment's ``torch_threads`` says otherwise (set by the callbacks in the
#: algorithm process, where the local learner trains, and in each EnvRunner). One each: with other work on a
#: 2-core machine, two learner threads were measured 4-10x slower per update than one (issue 13).
TORCH_THREADS = {"learner": 1, "env_runner": 1}

#: The seed's network: Dense(256)-ReLU-Dense(256)-ReLU-Dense(128)-ReLU shared by the policy and value heads.
SEED_MODEL = {
    "fcnet_hiddens": [256, 256, 128],
    "fcnet_activation": "relu",
    "vf_share_layers": True,
    "head_fcnet_hiddens": [],
}


def _map_shared(agent_id, episode=None, *, policy, baselines, **kwargs):
    return baselines.get(agent_id, policy)


def _map_per_agent(agent_id, episode=None, *, baselines, **kwargs):
    return baselines.get(agent_id, agent_id)


def build_config(exp: Experiment):
    """The algorithm's config (PPOConfig, SACConfig) of an experiment, built through the builder methods."""
    from almm_rllib.env.rllib_env import register_rllib_envs
    from almm_rllib.training.algorithms import algorithm_name, config_class
    from almm_rllib.training.callbacks import make_callbacks

    register_rllib_envs()  # again on every build: Tune's registry is lost with a ray.shutdown()
    spec = exp.spec
    algo_cls = config_class(algorithm_name(spec))
    cfg = algo_cls()
    env_section = dict(spec.get("environment", {}))
    env_name = env_section.pop("env", RLLIB_ENV)
    env_cfg = exp.env_config
    if "info_level" not in env_section.get("env_config", {}):
        env_cfg = env_cfg.replace(info_level="episode")  # training needs only the episode summaries
    if exp.curriculum:
        env_cfg = env_cfg.replace(phase=exp.curriculum[0][0])
    if spec.get("seed") is not None and env_cfg.seed is None:
        env_cfg = env_cfg.replace(seed=int(spec["seed"]))
    env_section.pop("env_config", None)
    cfg.environment(env=env_name, env_config=env_cfg.to_dict(), **env_section)

    for section in BUILDER_SECTIONS[1:]:
        if section not in spec or section in ("multi_agent", "callbacks"):
            continue
        kwargs = dict(spec[section])
        if section == "training":
            lr = kwargs.get("lr")
            if isinstance(lr, dict):
                total = float(spec["stop"]["num_env_steps_sampled_lifetime"])
                kwargs["lr"] = [[0, float(lr["linear_decay_from"])], [int(total), 0.0]]
        if section == "rl_module" and "model_config" in kwargs and algorithm_name(spec) == "PPO":
            mc = dict(kwargs["model_config"])
            mc.setdefault("vf_share_layers", True)  # explicit: RLlib's defaults disagree (see the notes)
            kwargs["model_config"] = mc
        if section == "evaluation" and isinstance(kwargs.get("evaluation_config"), dict):
            kwargs["evaluation_config"] = algo_cls.overrides(**kwargs["evaluation_config"])
        getattr(cfg, section)(**kwargs)
    if "rl_module" not in spec:
        cfg.rl_module(model_config=dict(SEED_MODEL))
    if spec.get("warm_start"):
        _warm_start(cfg, spec, exp.env_config)
    simulated = getattr(env_cfg.market, "model", None) != "replay"
    if env_name == RLLIB_ENV and simulated and "gym_env_vectorize_mode" not in spec.get("env_runners", {}):
        # the native vector env (env.vector_env): every runner's markets step in one compiled call
        # (simulated markets only; a replay market keeps RLlib's default per-env vectorisation)
        cfg.env_runners(gym_env_vectorize_mode=VECTORIZE_MODE)

    if spec.get("multi_agent"):
        _multi_agent(cfg, spec, env_cfg)
    cfg.callbacks(make_callbacks(exp.curriculum, torch_threads=torch_threads(exp)))
    if spec.get("callbacks"):
        cfg.callbacks(**{k: v for k, v in spec["callbacks"].items() if k != "callbacks_class"})
    if spec.get("seed") is not None:
        cfg.debugging(seed=int(spec["seed"]))
    return cfg


def _model_config(spec: dict) -> dict:
    """The learning modules' model config: the experiment's ``rl_module.model_config`` (the seed's network when
    absent) with ``vf_share_layers`` explicit."""
    mc = dict((spec.get("rl_module") or {}).get("model_config") or SEED_MODEL)
    mc.setdefault("vf_share_layers", True)
    return mc


def _warm_start(cfg, spec: dict, env_cfg) -> None:
    """Start the policy from a baseline cloned into it (``warm_start``, :mod:`almm_rllib.training.warm_start`)."""
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    from almm_rllib.training.warm_start import warm_start_state

    mc = _model_config(spec)
    seed = int(spec.get("seed") or 0)
    path = warm_start_state(dict(spec["warm_start"]), env_cfg, mc, seed=seed)
    cfg.rl_module(rl_module_spec=RLModuleSpec(model_config=mc, load_state_path=path))


def torch_threads(exp: Experiment) -> dict:
    """``{"learner": n, "env_runner": m}``: the experiment's ``torch_threads`` over :data:`TORCH_THREADS`."""
    return {**TORCH_THREADS, **(exp.spec.get("torch_threads") or {})}


def learner_threads(exp: Experiment) -> int:
    return int(torch_threads(exp)["learner"])


def _multi_agent(cfg, spec: dict, env_cfg) -> None:
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    ma = dict(spec["multi_agent"])
    baselines = {str(k): str(v) for k, v in (ma.pop("baselines", None) or {}).items()}
    shared = bool(ma.pop("shared", True))
    ma.pop("learning_agents", None)
    agents = agent_ids(env_cfg.n_agents)
    learners = [a for a in agents if a not in baselines]
    baseline_ids = {a: f"baseline_{a}" for a in baselines}
    if shared:
        policy = (ma.pop("policies", None) or ["shared"])[0]
        learning = [policy]
        mapping = functools.partial(_map_shared, policy=policy, baselines=baseline_ids)
    else:
        ma.pop("policies", None)
        learning = learners
        mapping = functools.partial(_map_per_agent, baselines=baseline_ids)
    specs = {}
    model_config = _model_config(spec)
    for pid in learning:
        specs[pid] = RLModuleSpec(model_config=model_config)
    if baselines:
        from almm_rllib.training.baseline_module import baseline_module_spec

        for agent, strat in baselines.items():
            specs[baseline_ids[agent]] = baseline_module_spec(strat, env_cfg)
    cfg.multi_agent(
        policies=set(specs),
        policy_mapping_fn=mapping,
        policies_to_train=learning,
        **ma,
    )
    cfg.rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs=specs))


#: The experiment as run, saved beside Tune's state in ``<storage>/<name>/`` (what ``--resume`` continues).
EXPERIMENT_FILE = "experiment.yaml"


class TrainingInterrupted(KeyboardInterrupt):
    """Training was stopped by Ctrl-C; Tune saved the experiment state under ``experiment_path``."""

    def __init__(self, experiment_path: str) -> None:
        self.experiment_path = experiment_path
        super().__init__(f"training interrupted; its state is saved in {experiment_path}")


class ResumeError(ValueError):
    """``--resume`` cannot do what it was asked: nothing saved, or values other than the saved ones."""


def _write_text_atomic(path: pathlib.Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _diff(a, b, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested mappings."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for k in list(a) + [k for k in b if k not in a]:
            out += _diff(a.get(k), b.get(k), f"{prefix}.{k}" if prefix else str(k))
        return out
    return [] if a == b else [prefix]


def resume_experiment(exp: Experiment, exp_path: str) -> Experiment:
    """The experiment to continue at ``exp_path``: the saved ``experiment.yaml``, checked against ``exp``.

    Tune restores a run with the stop criteria and configuration it was started with; a different value in
    ``exp`` (a new ``--set stop...``, an edited YAML) would be silently ignored, so it is refused, naming the
    keys. Raises :class:`ResumeError` when nothing can be resumed at ``exp_path``.
    """
    from ray import tune

    from almm_rllib.training.experiment import load_experiment

    if not tune.Tuner.can_restore(exp_path):
        raise ResumeError(
            f"--resume: nothing to resume at {exp_path} (no saved Tune experiment there); "
            "run without --resume to start it"
        )
    saved_file = pathlib.Path(exp_path) / EXPERIMENT_FILE
    if "://" in exp_path or not saved_file.is_file():
        return exp  # a run saved before experiment.yaml was written first: nothing to compare with
    saved = load_experiment(saved_file)
    diff = _diff(exp.spec, saved.spec)
    if diff:
        shown = ", ".join(
            f"{k} (saved {_get(saved.spec, k)!r}, given {_get(exp.spec, k)!r})" for k in diff[:5]
        )
        raise ResumeError(
            f"--resume continues {exp_path} with its saved settings ({saved_file}); these differ and would be "
            f"ignored: {shown}. Drop those --set options, or start a new experiment under another name "
            "(--set name=...)"
        )
    return saved


def _get(spec: dict, dotted: str):
    node = spec
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


class _SigintWatch:
    """Notes whether Tune's own SIGINT handler ran during ``tuner.fit()``.

    Tune installs a handler for the first Ctrl-C (stop the run, save the experiment state for a resume) and
    puts back the handler it found when that one fires; this installs a marker handler first, so after the
    fit the marker being in place again means the run was interrupted. A second Ctrl-C reaches the marker,
    which raises KeyboardInterrupt (abort at once, as Tune documents)."""

    def __init__(self) -> None:
        self.interrupted = False
        self._previous = None
        self._handler = self._marker  # one bound method, compared by identity after the fit

    def _marker(self, signum, frame):
        raise KeyboardInterrupt

    def __enter__(self) -> _SigintWatch:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self._previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        import signal

        if self._previous is None:
            return
        self.interrupted = signal.getsignal(signal.SIGINT) is self._handler
        signal.signal(signal.SIGINT, self._previous)


def _incomplete(results) -> bool:
    """True when a trial of the fit neither finished nor errored (the run was stopped from outside)."""
    try:
        trials = results._experiment_analysis.trials
    except AttributeError:
        return False
    return any(getattr(t, "status", "TERMINATED") not in ("TERMINATED", "ERROR") for t in trials)


@dataclass
class TrainResult:
    experiment_path: str
    trial_path: str | None
    best_checkpoint: str | None
    last_checkpoint: str | None
    metrics: dict
    wall_s: float


def _init_ray(address: str | None, num_cpus: int | None):
    import ray

    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, log_to_driver=True)
    else:
        ray.init(num_cpus=num_cpus or os.cpu_count() or 2, include_dashboard=False, log_to_driver=False)
    return True


def run_experiment(
    exp: Experiment,
    *,
    resume: bool = False,
    address: str | None = None,
    storage: str | None = None,
    num_cpus: int | None = None,
    verbose: int = 1,
    progress_s: float | None = None,
) -> TrainResult:
    """Run ``exp`` with ``tune.Tuner`` (or continue it with ``resume``); returns where things landed.

    ``resume``: continue the experiment saved under ``<storage>/<name>`` as it was saved (its
    ``experiment.yaml``); :class:`ResumeError` when there is nothing to resume there or when ``exp`` asks for
    other values than the saved ones (Tune restores the saved stop criteria and configuration and would
    silently ignore new ones). ``progress_s``: print a progress line every that many seconds
    (:class:`~almm_rllib.training.progress.ProgressLines`); None prints none. A Ctrl-C during the run stops it
    the way Tune does (the experiment state is saved for ``resume``) and raises :class:`TrainingInterrupted`.
    """
    import ray

    spec = exp.spec
    storage = storage or spec.get("storage") or DEFAULT_STORAGE
    local = "://" not in storage
    if local:
        storage = str(pathlib.Path(storage).expanduser().resolve())
    exp_path = f"{storage.rstrip('/')}/{exp.name}"
    if resume:
        exp = resume_experiment(exp, exp_path)
        spec = exp.spec
    if local:
        pathlib.Path(storage).mkdir(parents=True, exist_ok=True)
    started = _init_ray(address, num_cpus)
    t0 = time.perf_counter()
    try:
        config = build_config(exp)
        tuner = _tuner(exp, config, storage, exp_path, resume=resume, verbose=verbose, progress_s=progress_s)
        if local and not resume:
            pathlib.Path(exp_path).mkdir(parents=True, exist_ok=True)
            _write_text_atomic(pathlib.Path(exp_path) / EXPERIMENT_FILE, exp.to_yaml())
        with _SigintWatch() as watch:
            results = tuner.fit()
        if watch.interrupted or _incomplete(results):
            raise TrainingInterrupted(exp_path)
        errors = [r.error for r in results if r.error]
        if errors and len(errors) == len(results):
            raise RuntimeError(f"every trial of {exp.name} failed; first error: {errors[0]}")
        res = _train_result(results, exp_path, *_score_of(exp), wall_s=time.perf_counter() - t0)
        if "tune" in spec and "://" not in storage:
            from almm_rllib.training.search import finish_search

            res = finish_search(exp, results, res)
        return res
    finally:
        if started:
            ray.shutdown()


def _score_of(exp: Experiment) -> tuple[str, str]:
    """The metric that ranks checkpoints and trials, and ``"max"`` or ``"min"``."""
    if "tune" in exp.spec:
        from almm_rllib.training.search import search_metric

        return search_metric(exp.spec)
    ck = exp.spec.get("checkpoint") or {}
    return ck.get("score_attribute", "env_runners/episode_return_mean"), ck.get("score_order", "max")


def _tuner(
    exp: Experiment, config, storage: str, exp_path: str, *, resume: bool, verbose: int, progress_s=None
):
    """A new ``tune.Tuner`` for ``exp``, or the one restored from ``exp_path`` when resuming (checked by
    :func:`resume_experiment`). Tune's progress.csv logger is replaced by one whose resumed rows keep the
    file's header, and ``progress_s`` adds a progress line every that many seconds."""
    from ray import tune

    from almm_rllib.training.algorithms import algorithm_name
    from almm_rllib.training.progress import ProgressLines, ResumableCSVLogger

    spec = exp.spec
    trainable = algorithm_name(spec)
    tune_kwargs = {"num_samples": int(spec.get("num_samples", 1))}
    if "tune" in spec:
        from almm_rllib.training.search import tuner_parts

        config, tune_kwargs = tuner_parts(spec, config)  # the same param space when resuming
    if resume:  # resume_experiment checked there is something to restore
        return tune.Tuner.restore(exp_path, trainable=trainable, resume_errored=True, param_space=config)
    ck = spec.get("checkpoint") or {}
    score, order = _score_of(exp)
    run_config = tune.RunConfig(
        name=exp.name,
        storage_path=storage,
        stop=exp.stop,
        checkpoint_config=tune.CheckpointConfig(
            checkpoint_frequency=int(ck.get("frequency", 0)),
            checkpoint_at_end=bool(ck.get("at_end", True)),
            num_to_keep=ck.get("num_to_keep"),
            checkpoint_score_attribute=score,
            checkpoint_score_order=order,
        ),
        failure_config=tune.FailureConfig(max_failures=int(spec.get("max_failures", 0))),
        verbose=verbose,
        callbacks=[
            ResumableCSVLogger(),
            *([ProgressLines(exp.stop, interval_s=progress_s)] if progress_s else []),
        ],
    )
    return tune.Tuner(
        trainable, param_space=config, tune_config=tune.TuneConfig(**tune_kwargs), run_config=run_config
    )


def _train_result(results, exp_path: str, score: str, order: str, *, wall_s: float) -> TrainResult:
    """Where the best trial (by ``score``, ``order``) and its best and last checkpoints landed."""
    from ray.tune.utils import flatten_dict

    try:
        best = results.get_best_result(metric=score, mode=order, scope="all")
    except (RuntimeError, ValueError, KeyError):
        best = results[0]
    best_ck = None
    if best.best_checkpoints:
        best_ck = max(
            best.best_checkpoints,
            key=lambda c: (
                c[1].get(score, float("-inf")) if order == "max" else -c[1].get(score, float("inf"))
            ),
        )[0].path
    last_ck = best.checkpoint.path if best.checkpoint else None
    flat = flatten_dict(dict(best.metrics or {}), delimiter="/")
    metrics = {k: v for k, v in flat.items() if isinstance(v, int | float | str)}
    return TrainResult(
        experiment_path=exp_path,
        trial_path=str(best.path) if best.path else None,
        best_checkpoint=best_ck or last_ck,
        last_checkpoint=last_ck,
        metrics=metrics,
        wall_s=wall_s,
    )


def summary_text(res: TrainResult) -> str:
    keys = (
        "training_iteration",
        "num_env_steps_sampled_lifetime",
        "env_runners/episode_return_mean",
        "env_runners/mm/pnl",
        "env_runners/mm/sharpe",
        "curriculum/phase",
        "selection/trial",
    )
    lines = [f"experiment : {res.experiment_path}", f"wall time  : {res.wall_s:.1f} s"]
    for k in keys:
        if k in res.metrics:
            lines.append(f"{k:<34}: {res.metrics[k]}")
    lines.append(f"best checkpoint: {res.best_checkpoint}")
    return "\n".join(lines)


__all__ = [
    "EXPERIMENT_FILE",
    "ResumeError",
    "SEED_MODEL",
    "TORCH_THREADS",
    "TrainResult",
    "TrainingInterrupted",
    "VECTORIZE_MODE",
    "build_config",
    "learner_threads",
    "resume_experiment",
    "run_experiment",
    "summary_text",
    "torch_threads",
]
