"""LOBSTER reader, replay of real NASDAQ order flow through the book, and calibration statistics.

The sample files live in ``shared/data/lobster/`` beside the repository (``/work/shared`` next to
``/work/main``; CI checks ``shared/`` out beside the clone the same way). Their ``PROVENANCE.md`` states that a
per-level replay from row 0 reproduces every following orderbook row: 57,514 AMZN transitions at level 1 and
998 AAPL transitions at 10 levels. A missing folder fails these tests, it never skips them.
"""

from __future__ import annotations

import dataclasses
import math
import pathlib

import numpy as np
import pytest

from almm_rllib.core.book import LimitOrderBook
from almm_rllib.core.schema import BUY, SELL
from almm_rllib.data import LobsterFormatError, read_lobster, replay_lobster
from almm_rllib.data.lobster import (
    ASK_EMPTY,
    BID_EMPTY,
    FILE_OWNER,
    SYNTHETIC_ID_BASE,
    SYNTHETIC_OWNER,
    LobsterData,
)
from almm_rllib.results.market_report import lobster_stats

DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "lobster"
AMZN = "AMZN_2012-06-21_34200000_57600000_{}_1.csv"
AAPL = "AAPL_2012-06-21_34200000_57600000_{}_10.csv"


def _paths(pattern: str) -> tuple[pathlib.Path, pathlib.Path]:
    if not DATA.is_dir():
        pytest.fail(
            f"LOBSTER sample data not found at {DATA}: the tests expect the shared folder beside the repository "
            "(shared/data/lobster/ next to the clone, as in CI)",
            pytrace=False,
        )
    m, o = DATA / pattern.format("message"), DATA / pattern.format("orderbook")
    for p in (m, o):
        if not p.is_file():
            pytest.fail(f"LOBSTER sample file missing: {p}", pytrace=False)
    return m, o


@pytest.fixture(scope="module")
def amzn() -> LobsterData:
    return read_lobster(*_paths(AMZN))


@pytest.fixture(scope="module")
def aapl() -> LobsterData:
    return read_lobster(*_paths(AAPL))


@pytest.fixture(scope="module")
def amzn_replay(amzn):
    return replay_lobster(amzn, check_every=1, invariant_every=5_000)


# ------------------------------------------------------------------------------------------------ reading


def test_read_amzn_header_crlf_no_final_newline(amzn):
    m, ob = amzn.messages, amzn.orderbook
    assert len(m) == len(ob) == 57_515
    assert (amzn.ticker, amzn.date, amzn.levels, amzn.file_levels) == ("AMZN", "2012-06-21", 1, 1)
    assert list(m.columns) == ["time", "type", "order_id", "size", "price", "price_raw", "direction"]
    assert list(ob.columns) == ["ask_price_1", "ask_size_1", "bid_price_1", "bid_size_1"]
    assert m.dtypes.astype(str).to_dict() == {
        "time": "float64",
        "type": "int8",
        "order_id": "int64",
        "size": "int64",
        "price": "float64",
        "price_raw": "int64",
        "direction": "int8",
    }
    # first data row 34200.01746,5,0,1,2238200,-1 and first book row 2239500,100,2231800,100 (after the header)
    cols = ["time", "type", "order_id", "size", "price", "direction"]
    assert m.iloc[0][cols].tolist() == [
        34200.01746,
        5,
        0,
        1,
        22382.0,
        -1,
    ]
    assert ob.iloc[0].tolist() == [22395.0, 100, 22318.0, 100]
    # the last row has no newline after it: 57599.95936,3,287174077,100,2206300,-1
    assert m.iloc[-1][cols[:5]].tolist() == [
        57599.95936,
        3,
        287174077,
        100,
        22063.0,
    ]
    assert ob.iloc[-1].tolist() == [22064.0, 100, 22051.0, 249]
    # hidden executions may print at a half-penny midpoint: x.5 ticks
    hidden = m[m.type == 5]
    assert (hidden.price % 1 == 0.5).sum() > 0
    assert (m[m.type.between(1, 4)].price % 1 == 0).all()
    assert m.type.value_counts().to_dict() == {1: 27_845, 3: 18_235, 4: 8_974, 5: 2_445, 2: 16}


