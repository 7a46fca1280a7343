"""Pass/fail plausibility checks of the simulated market, each with its criterion and the reason for it."""

from __future__ import annotations

import math

import numpy as np

from almm_rllib.results.market_report.summary import fmt


def _check(cid: str, title: str, value: str, criterion: str, passed: bool | None, why: str) -> dict:
    return {"id": cid, "title": title, "value": value, "criterion": criterion, "passed": passed, "why": why}


#: Largest typical spread (ticks) of a large-tick market, the kind the spread and bounce checks describe.
LARGE_TICK_SPREAD = 3.0


def plausibility_checks(
    sim: dict,
    per_regime: dict | None,
    *,
    vol_tolerance: float = 0.25,
    switching: bool = True,
    typical_spread_ticks: float | None = None,
) -> list[dict]:
    """Pass/fail plausibility checks of the simulated market (``passed`` None = not applicable).

    ``sim`` is :func:`market_stats` of the switching run; ``per_regime`` maps regime names to the pinned-run
    summaries (``configured_vol``, ``mid_vol_step``, ``mid_vol_coarse``, ``fair_ratio``...).
    ``typical_spread_ticks`` is the preset's: above ``LARGE_TICK_SPREAD`` the market is not a large-tick one
    (AMZN's day: 12.85 ticks, a positive 1-s return autocorrelation), so the two checks that describe a
    large-tick stock (spread of 1-3 ticks, bid-ask bounce) are not applicable; the microstructure section
    compares those figures with the real day instead."""
    wide = typical_spread_ticks is not None and typical_spread_ticks > LARGE_TICK_SPREAD
    spread, (bounce, coarse) = _spread_check(sim), _autocorrelation_checks(sim)
    if wide:
        note = (
            f" Not applicable here: the preset's typical spread is {typical_spread_ticks:g} ticks, not a "
            "large-tick market; the microstructure section compares the spread and the 1-s return "
            "autocorrelation with the real day."
        )
        spread = {**spread, "passed": None, "why": spread["why"] + note}
        bounce = {**bounce, "passed": None, "why": bounce["why"] + note}
    out = [spread, bounce, coarse, _clustering_check(sim, switching)]
    out += [_tails_check(sim), _ofi_check(sim)]
    reg = sim.get("regimes")
    if reg is not None and switching and len(reg["names"]) > 1:
        out.append(_occupancy_check(reg))
    if per_regime:
        out += _volatility_checks(per_regime, vol_tolerance)
    return out


def _spread_check(sim: dict) -> dict:
    sp = sim["spread"]
    f13 = sp["frac_1_to_3"]
    return _check(
        "spread",
        "Spread mostly 1-3 ticks",
        f"{fmt(100 * f13)}% of steps",
        ">= 80% of steps with a spread of 1 to 3 ticks, none crossed",
        bool(f13 >= 0.8 and sp["frac_crossed"] == 0),
        "A liquid large-tick stock trades at a spread of one or a few ticks most of the time.",
    )


def _autocorrelation_checks(sim: dict) -> list[dict]:
    rs, rc = sim["returns"]["step"], sim["returns"]["coarse"]
    a1 = rs["acf"][0]
    ac = rc["acf"][0]
    return [
        _check(
            "bounce",
            "Negative lag-1 autocorrelation of one-step mid returns",
            fmt(a1),
            "< 0",
            bool(a1 < 0) if math.isfinite(a1) else None,
            "Bid-ask bounce and quote refills make consecutive mid changes partly reverse; a positive value "
            "means the mid trends (it lags a moving value and catches up over several steps).",
        ),
        _check(
            "acf_coarse",
            f"Lag-1 autocorrelation near zero at {rc['horizon_s']:g} s",
            fmt(ac),
            "|acf| < 0.1",
            bool(abs(ac) < 0.1) if math.isfinite(ac) else None,
            "Beyond the microstructure horizon returns are close to unpredictable from their own past.",
        ),
    ]


def _clustering_check(sim: dict, switching: bool) -> dict:
    aa = sim["returns"]["step"]["abs_acf"]
    if not switching:
        return _check(
            "clustering",
            "Volatility clustering",
            fmt(aa[0]),
            "applies when regimes switch",
            None,
            "The regime is pinned: there is nothing to cluster.",
        )
    return _check(
        "clustering",
        "Volatility clustering: |r| positively autocorrelated",
        f"lag 1 {fmt(aa[0])}, mean of lags 1-{len(aa)} {fmt(float(np.nanmean(aa)))}",
        "lag 1 > 0 and mean over the lags > 0",
        bool(aa[0] > 0 and np.nanmean(aa) > 0),
        "Regime switches make calm and busy stretches last, so large moves follow large moves.",
    )


