"""A warm start for PPO: behaviour cloning of a baseline into the policy network before training.

An experiment's ``warm_start: {strategy: NAME, steps: N, epochs: E, std: S}`` makes :func:`warm_start_state`
roll a baseline (a registry name or a policy spec, ``"volatility_adaptive"``,
``"static_spread:half_spread_ticks=7.71"``) through the experiment's env for ``steps`` steps, fit the PPO
module's Gaussian mean to the baseline's actions (RLlib's normalized action space, as
:class:`almm_rllib.training.baseline_module.BaselineRLModule` maps them) and its log-std to ``log(std)`` by
least squares, and save the module's state. Training then starts from that state
(``RLModuleSpec(load_state_path=...)``): PPO begins where the baseline is, instead of at a Gaussian centred in
the action box, and explores around it. The value head is left as initialised.

The state is cached under ``$ALMM_CACHE`` (default ``~/.cache/almm_rllib``) in ``warm_start/<hash>``, the hash
of everything that determines it (strategy, env config, model config, steps, epochs, std, seed), written under a
temporary name and renamed when complete; an existing folder is reused. Deterministic for a seed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import pathlib
import shutil
from typing import Any

import numpy as np

#: Keys of an experiment's ``warm_start`` mapping, with their defaults (``strategy`` is required).
WARM_START_DEFAULTS: dict[str, Any] = {"steps": 60_000, "epochs": 40, "std": 0.2, "lr": 1e-3}
WARM_START_KEYS = {"strategy", *WARM_START_DEFAULTS}
#: What the fit reports, written beside the state as ``fit.json``.
FIT_FILE = "fit.json"


def cache_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("ALMM_CACHE", pathlib.Path.home() / ".cache" / "almm_rllib"))


def _key(doc: dict) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:20]


def rollout(strategy: str, env_config, steps: int, seed: int) -> tuple[np.ndarray, np.ndarray, tuple]:
    """``steps`` steps of ``strategy`` in ``env_config``'s single-agent env, episodes seeded ``seed``,
    ``seed + 1``, ...: (observations ``[steps, 9]``, the baseline's actions in RLlib's normalized space
    ``[steps, 4]``, the env's (observation space, action space))."""
    from almm_rllib.env.gym_env import MarketMakingGymEnv
    from almm_rllib.training.baseline_module import baseline_module_spec

    module = baseline_module_spec(strategy, env_config).build()
    env = MarketMakingGymEnv(env_config)
    obs_all = np.empty((steps, env.observation_space.shape[0]), np.float32)
    act_all = np.empty((steps, env.action_space.shape[0]), np.float32)
    episode = 0
    obs, _ = env.reset(seed=seed)
    for k in range(steps):
        action = module.baseline_actions(obs[None])[0]
        obs_all[k] = obs
        act_all[k] = module.normalize(action[None])[0]
        obs, _, terminated, truncated, _ = env.step(action.astype(np.float32))
        if terminated or truncated:
            episode += 1
            obs, _ = env.reset(seed=seed + episode)
    env.close()
    return obs_all, act_all, (env.observation_space, env.action_space)


def fit_module(module, obs: np.ndarray, target: np.ndarray, *, epochs: int, std: float, lr: float, seed: int):
    """Least-squares fit of ``module``'s Gaussian mean to ``target`` and its log-std to ``log(std)`` (Adam,
    minibatches of 512). Returns the final mean squared error of the mean (normalized action units)."""
    import torch
    from ray.rllib.core.columns import Columns

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x = torch.as_tensor(obs)
    y = torch.as_tensor(target)
    n_act = y.shape[1]
    log_std = math.log(std)
    opt = torch.optim.Adam(module.parameters(), lr=lr)
    module.train()
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), 512):
            idx = torch.as_tensor(order[start : start + 512])
            out = module.forward_train({Columns.OBS: x[idx]})[Columns.ACTION_DIST_INPUTS]
            loss = ((out[:, :n_act] - y[idx]) ** 2).mean() + ((out[:, n_act:] - log_std) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    module.eval()
    with torch.no_grad():
        out = module.forward_inference({Columns.OBS: x})[Columns.ACTION_DIST_INPUTS]
        return float(((out[:, :n_act] - y) ** 2).mean())


def warm_start_state(warm: dict, env_config, model_config: dict, seed: int = 0) -> str:
    """The folder of the cloned module state for an experiment's ``warm_start`` mapping (built when not
    cached; see the module docstring)."""
    from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import DefaultPPOTorchRLModule
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    w = {**WARM_START_DEFAULTS, **warm}
    doc = {
        "strategy": str(w["strategy"]),
        "env_config": env_config.to_dict(),
        "model_config": dict(model_config),
        "steps": int(w["steps"]),
        "epochs": int(w["epochs"]),
        "std": float(w["std"]),
        "lr": float(w["lr"]),
        "seed": int(seed),
    }
    out = cache_dir() / "warm_start" / _key(doc)
    if (out / FIT_FILE).is_file():
        return str(out)
    obs, target, (obs_space, act_space) = rollout(doc["strategy"], env_config, doc["steps"], doc["seed"])
    spec = RLModuleSpec(
        module_class=DefaultPPOTorchRLModule,
        observation_space=obs_space,
        action_space=act_space,
        model_config=dict(model_config),
    )
    module = spec.build()
    mse = fit_module(
        module, obs, target, epochs=doc["epochs"], std=doc["std"], lr=doc["lr"], seed=doc["seed"]
    )
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    module.save_to_path(str(tmp))
    (tmp / FIT_FILE).write_text(json.dumps({**doc, "mse": mse, "samples": len(obs)}, indent=1, default=str))
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(tmp, out)
    except OSError:  # another process finished the same state first
        shutil.rmtree(tmp, ignore_errors=True)
    return str(out)


__all__ = ["WARM_START_DEFAULTS", "WARM_START_KEYS", "fit_module", "rollout", "warm_start_state"]
