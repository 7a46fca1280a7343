"""Reading LOBSTER message/orderbook files: the format, its constants and a checked reader.

LOBSTER (lobsterdata.com) reconstructs NASDAQ TotalView-ITCH into two CSV files per ticker and day (see
``LOBSTER_SampleFiles_ReadMe.txt`` beside the data):

* **message file**, one row per event: time (seconds after midnight), type (1 new limit order, 2 partial
  cancel, 3 delete, 4 execution of a visible order, 5 execution of a hidden order, 6 cross, 7 halt), order id,
  size (shares), price (dollars x 10000), direction (side of the *resting* order: +1 buy, -1 sell);
* **orderbook file**, row ``i`` = the visible book after message ``i``: per level ask price, ask size, bid
  price, bid size; empty levels read ask 9999999999, bid -9999999999, size 0.

Units after :func:`read_lobster` (as in :mod:`almm_rllib.core.schema`): prices in **ticks** of $0.01
(LOBSTER price / 100, whole numbers held in float64 so that an empty level can be NaN; only a hidden execution
at a half-penny midpoint reads x.5 ticks), sizes in **shares**, time in **seconds after midnight** (float).
Empty levels are price NaN, size 0.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

# ------------------------------------------------------------------------------------------------------------
# Format constants.
PRICE_SCALE = 10_000  #: LOBSTER price units per dollar
TICK_RAW = 100  #: NASDAQ's tick ($0.01) in LOBSTER price units
TICK_SIZE = TICK_RAW / PRICE_SCALE  #: dollars per tick
ASK_EMPTY = 9_999_999_999  #: LOBSTER's empty ask level price
BID_EMPTY = -9_999_999_999  #: LOBSTER's empty bid level price
SECONDS_PER_DAY = 86_400.0

MSG_NEW = 1  #: submission of a new limit order
MSG_CANCEL = 2  #: partial cancellation
MSG_DELETE = 3  #: total deletion
MSG_EXECUTE = 4  #: execution of a visible limit order
MSG_HIDDEN = 5  #: execution of a hidden limit order (book unchanged)
MSG_CROSS = 6  #: auction (cross) trade
MSG_HALT = 7  #: trading halt indicator

MESSAGE_TYPE_NAMES = {
    MSG_NEW: "new_limit",
    MSG_CANCEL: "partial_cancel",
    MSG_DELETE: "delete",
    MSG_EXECUTE: "execution",
    MSG_HIDDEN: "hidden_execution",
    MSG_CROSS: "cross",
    MSG_HALT: "halt",
}

#: The file's own column names, in order (used in error messages).
MESSAGE_FILE_COLUMNS = ("time", "type", "order_id", "size", "price", "direction")
#: Columns of :attr:`LobsterData.messages`.
MESSAGE_COLUMNS = ("time", "type", "order_id", "size", "price", "price_raw", "direction")

_FILENAME_RE = re.compile(
    r"^(?P<ticker>[^_]+)_(?P<date>\d{4}-\d{2}-\d{2})_(?P<start>\d+)_(?P<end>\d+)_"
    r"(?P<kind>message|orderbook)_(?P<levels>\d+)\.csv$"
)


class LobsterFormatError(ValueError):
    """A LOBSTER file is missing, truncated, garbled or inconsistent; the message names the file and line."""


def orderbook_columns(levels: int) -> list[str]:
    """Column names of :attr:`LobsterData.orderbook` for ``levels`` levels, in LOBSTER's order."""
    cols = []
    for k in range(1, levels + 1):
        cols += [f"ask_price_{k}", f"ask_size_{k}", f"bid_price_{k}", f"bid_size_{k}"]
    return cols


