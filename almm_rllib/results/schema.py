"""Pinned pyarrow schemas of the three results tables, their column names, and the validator.

One Parquet table per level of detail (see ``docs/design.md``, *Results*):

* ``steps``: one row per agent per env step,
* ``fills``: one row per fill of an agent's order,
* ``episodes``: one row per strategy x seed x agent, holding every per-episode metric of ``docs/metrics.md``.

Units, as in ``docs/metrics.md``: money in the quote currency, inventory and quantities in shares (lots times
lot size), time in float seconds since the start of the simulation, prices in money (not ticks).

Conventions shared by the three tables:

* No column may hold nulls. A float value that does not exist (an empty book side, a quote that is not
  posted, a metric that is undefined) is ``NaN``; a null handed to :func:`conform` in a float column is turned
  into ``NaN``, a null anywhere else is refused. So pandas, polars and DuckDB readers all see ``NaN``,
  never ``NULL``, in float columns. In DuckDB select NaN rows with ``WHERE NOT isfinite(x) AND NOT isinf(x)``
  (or count them with ``count(*) FILTER (WHERE isnan(x))``): DuckDB 2.0 pushes ``WHERE isnan(x)`` (and
  ``x != x``) down to the Parquet column statistics, which leave NaN out, and then skips every row group of a
  column without infinities: the query returns no rows (``tests/test_results_duckdb.py``).
* Column order is the order of the pinned schema; :func:`conform` reorders its input.
* Each field carries its unit and meaning in its Arrow metadata (``doc``), so the Parquet files describe
  themselves. Each schema carries ``almm_rllib.table`` and ``almm_rllib.schema_version`` metadata.

Changing a column's name or type is a schema-version change: bump :data:`SCHEMA_VERSION`.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from almm_rllib.results.errors import SchemaError

SCHEMA_VERSION = 1

TABLE_KEY = b"almm_rllib.table"
VERSION_KEY = b"almm_rllib.schema_version"

STEPS = "steps"
FILLS = "fills"
EPISODES = "episodes"
TABLES = (STEPS, FILLS, EPISODES)

# ----------------------------------------------------------------------------------------------------
# Column names. Identity columns (all three tables).
RUN_ID = "run_id"
STRATEGY = "strategy"
SEED = "seed"
AGENT_ID = "agent_id"
KEY_COLUMNS = (RUN_ID, STRATEGY, SEED, AGENT_ID)

# steps
STEP = "step"
TIME = "time"
MID = "mid"
BEST_BID = "best_bid"
BEST_ASK = "best_ask"
BID_PRICE = "bid_price"
ASK_PRICE = "ask_price"
CASH = "cash"
INVENTORY = "inventory"
PNL = "pnl"
DPNL = "dpnl"
REWARD = "reward"
POSTED_BID_QTY = "posted_bid_qty"
POSTED_ASK_QTY = "posted_ask_qty"
FILLED_BID_QTY = "filled_bid_qty"
FILLED_ASK_QTY = "filled_ask_qty"
IMPACT_COST = "impact_cost"
SIGMA = "sigma"
REGIME = "regime"
N_FILLS = "n_fills"
PHASE = "phase"

# fills (STEP and TIME shared with steps)
SIDE = "side"
PRICE = "price"
QTY = "qty"
MID_AT_FILL = "mid_at_fill"
IS_MAKER = "is_maker"
ORDER_ID = "order_id"

# episodes: per-episode metrics of docs/metrics.md, plus n_round_trips and final_inventory
N_STEPS = "n_steps"
TOTAL_PNL = "total_pnl"
TOTAL_PNL_LIQUIDATED = "total_pnl_liquidated"
SHARPE = "sharpe"
SORTINO = "sortino"
MAX_DRAWDOWN = "max_drawdown"
MAX_DRAWDOWN_PCT = "max_drawdown_pct"
CALMAR = "calmar"
VAR_95 = "var_95"
CVAR_95 = "cvar_95"
INVENTORY_VAR_95 = "inventory_var_95"
WIN_RATE = "win_rate"
PROFIT_FACTOR = "profit_factor"
N_ROUND_TRIPS = "n_round_trips"
FILL_RATIO = "fill_ratio"
SPREAD_CAPTURED = "spread_captured"
ADVERSE_SELECTION = "adverse_selection"
AVG_ABS_INVENTORY = "avg_abs_inventory"
INVENTORY_STD = "inventory_std"
MAX_ABS_INVENTORY = "max_abs_inventory"
FINAL_INVENTORY = "final_inventory"
# N_FILLS shared with steps
VOLUME = "volume"


def _f(name: str, typ: pa.DataType, doc: str) -> pa.Field:
    return pa.field(name, typ, nullable=False, metadata={b"doc": doc.encode()})


def _schema(table: str, fields: list[pa.Field]) -> pa.Schema:
    return pa.schema(fields, metadata={TABLE_KEY: table.encode(), VERSION_KEY: str(SCHEMA_VERSION).encode()})


_KEY_FIELDS = [
    _f(RUN_ID, pa.string(), "identifier of the evaluation run (one per results folder)"),
    _f(STRATEGY, pa.string(), "strategy name, e.g. 'avellaneda_stoikov' or an RL checkpoint's label"),
    _f(SEED, pa.int64(), "episode seed; every strategy of a run uses the same seeds (paired comparisons)"),
    _f(AGENT_ID, pa.string(), "agent id inside the multi-agent env"),
]

STEPS_SCHEMA = _schema(
    STEPS,
    [
        *_KEY_FIELDS,
        _f(STEP, pa.int32(), "env step index within the episode"),
        _f(TIME, pa.float64(), "seconds since the start of the simulation, at the end of the step"),
        _f(MID, pa.float64(), "money; (best bid + best ask) / 2 after the step, last mid if a side is empty"),
        _f(BEST_BID, pa.float64(), "money; best bid after the step, NaN if the bid side is empty"),
        _f(BEST_ASK, pa.float64(), "money; best ask after the step, NaN if the ask side is empty"),
        _f(BID_PRICE, pa.float64(), "money; the agent's bid quote during the step, NaN when not quoting"),
        _f(ASK_PRICE, pa.float64(), "money; the agent's ask quote during the step, NaN when not quoting"),
        _f(CASH, pa.float64(), "money; cash after the step's fills, fees and impact costs"),
        _f(INVENTORY, pa.float64(), "shares, signed; inventory q_t after the step"),
        _f(PNL, pa.float64(), "money; cash_t + q_t mid_t - (cash_0 + q_0 mid_0)"),
        _f(DPNL, pa.float64(), "money; pnl_t - pnl_{t-1}, with 0 before the first step"),
        _f(REWARD, pa.float64(), "the env's reward for the step"),
        _f(POSTED_BID_QTY, pa.float64(), "shares the agent had resting on the bid during the step"),
        _f(POSTED_ASK_QTY, pa.float64(), "shares the agent had resting on the ask during the step"),
        _f(FILLED_BID_QTY, pa.float64(), "shares of the agent's resting bids filled during the step"),
        _f(FILLED_ASK_QTY, pa.float64(), "shares of the agent's resting asks filled during the step"),
        _f(
            IMPACT_COST, pa.float64(), "money, >= 0; impact cost of the agent's aggressive trades in the step"
        ),
        _f(SIGMA, pa.float64(), "realised volatility of mid returns per sqrt(second), relative units"),
        _f(REGIME, pa.int8(), "market regime id during the step"),
        _f(N_FILLS, pa.int32(), "number of the agent's fills during the step"),
        _f(PHASE, pa.string(), "phase label of the episode (e.g. 'eval')"),
    ],
)

FILLS_SCHEMA = _schema(
    FILLS,
    [
        *_KEY_FIELDS,
        _f(STEP, pa.int32(), "env step during which the fill happened"),
        _f(TIME, pa.float64(), "seconds since the start of the simulation, time of the fill"),
        _f(SIDE, pa.int8(), "+1 the agent bought, -1 the agent sold"),
        _f(PRICE, pa.float64(), "money; execution price"),
        _f(QTY, pa.float64(), "shares, > 0"),
        _f(
            MID_AT_FILL,
            pa.float64(),
            "money; mid(t_fill): the mid of the last step ending at or before the fill",
        ),
        _f(IS_MAKER, pa.bool_(), "true when the agent's order was resting (maker), false when it took"),
        _f(ORDER_ID, pa.int64(), "the agent's order id"),
    ],
)

EPISODES_SCHEMA = _schema(
    EPISODES,
    [
        *_KEY_FIELDS,
        _f(N_STEPS, pa.int64(), "number of env steps n"),
        _f(TOTAL_PNL, pa.float64(), "money; pnl_n, marked to mid, no liquidation"),
        _f(TOTAL_PNL_LIQUIDATED, pa.float64(), "money; total_pnl minus the cost of liquidating q_n"),
        _f(SHARPE, pa.float64(), "mean(dpnl)/std(dpnl, ddof=1)*sqrt(n); 0 when std is 0, NaN when n < 2"),
        _f(SORTINO, pa.float64(), "mean(dpnl)/sqrt(mean(min(dpnl,0)^2))*sqrt(n); NaN when no step lost"),
        _f(MAX_DRAWDOWN, pa.float64(), "money; max_t(max_{s<=t} pnl_s - pnl_t) with pnl_0 = 0"),
        _f(MAX_DRAWDOWN_PCT, pa.float64(), "max_drawdown / (capital + peak pnl before the trough)"),
        _f(CALMAR, pa.float64(), "total_pnl / max_drawdown; NaN when max_drawdown is 0"),
        _f(VAR_95, pa.float64(), "money, positive loss; -quantile(dpnl, 0.05)"),
        _f(CVAR_95, pa.float64(), "money, positive loss; -mean(dpnl[dpnl <= quantile(dpnl, 0.05)])"),
        _f(INVENTORY_VAR_95, pa.float64(), "money; mean_t |q_t| mid_t 1.645 sigma_t sqrt(h), h = one step"),
        _f(WIN_RATE, pa.float64(), "share of FIFO round trips with positive realised pnl; NaN if none"),
        _f(PROFIT_FACTOR, pa.float64(), "gross profit / gross loss of FIFO round trips; NaN if no loss"),
        _f(N_ROUND_TRIPS, pa.int64(), "number of closed FIFO round trips (matched pieces)"),
        _f(FILL_RATIO, pa.float64(), "sum(filled qty) / sum(posted qty); NaN when nothing was posted"),
        _f(SPREAD_CAPTURED, pa.float64(), "money/share; qty-weighted mean of side*(mid_at_fill - price)"),
        _f(
            ADVERSE_SELECTION,
            pa.float64(),
            "money/share; qty-weighted mean of side*(mid(t_fill) - mid(t_fill+H)), mid(t) the mid in force at t",
        ),
        _f(AVG_ABS_INVENTORY, pa.float64(), "shares; mean |q_t| over q_1..q_n"),
        _f(INVENTORY_STD, pa.float64(), "shares; std(q_t, ddof=0) over q_1..q_n"),
        _f(MAX_ABS_INVENTORY, pa.float64(), "shares; max |q_t| over q_1..q_n"),
        _f(FINAL_INVENTORY, pa.float64(), "shares, signed; q_n"),
        _f(N_FILLS, pa.int64(), "number of the agent's fills"),
        _f(VOLUME, pa.float64(), "shares; total quantity of the agent's fills"),
    ],
)

SCHEMAS: dict[str, pa.Schema] = {STEPS: STEPS_SCHEMA, FILLS: FILLS_SCHEMA, EPISODES: EPISODES_SCHEMA}

STEPS_COLUMNS = tuple(STEPS_SCHEMA.names)
FILLS_COLUMNS = tuple(FILLS_SCHEMA.names)
EPISODES_COLUMNS = tuple(EPISODES_SCHEMA.names)

#: Per-episode metric columns of the episodes table (everything after the identity columns).
EPISODE_METRICS = tuple(c for c in EPISODES_COLUMNS if c not in KEY_COLUMNS)


# ----------------------------------------------------------------------------------------------------
# Validation.


def table_name(schema: pa.Schema | str) -> str:
    """The table name a pinned schema (or a table name) stands for."""
    if isinstance(schema, str):
        if schema not in SCHEMAS:
            raise ValueError(f"unknown results table {schema!r}; expected one of {TABLES}")
        return schema
    meta = schema.metadata or {}
    name = meta.get(TABLE_KEY, b"").decode()
    if name not in SCHEMAS:
        raise ValueError("schema is not one of the pinned results schemas (no almm_rllib.table metadata)")
    return name


def resolve_schema(schema: pa.Schema | str) -> tuple[str, pa.Schema]:
    """``(table name, pinned schema)`` from a pinned schema or a table name."""
    name = table_name(schema)
    return name, SCHEMAS[name]


def _kind(t: pa.DataType) -> str:
    if pa.types.is_dictionary(t):
        return _kind(t.value_type)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_null(t):
        return "null"
    return str(t)


#: Which kinds of input column may be cast to which pinned kind. Integers may widen or narrow (a value that
#: does not fit is refused) and become floats; floats never become integers (a float column where an integer
#: is pinned usually means NaNs crept in).
_ACCEPTS = {"string": {"string"}, "bool": {"bool"}, "int": {"int"}, "float": {"float", "int"}}


def _to_arrow_columns(data, table: str) -> dict[str, pa.ChunkedArray | pa.Array]:
    if isinstance(data, pd.DataFrame):
        names = [str(c) for c in data.columns]
        if len(set(names)) != len(names):
            dup = next(c for c in names if names.count(c) > 1)
            raise SchemaError(table, dup, "appears more than once")
        out = {}
        for name, col in zip(names, data.columns):
            try:
                out[name] = pa.array(data[col], from_pandas=True)
            except (pa.ArrowException, TypeError, ValueError) as e:
                raise SchemaError(table, name, f"cannot be converted to Arrow ({e})") from e
        return out
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    if isinstance(data, pa.Table):
        if len(set(data.column_names)) != len(data.column_names):
            dup = next(c for c in data.column_names if data.column_names.count(c) > 1)
            raise SchemaError(table, dup, "appears more than once")
        return {name: data.column(name) for name in data.column_names}
    raise SchemaError(
        table, None, f"expected a pandas DataFrame or a pyarrow Table, got {type(data).__name__}"
    )


def conform(data, schema: pa.Schema | str, *, strict: bool = False, path=None) -> pa.Table:
    """Check ``data`` against a pinned schema and return it as a ``pa.Table`` with exactly that schema.

    Args:
        data: a pandas DataFrame (its index is ignored) or a pyarrow Table / RecordBatch.
        schema: a pinned schema (``STEPS_SCHEMA``...) or a table name (``"steps"``...).
        strict: when true (used on read), every column must already have exactly the pinned type;
            otherwise safe casts are made: any integer to the pinned integer (a value that does not fit is
            refused), integer or float to float64, any string flavour (or a dictionary of strings) to string.
        path: only used to name the file in error messages.

    Raises:
        SchemaError: naming the table and the column, for a missing, extra or mistyped column, a null in a
            non-float column, a value out of range of the pinned integer type, or (fills) a ``side`` other
            than +1/-1 or a non-positive ``qty``.
    """
    table, pinned = resolve_schema(schema)
    cols = _to_arrow_columns(data, table)

    missing = [n for n in pinned.names if n not in cols]
    if missing:
        raise SchemaError(table, missing[0], f"missing (all missing columns: {missing})", path)
    extra = [n for n in cols if n not in pinned.names]
    if extra:
        raise SchemaError(table, extra[0], f"not in the pinned schema (all extra columns: {extra})", path)

    arrays = []
    for field in pinned:
        col = cols[field.name]
        got = col.type
        if strict and got != field.type:
            raise SchemaError(table, field.name, f"has type {got}, the pinned schema says {field.type}", path)
        want_kind, got_kind = _kind(field.type), _kind(got)
        if got_kind not in _ACCEPTS[want_kind]:
            why = f"has type {got}, the pinned schema says {field.type}"
            if got_kind == "null":
                why = f"holds only nulls (type {got}); the pinned schema says {field.type}"
            elif want_kind == "int" and got_kind == "float":
                why += " (floats are not cast to integers: are there NaNs in it?)"
            raise SchemaError(table, field.name, why, path)
        if got != field.type:
            try:
                col = col.cast(field.type, safe=True)
            except pa.ArrowInvalid as e:
                raise SchemaError(table, field.name, f"cannot be cast to {field.type}: {e}", path) from e
        if col.null_count:
            if want_kind == "float":
                col = pc.fill_null(col, float("nan"))
            else:
                first = pc.index(pc.is_null(col), True).as_py()
                raise SchemaError(
                    table, field.name, f"{col.null_count} null value(s), first at row {first}", path
                )
        arrays.append(col)

    out = pa.Table.from_arrays(arrays, schema=pinned)
    _check_values(table, out, path)
    return out


def _check_values(table: str, t: pa.Table, path) -> None:
    if table == FILLS and t.num_rows:
        side = t.column(SIDE)
        bad = pc.invert(pc.is_in(side, value_set=pa.array([1, -1], pa.int8())))
        if pc.any(bad).as_py():
            first = pc.index(bad, True).as_py()
            raise SchemaError(
                table, SIDE, f"must be +1 or -1, got {side[first].as_py()} at row {first}", path
            )
        qty = t.column(QTY)
        bad = pc.invert(pc.greater(qty, 0.0))  # NaN compares false: refused too
        if pc.any(bad).as_py():
            first = pc.index(bad, True).as_py()
            raise SchemaError(table, QTY, f"must be > 0, got {qty[first].as_py()} at row {first}", path)


def empty_table(schema: pa.Schema | str) -> pa.Table:
    """A table with no rows and the pinned schema."""
    return SCHEMAS[table_name(schema)].empty_table()
