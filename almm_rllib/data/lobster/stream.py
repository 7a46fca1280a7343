"""A LOBSTER day as a stream of replay operations for the compiled replay market (``core.replay_nb``).

:func:`replay_stream` runs :class:`~almm_rllib.data.lobster.replay.LobsterReplayer` once over the day (the
replay that reproduces every orderbook row) and records each change it makes to the book as an operation
(``core.replay_nb.OP_DTYPE``): a file order resting (``RP_ADD``), a cancellation or execution of a named
order (``RP_CANCEL`` / ``RP_EXEC``; an id the file never added takes its volume from the level's synthetic
orders, as in the replay), a hidden execution (``RP_HIDDEN``, prices of half-penny midpoint executions
rounded away from the resting side so that only strictly better agent prices count as "at or through"), and
a level re-synchronised from the orderbook file when liquidity slides into the visible window (``RP_RESET``).
Row 0 of the orderbook file seeds the book with synthetic orders (operations of message 0).

Replaying these operations through the compiled book reproduces the file's book after every message, as the
tests check against the orderbook file.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from almm_rllib.core import replay_nb as rp
from almm_rllib.core.schema import BUY
from almm_rllib.data.lobster.read import (
    _FILENAME_RE,
    MSG_EXECUTE,
    MSG_HIDDEN,
    LobsterData,
    LobsterFormatError,
    read_lobster,
)
from almm_rllib.data.lobster.replay import SYNTHETIC_ID_BASE, LobsterReplayer


@dataclass(frozen=True)
class ReplayStream:
    """Operations of one day and what the compiled book needs to hold them.

    ``ops``: ``OP_DTYPE`` records in time order; ``msg_time``: each message's time (seconds after midnight);
    ``capacity`` / ``window`` / ``centre``: order-table size, tick window and its centre for
    ``core.book_nb.new_book_state``; ``anomalies``: what the replay could not apply as the file says (see
    :class:`~almm_rllib.data.lobster.replay.ReplayResult`); ``source``: the message file.
    """

    ops: np.ndarray
    msg_time: np.ndarray
    capacity: int
    window: int
    centre: int
    anomalies: dict
    source: str
    ticker: str | None
    date: str | None


class _Recorder(LobsterReplayer):
    """The per-level replay, recording each book change as an operation."""

    def __init__(self, data: LobsterData) -> None:
        super().__init__(data, max_details=10)
        self.ops: list[tuple] = []
        self._slide: dict | None = None
        self.centre = int(self.book.state.hdr[0] + self.book.window // 2)

    def _op(self, kind: int, side: int, price: int, qty: int, oid: int) -> None:
        i = self.row
        self.ops.append((float(self.m_time[i]), i, kind, side, price, qty, oid))

    def _rest(self, oid, side, price, qty, owner) -> bool:
        ok = super()._rest(oid, side, price, qty, owner)
        if ok:
            if self._slide is not None:
                self._slide[(side, price)] = (qty, oid)
            else:
                self._op(rp.RP_ADD, side, price, qty, oid)
        return ok

    def _take(self, oid, qty) -> int:
        side, price = self.where[oid]
        removed = super()._take(oid, qty)
        if self._slide is None and removed:
            kind = rp.RP_EXEC if self.m_type[self.row] == MSG_EXECUTE else rp.RP_CANCEL
            self._op(kind, side, price, removed, oid)
        return removed

    def _clear_level(self, side, price) -> None:
        if self._slide is not None:
            self._slide.setdefault((side, price), (0, -1))
        super()._clear_level(side, price)

    def _slide_in(self, side, remaining, emptied) -> None:
        self._slide = {}
        try:
            super()._slide_in(side, remaining, emptied)
            levels = self._slide
        finally:
            self._slide = None
        for (s, p), (qty, oid) in levels.items():
            self._op(rp.RP_RESET, s, p, qty, oid)

    def apply(self, i: int) -> bool:
        touched = super().apply(i)
        if self.m_type[i] == MSG_HIDDEN:
            side = BUY if self.m_dir[i] == 1 else -1
            px = float(self.m_price[i])
            price = math.ceil(px) if side == BUY else math.floor(px)
            self._op(rp.RP_HIDDEN, side, price, int(self.m_size[i]), -1)
        return touched


def replay_stream(data: LobsterData) -> ReplayStream:
    """The day's replay operations (see the module docstring)."""
    if not isinstance(data, LobsterData):
        raise TypeError(f"replay_stream expects LobsterData (from read_lobster), got {type(data).__name__}")
    if SYNTHETIC_ID_BASE != int(rp.SYNTHETIC_ID_BASE):
        raise AssertionError("data and core disagree on the synthetic id range")
    r = _Recorder(data)
    r.row = 0
    r.seed()
    for i in range(1, len(data)):
        r.row = i
        r.apply(i)
    ops = np.array(r.ops, dtype=[(k, rp.OP_DTYPE.fields[k][0]) for k in rp.OP_DTYPE.names]).astype(
        rp.OP_DTYPE
    )
    if ops.size and np.any(np.diff(ops["time"]) < 0):
        raise LobsterFormatError(f"{data.message_path}: operations out of time order")
    b = r.book
    return ReplayStream(
        ops=ops,
        msg_time=r.m_time.astype(np.float64),
        capacity=int(b.capacity),
        window=int(b.window),
        centre=r.centre,
        anomalies=dict(r.anomalies),
        source=str(data.message_path),
        ticker=data.ticker,
        date=data.date,
    )


