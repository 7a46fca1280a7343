"""The native vector environment: N single-agent markets stepped in one compiled call.

``MarketMakingVectorEnv(num_envs, config)`` is a ``gymnasium.vector.VectorEnv`` equivalent to
``SyncVectorEnv([MarketMakingGymEnv(config)] * num_envs)`` with Gymnasium's default next-step autoreset (the
mode RLlib 2.60's EnvRunners expect): the same observations, rewards, episode ends and infos for the same
seeds and actions, bit for bit (``tests/test_vector_env.py``). What differs is the cost: one array of actions
goes into one compiled call (``core.mm_vec_nb.mm_step_many_nb``) that steps every market, instead of one
Python ``step`` per sub-env.

Semantics, as Gymnasium's SyncVectorEnv:

* ``reset(seed=s)`` seeds sub-env ``i`` with ``s + i`` (a list gives one seed each; None draws fresh ones).
  With ``seeds="strided"`` it is ``s * num_envs + i``: RLlib seeds EnvRunner ``w`` with ``seed + w``, so
  consecutive runners would otherwise share all but one market stream (sub-env ``i + 1`` of runner ``w``
  replaying sub-env ``i`` of runner ``w + 1``); RLlib's ``almm_mm`` creator asks for strided seeds;
  ``options={"reset_mask": mask}`` resets only the masked sub-envs.
* ``step(actions)``: ``actions`` float[num_envs, 4]. A sub-env whose episode ended on the previous step is
  reset instead of stepped (its action is ignored): its observation is the new episode's first, its reward 0,
  its terminated and truncated False, its info the reset info. Episodes are truncated at the end of time,
  never terminated.
* infos are Gymnasium's dict of arrays with ``_key`` masks (``VectorEnv._add_info``); RLlib wraps the env in
  ``DictInfoToList``. With ``info_level="episode"`` (training) only reset and last steps carry infos.
* ``call``/``get_attr``/``set_attr`` reach the sub-envs (``MarketMakingGymEnv``), e.g. the curriculum's
  ``call("set_task", phase)``.

Registered as the ``vector_entry_point`` of ``almm/MarketMaking-v0`` (so ``gymnasium.make_vec`` uses it) and
built by RLlib's ``almm_mm`` creator when RLlib asks for a vector env (``gym_env_vectorize_mode=
"vector_entry_point"``, the experiments' default).
"""

from __future__ import annotations

from typing import Any, Literal

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from almm_rllib.core import agent_schema as A
from almm_rllib.core import mm_nb as mm
from almm_rllib.core import mm_vec_nb as mv
from almm_rllib.core.agent_schema import ACT_DIM
from almm_rllib.core.market import MarketError
from almm_rllib.core.schema import STATUS_OK

from .config import EnvConfig
from .gym_env import MarketMakingGymEnv

#: The most markets one vector env steps (memory: a few MB per market).
MAX_NUM_ENVS = 4096


def _env_config(config, kwargs) -> EnvConfig:
    if config is None:
        config = {}
    if isinstance(config, dict):
        return EnvConfig.from_dict({**dict(config), **kwargs}, source="env_config")
    if isinstance(config, EnvConfig):
        return config.merged(kwargs) if kwargs else config
    raise TypeError(f"env config must be an EnvConfig or a mapping, got {type(config).__name__}")


class MarketMakingVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` market makers, each in its own market, stepped together (see the module docstring)."""

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 8,
        config: EnvConfig | dict | None = None,
        seeds: Literal["consecutive", "strided"] = "consecutive",
        **kwargs,
    ):
        if isinstance(num_envs, bool) or not isinstance(num_envs, int | np.integer):
            raise TypeError(f"num_envs must be an integer, got {num_envs!r}")
        if not 1 <= num_envs <= MAX_NUM_ENVS:
            raise ValueError(f"num_envs must be in 1..{MAX_NUM_ENVS}, got {num_envs}")
        if seeds not in ("consecutive", "strided"):
            raise ValueError(f"seeds must be 'consecutive' or 'strided', got {seeds!r}")
        self.seeds = seeds
        cfg = _env_config(config, kwargs)
        if cfg.n_agents != 1:
            raise ValueError(f"MarketMakingVectorEnv is single-agent; got n_agents={cfg.n_agents}")
        if getattr(cfg.market, "model", None) == "replay":
            raise ValueError(
                "MarketMakingVectorEnv steps simulated markets only; for market.model=replay set "
                "env_runners.gym_env_vectorize_mode: SYNC (one replay env per sub-env)"
            )
        self.config = cfg
        self.num_envs = n = int(num_envs)
        self.envs = tuple(MarketMakingGymEnv(cfg) for _ in range(n))
        self.single_observation_space = self.envs[0].observation_space
        self.single_action_space = self.envs[0].action_space
        self.observation_space = batch_space(self.single_observation_space, n)
        self.action_space = batch_space(self.single_action_space, n)
        self._n_steps = cfg.n_steps
        self._full_info = cfg.info_level == "full"
        cores = [e.core for e in self.envs]
        # the stacked kernel arrays; every core keeps its own arrays as rows of these
        self._mp = np.stack([c.mp for c in cores])
        self._es = np.stack([c.es for c in cores])
        self._feat = np.stack([c.feat for c in cores])
        self._obs = np.stack([c.obs for c in cores])
        self._acc = np.stack([c.acc for c in cores])
        for k, c in enumerate(cores):
            c.use_buffers(self._mp[k], self._es[k], self._feat[k], self._obs[k], self._acc[k])
        self._act = np.zeros((n, 1, ACT_DIM), np.float64)
        self._todo = np.ones(n, np.bool_)
        self._status = np.zeros(n, np.int64)
        self._autoreset = np.zeros(n, np.bool_)
        self._markets = mv.market_list_nb(cores[0].sim.state)
        for c in cores[1:]:
            mv.market_list_append_nb(self._markets, c.sim.state)

    # ------------------------------------------------------------------------------------------------ episodes
    def _reset_one(self, k: int, seed: int | None, options: dict | None) -> dict:
        env = self.envs[k]
        _, info = env.reset(seed=seed, options=options)
        core = env.core
        if core.es.base is not self._es:  # a core that rebuilt its arrays would step out of our sight
            raise RuntimeError(f"sub-env {k} replaced its kernel arrays; MarketMakingVectorEnv cannot follow")
        mv.market_list_set_nb(self._markets, k, core.sim.state)
        return info

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        n = self.num_envs
        if seed is None:
            seeds = [None] * n
        elif isinstance(seed, int | np.integer) and not isinstance(seed, bool):
            first = int(seed) * n if self.seeds == "strided" else int(seed)
            seeds = [first + i for i in range(n)]
        else:
            seeds = list(seed)
            if len(seeds) != n:
                raise ValueError(f"reset: {len(seeds)} seeds for num_envs={n}")
        mask = np.ones(n, np.bool_)
        if options is not None and "reset_mask" in options:
            options = dict(options)
            mask = np.asarray(options.pop("reset_mask"))
            if mask.shape != (n,) or mask.dtype != np.bool_ or not mask.any():
                raise ValueError(
                    f"reset: options['reset_mask'] must be a bool array of shape ({n},), not all False"
                )
        infos: dict[str, Any] = {}
        for k in np.flatnonzero(mask):
            infos = self._add_info(infos, self._reset_one(int(k), seeds[k], options), int(k))
        self._autoreset[mask] = False
        return self._obs[:, 0, :].copy(), infos

    def step(self, actions) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        n = self.num_envs
        act = self._act
        try:
            act[:, 0, :] = actions
        except (ValueError, TypeError):
            raise ValueError(
                f"actions must have shape ({n}, {ACT_DIM}) (sub-envs x {ACT_DIM}), got {np.shape(actions)}"
            ) from None
        resetting = self._autoreset.copy()
        todo = self._todo
        np.logical_not(resetting, out=todo)
        finite = np.isfinite(act[:, 0, :])
        if not finite[todo].all():
            k, j = (int(x[0]) for x in np.nonzero(~finite & todo[:, None]))
            raise ValueError(
                f"non-finite action for sub-env {k}: {A.ACT_NAMES[j]} = {act[k, 0, j]} "
                f"(the env clips out-of-bounds actions but cannot repair NaN or inf)"
            )
        status = self._status
        status[:] = STATUS_OK
        args = (self._markets, act, self._mp, self._es, self._feat, self._obs, self._acc)
        mv.mm_step_many_nb(*args, todo, status)
        need = status == A.STEP_NEED_RANDOM
        if need.any():
            for k in np.flatnonzero(need):
                self.envs[k].core.sim.refill_random()
            mv.mm_step_many_nb(*args, need, status)
        if (status != STATUS_OK).any():
            self._fail(int(np.flatnonzero(status != STATUS_OK)[0]), actions)
        rewards = np.where(todo, self._feat[:, 0, mm.FT_REWARD], 0.0)
        truncated = todo & (self._es[:, mm.ES_STEP] >= self._n_steps)
        terminated = np.zeros(n, np.bool_)
        infos: dict[str, Any] = {}
        report = resetting | truncated
        if self._full_info:
            report[:] = True
        for k in np.flatnonzero(report):
            k = int(k)
            if resetting[k]:
                info = self._reset_one(k, None, None)
            else:
                info = self.envs[k].core.info_one(bool(truncated[k]))
            infos = self._add_info(infos, info, k)
        self._autoreset = truncated.copy()
        return self._obs[:, 0, :].copy(), rewards, terminated, truncated, infos

    def _fail(self, k: int, actions) -> None:
        core = self.envs[k].core
        try:
            core._finished(int(self._status[k]), np.asarray(actions)[k : k + 1])
        except MarketError as e:
            raise MarketError(f"sub-env {k}: {e}") from None

    # ------------------------------------------------------------------------------------------------ sub-envs
    def call(self, name: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        """Call a method of every sub-env (or read an attribute); returns the results in sub-env order."""
        out = []
        for env in self.envs:
            fn = env.get_wrapper_attr(name)
            out.append(fn(*args, **kwargs) if callable(fn) else fn)
        return tuple(out)

    def get_attr(self, name: str) -> tuple[Any, ...]:
        return self.call(name)

    def set_attr(self, name: str, values: list[Any] | tuple[Any, ...] | Any) -> None:
        if not isinstance(values, list | tuple):
            values = [values] * self.num_envs
        if len(values) != self.num_envs:
            raise ValueError(f"set_attr: {len(values)} values for num_envs={self.num_envs}")
        for env, v in zip(self.envs, values, strict=True):
            env.set_wrapper_attr(name, v)

    def set_task(self, phase: str) -> None:
        """Curriculum hook: every sub-env switches to ``phase`` from its next reset."""
        self.call("set_task", phase)

    def get_task(self) -> str | None:
        return self.envs[0].get_task()


__all__ = ["MAX_NUM_ENVS", "MarketMakingVectorEnv"]