def test_read_aapl_no_header_ten_levels(aapl):
    m, ob = aapl.messages, aapl.orderbook
    assert len(m) == len(ob) == 999
    assert (aapl.ticker, aapl.levels) == ("AAPL", 10)
    assert ob.shape[1] == 40
    assert m.time.iloc[0] == pytest.approx(34200.004241176, abs=1e-9)  # nanosecond times kept
    assert m.iloc[-1][["type", "order_id", "size", "price", "direction"]].tolist() == [
        1,
        18259338,
        18,
        58535.0,
        1,
    ]
    ap, asz, bp, bsz = aapl.level_arrays()
    assert ap.shape == (999, 10)
    assert ap[0, :3].tolist() == [58594.0, 58598.0, 58610.0]
    assert bp[0, :3].tolist() == [58533.0, 58530.0, 58510.0]
    assert (np.diff(ap, axis=1) > 0).all() and (np.diff(bp, axis=1) < 0).all()
    assert (ap[:, 0] > bp[:, 0]).all()


def test_read_levels_argument(aapl):
    m, o = _paths(AAPL)
    three = read_lobster(m, o, levels=3)
    assert three.levels == 3 and three.file_levels == 10 and three.orderbook.shape == (999, 12)
    assert three.orderbook.equals(aapl.orderbook.iloc[:, :12])
    for bad in (0, 11, 2.5, True):
        with pytest.raises(LobsterFormatError, match="levels must be an integer in 1..10"):
            read_lobster(m, o, levels=bad)


def test_empty_levels_become_nan_and_zero(tmp_path):
    rows = [
        "34200.1,1,1,100,1000000,1",
        "34200.2,3,1,100,1000000,1",
    ]
    book = [
        f"1000500,200,1000000,100,{ASK_EMPTY},0,{BID_EMPTY},0",
        f"1000500,200,{BID_EMPTY},0,{ASK_EMPTY},0,{BID_EMPTY},0",
    ]
    m, o = _write_pair(tmp_path, "X", 2, rows, book)
    data = read_lobster(m, o)
    ob = data.orderbook
    assert math.isnan(ob.loc[0, "ask_price_2"]) and ob.loc[0, "ask_size_2"] == 0
    assert math.isnan(ob.loc[1, "bid_price_1"]) and ob.loc[1, "bid_size_1"] == 0
    assert ob.loc[1, "ask_price_1"] == 10005.0


# ------------------------------------------------------------------------------------------------ corrupt files


def _write_pair(tmp_path, ticker, levels, msg_rows, book_rows, *, header=False, crlf=False):
    nl = "\r\n" if crlf else "\n"
    m = tmp_path / f"{ticker}_2012-06-21_34200000_57600000_message_{levels}.csv"
    o = tmp_path / f"{ticker}_2012-06-21_34200000_57600000_orderbook_{levels}.csv"
    mh = ["Time,Type,OrderId,Size,Price,Direction"] if header else []
    oh = (
        [",".join(f"{c}{k}" for k in range(1, levels + 1) for c in ("AP", "AS", "BP", "BS"))]
        if header
        else []
    )
    m.write_text(nl.join(mh + msg_rows), newline="")
    o.write_text(nl.join(oh + book_rows), newline="")
    return m, o


def _copy_aapl(tmp_path):
    m, o = _paths(AAPL)
    dm, do = tmp_path / m.name, tmp_path / o.name
    dm.write_bytes(m.read_bytes())
    do.write_bytes(o.read_bytes())
    return dm, do


def _field(line: str, j: int, value: str) -> str:
    f = line.split(",")
    f[j] = value
    return ",".join(f)


def _edit_line(path: pathlib.Path, lineno: int, edit) -> None:
    lines = path.read_text().split("\n")
    lines[lineno - 1] = edit(lines[lineno - 1])
    path.write_text("\n".join(lines))


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\n\n", b"\r\n \r\n"])
def test_final_newlines_and_trailing_blank_lines_are_fine(tmp_path, aapl, ending):
    m, o = _copy_aapl(tmp_path)
    for p in (m, o):
        p.write_bytes(p.read_bytes() + ending)
    data = read_lobster(m, o)
    assert data.messages.equals(aapl.messages) and data.orderbook.equals(aapl.orderbook)


