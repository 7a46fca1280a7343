"""Policy specs and the policies the evaluation runner drives: baselines by name, RL checkpoints by path.

A **policy spec** is a string:

* a baseline name from :data:`almm_rllib.baselines.STRATEGIES` (or an alias such as ``glft``), optionally with
  parameters: ``avellaneda_stoikov:gamma=0.01,k=2``. Values are read as YAML scalars (``1`` int, ``0.5`` float,
  ``true`` bool, ``null`` None). A baseline runs with the calibrated defaults of the env's market
  (:func:`almm_rllib.baselines.default_params`: fitted on the default order-book market, none for the stylized
  one, which keeps the paper's) and the spec's parameters override them one by one;
* or the path of an RLlib checkpoint folder: a Tune ``checkpoint_00000N`` folder or an
  ``Algorithm.save_to_path`` folder (both hold ``learner_group/learner/rl_module/<module_id>/``). A spec with a
  ``/`` is always a path (``./glft`` for a folder that happens to share a baseline's name).

Checkpoints: only the RLModule is loaded (``RLModule.from_checkpoint``), never an Algorithm, and it acts
deterministically exactly as RLlib's EnvRunner does with ``explore=False`` (``GetActions`` ->
``NormalizeAndClipActions``):

1. observation filter: if the checkpoint's env-to-module pipeline holds a ``MeanStdFilter``, its saved running
   mean and std are applied (frozen: ``update=False``); otherwise the observation goes in as the env returns it
   (RLlib's default pipeline has no filter). Any other observation-changing connector is refused with an error
   naming it, rather than silently evaluating a different policy;
2. ``forward_inference`` -> ``action_dist_inputs``; for the default diagonal Gaussian (PPO) the deterministic
   action is its mean, the first half of the inputs; for SAC's tanh-squashed Gaussian it is ``tanh(mean)``, the
   squashed mean in [-1, 1] (RLlib's own ``TorchSquashedGaussian.to_deterministic()`` returns the *unsquashed*
   mean, which its connector then clips: a different, cruder action than the one the actor was trained for);
   other distribution classes: ``from_logits(...).to_deterministic()``;
3. with ``normalize_actions=True`` (PPO's default, read from the checkpoint's module-to-env pipeline) the action is
   mapped from RLlib's normalized space to the env's Box: ``low + (a + 1) * (high - low) / 2``, then clipped to
   ``[low, high]``; with only ``clip_actions=True`` it is clipped; otherwise it is passed as is (the env clips).

ray and torch are imported only when a checkpoint is loaded.
"""

from __future__ import annotations

import abc
import dataclasses
import os
import pickle
import re
from pathlib import Path
from typing import Any

import numpy as np

from almm_rllib.baselines import (
    STRATEGIES,
    MarketView,
    Strategy,
    default_params,
    make_strategy,
    strategy_class,
)
from almm_rllib.core.agent_schema import agent_id
from almm_rllib.core.market_config import MarketConfig
from almm_rllib.env.config import EnvConfig
from almm_rllib.env.replay_config import ReplayMarketConfig

#: Module id of a single-agent checkpoint.
DEFAULT_MODULE_ID = "default_policy"
AGENT_0 = agent_id(0)  #: the agent a checkpoint policy acts for by default
#: Where an RLModule lives inside an algorithm checkpoint.
RL_MODULE_DIR = ("learner_group", "learner", "rl_module")
ENV_TO_MODULE_DIR = ("env_runner", "env_to_module_connector")
MODULE_TO_ENV_DIR = ("env_runner", "module_to_env_connector")
#: RLlib's default connector pieces: they batch, convert and route data but do not change its values.
_NEUTRAL_ENV_TO_MODULE = {
    "AddObservationsFromEpisodesToBatch",
    "AddTimeDimToBatchAndZeroPad",
    "AddStatesFromEpisodesToBatch",
    "AgentToModuleMapping",
    "BatchIndividualItems",
    "NumpyToTensor",
}
_NEUTRAL_MODULE_TO_ENV = {
    "GetActions",
    "TensorToNumpy",
    "UnBatchToIndividualItems",
    "ModuleToAgentUnmapping",
    "RemoveSingleTsTimeRankFromBatch",
    "ListifyDataForVectorEnv",
}


class CheckpointError(ValueError):
    """An RL checkpoint cannot be used: the message names the file or folder and what is wrong."""

    def __init__(self, path: str | os.PathLike[str], why: str) -> None:
        self.path = os.fspath(path)
        self.why = why
        super().__init__(f"{self.path}: {why}")

    def __reduce__(self):  # picklable across worker processes
        return (type(self), (self.path, self.why))