#: Bump when the operations a day produces change (invalidates cached streams).
STREAM_VERSION = 1


def find_lobster_pair(data_dir, ticker: str) -> tuple[Path, Path]:
    """The message and orderbook files of ``ticker`` in ``data_dir`` (LOBSTER file names); a clear error names
    the folder and the tickers it holds when there is no such pair or more than one."""
    d = Path(data_dir)
    if not d.is_dir():
        raise LobsterFormatError(f"{d}: LOBSTER data folder not found")
    pairs: dict[str, list[tuple[Path, Path]]] = {}
    for m in sorted(d.glob("*_message_*.csv")):
        mt = _FILENAME_RE.match(m.name)
        if not mt:
            continue
        o = m.with_name(m.name.replace("_message_", "_orderbook_"))
        pairs.setdefault(mt["ticker"], []).append((m, o))
    if ticker not in pairs:
        known = ", ".join(sorted(pairs)) or "none"
        raise LobsterFormatError(
            f"{d}: no LOBSTER message file for ticker {ticker!r} (tickers here: {known})"
        )
    if len(pairs[ticker]) > 1:
        names = ", ".join(p.name for p, _ in pairs[ticker])
        raise LobsterFormatError(f"{d}: several LOBSTER days for {ticker!r} ({names}); keep one per folder")
    m, o = pairs[ticker][0]
    if not o.is_file():
        raise LobsterFormatError(f"{o}: orderbook file missing (the pair of {m.name})")
    return m, o


def _cache_path(m: Path, o: Path) -> Path:
    h = hashlib.sha256(f"v{STREAM_VERSION}".encode())
    for p in (m, o):
        st = p.stat()
        h.update(f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "almm_rllib" / "replay"
    return root / f"{m.name.split('_message_')[0]}-{h.hexdigest()[:16]}.npz"


def prepare_replay_stream(data_dir, ticker: str) -> Path:
    """Build (once) and cache ``ticker``'s replay operations from the LOBSTER pair in ``data_dir``; returns the
    cached ``.npz`` (keyed on the files' paths, sizes and modification times, under
    ``$XDG_CACHE_HOME/almm_rllib/replay``). A corrupt or mismatched file raises :class:`LobsterFormatError`
    naming the file and line, and nothing is written."""
    m, o = find_lobster_pair(data_dir, ticker)
    path = _cache_path(m, o)
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                if z["ops"].dtype == rp.OP_DTYPE and "meta" in z:
                    return path
        except (OSError, ValueError, KeyError):
            pass  # unreadable: rebuild
    s = replay_stream(read_lobster(m, o))
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        k: getattr(s, k) for k in ("capacity", "window", "centre", "anomalies", "source", "ticker", "date")
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, ops=s.ops, msg_time=s.msg_time, meta=np.array(json.dumps(meta)))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_replay_stream(data_dir, ticker: str) -> ReplayStream:
    """:func:`prepare_replay_stream`, loaded."""
    path = prepare_replay_stream(data_dir, ticker)
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        return ReplayStream(ops=z["ops"], msg_time=z["msg_time"], **meta)