def test_header_only_file(tmp_path):
    m, o = _write_pair(tmp_path, "X", 1, [], [], header=True)
    with pytest.raises(LobsterFormatError, match="no data rows"):
        read_lobster(m, o)


def test_truncated_message_file_names_both_files(tmp_path):
    m, o = _copy_aapl(tmp_path)
    m.write_text("\n".join(m.read_text().split("\n")[:500]))
    with pytest.raises(LobsterFormatError) as exc:
        read_lobster(m, o)
    msg = str(exc.value)
    assert str(m) in msg and str(o) in msg and "500" in msg and "999" in msg


def test_row_cut_in_the_middle(tmp_path):
    m, o = _copy_aapl(tmp_path)
    text = o.read_text()
    o.write_text(text[: len(text) - 30])  # the last row loses its last fields
    with pytest.raises(LobsterFormatError) as exc:
        read_lobster(m, o)
    assert str(o) in str(exc.value) and "line 999" in str(exc.value) and "expected 40" in str(exc.value)


@pytest.mark.parametrize(
    ("lineno", "edit", "expect"),
    [
        (
            123,
            lambda s: s.replace(",", ",x", 1),
            "line 123 (data row 122): field 2 (type) is not a finite number",
        ),
        (7, lambda s: s + ",1", "line 7 (data row 6): expected 6 comma-separated fields, found 7"),
        (
            40,
            lambda s: "34200.5,9" + s[s.index(",", s.index(",") + 1) :],
            "line 40 (data row 39): message type",
        ),
        (41, lambda s: s[: s.rindex(",")] + ",0", "line 41 (data row 40): direction"),
        (42, lambda s: "34100.0" + s[s.index(",") :], "line 42 (data row 41): time goes backwards"),
        (
            43,
            lambda s: _field(s, 3, "2.5"),
            "line 43 (data row 42): type, order id, size, price and direction must",
        ),
        (300, lambda s: "", "line 300 (data row 299): blank line"),
        (
            301,
            lambda s: _field(s, 4, "nan"),
            "line 301 (data row 300): field 5 (price) is not a finite number",
        ),
        (302, lambda s: _field(s, 3, "-5"), "line 302 (data row 301): size must be positive"),
    ],
)
def test_garbled_message_line_names_path_and_line(tmp_path, lineno, edit, expect):
    m, o = _copy_aapl(tmp_path)
    _edit_line(m, lineno, edit)
    with pytest.raises(LobsterFormatError) as exc:
        read_lobster(m, o)
    assert str(m) in str(exc.value)
    assert expect in str(exc.value)


def test_off_grid_price_and_bad_sentinels(tmp_path):
    m, o = _copy_aapl(tmp_path)
    _edit_line(m, 10, lambda s: _field(s, 4, "5853350"))
    with pytest.raises(
        LobsterFormatError, match=r"line 10 \(data row 9\): price must be positive on the \$0.01 grid"
    ):
        read_lobster(m, o)
    m, o = _copy_aapl(tmp_path)
    _edit_line(o, 5, lambda s: _field(s, 0, str(ASK_EMPTY)))  # empty sentinel with a size
    with pytest.raises(LobsterFormatError) as exc:
        read_lobster(m, o)
    assert str(o) in str(exc.value) and "line 5 (data row 4)" in str(exc.value)
    m, o = _copy_aapl(tmp_path)
    _edit_line(o, 6, lambda s: _field(s, 0, s.split(",")[2]))  # best ask = best bid
    with pytest.raises(LobsterFormatError, match=r"line 6 \(data row 5\): crossed or locked"):
        read_lobster(m, o)


def test_header_row_counts_in_line_numbers(tmp_path):
    rows = ["34200.1,1,1,100,1000000,1", "34200.2,1,2,100,1000100,1", "34200.3,1,3,100,abc,1"]
    book = ["1000500,200,1000000,100", "1000500,200,1000100,100", "1000500,200,1000100,100"]
    m, o = _write_pair(tmp_path, "X", 1, rows, book, header=True, crlf=True)
    with pytest.raises(LobsterFormatError) as exc:
        read_lobster(m, o)
    assert str(m) in str(exc.value) and "line 4 (data row 2): field 5 (price)" in str(exc.value)


