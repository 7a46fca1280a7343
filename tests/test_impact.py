"""Market-impact family: kernels vs references, Almgren-Chriss closed forms, decay, config validation."""

from __future__ import annotations

import ast
import math
import pathlib
import pickle

import numba
import numpy as np
import pytest

from almm_rllib.core import impact_nb as inb
from almm_rllib.core.impact import (
    IMPACT_MODELS,
    ImpactConfig,
    ImpactResult,
    ac_eta_tilde,
    ac_expected_cost,
    ac_kappa,
    ac_optimal_cost,
    ac_optimal_trajectory,
    ac_variance,
    decay,
    decay_rate_from_half_life,
    half_life,
    impact,
    liquidation_cost,
)

try:  # tests/ is a package in this repo; fall back to the rootdir-on-sys.path layout if it is not.
    from .reference import impact_ref as ref
except ImportError:  # pragma: no cover - depends on the layout of tests/
    from reference import impact_ref as ref

# Almgren and Chriss (2000), section 3 example (their time unit is the day; the formulas do not care).
PAPER = {"sigma": 0.95, "gamma": 2.5e-7, "eta": 2.5e-6}
PAPER_EPS = 0.0625


def _cfg_kwargs(cfg: ImpactConfig) -> dict:
    return {
        "gamma": cfg.gamma,
        "eta": cfg.eta,
        "epsilon": cfg.epsilon,
        "beta": cfg.beta,
        "daily_volume": cfg.daily_volume,
        "day_seconds": cfg.day_seconds,
    }


# ------------------------------------------------------------------------------------------------------------
# Configuration


def test_config_defaults_and_params_layout():
    cfg = ImpactConfig(
        model="almgren_chriss",
        gamma=1,
        eta=2,
        epsilon=3,
        beta=4,
        daily_volume=5,
        day_seconds=6,
        decay_rate=7,
        liquidation_seconds=8,
    )
    p = cfg.to_params()
    assert p.dtype == np.float64 and p.shape == (inb.N_PARAMS,)
    assert p[inb.P_GAMMA] == 1 and p[inb.P_ETA] == 2 and p[inb.P_EPSILON] == 3 and p[inb.P_BETA] == 4
    assert p[inb.P_DAILY_VOLUME] == 5 and p[inb.P_DAY_SECONDS] == 6
    assert p[inb.P_DECAY_RATE] == 7 and p[inb.P_LIQUIDATION_SECONDS] == 8
    assert isinstance(cfg.gamma, float)  # ints are stored as floats
    assert cfg.model_id == inb.IMPACT_ALMGREN_CHRISS
    assert ImpactConfig().model_id == inb.IMPACT_NONE
    assert ImpactConfig(model="sqrt").model_id == inb.IMPACT_SQRT
    assert ImpactConfig().half_life == pytest.approx(10.0, rel=1e-15)
    assert IMPACT_MODELS == {"none": 0, "almgren_chriss": 1, "sqrt": 2}


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("eta", -1, "ImpactConfig.eta must be >= 0, got -1"),
        ("gamma", -0.5, "ImpactConfig.gamma must be >= 0"),
        ("epsilon", float("nan"), "ImpactConfig.epsilon must not be NaN"),
        ("beta", float("inf"), "ImpactConfig.beta must be finite"),
        ("daily_volume", 0.0, "ImpactConfig.daily_volume must be > 0"),
        ("day_seconds", -3.0, "ImpactConfig.day_seconds must be > 0"),
        ("decay_rate", -1e-3, "ImpactConfig.decay_rate must be >= 0"),
        ("liquidation_seconds", 0, "ImpactConfig.liquidation_seconds must be > 0"),
        ("eta", "1.0", "ImpactConfig.eta must be a number"),
        ("gamma", True, "ImpactConfig.gamma must be a number"),
    ],
)
def test_config_rejects_bad_values_naming_the_field(field, value, needle):
    with pytest.raises(ValueError) as err:
        ImpactConfig(**{field: value})
    assert needle in str(err.value)


def test_config_rejects_unknown_model_naming_allowed_ones():
    with pytest.raises(ValueError) as err:
        ImpactConfig(model="linear")
    msg = str(err.value)
    assert "ImpactConfig.model" in msg and "'linear'" in msg
    for name in ("'none'", "'almgren_chriss'", "'sqrt'"):
        assert name in msg


