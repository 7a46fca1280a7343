"""Actions of the wrong shape are refused (never broadcast); stepping after the end raises ResetNeeded."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

from almm_rllib.env import EnvConfig, MarketMakingGymEnv
from almm_rllib.env.core import MarketMakingCore


@pytest.fixture(scope="module")
def env():
    return MarketMakingGymEnv(EnvConfig(episode_seconds=5.0, dt=1.0))


@pytest.mark.parametrize(
    "action", [1.0, np.float32(2.0), [1.0, 1.0], np.ones((2, 4)), np.ones(5), np.ones((4, 1))]
)
def test_wrong_shaped_single_agent_actions_are_refused(env, action):
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"actions must have shape \(1, 4\) \(agents x 4\) or \(4,\)"):
        env.step(action)
    env.step(np.ones((1, 4)))  # one row per agent is the core's own shape


def test_multi_agent_actions_need_one_row_per_agent():
    core = MarketMakingCore(EnvConfig(n_agents=2, episode_seconds=5.0))
    core.reset(seed=0)
    for bad in (np.ones(4), np.ones((1, 4)), 3.0):
        with pytest.raises(ValueError, match=r"shape \(2, 4\)"):
            core.step(bad)
    obs, rew, done, infos = core.step(np.tile([2.0, 2.0, 1.0, 1.0], (2, 1)))
    assert obs.shape == (2, 9) and not done


def test_step_after_the_episode_ended_raises_reset_needed(env):
    env.reset(seed=1)
    done, n = False, 0
    while not done:
        _, _, term, trunc, _ = env.step(np.array([2.0, 2.0, 1.0, 1.0], np.float32))
        done, n = term or trunc, n + 1
    assert n == 5
    with pytest.raises(gymnasium.error.ResetNeeded, match="call reset"):
        env.step(np.array([2.0, 2.0, 1.0, 1.0], np.float32))
    env.reset(seed=1)
    env.step(np.array([2.0, 2.0, 1.0, 1.0], np.float32))  # fine again after a reset
    with pytest.raises(gymnasium.error.ResetNeeded):
        MarketMakingGymEnv(EnvConfig(episode_seconds=5.0)).step(np.zeros(4, np.float32))


# ------------------------------------------------------------------------------------------------------------
# the book facade: ids beyond int64 and absurd sizes are BookError, never OverflowError or a numba error


def test_book_refuses_ids_beyond_int64_and_absurd_sizes():
    from almm_rllib import BookError, LimitOrderBook
    from almm_rllib.core.book import Order

    book = LimitOrderBook(tick_size=0.01, lot_size=100, initial_price=100.0)
    bad_orders = [
        (Order(side="buy", price=100.0, quantity=100, order_id=2**63), "order_id"),
        (Order(side="buy", price=100.0, quantity=100, order_id=-1), "order_id"),
        (Order(side="buy", price=100.0, quantity=1e30), "quantity"),
        (Order(side="buy", price=100.0, quantity=100 * 2**62), "quantity"),
        (Order(side="buy", price=1e30, quantity=100), "price"),
    ]
    for order, what in bad_orders:
        with pytest.raises(BookError, match=what):
            book.submit_order(order)
    for call in (
        lambda: book.cancel_order(2**64),
        lambda: book.reduce_order(2**63, 100),
        lambda: book.replace_order(2**70, 100.0, 100),
    ):
        with pytest.raises(BookError, match="int64"):
            call()
    book.submit_order(Order(side="buy", price=99.0, quantity=100, order_id=2**63 - 1))  # the largest id works
    assert book.cancel_order(2**63 - 1)
    book.check()


# ------------------------------------------------------------------------------------------------------------
# LOBSTER: order ids beyond int64 are a format error naming the line


def test_lobster_order_ids_beyond_int64_are_a_format_error(tmp_path):
    from almm_rllib.data.lobster import LobsterFormatError, read_lobster
    from tests.test_lobster import _write_pair

    book = ["1000500,200,1000000,100"] * 2
    ok = ["34200.1,1,1,100,1000000,1", "34200.2,1,2,100,1000000,1"]
    read_lobster(*_write_pair(tmp_path, "X", 1, ok, book))  # the fixture itself reads
    for big in (str(2**63), "18446744073709551616", "1e30"):
        rows = [ok[0], f"34200.2,1,{big},100,1000000,1"]
        with pytest.raises(
            LobsterFormatError, match=r"line 2 \(data row 1\): order id, size and price must fit int64"
        ):
            read_lobster(*_write_pair(tmp_path, "X", 1, rows, book))