def test_missing_empty_and_mismatched_files(tmp_path):
    m, o = _copy_aapl(tmp_path)
    with pytest.raises(LobsterFormatError, match="message file not found"):
        read_lobster(tmp_path / "nope.csv", o)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(LobsterFormatError, match="empty message file"):
        read_lobster(empty, o)
    other = tmp_path / m.name.replace("AAPL", "MSFT")
    other.write_bytes(m.read_bytes())
    with pytest.raises(LobsterFormatError, match="are not a pair"):
        read_lobster(other, o)
    renamed = tmp_path / o.name.replace("_10.csv", "_5.csv")
    renamed.write_bytes(o.read_bytes())
    with pytest.raises(LobsterFormatError, match="the file name says 5 levels but its rows hold 10"):
        read_lobster(m, renamed)
    bad_header = tmp_path / "h.csv"
    bad_header.write_text("Time,Type,OrderId,Size,Price\n34200.1,1,1,100,1000000\n")
    with pytest.raises(LobsterFormatError, match="line 1: expected 6"):
        read_lobster(bad_header, o)


# ------------------------------------------------------------------------------------------------ replay


def test_replay_amzn_reproduces_every_row(amzn, amzn_replay):
    r = amzn_replay
    assert r.transitions == 57_514 and r.transitions_checked == 57_514
    assert r.mismatches == 0, r.mismatch_details
    assert not r.anomalies, r.anomaly_details
    assert r.ok
    assert r.type_counts == {1: 27_845, 2: 16, 3: 18_235, 4: 8_974, 5: 2_445}
    # orders entered before the file (or out of sight at level 1) are named by thousands of messages
    assert r.ids["unknown"] > 1_000 and r.ids["known"] > 1_000 and r.ids["outside"] == 0
    removals = int(amzn_replay_removals(r))
    assert r.ids["known"] + r.ids["unknown"] == removals
    assert r.slide_ins["new"] + r.slide_ins["agreed"] + r.slide_ins["resynced"] > 1_000
    assert r.invariant_checks == 57_514 // 5_000 + 1
    # price-time priority against real flow: an executed order is (almost always) first in the book's queue;
    # the few exceptions are same-timestamp fills listed out of queue order or slid-in volume of unknown priority
    q = r.queue
    assert q["executions"] > 4_000
    assert q["at_front"] + q["behind_file_orders"] + q["behind_synthetic_only"] == q["executions"]
    assert q["at_front"] >= 0.99 * q["executions"]
    for d in r.queue_details:
        if d["kind"] == "behind_file_orders":
            ahead = set(d["ahead"])
            later = amzn.messages.iloc[d["row"] + 1 : d["row"] + 10]
            # the order ahead is executed by the same aggressive order, at the same timestamp, right after
            assert ((later.order_id.isin(ahead)) & (later.time == d["time"]) & (later.type == 4)).any()
    r.book.check()
    assert r.timings["total_s"] < 120
    assert r.timings["step_us"]["n"] == 27_845 + removals  # message 0 (a hidden execution) is the seed
    assert np.isnan(r.event_ns[0])


def amzn_replay_removals(r) -> int:
    """Messages of types 2-4 after message 0 (AMZN's message 0 is a hidden execution)."""
    return r.type_counts[2] + r.type_counts[3] + r.type_counts[4]


def test_replay_aapl_ten_levels(aapl):
    r = replay_lobster(aapl, invariant_every=50)
    assert r.transitions == 998 and r.transitions_checked == 998
    assert r.mismatches == 0, r.mismatch_details
    assert not r.anomalies, r.anomaly_details
    assert r.invariant_checks == 998 // 50 + 1
    assert r.queue["executions"] > 50 and r.queue["at_front"] == r.queue["executions"]
    r.book.check()
    depth = r.book.get_depth(10)
    ap, asz, bp, bsz = aapl.level_arrays()
    assert [(round(lv.price * 100), lv.quantity) for lv in depth["asks"]] == list(
        zip(ap[-1].astype(int).tolist(), asz[-1].tolist())
    )
    assert [(round(lv.price * 100), lv.quantity) for lv in depth["bids"]] == list(
        zip(bp[-1].astype(int).tolist(), bsz[-1].tolist())
    )