# ------------------------------------------------------------------------------------------------------------
# Specs.


@dataclasses.dataclass(frozen=True)
class PolicySpec:
    """A parsed policy spec.

    Attributes:
        spec: the string as given.
        kind: ``"baseline"`` or ``"checkpoint"``.
        label: the name used in the results tables (``strategy`` column).
        strategy: the baseline's canonical name (baselines only).
        params: the baseline's parameters (baselines only).
        path: the checkpoint folder, absolute (checkpoints only).
        module_id: the RLModule to load (checkpoints only).
    """

    spec: str
    kind: str
    label: str
    strategy: str | None = None
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    path: str | None = None
    module_id: str = DEFAULT_MODULE_ID

    def with_label(self, label: str | None) -> PolicySpec:
        return self if not label else dataclasses.replace(self, label=str(label))

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description for ``config.json``."""
        out: dict[str, Any] = {"label": self.label, "spec": self.spec, "kind": self.kind}
        if self.kind == "baseline":
            out.update(strategy=self.strategy, params=dict(self.params))
        else:
            out.update(path=self.path, module_id=self.module_id)
        return out


def parse_params(text: str, *, where: str = "policy spec") -> dict[str, Any]:
    """``"a=1,b=x,c=5e-2"`` -> ``{"a": 1, "b": "x", "c": 0.05}`` (values as every override reads them:
    :func:`almm_rllib.env.overrides.parse_value`)."""
    from almm_rllib.env.overrides import parse_params as _parse

    return _parse(text, where=where)


def _is_baseline(name: str) -> bool:
    try:
        strategy_class(name)
    except ValueError:
        return False
    return True


def checkpoint_label(path: str | os.PathLike[str]) -> str:
    """A short, stable label for a checkpoint folder: ``<algo>:<folder name>``.

    ``<algo>`` is the lower-cased algorithm class recorded by RLlib in ``class_and_ctor_args.pkl`` when it can be
    read without importing anything (``ppo`` otherwise, the only algorithm the project trains). A Tune
    ``checkpoint_00000N`` folder is named after its trial folder too: ``ppo:<trial>/checkpoint_000003``.
    """
    p = Path(path).resolve()
    name = p.name
    if re.fullmatch(r"checkpoint_\d+", name) and p.parent.name:
        name = f"{p.parent.name}/{name}"
    return f"{_algo_name(p)}:{name}"


def _algo_name(path: Path) -> str:
    meta = path / "class_and_ctor_args.pkl"
    try:
        raw = meta.read_bytes()
    except OSError:
        return "ppo"
    # the pickle names the class as "<module>\n<Class>" or in a SHORT_BINUNICODE pair; search, do not unpickle
    m = re.search(rb"ray\.rllib\.algorithms\.(\w+)\.", raw)
    return m.group(1).decode() if m else "ppo"


def parse_policy_spec(spec: str, *, module_id: str = DEFAULT_MODULE_ID) -> PolicySpec:
    """Parse a policy spec (see the module docstring).

    Raises:
        ValueError: a spec that names no baseline and no existing folder, or malformed parameters.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"a policy spec must be a non-empty string, got {spec!r}")
    spec = spec.strip()
    name, sep, rest = spec.partition(":")
    if _is_baseline(name) and "/" not in spec and os.sep not in spec:
        cls = strategy_class(name)
        params = parse_params(rest, where=f"policy spec {spec!r}") if sep else {}
        cls.make_params(**params)  # refuse unknown or invalid parameters now, naming them
        label = cls.name if not params else f"{cls.name}:" + ",".join(f"{k}={v}" for k, v in params.items())
        return PolicySpec(spec=spec, kind="baseline", label=label, strategy=cls.name, params=params)
    path = Path(spec).expanduser()
    if path.exists() or os.sep in spec or spec.startswith("."):
        return PolicySpec(
            spec=spec,
            kind="checkpoint",
            label=checkpoint_label(path),
            path=str(path.resolve()),
            module_id=module_id,
        )
    known = ", ".join(sorted(STRATEGIES))
    raise ValueError(
        f"policy spec {spec!r} is neither a baseline ({known}, or an alias) nor an existing checkpoint folder"
    )


# ------------------------------------------------------------------------------------------------------------
# Policies.