def test_config_is_frozen_and_pickles():
    cfg = ImpactConfig(model="sqrt", beta=0.7, decay_rate=math.inf)
    with pytest.raises(AttributeError):
        cfg.beta = 1.0  # type: ignore[misc]
    back = pickle.loads(pickle.dumps(cfg))
    assert back == cfg and back.half_life == 0.0
    np.testing.assert_array_equal(back.to_params(), cfg.to_params())


# ------------------------------------------------------------------------------------------------------------
# The compiled family


def test_almgren_chriss_hand_values():
    cfg = ImpactConfig(model="almgren_chriss", gamma=1e-4, eta=2e-3, epsilon=0.01)
    # buy 500 shares over 2 s: rate 250 sh/s
    r = impact(cfg, 500.0, 2.0, 100.0, 1e-4)
    assert isinstance(r, ImpactResult)
    assert r.permanent == pytest.approx(0.05, rel=1e-15)  # 1e-4 * 500
    assert r.temporary == pytest.approx(0.01 + 0.5, rel=1e-15)  # 0.01 + 2e-3 * 250
    assert r.cost == pytest.approx(500 * 0.51, rel=1e-15)
    # a sale mirrors it
    s = impact(cfg, -500.0, 2.0, 100.0, 1e-4)
    assert (s.permanent, s.temporary, s.cost) == pytest.approx((-0.05, -0.51, 255.0), rel=1e-15)
    # no trade, no impact (and no epsilon charge)
    assert impact(cfg, 0.0, 2.0, 100.0, 1e-4) == (0.0, 0.0, 0.0)


def test_sqrt_law_hand_values():
    # sigma 1e-4 per sqrt(s) over a 10_000 s day is 1% daily; |v| / V = 1e4 / 1e6 -> sqrt = 0.1
    cfg = ImpactConfig(model="sqrt", beta=0.5, daily_volume=1e6, day_seconds=1e4, gamma=2e-6)
    r = impact(cfg, 1e4, 1.0, 100.0, 1e-4)
    assert r.temporary == pytest.approx(0.5 * 0.01 * 0.1 * 100.0, rel=1e-14)  # 0.05 money / share
    assert r.cost == pytest.approx(1e4 * 0.05, rel=1e-14)
    assert r.permanent == pytest.approx(2e-6 * 1e4, rel=1e-15)
    # 4x the size -> 2x the shift; sign follows the trade; independent of tau
    r4 = impact(cfg, -4e4, 7.0, 100.0, 1e-4)
    assert r4.temporary == pytest.approx(-0.1, rel=1e-14)
    assert r4.cost == pytest.approx(4e4 * 0.1, rel=1e-14)
    # relative law: shift proportional to price
    r2 = impact(cfg, 1e4, 1.0, 50.0, 1e-4)
    assert r2.temporary == pytest.approx(0.025, rel=1e-14)
    # a second point: 2% daily (sigma 2e-4), beta 1, v/V = 0.0025 -> sqrt 0.05 -> 0.1% of 20 = 0.02
    cfg2 = ImpactConfig(model="sqrt", beta=1.0, daily_volume=4e5, day_seconds=1e4)
    assert impact(cfg2, 1e3, 1.0, 20.0, 2e-4).temporary == pytest.approx(0.02, rel=1e-14)


def test_none_model_is_zero():
    assert impact(ImpactConfig(), 1e6, 1.0, 10.0, 0.1) == (0.0, 0.0, 0.0)
    assert liquidation_cost(ImpactConfig(), -3e5, 10.0, 0.1) == 0.0


