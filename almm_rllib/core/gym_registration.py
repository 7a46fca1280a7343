"""``gym.make("almm/MarketMaking-v0")`` after ``import almm_rllib``, without importing gymnasium with the core.

Gymnasium 1.x no longer loads plugin entry points, so the env is registered by this package: at once when
gymnasium is already imported, else right after gymnasium's own import completes (a one-shot import hook that
removes itself). ``import almm_rllib`` alone therefore still imports neither gymnasium nor the env. The
``"module:id"`` form of Gymnasium, ``gym.make("almm_rllib.env:almm/MarketMaking-v0")``, works without either.

In the core because the package root imports it: it imports only the standard library and the agent schema
(gymnasium is handed in as a module object, never imported here).
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys

from almm_rllib.core.agent_schema import GYM_ENV_ID as ENV_ID

ENTRY_POINT = "almm_rllib.env.gym_env:MarketMakingGymEnv"
VECTOR_ENTRY_POINT = "almm_rllib.env.vector_env:MarketMakingVectorEnv"


def register(gymnasium) -> None:
    """Register :data:`ENV_ID` with ``gymnasium`` (once)."""
    if ENV_ID not in gymnasium.registry:
        gymnasium.register(
            id=ENV_ID,
            entry_point=ENTRY_POINT,
            vector_entry_point=VECTOR_ENTRY_POINT,
            disable_env_checker=False,
        )


class _RegisterAfterLoad(importlib.abc.Loader):
    def __init__(self, inner) -> None:
        self.inner = inner

    def create_module(self, spec):
        return self.inner.create_module(spec)

    def exec_module(self, module) -> None:
        module.__spec__.loader = module.__loader__ = self.inner  # gymnasium keeps its own loader
        self.inner.exec_module(module)
        register(module)


class _WhenGymnasiumLoads(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "gymnasium":
            return None
        sys.meta_path.remove(self)  # one shot; also keeps find_spec below from finding this finder again
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _RegisterAfterLoad(spec.loader)
        return spec


def install() -> None:
    """Register now if gymnasium is loaded, else when it loads."""
    if "gymnasium" in sys.modules:
        register(sys.modules["gymnasium"])
    elif not any(isinstance(f, _WhenGymnasiumLoads) for f in sys.meta_path):
        sys.meta_path.insert(0, _WhenGymnasiumLoads())