def _positive_check(cid: str, title: str, x: float, criterion: str, why: str) -> dict:
    """A check that ``x`` is positive (not applicable when ``x`` is NaN)."""
    return _check(cid, title, fmt(x), criterion, bool(x > 0) if math.isfinite(x) else None, why)


def _tails_check(sim: dict) -> dict:
    return _positive_check(
        "tails",
        "Heavy tails: excess kurtosis of one-step returns",
        sim["returns"]["step"]["kurtosis"],
        "> 0",
        "Real short-horizon returns are leptokurtic; here a mixture of regimes, discrete ticks and "
        "occasional catch-up moves of the book produce it.",
    )


def _ofi_check(sim: dict) -> dict:
    return _positive_check(
        "ofi",
        "Order-flow imbalance moves the price the same step",
        sim["ofi"]["step"]["corr"],
        "corr(aggressive buy - sell lots, mid change) > 0",
        "Buying pressure lifts the price (Cont, Kukanov and Stoikov 2014).",
    )


#: Fewer regime switches than this and the occupancy check says the run is too short to judge.
MIN_SWITCHES_TO_JUDGE = 20


def _occupancy_check(reg: dict, tol: float = 3.0) -> dict:
    ok = bool(reg["max_dev_in_se"] <= tol or reg["max_abs_dev"] <= 0.02)
    criterion = f"every |occupancy - stationary| within {tol:g} batch-means standard errors (or 0.02)"
    if reg["n_switches"] < MIN_SWITCHES_TO_JUDGE:  # batch means of a few spells say nothing
        ok = None
        criterion = (
            f"too short to judge: {reg['n_switches']} regime switches, at least {MIN_SWITCHES_TO_JUDGE} "
            "needed (a longer --seconds; the default covers many)"
        )
    return _check(
        "occupancy",
        "Regime occupancy matches the chain's stationary distribution",
        ", ".join(
            f"{n} {fmt(o, 2)} vs {fmt(p, 2)}"
            for n, o, p in zip(reg["names"], reg["occupancy"], reg["stationary"])
        ),
        criterion,
        ok,
        "Checks the regime chain: time spent in each regime converges to pi with pi Q = 0.",
    )


def _volatility_checks(per_regime: dict, vol_tolerance: float) -> list[dict]:
    """Realised mid volatility per pinned regime (one step, coarse) and the fair price's, vs configured."""
    out = []
    hc = next(iter(per_regime.values())).get("coarse_horizon_s")
    coarse_label = f"{hc:g}-s returns" if hc else "coarse returns"
    for key, label in (("ratio_step", "one-step returns"), ("ratio_coarse", coarse_label)):
        ratios = {n: v[key] for n, v in per_regime.items()}
        fin = [x for x in ratios.values() if math.isfinite(x)]
        ok = bool(fin and all(1 - vol_tolerance <= x <= 1 / (1 - vol_tolerance) for x in fin))
        out.append(
            _check(
                f"vol_{'step' if key == 'ratio_step' else 'coarse'}",
                f"Realised mid volatility per regime matches the configured value ({label})",
                ", ".join(f"{n} x{fmt(x, 2)}" for n, x in ratios.items()),
                f"realised / configured in [{1 - vol_tolerance:g}, {1 / (1 - vol_tolerance):.3g}] in every "
                "pinned regime",
                ok,
                "RegimeConfig.volatility is the fair price's volatility; a book that tracks the fair price "
                "realises it in its mid. A low ratio means the mid lags the fair price.",
            )
        )
    fr = {n: v["fair_ratio"] for n, v in per_regime.items()}
    fin = [x for x in fr.values() if math.isfinite(x)]
    gbm = all(v.get("fair_is_gbm", True) for v in per_regime.values())
    out.append(
        _check(
            "fair_vol",
            "The latent fair price has the configured volatility",
            ", ".join(f"{n} x{fmt(x, 3)}" for n, x in fr.items()),
            "realised / configured within 5% in every pinned regime (markets whose order flow does not move "
            "the fair price)",
            bool(fin and all(abs(x - 1) <= 0.05 for x in fin)) if gbm else None,
            "Simulator sanity: the GBM of the fair price is what the configuration says."
            if gbm
            else "Not applicable: order flow moves the fair price (formation.impact_ticks > 0) and "
            "regimes.diffusion_scale scales its diffusion, so that the configured volatility is the mid's "
            "total, which the two checks above test.",
        )
    )
    return out
