"""The DuckDB forms the results docs recommend for NaN (the tables' "no value") count what pandas counts, on
files written the way the run writer writes them (column statistics on, several row groups)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

duckdb = pytest.importorskip("duckdb")


@pytest.mark.parametrize("with_inf", [False, True])
def test_recommended_nan_filters_count_every_nan(tmp_path, with_inf):
    x = np.tile([1.0, np.nan, 2.5, np.nan, 3.0] + ([np.inf, -np.inf] if with_inf else []), 800)
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"x": x}), path, row_group_size=500, write_statistics=True)
    n_nan = int(np.isnan(x).sum())
    con = duckdb.connect()
    where = con.execute(f"SELECT count(*) FROM '{path}' WHERE NOT isfinite(x) AND NOT isinf(x)").fetchone()[0]
    agg = con.execute(f"SELECT count(*) FILTER (WHERE isnan(x)) FROM '{path}'").fetchone()[0]
    rows = con.execute(f"SELECT x FROM '{path}' WHERE NOT isfinite(x) AND NOT isinf(x)").fetchall()
    assert where == agg == n_nan
    assert all(np.isnan(r[0]) for r in rows)