@pytest.mark.parametrize("model", ["none", "almgren_chriss", "sqrt"])
def test_compiled_matches_reference_on_random_inputs(model):
    rng = np.random.default_rng(12345 + IMPACT_MODELS[model])
    for _ in range(300):
        cfg = ImpactConfig(
            model=model,
            gamma=rng.uniform(0, 1e-3),
            eta=rng.uniform(0, 1e-2),
            epsilon=rng.uniform(0, 0.05),
            beta=rng.uniform(0, 2),
            daily_volume=10 ** rng.uniform(3, 8),
            day_seconds=rng.uniform(1e3, 1e5),
        )
        v = float(rng.choice([-1, 1]) * 10 ** rng.uniform(-1, 6))
        tau = 10 ** rng.uniform(-3, 3)
        price = 10 ** rng.uniform(-1, 4)
        sigma = 10 ** rng.uniform(-6, -2)
        got = inb.impact_nb(cfg.model_id, cfg.to_params(), v, tau, price, sigma)
        want = ref.impact_ref(model, v, tau, price, sigma, **_cfg_kwargs(cfg))
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=0.0)
        assert got[2] >= 0.0
        if model != "none":
            assert math.copysign(1.0, got[1]) == math.copysign(1.0, v) or got[1] == 0.0
        liq = inb.liquidation_cost_nb(cfg.model_id, cfg.to_params(), v, price, sigma)
        liq_ref = ref.impact_ref(model, -v, cfg.liquidation_seconds, price, sigma, **_cfg_kwargs(cfg))[2]
        assert liq == pytest.approx(liq_ref, rel=1e-13, abs=0.0)


def test_kernel_rejects_unknown_model_and_bad_tau():
    p = ImpactConfig().to_params()
    with pytest.raises(ValueError, match="unknown impact model"):
        inb.impact_nb(7, p, 1.0, 1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="tau > 0"):
        inb.impact_nb(inb.IMPACT_ALMGREN_CHRISS, p, 1.0, 0.0, 1.0, 0.0)


def test_wrappers_validate_market_inputs():
    cfg = ImpactConfig(model="sqrt")
    with pytest.raises(ValueError, match=r"impact\.tau"):
        impact(cfg, 1.0, 0.0, 10.0, 1e-4)
    with pytest.raises(ValueError, match=r"impact\.price"):
        impact(cfg, 1.0, 1.0, -10.0, 1e-4)
    with pytest.raises(ValueError, match=r"impact\.sigma"):
        impact(cfg, 1.0, 1.0, 10.0, -1e-4)
    with pytest.raises(ValueError, match=r"impact\.v"):
        impact(cfg, float("nan"), 1.0, 10.0, 1e-4)
    with pytest.raises(ValueError, match=r"liquidation_cost\.q"):
        liquidation_cost(cfg, float("inf"), 10.0, 1e-4)


def test_liquidation_cost_equals_one_interval_ac_schedule():
    cfg = ImpactConfig(model="almgren_chriss", gamma=3e-5, eta=4e-3, epsilon=0.02, liquidation_seconds=30.0)
    for q in (1234.0, -777.0):
        got = liquidation_cost(cfg, q, 50.0, 1e-4)
        assert got == pytest.approx(0.02 * abs(q) + 4e-3 * q * q / 30.0, rel=1e-14)
        # the paper's expected cost of the N = 1 schedule [q, 0] over T = liquidation_seconds
        e1 = ac_expected_cost([q, 0.0], 30.0, gamma=3e-5, eta=4e-3, epsilon=0.02)
        assert got == pytest.approx(e1, rel=1e-13)
    sq = ImpactConfig(model="sqrt", beta=0.5, daily_volume=1e6, day_seconds=1e4)
    assert liquidation_cost(sq, 1e4, 100.0, 1e-4) == pytest.approx(500.0, rel=1e-14)


def test_kernels_callable_from_njit_code():
    """The step kernel calls the family from inside its own compiled loop: no Python objects involved."""

    @numba.njit
    def fake_step(model, params, trades, tau, price, sigma, lam):
        shift = np.zeros(1)
        fair = price
        total_cost = 0.0
        for v in trades:
            perm, temp, cost = inb.impact_nb(model, params, v, tau, fair, sigma)
            inb.decay_nb(shift, lam, tau)
            inb.decay_add_nb(shift, 0, temp)
            fair += perm
            total_cost += cost
        total_cost += inb.liquidation_cost_nb(model, params, 5.0, fair, sigma)
        return fair, shift[0], total_cost

    cfg = ImpactConfig(model="almgren_chriss", gamma=1e-3, eta=1e-2, epsilon=0.0)
    fair, shift, cost = fake_step(cfg.model_id, cfg.to_params(), np.array([10.0, -5.0]), 1.0, 100.0, 0.0, 0.5)
    assert fair == pytest.approx(100.0 + 1e-3 * 5.0, rel=1e-15)
    assert shift == pytest.approx(0.1 * math.exp(-0.5) - 0.05, rel=1e-14)
    liq = 1e-2 * 25.0 / cfg.liquidation_seconds
    assert cost == pytest.approx(1e-2 * 100 + 1e-2 * 25 + liq, rel=1e-14)


