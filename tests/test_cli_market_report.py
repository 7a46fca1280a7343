"""``almm market-report``: a run too long for memory is refused before it starts; a run too short to judge
the regime chain says so instead of failing the occupancy check."""

from __future__ import annotations

import numpy as np
import pytest

from almm_rllib.core.market_config import RegimeConfig
from almm_rllib.results import market_report as mr
from tests.cli_procs import almm
from tests.test_market_report import make_rec


def test_seconds_beyond_memory_are_refused_before_anything_runs(tmp_path):
    out = tmp_path / "mr"
    res = almm("market-report", "--seconds", "1e12", "--no-lobster", "--out", str(out), timeout=120)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    last = res.stderr.strip().splitlines()[-1]
    assert "--seconds" in last and "GiB" in last and "at most about" in last
    assert not out.exists()
    # the estimate grows with the length and counts the pinned runs
    small = mr.check_memory(3600.0, 3600.0, 1.0, 3)
    assert mr.check_memory(7200.0, 7200.0, 1.0, 3) == 2 * small
    assert mr.check_memory(3600.0, 3600.0, 1.0, 0) == small / 4


def _occupancy_check(n_spells: int) -> dict:
    rc = RegimeConfig()
    reg = np.tile(np.array([0] * 40 + [1] * 40 + [2] * 20), n_spells)
    sim = mr.market_stats(make_rec(np.full(reg.size, 1e4), regime=reg), dt=1.0, regimes=rc)
    return next(c for c in mr.plausibility_checks(sim, None, switching=True) if c["id"] == "occupancy")


def test_occupancy_check_says_when_a_run_is_too_short_to_judge():
    short = _occupancy_check(3)  # 8 switches
    assert short["passed"] is None and short["criterion"].startswith("too short to judge: 8 regime switches")
    long = _occupancy_check(40)  # 119 switches, occupancy exactly 0.4/0.4/0.2 = stationary
    assert long["passed"] is True and "standard errors" in long["criterion"]


def test_config_file_reads_scientific_notation_and_refuses_nan(tmp_path):
    from almm_rllib.core.config import ConfigError
    from almm_rllib.results.market_report.cli import _load_config

    good, bad = tmp_path / "m.yaml", tmp_path / "n.yaml"
    good.write_text("flow:\n  limit_rate: 1.2e+1\n")
    bad.write_text("flow:\n  limit_rate: .nan\n")
    assert _load_config(str(good)).flow.limit_rate == 12.0
    with pytest.raises(ConfigError, match=r"n\.yaml: flow\.limit_rate must be a finite number"):
        _load_config(str(bad))