@dataclass(frozen=True)
class LobsterData:
    """A checked LOBSTER message/orderbook pair.

    ``messages`` (one row per event, file order): ``time`` float64 seconds after midnight; ``type`` int8 (1-7,
    see ``MESSAGE_TYPE_NAMES``); ``order_id`` int64; ``size`` int64 shares; ``price`` float64 ticks of $0.01
    (x.5 for a half-penny hidden execution, NaN for a halt message); ``price_raw`` int64 in LOBSTER units
    (dollars x 10000; a halt's -1/0/1 code); ``direction`` int8 (+1 buy, -1 sell: the side of the resting
    order).

    ``orderbook`` (row ``i`` = the visible book after message ``i``): ``ask_price_k``/``bid_price_k`` float64
    ticks (NaN for an empty level) and ``ask_size_k``/``bid_size_k`` int64 shares (0 for an empty level), for
    ``k = 1..levels``.
    """

    messages: pd.DataFrame
    orderbook: pd.DataFrame
    levels: int
    message_path: Path
    orderbook_path: Path
    ticker: str | None = None
    date: str | None = None
    file_levels: int = 0

    def __len__(self) -> int:
        return len(self.messages)

    def level_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(ask_price, ask_size, bid_price, bid_size)``, each ``(n_rows, levels)``: ticks (NaN empty), shares."""
        ob = self.orderbook
        k = range(1, self.levels + 1)
        return (
            ob[[f"ask_price_{i}" for i in k]].to_numpy(np.float64),
            ob[[f"ask_size_{i}" for i in k]].to_numpy(np.int64),
            ob[[f"bid_price_{i}" for i in k]].to_numpy(np.float64),
            ob[[f"bid_size_{i}" for i in k]].to_numpy(np.int64),
        )


# ------------------------------------------------------------------------------------------------------------
# reading


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _fail(path: Path, header: bool, row: int, problem: str) -> LobsterFormatError:
    """An error for data row ``row`` (0-based) of ``path``: names the file, its line number and the row."""
    line = row + 1 + int(header)
    return LobsterFormatError(f"{path}: line {line} (data row {row}): {problem}")


def _locate_bad_line(
    path: Path, body: bytes, header: bool, ncols: int, names: list[str], cause: str
) -> LobsterFormatError:
    """Scan the file's text line by line for the first line that is not ``ncols`` finite numbers."""
    lines = body.decode("utf-8", errors="replace").splitlines()
    for lineno, line in enumerate(lines, start=1):
        if lineno == 1 and header:
            continue
        row = lineno - 1 - int(header)
        shown = line if len(line) <= 80 else line[:77] + "..."
        if not line.strip():
            return LobsterFormatError(f"{path}: line {lineno} (data row {row}): blank line")
        fields = line.split(",")
        if len(fields) != ncols:
            return LobsterFormatError(
                f"{path}: line {lineno} (data row {row}): expected {ncols} comma-separated fields, found "
                f"{len(fields)} (truncated or garbled?): {shown!r}"
            )
        for j, f in enumerate(fields):
            try:
                v = float(f)
            except ValueError:
                v = math.nan
            if not math.isfinite(v):
                return LobsterFormatError(
                    f"{path}: line {lineno} (data row {row}): field {j + 1} ({names[j]}) is not a finite "
                    f"number: {f!r}"
                )
    return LobsterFormatError(f"{path}: cannot be parsed as a LOBSTER file ({cause})")


