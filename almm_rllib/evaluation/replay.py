"""Resolving a replay-market env config: the LOBSTER files it names become a prepared replay stream.

The env (layer 1) reads a prepared stream and never the data layer (its sibling); this resolver, one layer up,
reads and checks the files through ``almm_rllib.data`` and fills in ``market.stream``. Everything that builds
envs on the replay (``almm backtest``, the evaluation runner, training) passes its env config through
:func:`resolve_env_config` first.
"""

from __future__ import annotations

from almm_rllib.data.lobster.stream import prepare_replay_stream
from almm_rllib.env.config import EnvConfig
from almm_rllib.env.replay import load_prepared_stream, replay_window
from almm_rllib.env.replay_config import ReplayMarketConfig


def resolve_env_config(config: EnvConfig | dict | None, *, source: str = "env_config") -> EnvConfig:
    """``config`` as an :class:`EnvConfig` whose replay market (if any) names its prepared stream.

    Raises :class:`~almm_rllib.data.lobster.LobsterFormatError` naming the file and line for corrupt or
    mismatched files, an unknown ticker or a missing folder, and a ConfigError naming the file for a window
    outside it; nothing is written then (a good day's stream is cached)."""
    if config is None:
        config = EnvConfig()
    elif isinstance(config, dict):
        config = EnvConfig.from_dict(dict(config), source=source)
    m = config.market
    if not isinstance(m, ReplayMarketConfig) or m.stream is not None:
        return config
    if not m.data or not m.ticker:
        from almm_rllib.core.config import ConfigError

        raise ConfigError("market", "the replay market needs data (a LOBSTER folder) and ticker", source)
    path = prepare_replay_stream(m.data, m.ticker)
    resolved = config.replace(market=m.replace(stream=str(path)))
    s = load_prepared_stream(str(path))
    replay_window(resolved, s.msg_time, s.source)  # a window outside the file fails here, before any output
    return resolved