# ------------------------------------------------------------------------------------------------------------
# Decay


@pytest.mark.parametrize("lam", [1e-3, 0.05, math.log(2) / 10, 1.0, 37.0])
def test_decay_half_life(lam):
    state = np.array([1.0, -3.5, 0.0, 1e6])
    start = state.copy()
    decay(state, lam, half_life(lam))
    np.testing.assert_allclose(state, start / 2, rtol=1e-12, atol=0.0)
    assert half_life(lam) == pytest.approx(math.log(2) / lam, rel=1e-15)
    assert decay_rate_from_half_life(half_life(lam)) == pytest.approx(lam, rel=1e-15)


def test_decay_composes_and_matches_reference():
    rng = np.random.default_rng(7)
    for _ in range(100):
        lam = 10 ** rng.uniform(-3, 1)
        dt1, dt2 = rng.uniform(0, 5, size=2)
        x = rng.normal(size=5)
        a = x.copy()
        inb.decay_nb(a, lam, dt1)
        inb.decay_nb(a, lam, dt2)
        b = x.copy()
        inb.decay_nb(b, lam, dt1 + dt2)
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-300)
        np.testing.assert_allclose(b, [ref.decay_ref(v, lam, dt1 + dt2) for v in x], rtol=1e-14, atol=0)


def test_decay_edge_cases():
    s = np.array([2.0, -1.0])
    inb.decay_nb(s, 0.0, 100.0)  # rate 0: never decays
    np.testing.assert_array_equal(s, [2.0, -1.0])
    inb.decay_nb(s, math.inf, 0.0)  # no time: unchanged even at infinite rate (no inf * 0 = nan)
    np.testing.assert_array_equal(s, [2.0, -1.0])
    inb.decay_nb(s, math.inf, 1e-9)  # infinite rate: gone at once
    np.testing.assert_array_equal(s, [0.0, 0.0])
    inb.decay_add_nb(s, 1, 0.25)
    inb.decay_add_nb(s, 1, -0.5)
    np.testing.assert_array_equal(s, [0.0, -0.25])
    with pytest.raises(ValueError, match="dt must be >= 0"):
        inb.decay_nb(s, 1.0, -1.0)
    with pytest.raises(ValueError, match=r"decay\.dt"):
        decay(s, 1.0, -1.0)
    with pytest.raises(ValueError, match=r"decay\.state"):
        decay(np.zeros(2, dtype=np.float32), 1.0, 1.0)
    assert half_life(0.0) == math.inf
    with pytest.raises(ValueError, match=r"half_life\.decay_rate"):
        half_life(-1.0)


# ------------------------------------------------------------------------------------------------------------
# Almgren-Chriss execution


AC_CASES = [
    # X, T, N, sigma, lam, gamma, eta, epsilon
    (1e6, 5.0, 5, 0.95, 1e-6, 2.5e-7, 2.5e-6, 0.0625),  # the paper's example
    (1e6, 5.0, 20, 0.95, 2e-6, 2.5e-7, 2.5e-6, 0.0625),
    (-4e5, 3600.0, 60, 0.02, 1e-3, 1e-7, 5e-4, 0.01),  # a purchase
    (5e3, 600.0, 1, 0.05, 1e-2, 1e-6, 1e-3, 0.0),  # N = 1: sell at once, V = 0
    (2e4, 60.0, 12, 0.3, 1e-4, 0.0, 1e-3, 0.0),
    (1e6, 5.0, 20, 0.95, 1e-9, 2.5e-7, 2.5e-6, 0.0625),  # small kappa T ~ 0.1: series branch
    (1e6, 5.0, 20, 0.95, 1e-13, 2.5e-7, 2.5e-6, 0.0625),  # lambda -> 0
    (1e6, 5.0, 20, 0.95, 1e-18, 2.5e-7, 2.5e-6, 0.0625),  # lambda -> 0, below the linear cut-off
    (1e6, 5.0, 20, 0.95, 0.0, 2.5e-7, 2.5e-6, 0.0625),  # lambda = 0: TWAP
    (1e6, 5.0, 20, 0.95, 1.0, 2.5e-7, 2.5e-6, 0.0625),  # kappa T ~ 200
    (1e6, 5.0, 20, 0.95, 1e12, 2.5e-7, 2.5e-6, 0.0625),  # kappa T ~ 750: sinh(kappa T) overflows
]