def _read_matrix(path: Path, what: str, ncols: int | None) -> tuple[np.ndarray, bool]:
    """All data rows of a LOBSTER CSV as float64 ``(n, ncols)``; ``ncols=None`` (orderbook) infers 4 x levels.

    Returns ``(values, has_header)``. A header row is recognised by a non-numeric first field. Blank lines at
    the end of the file are ignored; anywhere else they are an error.
    """
    if not path.is_file():
        raise LobsterFormatError(f"{path}: {what} file not found")
    body = path.read_bytes().rstrip()
    first = body.split(b"\n", 1)[0].decode("utf-8", errors="replace").strip()
    if not first:
        raise LobsterFormatError(f"{path}: line 1: empty {what} file (or a blank first line)")
    fields = first.split(",")
    header = not _is_number(fields[0].strip())
    if header and any(_is_number(f.strip()) for f in fields):
        raise LobsterFormatError(f"{path}: line 1: a header row must be all names, got {first[:80]!r}")
    n = len(fields)
    if ncols is None:
        if n % 4 or n == 0:
            raise LobsterFormatError(
                f"{path}: line 1: an orderbook row has 4 fields per level, found {n} fields"
            )
        ncols = n
        names = orderbook_columns(n // 4)
    else:
        names = list(MESSAGE_FILE_COLUMNS)
    if n != ncols:
        raise LobsterFormatError(f"{path}: line 1: expected {ncols} comma-separated fields, found {n}")
    if header and b"\n" not in body:
        raise LobsterFormatError(f"{path}: no data rows (only a header)")
    cause = ""
    try:
        df = pd.read_csv(
            io.BytesIO(body),
            header=None,
            skiprows=1 if header else 0,
            dtype=np.float64,
            skip_blank_lines=False,
        )
        values = df.to_numpy(np.float64)
        good = values.ndim == 2 and values.shape[1] == ncols and bool(np.isfinite(values).all())
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        values, good, cause = None, False, f"{type(exc).__name__}: {exc}"
    if not good:
        raise _locate_bad_line(path, body, header, ncols, names, cause or "non-finite or missing values")
    if values.shape[0] == 0:
        raise LobsterFormatError(f"{path}: no data rows")
    return values, header


def _first_bad(path: Path, header: bool, rules: list[tuple[np.ndarray, str]]) -> None:
    """Raise for the earliest row that breaks any rule (``mask`` True = bad)."""
    best_row, best_msg = None, ""
    for mask, msg in rules:
        idx = np.flatnonzero(mask)
        if idx.size and (best_row is None or idx[0] < best_row):
            best_row, best_msg = int(idx[0]), msg
    if best_row is not None:
        raise _fail(path, header, best_row, best_msg)


def _check_messages(path: Path, header: bool, v: np.ndarray) -> None:
    t, typ, oid, size, price, d = (v[:, j] for j in range(6))
    integral = v[:, 1:] != np.floor(v[:, 1:])
    rules: list[tuple[np.ndarray, str]] = [
        (integral.any(axis=1), "type, order id, size, price and direction must be integers")
    ]
    rules.append(((typ < 1) | (typ > 7), "message type must be 1..7"))
    rules.append(((d != 1) & (d != -1), "direction must be +1 or -1"))
    rules.append(((t < 0) | (t > SECONDS_PER_DAY), "time must be seconds after midnight (0..86400)"))
    back = np.zeros(t.shape, bool)
    back[1:] = t[1:] < t[:-1]
    rules.append((back, "time goes backwards (messages must be in time order)"))
    visible = (typ >= 1) & (typ <= 5)
    rules.append((visible & (oid < 0), "order id must be >= 0"))
    rules.append((~visible & (oid < -1), "order id must be >= -1"))
    # read as float64: integers beyond 2**53 are no longer exact, beyond 2**63 no longer int64
    rules.append(
        (np.abs(v[:, 2:5]).max(axis=1) > 2.0**53, "order id, size and price must fit int64 (|x| <= 2**53)")
    )
    rules.append((visible & (size <= 0), "size must be positive"))
    rules.append((size < 0, "size must be >= 0"))
    on_book = (typ >= 1) & (typ <= 4)
    rules.append(
        (on_book & ((price <= 0) | (price % TICK_RAW != 0)), "price must be positive on the $0.01 grid")
    )
    rules.append((((typ == 5) | (typ == 6)) & (price <= 0), "execution price must be positive"))
    rules.append(
        ((typ == 7) & (price != -1) & (price != 0) & (price != 1), "halt message price must be -1, 0 or 1")
    )
    _first_bad(path, header, rules)


def _check_orderbook(path: Path, header: bool, v: np.ndarray) -> None:
    ap, asz, bp, bsz = v[:, 0::4], v[:, 1::4], v[:, 2::4], v[:, 3::4]
    a_empty = ap == ASK_EMPTY
    b_empty = bp == BID_EMPTY
    rules: list[tuple[np.ndarray, str]] = [
        ((v != np.floor(v)).any(axis=1), "prices and sizes must be integers")
    ]
    rules.append((((asz < 0) | (bsz < 0)).any(axis=1), "sizes must be >= 0"))
    rules.append((((asz == 0) != a_empty).any(axis=1), "an ask level has size 0 exactly when it is empty"))
    rules.append((((bsz == 0) != b_empty).any(axis=1), "a bid level has size 0 exactly when it is empty"))
    bad_a = ~a_empty & ((ap <= 0) | (ap % TICK_RAW != 0))
    bad_b = ~b_empty & ((bp <= 0) | (bp % TICK_RAW != 0))
    rules.append(
        (
            (bad_a | bad_b).any(axis=1),
            "level prices must be positive on the $0.01 grid (or the empty sentinel)",
        )
    )
    if v.shape[1] > 4:
        rules.append(
            ((a_empty[:, :-1] & ~a_empty[:, 1:]).any(axis=1), "a non-empty ask level below an empty one")
        )
        rules.append(
            ((b_empty[:, :-1] & ~b_empty[:, 1:]).any(axis=1), "a non-empty bid level below an empty one")
        )
        both_a = ~a_empty[:, :-1] & ~a_empty[:, 1:]
        both_b = ~b_empty[:, :-1] & ~b_empty[:, 1:]
        rules.append(
            ((both_a & (ap[:, 1:] <= ap[:, :-1])).any(axis=1), "ask prices must increase level by level")
        )
        rules.append(
            ((both_b & (bp[:, 1:] >= bp[:, :-1])).any(axis=1), "bid prices must decrease level by level")
        )
    rules.append(
        (
            ~a_empty[:, 0] & ~b_empty[:, 0] & (ap[:, 0] <= bp[:, 0]),
            "crossed or locked book (best ask <= best bid)",
        )
    )
    _first_bad(path, header, rules)


def read_lobster(message_path, orderbook_path, *, levels: int | None = None) -> LobsterData:
    """Read and check a LOBSTER message/orderbook pair.

    Handles files with or without a header row, LF or CRLF line ends, with or without a final newline.
    ``levels``: keep the best ``levels`` levels of the orderbook file (``None``: all of them).

    Raises :class:`LobsterFormatError` naming the file and line for a missing, truncated, garbled or
    inconsistent file: wrong field count, non-numeric or non-integer values, unknown message types or
    directions, time going backwards, off-grid prices, empty-level sentinels with a size, crossed rows,
    message and orderbook row counts that differ, file names of different tickers or dates, or a file name's
    level count that disagrees with the orderbook columns.
    """
    mpath, opath = Path(message_path), Path(orderbook_path)
    mv, mhead = _read_matrix(mpath, "message", 6)
    ov, ohead = _read_matrix(opath, "orderbook", None)
    _check_messages(mpath, mhead, mv)
    _check_orderbook(opath, ohead, ov)
    if mv.shape[0] != ov.shape[0]:
        raise LobsterFormatError(
            f"{mpath} has {mv.shape[0]} data rows but {opath} has {ov.shape[0]}: one of them is truncated "
            "(orderbook row i is the book after message i)"
        )
    file_levels = ov.shape[1] // 4
    mm, om = _FILENAME_RE.match(mpath.name), _FILENAME_RE.match(opath.name)
    if om and int(om["levels"]) != file_levels:
        raise LobsterFormatError(
            f"{opath}: the file name says {om['levels']} levels but its rows hold {file_levels} levels"
        )
    if mm and om and (mm["ticker"], mm["date"]) != (om["ticker"], om["date"]):
        raise LobsterFormatError(
            f"{mpath} and {opath} are not a pair: {mm['ticker']} {mm['date']} vs {om['ticker']} {om['date']}"
        )
    if levels is None:
        levels = file_levels
    if isinstance(levels, bool) or not isinstance(levels, int | np.integer) or not 1 <= levels <= file_levels:
        raise LobsterFormatError(f"{opath}: levels must be an integer in 1..{file_levels}, got {levels!r}")
    levels = int(levels)

    typ = mv[:, 1].astype(np.int8)
    price_raw = mv[:, 4].astype(np.int64)
    price = price_raw / TICK_RAW
    price[typ == MSG_HALT] = np.nan
    messages = pd.DataFrame(
        {
            "time": mv[:, 0],
            "type": typ,
            "order_id": mv[:, 2].astype(np.int64),
            "size": mv[:, 3].astype(np.int64),
            "price": price,
            "price_raw": price_raw,
            "direction": mv[:, 5].astype(np.int8),
        }
    )
    cols = {}
    for k in range(levels):
        ap, asz, bp, bsz = (ov[:, 4 * k + j] for j in range(4))
        cols[f"ask_price_{k + 1}"] = np.where(ap == ASK_EMPTY, np.nan, ap / TICK_RAW)
        cols[f"ask_size_{k + 1}"] = asz.astype(np.int64)
        cols[f"bid_price_{k + 1}"] = np.where(bp == BID_EMPTY, np.nan, bp / TICK_RAW)
        cols[f"bid_size_{k + 1}"] = bsz.astype(np.int64)
    orderbook = pd.DataFrame(cols)
    names = mm or om
    return LobsterData(
        messages=messages,
        orderbook=orderbook,
        levels=levels,
        message_path=mpath,
        orderbook_path=opath,
        ticker=names["ticker"] if names else None,
        date=names["date"] if names else None,
        file_levels=file_levels,
    )