class Policy(abc.ABC):
    """What the runner drives: one action (env units, shape ``(4,)``) per decision.

    ``needs_view`` tells the runner whether to build a :class:`MarketView` (baselines) or whether the
    observation alone is used (checkpoints).
    """

    label: str
    needs_view: bool = False

    def reset(self, seed: int | None) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Start an episode (``seed``: the episode's seed, used by randomised policies)."""

    @abc.abstractmethod
    def act(self, obs: np.ndarray, view: MarketView | None) -> np.ndarray:
        """The action for this observation (and market view, for policies with ``needs_view``)."""

    def describe(self) -> dict[str, Any]:
        return {"label": self.label}


class BaselinePolicy(Policy):
    """A hand-written strategy: acts on the :class:`MarketView` the runner builds from the env."""

    needs_view = True

    def __init__(self, strategy: Strategy, label: str | None = None) -> None:
        self.strategy = strategy
        self.label = label or strategy.name

    def reset(self, seed: int | None) -> None:
        self.strategy.reset(seed)

    def act(self, obs: np.ndarray, view: MarketView | None) -> np.ndarray:
        return self.strategy.act(view)

    def describe(self) -> dict[str, Any]:
        return {"label": self.label, "strategy": self.strategy.name, "params": repr(self.strategy.params)}


@dataclasses.dataclass(frozen=True)
class ObservationFilter:
    """RLlib's ``MeanStdFilter`` frozen at a checkpoint: ``clip((obs - mean) / (std + 1e-8), -clip, clip)``.

    Built from the saved state with RLlib's own ``MeanStdFilter`` class so that the arithmetic (de-mean, de-std,
    the ``1e-8`` guard, the clip) is RLlib's.
    """

    impl: Any
    agent_key: Any

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return np.asarray(self.impl(obs, update=False), dtype=np.float32)


def _rlmodule_dirs(rl_dir: Path) -> list[str]:
    try:
        return sorted(p.name for p in rl_dir.iterdir() if p.is_dir())
    except OSError:
        return []


def _read_pipeline(folder: Path) -> list[tuple[str, dict]] | None:
    """``[(connector class name, ctor kwargs), ...]`` of a saved connector pipeline; None when it was not saved."""
    f = folder / "class_and_ctor_args.pkl"
    if not f.is_file():
        return None
    try:
        with open(f, "rb") as fh:
            data = pickle.load(fh)
        pieces = data["ctor_args_and_kwargs"][1].get("connectors", [])
        return [(cls.__name__, dict(kw)) for cls, _args, kw in pieces]
    except Exception as e:
        raise CheckpointError(
            f, f"is not a readable RLlib connector pipeline ({type(e).__name__}: {e})"
        ) from e


def _load_obs_filter(ckpt: Path, module_id: str, agent_id: str) -> tuple[ObservationFilter | None, str]:
    folder = ckpt.joinpath(*ENV_TO_MODULE_DIR)
    pieces = _read_pipeline(folder)
    if pieces is None:
        return None, "none (the checkpoint holds no env-to-module pipeline)"
    names = [n for n, _ in pieces]
    unknown = [n for n in names if n not in _NEUTRAL_ENV_TO_MODULE and n != "MeanStdFilter"]
    if unknown:
        raise CheckpointError(
            folder,
            f"uses env-to-module connector(s) {unknown} that the evaluation runner cannot reproduce "
            "(it applies RLlib's default pipeline and MeanStdFilter only)",
        )
    if "MeanStdFilter" not in names:
        return None, "none (RLlib's default env-to-module pipeline)"
    if names.count("MeanStdFilter") > 1:
        raise CheckpointError(folder, "holds more than one MeanStdFilter")
    state_file = folder / "MeanStdFilter" / "state.pkl"
    try:
        with open(state_file, "rb") as fh:
            state = pickle.load(fh)
    except Exception as e:
        raise CheckpointError(
            state_file, f"MeanStdFilter state cannot be read ({type(e).__name__}: {e})"
        ) from e
    # single-agent filters are keyed None; multi-agent ones by agent id (try the module's id, then the agent's)
    found = [k for k in (None, module_id, agent_id) if k in state]
    if found:
        key = found[0]
    elif len(state) == 1:
        key = next(iter(state))
    else:
        raise CheckpointError(
            state_file,
            f"holds filters for {sorted(map(str, state))}, none for {module_id!r} or {agent_id!r}",
        )
    import tree
    from ray.rllib.utils.filter import MeanStdFilter, RunningStat

    s = state[key]
    impl = MeanStdFilter(
        s["shape"], demean=s["de_mean_to_zero"], destd=s["de_std_to_one"], clip=s["clip_by_value"]
    )
    impl.running_stats = tree.unflatten_as(
        impl.shape, [RunningStat.from_state(x) for x in s["running_stats"]]
    )
    n = int(tree.flatten(impl.running_stats)[0].n)
    return ObservationFilter(
        impl, key
    ), f"MeanStdFilter (frozen after {n} observations, clip {s['clip_by_value']})"


def _action_mode(ckpt: Path) -> tuple[bool, bool, str]:
    """``(normalize_actions, clip_actions, note)`` from the checkpoint's module-to-env pipeline."""
    folder = ckpt.joinpath(*MODULE_TO_ENV_DIR)
    pieces = _read_pipeline(folder)
    if pieces is None:
        return True, False, "normalize (PPO's default; the checkpoint holds no module-to-env pipeline)"
    unknown = [n for n, _ in pieces if n not in _NEUTRAL_MODULE_TO_ENV and n != "NormalizeAndClipActions"]
    if unknown:
        raise CheckpointError(
            folder, f"uses module-to-env connector(s) {unknown} that the evaluation runner cannot reproduce"
        )
    for name, kw in pieces:
        if name == "NormalizeAndClipActions":
            norm, clip = bool(kw.get("normalize_actions", True)), bool(kw.get("clip_actions", False))
            return norm, clip, "normalize" if norm else ("clip" if clip else "none")
    return False, False, "none (no NormalizeAndClipActions in the pipeline)"


def _box_text(low: np.ndarray, high: np.ndarray) -> str:
    return f"{[round(float(x), 4) for x in low]}..{[round(float(x), 4) for x in high]}"


class CheckpointPolicy(Policy):
    """An RLModule from an RLlib checkpoint, acting deterministically (see the module docstring)."""

    needs_view = False

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        module_id: str = DEFAULT_MODULE_ID,
        agent_id: str = AGENT_0,
        label: str | None = None,
    ) -> None:
        ckpt = Path(path)
        if not ckpt.exists():
            raise CheckpointError(ckpt, "checkpoint folder not found")
        if not ckpt.is_dir():
            raise CheckpointError(ckpt, "is not a folder (expected an RLlib checkpoint folder)")
        rl_dir = ckpt.joinpath(*RL_MODULE_DIR)
        mod_dir = rl_dir / module_id
        if not mod_dir.is_dir():
            found = _rlmodule_dirs(rl_dir)
            why = f"RLModule {module_id!r} not found in the checkpoint"
            raise CheckpointError(
                mod_dir, why + (f" (it holds {found})" if found else " (no learner_group state)")
            )
        self.path = str(ckpt.resolve())
        self.module_id = module_id
        self.label = label or checkpoint_label(ckpt)
        self.obs_filter, self.filter_note = _load_obs_filter(ckpt, module_id, agent_id)
        self.normalize_actions, self.clip_actions, self.action_note = _action_mode(ckpt)

        import torch
        from ray.rllib.core.columns import Columns
        from ray.rllib.core.distribution.torch.torch_distribution import (
            TorchDiagGaussian,
            TorchSquashedGaussian,
        )
        from ray.rllib.core.rl_module.rl_module import RLModule

        try:
            module = RLModule.from_checkpoint(str(mod_dir))
        except Exception as e:
            raise CheckpointError(
                mod_dir, f"cannot be loaded as an RLModule ({type(e).__name__}: {e})"
            ) from e
        module.eval()
        self.module = module
        self._torch = torch
        self._obs_key = Columns.OBS
        self._actions_key = Columns.ACTIONS
        self._dist_key = Columns.ACTION_DIST_INPUTS
        self._dist_cls = module.get_inference_action_dist_cls()
        self._gaussian = isinstance(self._dist_cls, type) and issubclass(self._dist_cls, TorchDiagGaussian)
        self._squashed = isinstance(self._dist_cls, type) and issubclass(
            self._dist_cls, TorchSquashedGaussian
        )
        space = module.action_space
        self.action_low = np.asarray(space.low, dtype=np.float32)
        self.action_high = np.asarray(space.high, dtype=np.float32)
        self.obs_shape = tuple(module.observation_space.shape)

    def check_env(self, env) -> None:
        """Refuse an env whose spaces are not the module's: another observation or action shape, or other action
        bounds (the module's actions are normalized to its training box: mapped to another box they would be
        other quotes, e.g. a checkpoint trained on one market preset run on a market of another price scale)."""
        if tuple(env.observation_space.shape) != self.obs_shape:
            raise CheckpointError(
                self.path,
                f"the module expects observations of shape {self.obs_shape}, the env gives "
                f"{tuple(env.observation_space.shape)}",
            )
        a = env.action_space
        if a.shape != self.action_low.shape:
            raise CheckpointError(
                self.path, f"the module acts in shape {self.action_low.shape}, the env expects {a.shape}"
            )
        low = np.asarray(a.low, dtype=np.float32)
        high = np.asarray(a.high, dtype=np.float32)
        if not (np.array_equal(low, self.action_low) and np.array_equal(high, self.action_high)):
            raise CheckpointError(
                self.path,
                f"the module was trained with the action box {_box_text(self.action_low, self.action_high)}, "
                f"the env's is {_box_text(low, high)}: its actions would be other quotes there. Evaluate on the "
                "training's box (env config min_offset_ticks, max_offset_ticks, max_size_lots; the offsets "
                "default to the market's typical_spread_ticks)",
            )

    def normalized_action(self, obs: np.ndarray) -> np.ndarray:
        """The module's deterministic action in its own (normalized) space for a batch ``[B, obs_dim]`` or one
        observation; the observation filter is applied first."""
        x = np.asarray(obs, dtype=np.float32)
        single = x.ndim == 1
        if single:
            x = x[None, :]
        if self.obs_filter is not None:
            x = np.stack([self.obs_filter(row) for row in x])
        torch = self._torch
        with torch.no_grad():
            out = self.module.forward_inference({self._obs_key: torch.from_numpy(np.ascontiguousarray(x))})
            if self._actions_key in out:
                act = out[self._actions_key]
            else:
                logits = out[self._dist_key]
                if self._gaussian:
                    act = logits[..., : logits.shape[-1] // 2]
                elif self._squashed:  # SAC: the squashed mean, in the distribution's default [-1, 1]
                    act = torch.tanh(logits[..., : logits.shape[-1] // 2])
                else:
                    act = self._dist_cls.from_logits(logits).to_deterministic().sample()
        a = act.detach().cpu().numpy().astype(np.float32)
        return a[0] if single else a

    def to_env(self, a: np.ndarray) -> np.ndarray:
        """RLlib's ``NormalizeAndClipActions`` for a Box: unsquash then clip, or clip only, or nothing."""
        lo, hi = self.action_low, self.action_high
        if self.normalize_actions and np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)):
            a = lo + (a + 1.0) * (hi - lo) / 2.0
            return np.clip(a, lo, hi)
        if self.clip_actions:
            return np.clip(a, lo, hi)
        return a

    def act(self, obs: np.ndarray, view: MarketView | None = None) -> np.ndarray:
        return self.to_env(self.normalized_action(obs))

    def describe(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "path": self.path,
            "module_id": self.module_id,
            "module_class": type(self.module).__name__,
            "observation_filter": self.filter_note,
            "action_mapping": self.action_note,
            "deterministic": "mean of the Gaussian"
            if self._gaussian
            else ("tanh of the squashed Gaussian's mean" if self._squashed else "to_deterministic()"),
        }


def baseline_params(spec: PolicySpec, env_config: EnvConfig | None = None) -> dict[str, Any]:
    """The parameters a baseline spec runs with in ``env_config``'s env (None: the default env): the calibrated
    defaults of its market (:func:`almm_rllib.baselines.default_params`: the order-book market's, ``{}`` for
    the stylized market), overridden by the spec's own ``key=value`` parameters."""
    if env_config is None:
        env_config = EnvConfig()
    if not isinstance(env_config, EnvConfig):
        raise TypeError(
            f"baseline_params: env_config must be an EnvConfig or None, got {type(env_config).__name__}"
        )
    market = env_config.market
    if isinstance(market, ReplayMarketConfig):
        # a replayed day: the defaults calibrated for the simulated market (the same on both, for sim-to-real)
        market = MarketConfig()
    return {**default_params(spec.strategy, market), **spec.params}


def load_policy(spec: PolicySpec | str, *, label: str | None = None, env_config: Any = None) -> Policy:
    """Build the policy of a spec (a checkpoint is loaded here: ray and torch are imported).

    A baseline starts from the calibrated defaults of ``env_config``'s market (None: the default env) and the
    spec's parameters override them (:func:`baseline_params`).
    """
    if isinstance(spec, str):
        spec = parse_policy_spec(spec)
    label = label or spec.label
    if spec.kind == "baseline":
        return BaselinePolicy(make_strategy(spec.strategy, **baseline_params(spec, env_config)), label=label)
    return CheckpointPolicy(spec.path, module_id=spec.module_id, label=label)