@pytest.mark.parametrize("levels", [1, 2, 5, 9])
def test_replay_aapl_fewer_levels(levels):
    # keeping fewer levels than the file has: messages further down are out of sight, yet every row matches
    r = replay_lobster(read_lobster(*_paths(AAPL), levels=levels), invariant_every=100)
    assert r.mismatches == 0, r.mismatch_details
    assert not r.anomalies, r.anomaly_details


def test_replay_check_every(aapl):
    r = replay_lobster(aapl, check_every=7)
    assert r.transitions_checked == 998 // 7 + 1  # every 7th row and the last one
    assert r.mismatches == 0


def test_synthetic_and_file_orders_are_apart(amzn_replay, aapl):
    for r in (amzn_replay, replay_lobster(aapl)):
        book = r.book
        synthetic = book.get_owner_orders(SYNTHETIC_OWNER)
        from_file = book.get_owner_orders(FILE_OWNER)
        assert synthetic and from_file
        assert min(synthetic) >= SYNTHETIC_ID_BASE
        assert max(from_file) < SYNTHETIC_ID_BASE
        assert len(synthetic) + len(from_file) == book.n_orders
        assert r.seeded_orders == 2 * r.levels


def test_replay_detects_a_wrong_book(aapl, monkeypatch):
    # a book whose reduce keeps one share too many must show up as mismatched rows, naming the level
    real = LimitOrderBook.reduce_order

    def leaky(self, order_id, quantity):
        return real(self, order_id, quantity - 1) if quantity > 1 else real(self, order_id, quantity)

    monkeypatch.setattr(LimitOrderBook, "reduce_order", leaky)
    r = replay_lobster(aapl)
    assert r.mismatches > 0
    d = r.mismatch_details[0]
    assert d["diffs"] and {"side", "level", "file", "book"} <= set(d["diffs"][0])
    book_q, file_q = d["diffs"][0]["book"][1], d["diffs"][0]["file"][1]
    assert book_q == file_q + 1


def test_replay_detects_a_corrupted_message(aapl):
    m = aapl.messages.copy()
    i = int(np.flatnonzero((m.type == 4).to_numpy())[5])
    m.loc[i, "size"] -= 1  # one share less executed than the book file shows
    r = replay_lobster(dataclasses.replace(aapl, messages=m))
    assert r.mismatches > 0 and r.mismatch_details[0]["row"] == i


def test_replay_rejects_bad_arguments(aapl):
    with pytest.raises(TypeError):
        replay_lobster(aapl.messages)
    for kw in ({"check_every": 0}, {"invariant_every": -1}, {"check_every": 1.5}):
        with pytest.raises(ValueError, match="replay_lobster"):
            replay_lobster(aapl, **kw)