def _unpack(case):
    X, T, N, sigma, lam, gamma, eta, eps = case
    return X, T, N, {"sigma": sigma, "lam": lam, "gamma": gamma, "eta": eta}, eps


@pytest.mark.parametrize("case", AC_CASES)
def test_ac_closed_forms_equal_direct_sums(case):
    X, T, N, kw, eps = _unpack(case)
    tau = T / N
    x = ac_optimal_trajectory(X, T, N, **kw)
    assert x.shape == (N + 1,) and x[0] == X and x[-1] == 0.0
    E, V = ac_optimal_cost(X, T, N, epsilon=eps, **kw)
    E_sum = ac_expected_cost(x, tau, gamma=kw["gamma"], eta=kw["eta"], epsilon=eps)
    V_sum = ac_variance(x, tau, sigma=kw["sigma"])
    assert E == pytest.approx(E_sum, rel=1e-12)
    assert V == pytest.approx(V_sum, rel=1e-12, abs=1e-300)
    # ... and the slow references: implementation shortfall replayed from the price dynamics, plain loops
    xl = [float(v) for v in x]
    E_ref = ref.ac_shortfall_ref(xl, tau, gamma=kw["gamma"], eta=kw["eta"], epsilon=eps)
    assert E == pytest.approx(E_ref, rel=1e-12)
    assert V == pytest.approx(ref.ac_variance_ref(xl, tau, kw["sigma"]), rel=1e-12, abs=1e-300)
    # the shortfall does not depend on the starting price
    E_ref50 = ref.ac_shortfall_ref(xl, tau, gamma=kw["gamma"], eta=kw["eta"], epsilon=eps, S0=50.0)
    assert E_ref50 == pytest.approx(E_ref, rel=1e-7)


@pytest.mark.parametrize("case", AC_CASES)
def test_ac_trajectory_matches_first_order_conditions(case):
    X, T, N, kw, _ = _unpack(case)
    x = ac_optimal_trajectory(X, T, N, **kw)
    x_ref = ref.ac_trajectory_ref(X, T, N, **kw)
    np.testing.assert_allclose(x, x_ref, rtol=1e-10, atol=1e-12 * abs(X))
    if N > 1:  # holdings decay monotonically towards 0
        assert np.all(np.diff(np.abs(x)) <= 0)


@pytest.mark.parametrize("lam", [0.0, 1e-18, 1e-13])
def test_ac_lambda_to_zero_is_twap(lam):
    X, T, N = 1e6, 5.0, 20
    x = ac_optimal_trajectory(X, T, N, sigma=0.95, lam=lam, gamma=2.5e-7, eta=2.5e-6)
    np.testing.assert_allclose(x, X * (1 - np.arange(N + 1) / N), rtol=1e-6, atol=1e-9)
    E, V = ac_optimal_cost(X, T, N, sigma=0.95, lam=lam, gamma=2.5e-7, eta=2.5e-6, epsilon=PAPER_EPS)
    eta_t = 2.5e-6 - 0.5 * 2.5e-7 * T / N
    E_twap = 0.5 * 2.5e-7 * X**2 + PAPER_EPS * X + eta_t * X**2 / T
    V_twap = 0.95**2 * X**2 * T / 3 * (1 - 1 / N) * (1 - 1 / (2 * N))
    kT = ac_kappa(T / N, 0.95, lam, 2.5e-7, 2.5e-6) * T
    assert kT < 1e-2
    # the optimal E and V differ from the straight line's by O((kappa T)^2)
    assert E == pytest.approx(E_twap, rel=max(1e-13, kT**2))
    assert V == pytest.approx(V_twap, rel=max(1e-13, kT**2))
    assert V <= V_twap and E >= E_twap * (1 - 1e-15)  # risk aversion trades cost for variance


def test_ac_kappa_satisfies_paper_definition():
    for tau, lam, eta in [(1.0, 1e-6, 2.5e-6), (0.25, 2e-6, 2.5e-6), (60.0, 1e-3, 1e-3), (0.25, 1.0, 2.5e-6)]:
        kappa = ac_kappa(tau, 0.95, lam, 2.5e-7, eta)
        kt2 = lam * 0.95**2 / ac_eta_tilde(tau, 2.5e-7, eta)
        # paper: (2 / tau^2) (cosh(kappa tau) - 1) = kappa_tilde^2; same as 4 sinh^2(kappa tau / 2) / tau^2
        assert 4 * math.sinh(kappa * tau / 2) ** 2 / tau**2 == pytest.approx(kt2, rel=1e-13)


