"""Historical VaR / CVaR and parametric inventory VaR, as defined in docs/metrics.md."""

from __future__ import annotations

import math

import numpy as np
import pytest

from almm_rllib.core.risk import QUANTILE_METHOD, VarCvar, inventory_var, var_cvar


def _linear_quantile(values, p):
    """Hyndman-Fan type 7, by hand: interpolate the sorted sample at position (n - 1) p."""
    s = sorted(values)
    pos = (len(s) - 1) * p
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (pos - lo) * (s[hi] - s[lo])


def test_hand_computed_twenty_one_points():
    # 21 points: (n - 1) * 0.05 = 1 exactly, so the 5% quantile is the second smallest, -8.
    x = [-10.0, -8.0] + [float(v) for v in range(19)]
    r = var_cvar(x)
    assert isinstance(r, VarCvar)
    assert r.var == 8.0
    assert r.cvar == 9.0  # mean of {-10, -8}
    var, cvar = r  # unpacks as a pair
    assert (var, cvar) == (8.0, 9.0)


def test_hand_computed_interpolated():
    # n = 11: position 10 * 0.05 = 0.5 -> halfway between -4 and -2 -> -3; tail = {-4}
    x = np.array([3.0, -2.0, 5.0, -4.0, 0.0, 1.0, 2.0, 7.0, 1.5, 0.5, 4.0])
    r = var_cvar(x)
    assert r.var == pytest.approx(3.0, abs=1e-15)
    assert r.cvar == 4.0
    # alpha = 0.9: position 1.0 -> -2; tail = {-4, -2}
    r90 = var_cvar(x, alpha=0.9)
    assert r90.var == pytest.approx(2.0, abs=1e-15)
    assert r90.cvar == pytest.approx(3.0, abs=1e-15)


def test_matches_numpy_definition_and_hand_quantile_on_random_series():
    rng = np.random.default_rng(3)
    assert QUANTILE_METHOD == "linear"
    for n in (1, 2, 5, 20, 21, 100, 1001):
        x = rng.standard_t(df=3, size=n)
        r = var_cvar(x)
        q = np.quantile(x, 0.05)
        assert r.var == -q
        assert r.cvar == -np.mean(x[x <= q])
        assert r.var == pytest.approx(-_linear_quantile(list(x), 0.05), rel=1e-12, abs=1e-15)
        assert r.cvar >= r.var - 1e-12  # the tail mean is at or beyond the quantile


def test_single_point_and_constant_series():
    assert var_cvar([-2.5]) == (2.5, 2.5)
    r = var_cvar(np.full(50, -1.25))
    assert (r.var, r.cvar) == (1.25, 1.25)
    z = var_cvar(np.zeros(10))
    assert z.var == 0.0 and z.cvar == 0.0


def test_all_gains_gives_negative_losses():
    x = np.arange(1.0, 22.0)  # 1..21, all gains; 5% quantile = 2 (position 1)
    r = var_cvar(x)
    assert r.var == -2.0
    assert r.cvar == -1.5  # -mean{1, 2}
    assert r.var < 0 and r.cvar < 0


def test_order_does_not_matter_and_list_input():
    x = [4.0, -1.0, 2.0, -7.0, 0.0]
    assert var_cvar(x) == var_cvar(x[::-1]) == var_cvar(np.array(sorted(x)))


@pytest.mark.parametrize(
    ("x", "alpha", "needle"),
    [
        ([], 0.95, "empty"),
        (np.array([]), 0.95, "empty"),
        ([[1.0, 2.0]], 0.95, "1-D"),
        ([1.0, float("nan")], 0.95, "finite"),
        ([1.0, float("inf")], 0.95, "finite"),
        ([1.0], 1.0, "alpha"),
        ([1.0], 0.0, "alpha"),
        ([1.0], True, "alpha"),
    ],
)
def test_var_cvar_rejects_bad_input(x, alpha, needle):
    with pytest.raises(ValueError, match=needle):
        var_cvar(x, alpha=alpha)


def test_inventory_var_hand_computed():
    q = np.array([100.0, -200.0, 0.0, 50.0])
    mid = np.array([10.0, 10.0, 12.0, 20.0])
    sigma = np.array([1e-3, 2e-3, 5e-3, 1e-3])
    h = 4.0  # sqrt = 2
    per_step = [100 * 10 * 1e-3, 200 * 10 * 2e-3, 0.0, 50 * 20 * 1e-3]  # |q| mid sigma
    want = sum(per_step) / 4 * 1.645 * 2.0
    assert inventory_var(q, mid, sigma, h) == pytest.approx(want, rel=1e-14)
    # scalar sigma and mid broadcast; z is a parameter
    assert inventory_var([1.0, -3.0], 5.0, 0.01, 1.0, z=2.0) == pytest.approx(2 * 5 * 0.01 * 2.0, rel=1e-14)
    assert inventory_var([0.0, 0.0], 5.0, 0.01, 1.0) == 0.0
    assert inventory_var([1.0], 5.0, 0.01, 0.0) == 0.0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (([], 1.0, 0.1, 1.0), r"inventory_var\.q is empty"),
        (([1.0, 2.0], [1.0], 0.1, 1.0), r"inventory_var\.mid"),
        (([1.0, 2.0], 1.0, [0.1, -0.1], 1.0), r"inventory_var\.sigma"),
        (([1.0, float("nan")], 1.0, 0.1, 1.0), r"inventory_var\.q must be finite"),
        (([1.0], 1.0, 0.1, -1.0), r"inventory_var\.h"),
    ],
)
def test_inventory_var_rejects_bad_input(args, needle):
    with pytest.raises(ValueError, match=needle):
        inventory_var(*args)