def test_tiny_hand_made_pair(tmp_path):
    # row i is the book after message i; prices in dollars x 10000 (tick = 100)
    msgs = [
        "0.0,1,1,100,1000000,1",  # before row 0: its order is part of the seed, so id 1 is unknown later
        "1.0,1,2,50,1000300,-1",  # sell inside the spread: 2 ticks better than the 1000500 ask
        "1.0,4,2,30,1000300,-1",  # a buy market order of 50 shares, two fills at one timestamp
        "1.0,4,2,20,1000300,-1",  # ... empties the level: 1000500 slides back in
        "3.0,1,3,40,1000100,1",  # bid improves by one tick
        "3.5,5,0,10,1000200,1",  # hidden execution: nothing visible changes
        "4.0,3,3,40,1000100,1",  # known id deleted
        "5.0,2,1,30,1000000,1",  # partial cancel of the pre-file order
    ]
    book = [
        "1000500,200,1000000,100",
        "1000300,50,1000000,100",
        "1000300,20,1000000,100",
        "1000500,200,1000000,100",
        "1000500,200,1000100,40",
        "1000500,200,1000100,40",
        "1000500,200,1000000,100",
        "1000500,200,1000000,70",
    ]
    data = read_lobster(*_write_pair(tmp_path, "TINY", 1, msgs, book, header=True, crlf=True))
    r = replay_lobster(data, invariant_every=1)
    assert r.ok and r.transitions_checked == 7
    assert r.ids == {"known": 3, "unknown": 1, "outside": 0}
    # the ask emptied at row 3 and the bid at row 6: both times the book held what slid in
    assert r.slide_ins == {
        "rows": 2,
        "new": 0,
        "agreed": 2,
        "resynced": 0,
        "stale_levels": 0,
        "stale_shares": 0,
    }
    assert r.invariant_checks == 8

    st = lobster_stats(data)
    assert st["duration_s"] == 5.0
    # time-weighted spread: 5 ticks for 1 s, 5 for 2 s, 4 for 0.5 + 0.5 s, 5 for 1 s (zero-length rows drop out)
    assert st["spread_ticks"]["time_weighted"]["mean"] == pytest.approx((5 * 1 + 5 * 2 + 4 * 1 + 5 * 1) / 5)
    assert st["spread_ticks"]["per_event"]["mean"] == pytest.approx((5 + 3 + 3 + 5 + 4 + 4 + 5 + 5) / 8)
    assert st["spread_ticks"]["pmf_time"] == {4: pytest.approx(0.2), 5: pytest.approx(0.8)}
    mo = st["market_orders"]
    assert mo["n"] == 1 and mo["size_shares"]["mean"] == 50 and mo["fills_per_order"] == 2
    assert (mo["buy"], mo["sell"]) == (1, 0)
    assert st["rates_per_s"]["new_limit"] == pytest.approx({"buy": 0.4, "sell": 0.2, "total": 0.6})
    assert st["rates_per_s"]["execution"]["sell"] == pytest.approx(2 / 5)
    assert st["rates_per_s"]["all"] == pytest.approx(8 / 5)
    pl = st["placement_ticks"]
    assert pl["n"] == 2 and pl["min"] == -2 and pl["max"] == -1 and pl["frac_inside_spread"] == 1.0
    assert st["limit_orders"]["size_shares"]["n"] == 3 and st["limit_orders"]["frac_100"] == pytest.approx(
        1 / 3
    )
    assert st["depth_shares"]["ask"]["mean_time"] == [200.0]
    assert st["depth_shares"]["bid"]["mean_time"][0] == pytest.approx(
        (100 * 1 + 100 * 2 + 40 * 1 + 100 * 1) / 5
    )


def test_tiny_mismatch_is_reported(tmp_path):
    msgs = ["0.0,1,1,100,1000000,1", "1.0,1,2,50,1000000,1", "2.0,3,2,50,1000000,1"]
    book = ["1005000,200,1000000,100", "1005000,200,1000000,150", "1005000,200,1000000,120"]  # 120: wrong
    r = replay_lobster(read_lobster(*_write_pair(tmp_path, "TINY", 1, msgs, book)))
    assert r.mismatches == 1 and not r.ok
    d = r.mismatch_details[0]
    assert d["row"] == 2 and d["type"] == 3
    assert d["diffs"] == [{"side": "bid", "level": 1, "file": (10000, 120), "book": (10000, 100)}]


# ------------------------------------------------------------------------------------------------ simulated LOBSTER files


