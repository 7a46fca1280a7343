"""Pinned schemas, atomic writes, run folders, reading them back with pandas, pyarrow, DuckDB and polars."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
import pickle
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import almm_rllib
from almm_rllib.results import io as rio
from almm_rllib.results import schema as S
from almm_rllib.results.errors import ResultsError, SchemaError
from almm_rllib.results.metrics import episodes_table
from tests.results_fixtures import make_fills, make_steps, simulate_run


@pytest.fixture(scope="module")
def run_tables():
    steps, fills = simulate_run(seeds=(0, 1), n_steps=40)
    steps.loc[steps.index[::7], S.BEST_ASK] = np.nan  # empty ask side now and then
    steps.loc[steps.index[::5], S.BID_PRICE] = np.nan  # not quoting the bid now and then
    episodes = episodes_table(steps, fills, capital=1e4, horizon_s=1.0)
    return steps, fills, episodes


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# ----------------------------------------------------------------------------------------------------------
# Schemas.


def test_schemas_hold_the_documented_columns():
    assert S.STEPS_COLUMNS == (
        "run_id", "strategy", "seed", "agent_id", "step", "time", "mid", "best_bid", "best_ask", "bid_price",
        "ask_price", "cash", "inventory", "pnl", "dpnl", "reward", "posted_bid_qty", "posted_ask_qty",
        "filled_bid_qty", "filled_ask_qty", "impact_cost", "sigma", "regime", "n_fills", "phase",
    )  # fmt: skip
    assert S.FILLS_COLUMNS == (
        "run_id", "strategy", "seed", "agent_id", "step", "time", "side", "price", "qty", "mid_at_fill",
        "is_maker", "order_id",
    )  # fmt: skip
    metrics_md = {
        "total_pnl", "total_pnl_liquidated", "sharpe", "sortino", "max_drawdown", "max_drawdown_pct",
        "calmar", "var_95", "cvar_95", "inventory_var_95", "win_rate", "profit_factor", "fill_ratio",
        "spread_captured", "adverse_selection", "avg_abs_inventory", "inventory_std", "max_abs_inventory",
        "n_fills", "volume",
    }  # fmt: skip
    assert metrics_md <= set(S.EPISODE_METRICS)
    assert S.EPISODES_COLUMNS[:5] == ("run_id", "strategy", "seed", "agent_id", "n_steps")
    assert S.STEPS_SCHEMA.field("step").type == pa.int32()
    assert S.STEPS_SCHEMA.field("regime").type == pa.int8()
    assert S.FILLS_SCHEMA.field("side").type == pa.int8()
    assert S.FILLS_SCHEMA.field("is_maker").type == pa.bool_()
    assert S.EPISODES_SCHEMA.field("n_fills").type == pa.int64()
    for schema in S.SCHEMAS.values():
        assert all(not f.nullable and f.metadata[b"doc"] for f in schema)


def test_conform_casts_safe_types(run_tables):
    steps = run_tables[0].astype({S.STEP: np.int64, S.REGIME: np.int64, S.N_FILLS: np.int64})
    steps[S.STRATEGY] = steps[S.STRATEGY].astype("category")
    t = S.conform(steps, "steps")
    assert t.schema.equals(S.STEPS_SCHEMA, check_metadata=False)
    assert t.column(S.STRATEGY).to_pylist()[0] == "avellaneda_stoikov"
    # reordered columns are put back in the pinned order
    t2 = S.conform(steps[list(reversed(steps.columns))], S.STEPS_SCHEMA)
    assert t2.column_names == list(S.STEPS_COLUMNS)


def test_conform_keeps_nan_in_float_columns_and_turns_nulls_into_nan():
    fills = make_fills([(0, 1.0, 1, 100.0, 1.0, 100.0), (0, 1.0, 1, 100.0, 1.0, 100.0)])
    t = pa.Table.from_pandas(fills, preserve_index=False)
    t = t.set_column(
        t.schema.get_field_index(S.MID_AT_FILL), S.MID_AT_FILL, pa.array([None, 1.0], pa.float64())
    )
    out = S.conform(t, "fills")
    assert out.column(S.MID_AT_FILL).null_count == 0
    assert math.isnan(out.column(S.MID_AT_FILL)[0].as_py())


@pytest.mark.parametrize(
    ("mutate", "column", "words"),
    [
        (lambda d: d.drop(columns=[S.SIGMA]), S.SIGMA, "missing"),
        (lambda d: d.assign(extra=1.0), "extra", "not in the pinned schema"),
        (lambda d: d.assign(mid=d[S.MID].astype(str)), S.MID, "the pinned schema says double"),
        (lambda d: d.assign(step=d[S.STEP].astype(np.float64)), S.STEP, "floats are not cast to integers"),
        (lambda d: d.assign(regime=np.int64(300)), S.REGIME, "cannot be cast to int8"),
        (lambda d: d.assign(phase=None), S.PHASE, "only nulls"),
        (lambda d: d.assign(agent_id=[None] + ["a"] * (len(d) - 1)), S.AGENT_ID, "null value"),
        (lambda d: d.assign(seed="zero"), S.SEED, "the pinned schema says int64"),
    ],
)
def test_schema_errors_name_table_and_column(mutate, column, words):
    steps = make_steps([1.0, 2.0, 3.0])
    with pytest.raises(SchemaError) as info:
        S.conform(mutate(steps), S.STEPS_SCHEMA)
    e = info.value
    assert e.table == "steps"
    assert e.column == column
    assert f"table 'steps': column '{column}'" in str(e)
    assert words in str(e)
    assert isinstance(e, ResultsError) and isinstance(e, ValueError)


def test_fill_value_checks():
    fills = make_fills([(0, 1.0, 1, 100.0, 1.0, 100.0), (1, 2.0, -1, 100.0, 2.0, 100.0)])
    with pytest.raises(SchemaError, match="'side': must be \\+1 or -1, got 0 at row 1"):
        S.conform(fills.assign(side=np.int8([1, 0])), "fills")
    with pytest.raises(SchemaError, match="'qty': must be > 0"):
        S.conform(fills.assign(qty=[1.0, 0.0]), "fills")
    with pytest.raises(SchemaError, match="'qty': must be > 0, got nan"):
        S.conform(fills.assign(qty=[1.0, np.nan]), "fills")


def test_conform_refuses_other_inputs():
    with pytest.raises(SchemaError, match="expected a pandas DataFrame or a pyarrow Table, got dict"):
        S.conform({"a": [1]}, "steps")
    with pytest.raises(ValueError, match="unknown results table"):
        S.conform(make_steps([1.0]), "trades")


def test_errors_pickle():
    e = SchemaError("steps", "mid", "bad", "/x/steps.parquet")
    e2 = pickle.loads(pickle.dumps(e))
    assert (e2.table, e2.column, e2.path, str(e2)) == (e.table, e.column, e.path, str(e))
    r = pickle.loads(pickle.dumps(ResultsError("/x", "why")))
    assert str(r) == "/x: why"


# ----------------------------------------------------------------------------------------------------------
# Atomic writes.


def test_write_table_schema_error_creates_no_file(tmp_path):
    path = tmp_path / "steps.parquet"
    with pytest.raises(SchemaError):
        rio.write_table(make_steps([1.0]).drop(columns=[S.MID]), path, S.STEPS_SCHEMA)
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_write_table_schema_error_leaves_previous_file_untouched(tmp_path):
    path = tmp_path / "steps.parquet"
    rio.write_table(make_steps([1.0, 2.0]), path, "steps")
    before = path.read_bytes()
    with pytest.raises(SchemaError):
        rio.write_table(make_steps([5.0]).assign(extra=1), path, "steps")
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_write_failing_midway_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "steps.parquet"
    rio.write_table(make_steps([1.0, 2.0]), path, "steps")
    before = path.read_bytes()
    seen = []

    def half_then_fail(table, where, **kw):
        seen.append(Path(where))
        Path(where).write_bytes(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(rio.pq, "write_table", half_then_fail)
    with pytest.raises(ResultsError, match="steps.parquet: could not be written .*disk full"):
        rio.write_table(make_steps([7.0, 8.0, 9.0]), path, "steps")
    assert seen and seen[0].parent == tmp_path and seen[0] != path  # it wrote beside, under a temporary name
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []
    monkeypatch.undo()
    assert pq.read_table(path).num_rows == 2


def test_write_table_missing_folder(tmp_path):
    with pytest.raises(ResultsError, match="nope: folder does not exist"):
        rio.write_table(make_steps([1.0]), tmp_path / "nope" / "steps.parquet", "steps")


def test_write_json_refuses_nan_and_keeps_previous(tmp_path):
    p = tmp_path / "config.json"
    rio.write_json({"a": 1}, p)
    with pytest.raises(ResultsError, match="config.json: cannot be written as JSON"):
        rio.write_json({"a": float("nan")}, p)
    assert json.loads(p.read_text()) == {"a": 1}


# ----------------------------------------------------------------------------------------------------------
# Run folders: round trip.


@dataclasses.dataclass
class _EnvCfg:
    capital: float = 1e4
    tick: float = 0.01


def test_round_trip_pandas_pyarrow_duckdb_polars(tmp_path, run_tables):
    steps, fills, episodes = run_tables
    config = {
        "env": _EnvCfg(),
        "seeds": np.arange(2),
        "n": np.int64(3),
        "out": tmp_path,
        "lam": np.float32(0.5),
    }
    run_dir = rio.write_run(tmp_path / "run-1", steps, fills, episodes, config)
    names = sorted(p.name for p in run_dir.iterdir())
    assert names == ["config.json", "episodes.parquet", "fills.parquet", "steps.parquet", "version.json"]

    # ours, pandas
    run = rio.read_run(run_dir)
    for name, original in (("steps", steps), ("fills", fills), ("episodes", episodes)):
        back = getattr(run, name)
        expected = S.conform(original, name).to_pandas()
        pd.testing.assert_frame_equal(back, expected)
        assert len(back) == len(original)
    assert run.steps[S.BEST_ASK].isna().sum() == steps[S.BEST_ASK].isna().sum() > 0
    np.testing.assert_array_equal(run.steps[S.PNL].to_numpy(), steps[S.PNL].to_numpy())
    expected_config = {"env": {"capital": 1e4, "tick": 0.01}, "seeds": [0, 1], "n": 3, "out": str(tmp_path)}
    assert run.config == {**expected_config, "lam": 0.5}

    # pyarrow
    t = pq.read_table(run_dir / "steps.parquet")
    assert t.schema.equals(S.STEPS_SCHEMA, check_metadata=False)
    assert t.schema.metadata[b"almm_rllib.table"] == b"steps"
    assert pq.read_table(run_dir / "fills.parquet").schema.field("side").type == pa.int8()

    # DuckDB: NaN (not NULL) in float columns, exact sums, types
    con = duckdb.connect()
    p = str(run_dir / "steps.parquet")
    n, total, n_nan, n_null = con.execute(
        "SELECT count(*), sum(pnl), count(*) FILTER (WHERE isnan(best_ask)),"
        f" count(*) FILTER (WHERE best_ask IS NULL) FROM read_parquet('{p}')"
    ).fetchone()
    assert n == len(steps)
    assert total == pytest.approx(steps[S.PNL].sum())
    assert n_nan == steps[S.BEST_ASK].isna().sum()
    assert n_null == 0
    desc = f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('{p}'))"
    types = dict(con.execute(desc).fetchall())
    assert types["step"] == "INTEGER" and types["regime"] == "TINYINT" and types["seed"] == "BIGINT"
    pe = str(run_dir / "episodes.parquet")
    by = con.execute(
        f"SELECT strategy, avg(total_pnl) FROM read_parquet('{pe}') GROUP BY strategy"
    ).fetchall()
    assert dict(by) == pytest.approx(episodes.groupby(S.STRATEGY)[S.TOTAL_PNL].mean().to_dict())
    pf = str(run_dir / "fills.parquet")
    assert con.execute(f"SELECT sum(qty * side) FROM read_parquet('{pf}')").fetchone()[0] == pytest.approx(
        (fills[S.QTY] * fills[S.SIDE]).sum()
    )

    # polars
    ps = pl.read_parquet(run_dir / "steps.parquet")
    assert ps.shape == steps.shape
    assert ps.schema["step"] == pl.Int32 and ps.schema["regime"] == pl.Int8
    assert ps["best_ask"].is_nan().sum() == steps[S.BEST_ASK].isna().sum()
    assert ps["best_ask"].null_count() == 0
    pfl = pl.read_parquet(run_dir / "fills.parquet")
    assert pfl.schema["is_maker"] == pl.Boolean
    assert pfl["order_id"].to_list() == fills[S.ORDER_ID].tolist()


def test_version_json(tmp_path, run_tables):
    steps, fills, episodes = run_tables
    run_dir = rio.write_run(tmp_path / "r", steps, fills, episodes, {}, versions={"git": "abc123"})
    v = json.loads((run_dir / "version.json").read_text())
    assert v["almm_rllib"] == almm_rllib.__version__
    assert v["python"] == ".".join(map(str, sys.version_info[:3]))
    assert v["numpy"] == np.__version__ and v["pyarrow"] == pa.__version__
    assert v["results_schema_version"] == S.SCHEMA_VERSION
    assert v["git"] == "abc123"
    created = dt.datetime.fromisoformat(v["created_at"])
    assert abs((dt.datetime.now(dt.UTC) - created).total_seconds()) < 600


def test_write_run_refuses_to_overwrite_unless_asked(tmp_path, run_tables):
    steps, fills, episodes = run_tables
    run_dir = rio.write_run(tmp_path / "r", steps, fills, episodes, {"v": 1})
    with pytest.raises(ResultsError, match="already holds a run.*--overwrite"):
        rio.write_run(run_dir, steps, fills, episodes, {"v": 2})
    assert rio.read_run(run_dir).config == {"v": 1}
    (run_dir / "report.html").write_text("report of the old run")
    rio.write_run(run_dir, steps.iloc[:10], fills, episodes, {"v": 2}, overwrite=True)
    assert not (run_dir / "report.html").exists()
    run = rio.read_run(run_dir)
    assert run.config == {"v": 2} and len(run.steps) == 10


def test_write_run_validates_everything_before_writing(tmp_path, run_tables):
    steps, fills, episodes = run_tables
    with pytest.raises(SchemaError) as info:
        rio.write_run(tmp_path / "r", steps, fills, episodes.drop(columns=[S.SHARPE]), {})
    assert (info.value.table, info.value.column) == ("episodes", S.SHARPE)
    assert not (tmp_path / "r").exists() or list((tmp_path / "r").iterdir()) == []


def test_run_writer_streams_chunks(tmp_path, run_tables):
    steps, fills, episodes = run_tables
    with rio.RunWriter(tmp_path / "r", {"a": 1}) as w:
        for _, g in steps.groupby([S.STRATEGY, S.SEED]):
            w.write_steps(g)
        assert not (tmp_path / "r" / "steps.parquet").exists()  # nothing final before the end
        w.write_episodes(episodes)
        assert w.rows["steps"] == len(steps)
    run = rio.read_run(tmp_path / "r")
    assert len(run.steps) == len(steps)
    assert len(run.fills) == 0  # no chunk: an empty table with the pinned schema
    assert list(run.fills.columns) == list(S.FILLS_COLUMNS)
    assert leftovers(tmp_path / "r") == []


def test_run_writer_exception_leaves_nothing(tmp_path, run_tables):
    steps, _, _ = run_tables
    folder = tmp_path / "r"
    with pytest.raises(RuntimeError, match="evaluation crashed"), rio.RunWriter(folder, {}) as w:
        w.write_steps(steps)
        raise RuntimeError("evaluation crashed")
    assert not folder.exists()  # nothing left: not even the (empty) run folder the writer created
    with pytest.raises(ResultsError, match="aborted"):
        w.write_steps(steps)


def test_run_writer_refuses_unserialisable_config_up_front(tmp_path):
    with pytest.raises(ResultsError, match="config cannot be written as JSON"):
        rio.RunWriter(tmp_path / "r", {"f": object()})


# ----------------------------------------------------------------------------------------------------------
# Reading: clear errors.


@pytest.fixture
def run_dir(tmp_path, run_tables):
    return rio.write_run(tmp_path / "run", *run_tables, {"x": 1})


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(ResultsError, match="nowhere: run folder not found") as info:
        rio.read_run(tmp_path / "nowhere")
    assert info.value.path == str(tmp_path / "nowhere")


@pytest.mark.parametrize("name", ["steps.parquet", "fills.parquet", "episodes.parquet", "config.json"])
def test_missing_file_is_named(run_dir, name):
    (run_dir / name).unlink()
    with pytest.raises(ResultsError) as info:
        rio.read_run(run_dir)
    assert info.value.path == str(run_dir / name)
    assert "not found" in str(info.value) and str(run_dir / name) in str(info.value)


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],  # truncated
        lambda b: b"not a parquet file at all",
        lambda b: b[:4] + bytes(len(b) - 8) + b[-4:],  # magic bytes kept, content zeroed
        lambda b: b"",
    ],
)
def test_corrupt_parquet_is_a_clear_error(run_dir, damage):
    p = run_dir / "fills.parquet"
    p.write_bytes(damage(p.read_bytes()))
    with pytest.raises(ResultsError) as info:
        rio.read_run(run_dir)
    assert not isinstance(info.value, SchemaError)
    assert info.value.path == str(p)
    assert str(p) in str(info.value) and "not a readable Parquet file" in str(info.value)


def test_corrupt_json_is_a_clear_error(run_dir):
    (run_dir / "version.json").write_text("{not json")
    with pytest.raises(ResultsError, match="version.json: is not readable JSON"):
        rio.read_run(run_dir)


def test_schema_is_checked_on_read(run_dir):
    p = run_dir / "steps.parquet"
    t = pq.read_table(p)
    t = t.set_column(t.schema.get_field_index(S.STEP), S.STEP, t.column(S.STEP).cast(pa.int64()))
    pq.write_table(t, p)
    with pytest.raises(SchemaError) as info:
        rio.read_run(run_dir)
    assert (info.value.table, info.value.column, info.value.path) == ("steps", S.STEP, str(p))
    assert "int64" in str(info.value) and "int32" in str(info.value)


def test_wrong_table_in_file_is_refused(run_dir):
    os.replace(run_dir / "fills.parquet", run_dir / "steps.parquet")
    with pytest.raises(ResultsError, match="holds the 'fills' table, not 'steps'"):
        rio.read_table(run_dir / "steps.parquet", "steps")


def test_read_some_tables_as_arrow(run_dir, run_tables):
    run = rio.read_run(run_dir, tables=("episodes",), as_arrow=True)
    assert run.steps is None and run.fills is None
    assert isinstance(run.episodes, pa.Table) and run.episodes.num_rows == len(run_tables[2])


# ----------------------------------------------------------------------------------------------------------
# Layering.


def test_results_layer_imports_no_ray_torch_gymnasium_and_reports_without_pyplot(tmp_path):
    code = f"""
import sys
import almm_rllib.results, almm_rllib.results.report
bad = [m for m in ('ray', 'torch', 'gymnasium', 'matplotlib') if m in sys.modules]
assert not bad, bad
from almm_rllib.results import episodes_table, write_run, write_html_report
from tests.results_fixtures import simulate_run
steps, fills = simulate_run(seeds=(0, 1), n_steps=20)
ep = episodes_table(steps, fills, capital=1e4, horizon_s=1.0)
write_html_report(write_run({str(tmp_path / "r")!r}, steps, fills, ep, {{}}), n_resamples=99)
assert 'matplotlib' in sys.modules and 'matplotlib.pyplot' not in sys.modules
bad = [m for m in ('ray', 'torch', 'gymnasium') if m in sys.modules]
assert not bad, bad
"""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
    assert (tmp_path / "r" / "report.html").is_file()
