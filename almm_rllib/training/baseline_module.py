"""Hand-written baselines as non-trainable RLlib RLModules, so that a learner can share a book with them.

:class:`BaselineRLModule` (torch) computes a baseline's quotes from the agent's 9-D observation alone and
returns them as ``action_dist_inputs`` of RLlib's diagonal Gaussian: the mean is the baseline's action mapped
into RLlib's normalized action space (``2 * (a - low) / (high - low) - 1``, clipped to [-1, 1], the inverse of
``NormalizeAndClipActions``), the log-std a constant ``log(std)`` with ``std = 1e-6`` by default. So with
``explore=False`` the env receives exactly the baseline's action (clipped to the action box, as the env would
clip it), and while exploring it receives that action plus noise of order ``1e-6 * (high - low)``: nothing a
quote rounded to whole ticks and lots can notice.

What the module knows: the observation, and constants of the env config passed in its ``model_config`` (tick,
lot, inventory limit, reference volatility, initial price, step length; see
:class:`almm_rllib.evaluation.views.ObservationDecoder` for how the :class:`~almm_rllib.baselines.MarketView`
is rebuilt). The time left in the episode is not in the observation, so Avellaneda-Stoikov and the symmetric
strategy run with a constant ``rolling_horizon`` (``T - t`` replaced by a fixed window): by default **half
the episode length**, the average time left over an episode; pass ``rolling_horizon=...`` to choose another.

Training: the module has one parameter, the constant log-std, with ``requires_grad=False`` (RLlib's torch
learner builds an optimizer for every torch module and refuses an empty parameter list). Leave the module out
of ``policies_to_train``; the learner then drops its samples before the update and its weights never change.
It does not implement ``ValueFunctionAPI``, so PPO computes no values or advantages for it.

Example: a PPO learner (``mm_0``) against Avellaneda-Stoikov (``mm_1``) in one book::

    env_config = EnvConfig(n_agents=2)
    config = (
        PPOConfig()
        .environment("almm_mm_multi", env_config=env_config.to_dict())
        .multi_agent(
            policies={"mm_0", "mm_1"},
            policy_mapping_fn=lambda agent_id, episode, **kw: agent_id,
            policies_to_train=["mm_0"],
        )
        .rl_module(
            rl_module_spec=MultiRLModuleSpec(
                rl_module_specs={
                    "mm_0": RLModuleSpec(model_config={"fcnet_hiddens": [64, 64], "vf_share_layers": False}),
                    "mm_1": baseline_module_spec("avellaneda_stoikov:gamma=0.001,k=50", env_config),
                }
            )
        )
    )
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.core.rl_module.torch.torch_rl_module import TorchRLModule
from torch import nn

from almm_rllib.baselines import AvellanedaStoikov, default_params, make_strategy, strategy_class
from almm_rllib.core.agent_schema import ACT_DIM, OBS_DIM, OBS_HIGH, OBS_LOW
from almm_rllib.env.config import EnvConfig
from almm_rllib.env.core import MarketMakingCore
from almm_rllib.evaluation.policies import parse_policy_spec
from almm_rllib.evaluation.views import ObservationDecoder

#: Standard deviation of the module's Gaussian, in RLlib's normalized action units.
DEFAULT_STD = 1e-6


class BaselineRLModule(TorchRLModule):
    """A baseline strategy as a non-trainable torch RLModule (see the module docstring).

    ``model_config`` keys: ``strategy`` (registry name), ``params`` (the strategy's parameters), ``decoder``
    (the fields of :class:`ObservationDecoder`), ``std`` (optional).
    """

    def setup(self) -> None:
        mc = dict(self.model_config or {})
        missing = [k for k in ("strategy", "decoder") if k not in mc]
        if missing:
            raise ValueError(
                f"BaselineRLModule: model_config lacks {missing}; build it with baseline_module_spec()"
            )
        self.strategy_name = str(mc["strategy"])
        self.strategy_params = dict(mc.get("params") or {})
        self.strategy = make_strategy(self.strategy_name, **self.strategy_params)
        self.decoder = ObservationDecoder(**mc["decoder"])
        std = float(mc.get("std", DEFAULT_STD))
        if not (math.isfinite(std) and std > 0):
            raise ValueError(f"BaselineRLModule: std must be > 0, got {std}")
        space = self.action_space
        if not isinstance(space, gym.spaces.Box) or space.shape != (ACT_DIM,):
            raise ValueError(
                f"BaselineRLModule: needs the env's Box action space of shape ({ACT_DIM},), got {space}"
            )
        self._low = np.asarray(space.low, dtype=np.float64)
        self._high = np.asarray(space.high, dtype=np.float64)
        self.log_std = nn.Parameter(torch.full((ACT_DIM,), math.log(std)), requires_grad=False)

    def baseline_actions(self, obs: np.ndarray) -> np.ndarray:
        """The strategy's actions in the env's units for a batch of observations ``[B, 9]``."""
        x = np.asarray(obs, dtype=np.float32).reshape(-1, OBS_DIM)
        return np.stack([self.strategy.act(self.decoder.view(row)) for row in x]).astype(np.float64)

    def normalize(self, actions: np.ndarray) -> np.ndarray:
        """Env units -> RLlib's normalized space, clipped to [-1, 1] (the inverse of ``unsquash_action``)."""
        lo, hi = self._low, self._high
        return np.clip(2.0 * (actions - lo) / (hi - lo) - 1.0, -1.0, 1.0)

    def _forward(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        obs = batch[Columns.OBS]
        x = obs.detach().cpu().numpy() if isinstance(obs, torch.Tensor) else np.asarray(obs)
        shape = x.shape[:-1]
        mean = self.normalize(self.baseline_actions(x)).reshape(*shape, ACT_DIM)
        dtype = obs.dtype if isinstance(obs, torch.Tensor) else torch.float32
        device = obs.device if isinstance(obs, torch.Tensor) else None
        m = torch.as_tensor(mean, dtype=dtype, device=device)
        log_std = self.log_std.to(dtype=dtype, device=m.device).expand_as(m)
        return {Columns.ACTION_DIST_INPUTS: torch.cat([m, log_std], dim=-1)}


def baseline_module_spec(
    strategy: str,
    env_config: EnvConfig | dict | None = None,
    *,
    std: float = DEFAULT_STD,
    **params: Any,
) -> RLModuleSpec:
    """The :class:`RLModuleSpec` of a baseline as a non-trainable RLModule for ``env_config``'s env.

    Args:
        strategy: a baseline policy spec: a name from the registry, optionally with parameters
            (``"avellaneda_stoikov:gamma=0.001,k=50"``).
        env_config: the env the module acts in (its phase applied): tick, lot, inventory limit, reference
            volatility, initial price, step length and the action box come from it.
        std: standard deviation of the Gaussian in normalized action units (> 0).
        params: more strategy parameters (override those of the spec, which override the calibrated defaults
            of ``env_config``'s market, :func:`almm_rllib.baselines.default_params`). Avellaneda-Stoikov and the
            symmetric strategy get ``rolling_horizon = episode_seconds / 2`` unless it is given.

    Returns:
        ``RLModuleSpec(module_class=BaselineRLModule, observation_space=..., action_space=..., model_config=...)``.
    """
    if env_config is None:
        cfg = EnvConfig()
    elif isinstance(env_config, EnvConfig):
        cfg = env_config
    else:
        cfg = EnvConfig.from_dict(dict(env_config), source="env_config")
    spec = parse_policy_spec(strategy)
    if spec.kind != "baseline":
        raise ValueError(f"baseline_module_spec: {strategy!r} is not a baseline strategy")
    # the market's calibrated defaults (none for the stylized market), then the spec's, then the keywords
    all_params = {**default_params(spec.strategy, cfg.market), **spec.params, **params}
    cls = strategy_class(spec.strategy)
    if issubclass(cls, AvellanedaStoikov) and all_params.get("rolling_horizon") is None:
        all_params["rolling_horizon"] = cfg.episode_seconds / 2.0
    cls.make_params(**all_params)  # refuse bad parameters here, not inside an EnvRunner
    core = MarketMakingCore(cfg)
    decoder = ObservationDecoder.from_core(core)
    return RLModuleSpec(
        module_class=BaselineRLModule,
        observation_space=gym.spaces.Box(OBS_LOW, OBS_HIGH, (OBS_DIM,), np.float32),
        action_space=gym.spaces.Box(core.act_low, core.act_high, (ACT_DIM,), np.float32),
        model_config={
            "strategy": spec.strategy,
            "params": all_params,
            "decoder": {f: getattr(decoder, f) for f in decoder.__dataclass_fields__},
            "std": float(std),
        },
    )


__all__ = ["DEFAULT_STD", "BaselineRLModule", "baseline_module_spec"]