def _simulate_lobster(seed: int, levels: int, n_pre: int = 400, n_file: int = 3_000):
    """A random full-depth book whose messages are written LOBSTER-style: only those that change the top
    ``levels`` (plus hidden executions), starting after ``n_pre`` unwritten events, with odd and round lots
    and shared timestamps. Returns (message rows, orderbook rows) as CSV lines."""
    rng = np.random.default_rng(seed)
    side_book: dict[int, dict[int, dict[int, int]]] = {BUY: {}, SELL: {}}  # side -> price -> {id: size}
    where: dict[int, tuple[int, int]] = {}
    next_id, t, ref = 5_000, 34_200.0, 10_000

    def top(side, k):
        prices = sorted(side_book[side], reverse=side == BUY)[:k]
        return [(p, sum(side_book[side][p].values())) for p in prices]

    def row():
        a, b = top(SELL, levels), top(BUY, levels)
        out = []
        for k in range(levels):
            out += [a[k][0] * 100, a[k][1]] if k < len(a) else [ASK_EMPTY, 0]
            out += [b[k][0] * 100, b[k][1]] if k < len(b) else [BID_EMPTY, 0]
        return ",".join(map(str, out))

    def remove(oid, qty):
        side, p = where[oid]
        lv = side_book[side][p]
        lv[oid] -= qty
        if lv[oid] == 0:
            del lv[oid], where[oid]
            if not lv:
                del side_book[side][p]

    msgs, rows = [], []
    for k in range(n_pre + n_file):
        if rng.random() < 0.7:
            t += float(rng.exponential(0.05))
        u = rng.random()
        pending = []  # (type, id, size, price, side), applied and written one at a time
        if u < 0.47 or len(where) < 30:
            side = BUY if rng.random() < 0.5 else SELL
            bb, ba = max(side_book[BUY], default=None), min(side_book[SELL], default=None)
            off = int(rng.geometric(0.3)) - 1
            if side == BUY:
                p = ref - 1 - off if ba is None else min(ref - 1 - off, ba - 1)
            else:
                p = ref + 1 + off if bb is None else max(ref + 1 + off, bb + 1)
            oid, next_id = next_id, next_id + int(rng.integers(1, 4))
            pending.append((1, oid, int(rng.choice([100, 100, 100, 200, 300, 18, 50, 5])), p, side))
        elif u < 0.8:
            oid = int(rng.choice(list(where)))
            side, p = where[oid]
            rem = side_book[side][p][oid]
            if rem > 1 and rng.random() < 0.25:
                pending.append((2, oid, int(rng.integers(1, rem)), p, side))
            else:
                pending.append((3, oid, rem, p, side))
        elif u < 0.95:  # a market order walks the other side, FIFO: one execution message per fill
            maker = SELL if rng.random() < 0.5 else BUY
            qty = int(rng.choice([30, 100, 100, 250, 600]))
            for p in sorted(side_book[maker], reverse=maker == BUY):
                for oid, rem in side_book[maker][p].items():
                    q = min(qty, rem)
                    pending.append((4, oid, q, p, maker))
                    qty -= q
                    if qty == 0:
                        break
                if qty == 0:
                    break
        else:
            pending.append((5, 0, int(rng.integers(1, 300)), ref, BUY if rng.random() < 0.5 else SELL))
        for typ, oid, q, p, s in pending:
            before = (top(BUY, levels), top(SELL, levels))
            if typ == 1:
                side_book[s].setdefault(p, {})[oid] = q
                where[oid] = (s, p)
            elif typ != 5:
                remove(oid, q)
            after = (top(BUY, levels), top(SELL, levels))
            if k >= n_pre and (typ == 5 or before != after):
                msgs.append(f"{t:.9f},{typ},{oid},{q},{p * 100},{s}")
                rows.append(row())
        bb, ba = max(side_book[BUY], default=None), min(side_book[SELL], default=None)
        if bb is not None and ba is not None:
            ref = (bb + ba) // 2 + int(rng.integers(-1, 2))
    return msgs, rows


@pytest.mark.parametrize(
    ("seed", "levels", "keep"), [(1, 1, 1), (2, 3, 3), (3, 5, 5), (4, 5, 2), (5, 10, 10)]
)
def test_replay_simulated_lobster_files(tmp_path, seed, levels, keep):
    msgs, rows = _simulate_lobster(seed, levels)
    m, o = _write_pair(tmp_path, "SIM", levels, msgs, rows, header=seed % 2 == 0, crlf=seed % 3 == 0)
    data = read_lobster(m, o, levels=keep)
    r = replay_lobster(data, invariant_every=250)
    assert r.mismatches == 0, r.mismatch_details
    assert not r.anomalies, r.anomaly_details
    assert r.ids["unknown"] > 0  # orders from before the file
    assert r.slide_ins["new"] + r.slide_ins["agreed"] + r.slide_ins["resynced"] > 0
    assert (
        r.queue["executions"] > 0 and r.queue["at_front"] == r.queue["executions"]
    )  # the simulation is FIFO
    if keep < levels:
        assert r.ids["outside"] > 0


# ------------------------------------------------------------------------------------------------ statistics