@pytest.mark.parametrize("case", [c for c in AC_CASES if c[2] > 1 and c[4] < 1e3])
def test_ac_optimal_trajectory_minimises_objective(case):
    X, T, N, kw, eps = _unpack(case)
    tau = T / N
    x = ac_optimal_trajectory(X, T, N, **kw)
    lam = kw["lam"]

    def objective(s):
        e = ac_expected_cost(s, tau, gamma=kw["gamma"], eta=kw["eta"], epsilon=eps)
        return e + lam * ac_variance(s, tau, sigma=kw["sigma"])

    best = objective(x)
    assert best == pytest.approx(
        ref.ac_objective_ref(
            list(x), tau, sigma=kw["sigma"], lam=lam, gamma=kw["gamma"], eta=kw["eta"], epsilon=eps
        ),
        rel=1e-12,
    )
    rng = np.random.default_rng(N)
    for scale in (1e-1, 1e-2, 1e-3):
        for _ in range(50):
            y = x.copy()
            y[1:-1] += rng.normal(scale=scale * abs(X) / N, size=N - 1)
            assert objective(y) > best
        # a perturbation of a single interior point, too
        y = x.copy()
        y[rng.integers(1, N)] += scale * X / N
        assert objective(y) > best
    # the straight line and the immediate sale are not better either
    assert objective(X * (1 - np.arange(N + 1) / N)) >= best * (1 - 1e-14)
    assert objective(np.r_[X, np.zeros(N)]) > best


def test_ac_validation_names_the_argument():
    with pytest.raises(ValueError, match="eta_tilde"):
        ac_kappa(1.0, 0.1, 1e-3, gamma=1e-2, eta=1e-3)  # eta - gamma tau / 2 < 0
    with pytest.raises(ValueError, match=r"almgren_chriss\.N"):
        ac_optimal_trajectory(1e3, 10.0, 0, **PAPER, lam=0.0)
    with pytest.raises(ValueError, match=r"almgren_chriss\.T"):
        ac_optimal_cost(1e3, -1.0, 5, **PAPER, lam=0.0)
    with pytest.raises(ValueError, match=r"almgren_chriss\.lam"):
        ac_optimal_trajectory(1e3, 10.0, 5, **PAPER, lam=-1.0)
    with pytest.raises(ValueError, match="end flat"):
        ac_expected_cost([10.0, 5.0, 1.0], 1.0, gamma=0.0, eta=1.0)
    with pytest.raises(ValueError, match=r"almgren_chriss\.sigma"):
        ac_variance([10.0, 0.0], 1.0, sigma=-1.0)


def test_ac_expected_cost_identity_on_arbitrary_schedules():
    """The paper's E formula equals the replayed shortfall for any schedule, monotone or not."""
    rng = np.random.default_rng(99)
    for _ in range(50):
        N = int(rng.integers(1, 30))
        X = float(rng.uniform(-1e5, 1e5))
        x = np.r_[X, rng.uniform(-1.5, 1.5, size=N - 1) * X, 0.0]
        tau = float(rng.uniform(0.1, 100))
        gamma, eta, eps = (float(v) for v in rng.uniform(0, 1e-3, size=3))
        E = ac_expected_cost(x, tau, gamma=gamma, eta=eta, epsilon=eps)
        assert E == pytest.approx(
            ref.ac_shortfall_ref(list(x), tau, gamma=gamma, eta=eta, epsilon=eps), rel=1e-10
        )


# ------------------------------------------------------------------------------------------------------------
# Layering


def test_impact_and_risk_modules_import_only_numpy_numba_stdlib():
    core = pathlib.Path(inb.__file__).parent
    allowed = {"numpy", "numba", "almm_rllib", "math", "dataclasses", "typing", "__future__", "os"}
    for name in ("impact.py", "impact_nb.py", "risk.py"):
        tree = ast.parse((core / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {(node.module or "").split(".")[0]}
            else:
                continue
            assert roots <= allowed, (name, roots)