def _numbers(obj, path=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _numbers(v, f"{path}.{k}")
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            yield from _numbers(v, f"{path}[{i}]")
    elif isinstance(obj, int | float) and not isinstance(obj, bool):
        yield path, obj


def test_stats_amzn_plausible(amzn):
    st = lobster_stats(amzn)
    bad = [p for p, v in _numbers(st) if not math.isfinite(v)]
    assert not bad, f"non-finite AMZN statistics: {bad}"
    sp = st["spread_ticks"]["time_weighted"]
    assert 1 <= sp["min"] and 3 <= sp["p50"] <= 30 and sp["p50"] <= sp["p95"]
    assert sum(st["spread_ticks"]["pmf_time"].values()) == pytest.approx(1, abs=0.05)
    assert st["duration_s"] == pytest.approx(23_400, abs=5)
    r = st["rates_per_s"]
    for name in ("new_limit", "delete", "execution", "hidden_execution"):
        assert r[name]["buy"] > 0 and r[name]["sell"] > 0
        assert r[name]["total"] == pytest.approx(r[name]["buy"] + r[name]["sell"])
    assert r["all"] == pytest.approx(57_515 / st["duration_s"])
    assert r["new_limit"]["total"] == pytest.approx(27_845 / st["duration_s"])
    mo = st["market_orders"]
    assert 0 < mo["n"] <= 8_974 and mo["buy"] + mo["sell"] == mo["n"]
    assert mo["size_shares"]["p50"] > 0 and mo["fills_per_order"] >= 1
    assert 0 < st["limit_orders"]["size_shares"]["p50"] <= 1_000
    pl = st["placement_ticks"]
    assert pl["frac_inside_spread"] + pl["frac_at_best"] + pl["frac_behind"] == pytest.approx(1)
    assert pl["max"] <= 0  # a level-1 file only carries orders that reach the best quote
    for d in ("bid", "ask"):
        assert st["depth_shares"][d]["mean_time"][0] > 0
    for h, ret in st["returns"].items():
        assert ret["n"] > 100, h
        assert 0 < ret["vol"] < 0.01 and ret["kurtosis"] > 0 and -1 <= ret["acf"][0] <= 1
        assert 0.1 < ret["ofi_corr"] < 1  # order-flow imbalance moves the mid in the same interval
    # volatility scales roughly with sqrt(horizon)
    v1, v60 = st["returns"]["1s"]["vol_per_sqrt_s"], st["returns"]["60s"]["vol_per_sqrt_s"]
    assert 0.5 < v60 / v1 < 2


def test_stats_aapl_plausible(aapl):
    st = lobster_stats(aapl)
    assert len(st["depth_shares"]["bid"]["mean_time"]) == 10
    assert st["spread_ticks"]["time_weighted"]["p50"] >= 1
    assert st["returns"]["1s"]["n"] > 40 and math.isfinite(st["returns"]["1s"]["vol"])
    assert st["returns"]["1s"]["ofi_corr"] > 0 and math.isfinite(st["returns"]["1s"]["kurtosis"])
    # 49 s of data: four 10 s returns are too few for a correlation, and there is no 60 s return at all
    assert st["returns"]["10s"]["n"] < 10 and math.isnan(st["returns"]["10s"]["ofi_corr"])
    assert st["returns"]["60s"]["n"] == 0 and math.isnan(st["returns"]["60s"]["vol"])
    assert st["placement_ticks"]["frac_behind"] > 0  # ten levels carry orders behind the best
    assert st["rates_per_s"]["partial_cancel"]["total"] == 0


def test_replay_detects_lost_queue_priority(tmp_path, monkeypatch):
    # a book whose partial cancel moves the order to the back of its queue keeps every level total right, so
    # only the queue-position check can see it
    msgs, rows = _simulate_lobster(3, 5)
    data = read_lobster(*_write_pair(tmp_path, "SIM", 5, msgs, rows))
    assert replay_lobster(data).ok

    def requeue(self, order_id, quantity):
        o = self.get_order(order_id)
        self.replace_order(order_id, o["price"], o["quantity"] - quantity)
        return True

    monkeypatch.setattr(LimitOrderBook, "reduce_order", requeue)
    r = replay_lobster(data)
    assert r.mismatches == 0
    assert r.anomalies.get("queue position differs from arrival order", 0) > 0
