"""Reading and writing a run folder:
``results/<run>/{steps,fills,episodes}.parquet``, ``config.json``, ``version.json``.

Every file is written under a temporary name in its final folder (``.<name>.<pid>.<random>.tmp``), flushed to
disk, and renamed over its final name with :func:`os.replace` only when complete. A reader therefore sees the
previous complete file or the new complete file, never half of one, and a write that fails (schema error,
full disk, exception in the caller) leaves no new file behind and the previous one untouched. Tables are
validated against their pinned schema (:mod:`almm_rllib.results.schema`) before anything touches the disk,
and again when read back.

``version.json`` is written last by :class:`RunWriter`: a run folder with a ``version.json`` is complete.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import enum
import json
import os
import platform
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from almm_rllib.results.errors import ResultsError, SchemaError
from almm_rllib.results.schema import (
    EPISODES,
    FILLS,
    SCHEMA_VERSION,
    SCHEMAS,
    STEPS,
    TABLE_KEY,
    TABLES,
    VERSION_KEY,
    conform,
    resolve_schema,
)

FILE_NAMES = {STEPS: "steps.parquet", FILLS: "fills.parquet", EPISODES: "episodes.parquet"}
CONFIG_FILE = "config.json"
VERSION_FILE = "version.json"
REPORT_FILE = "report.html"  #: written by :func:`almm_rllib.results.report.write_html_report`

DEFAULT_COMPRESSION = "zstd"

__all__ = [
    "CONFIG_FILE",
    "REPORT_FILE",
    "atomic_write",
    "FILE_NAMES",
    "VERSION_FILE",
    "ResultsError",
    "RunData",
    "RunWriter",
    "SchemaError",
    "read_json",
    "read_run",
    "read_table",
    "remove_stale_temp_files",
    "version_info",
    "write_json",
    "write_run",
    "write_table",
]


# ----------------------------------------------------------------------------------------------------
# Atomic writes.


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def remove_stale_temp_files(folder: Path) -> list[Path]:
    """Remove the temporary files (``.<name>.<pid>.<random>.tmp``) that a writer killed before it could clean up
    (``kill -9``, power loss) left in ``folder``: those of processes that no longer run. Returns them."""
    removed = []
    for tmp in Path(folder).glob(".*.tmp"):
        parts = tmp.name[1:].rsplit(".", 3)  # <name>, <pid>, <random>, "tmp"
        if len(parts) != 4 or not parts[1].isdigit() or int(parts[1]) == os.getpid():
            continue
        if not _pid_alive(int(parts[1])):
            _unlink_quietly(tmp)
            removed.append(tmp)
    return removed


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not every platform lets a folder be opened, hence the suppress.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary name beside ``path``, flush it to disk, rename it over ``path``.

    If ``write`` raises, the temporary file is removed and ``path`` is left as it was; an ``OSError`` or
    Arrow error is re-raised as :class:`ResultsError` naming ``path``.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise ResultsError(path.parent, "folder does not exist")
    tmp = _temp_name(path)
    try:
        write(tmp)
        _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException as e:
        _unlink_quietly(tmp)
        if isinstance(e, (OSError, pa.ArrowException)):
            raise ResultsError(path, f"could not be written ({type(e).__name__}: {e})") from e
        raise
    _fsync_dir(path.parent)
    return path


def write_text(text: str, path) -> Path:
    """Write ``text`` (UTF-8) to ``path``, atomically (see :func:`atomic_write`)."""

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    return atomic_write(Path(path), write)


def write_table(data, path, schema, *, compression: str = DEFAULT_COMPRESSION) -> Path:
    """Validate ``data`` against a pinned schema and write it to ``path`` as Parquet, atomically.

    Args:
        data: pandas DataFrame (index ignored) or pyarrow Table.
        path: destination file; its folder must exist.
        schema: the pinned schema (``STEPS_SCHEMA``...) or the table name (``"steps"``...).
        compression: Parquet codec.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        SchemaError: the data does not match the schema; nothing is written and a previous file at ``path``
            is left as it was.
        ResultsError: the folder is missing or the file could not be written; no partial file remains.
    """
    path = Path(path)
    table = conform(data, schema, path=path)
    return atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression=compression))


def _json_default(obj: Any):
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if isinstance(obj, (_dt.datetime, _dt.date)):
        return obj.isoformat()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def write_json(obj: Mapping[str, Any], path) -> Path:
    """Write a mapping as indented JSON, atomically. NaN/inf are refused (not valid JSON)."""
    path = Path(path)
    try:
        text = json.dumps(obj, indent=2, sort_keys=True, default=_json_default, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ResultsError(path, f"cannot be written as JSON: {e}") from e

    return write_text(text + "\n", path)


def version_info(extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The content of ``version.json``: package and library versions, schema version, creation time (UTC)."""
    import scipy

    import almm_rllib

    info: dict[str, Any] = {
        "almm_rllib": almm_rllib.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "pyarrow": pa.__version__,
        "scipy": scipy.__version__,
        "platform": platform.platform(),
        "results_schema_version": SCHEMA_VERSION,
        "created_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    if extra:
        info.update(extra)
    return info


# ----------------------------------------------------------------------------------------------------
# Run writer.


class RunWriter:
    """Writes one run folder, table by table and chunk by chunk, with all files appearing only at the end.

    Use it as a context manager; each ``write_*`` call validates one chunk (a DataFrame or Table for any
    number of episodes) and appends it to a temporary Parquet file, so a long evaluation never holds the whole
    step log in memory. Leaving the ``with`` block normally renames every file into place (tables first, then
    ``config.json``, then ``version.json``); leaving it with an exception removes the temporary files and
    leaves the folder as it was::

        with RunWriter("results/run-42", config) as w:
            for episode in runner:
                w.write_steps(episode.steps)
                w.write_fills(episode.fills)
            w.write_episodes(episodes_table(...))

    A table that received no chunk is written with zero rows.

    Args:
        run_dir: the run folder (created, with its parents, if missing).
        config: the resolved configuration, written as ``config.json``.
        overwrite: allow replacing the files of an existing run (otherwise an existing ``steps.parquet``,
            ``fills.parquet``, ``episodes.parquet``, ``config.json`` or ``version.json`` is an error).
        compression: Parquet codec.
        versions: extra entries for ``version.json`` (e.g. a git commit or the ray version).
    """

    def __init__(
        self,
        run_dir,
        config: Mapping[str, Any],
        *,
        overwrite: bool = False,
        compression: str = DEFAULT_COMPRESSION,
        versions: Mapping[str, Any] | None = None,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.config = dict(config)
        self.compression = compression
        self.versions = dict(versions or {})
        names = [*FILE_NAMES.values(), CONFIG_FILE, VERSION_FILE]
        if not overwrite:
            existing = [n for n in names if (self.run_dir / n).exists()]
            if existing:
                raise ResultsError(
                    self.run_dir,
                    f"already holds a run ({existing}); choose another --run-name, or replace it with --overwrite "
                    "(overwrite=True)",
                )
        self._created = not self.run_dir.exists()
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ResultsError(self.run_dir, f"cannot create the run folder ({e})") from e
        remove_stale_temp_files(self.run_dir)
        # Fail early on a config that cannot be written, before any long evaluation.
        try:
            json.dumps(self.config, default=_json_default, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise ResultsError(self.run_dir / CONFIG_FILE, f"config cannot be written as JSON: {e}") from e
        self._tmp = {name: _temp_name(self.run_dir / FILE_NAMES[name]) for name in TABLES}
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._rows = dict.fromkeys(TABLES, 0)
        self._state = "open"

    # -- chunks ------------------------------------------------------------------------------------------
    def write(self, table: str, data) -> None:
        """Validate one chunk of ``table`` (``"steps"``, ``"fills"``, ``"episodes"``) and append it."""
        if self._state != "open":
            raise ResultsError(self.run_dir, f"RunWriter is {self._state}; cannot write more")
        name, pinned = resolve_schema(table)
        chunk = conform(data, pinned, path=self.run_dir / FILE_NAMES[name])
        if chunk.num_rows == 0:
            return
        try:
            if name not in self._writers:
                self._writers[name] = pq.ParquetWriter(self._tmp[name], pinned, compression=self.compression)
            self._writers[name].write_table(chunk)
        except (OSError, pa.ArrowException) as e:
            self.abort()
            raise ResultsError(self._tmp[name], f"could not be written ({e})") from e
        self._rows[name] += chunk.num_rows

    def write_steps(self, data) -> None:
        self.write(STEPS, data)

    def write_fills(self, data) -> None:
        self.write(FILLS, data)

    def write_episodes(self, data) -> None:
        self.write(EPISODES, data)

    @property
    def rows(self) -> dict[str, int]:
        """Rows written so far, per table."""
        return dict(self._rows)

    # -- end ---------------------------------------------------------------------------------------------
    def close(self) -> Path:
        """Finish every file and rename it into place. Returns the run folder."""
        if self._state != "open":
            raise ResultsError(self.run_dir, f"RunWriter is already {self._state}")
        try:
            for name in TABLES:
                if name in self._writers:
                    self._writers.pop(name).close()
                else:
                    pq.write_table(SCHEMAS[name].empty_table(), self._tmp[name], compression=self.compression)
                _fsync_file(self._tmp[name])
            # version.json marks a complete run: an old one must not vouch for half-replaced tables; an old
            # report describes the old tables.
            _unlink_quietly(self.run_dir / VERSION_FILE)
            _unlink_quietly(self.run_dir / REPORT_FILE)
            for name in TABLES:
                os.replace(self._tmp[name], self.run_dir / FILE_NAMES[name])
        except BaseException as e:
            self.abort()
            if isinstance(e, (OSError, pa.ArrowException)):
                raise ResultsError(self.run_dir, f"could not be written ({type(e).__name__}: {e})") from e
            raise
        write_json(self.config, self.run_dir / CONFIG_FILE)
        write_json(version_info(self.versions), self.run_dir / VERSION_FILE)
        self._state = "closed"
        return self.run_dir

    def abort(self) -> None:
        """Drop everything written so far; final files already in place are left alone."""
        for w in self._writers.values():
            with contextlib.suppress(Exception):
                w.close()
        self._writers.clear()
        for tmp in self._tmp.values():
            _unlink_quietly(tmp)
        if self._created:  # a failed run leaves no empty run folder behind
            with contextlib.suppress(OSError):
                self.run_dir.rmdir()  # only if empty
        if self._state == "open":
            self._state = "aborted"

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
        elif self._state == "open":
            self.close()


def write_run(
    run_dir,
    steps,
    fills,
    episodes,
    config: Mapping[str, Any],
    *,
    overwrite: bool = False,
    compression: str = DEFAULT_COMPRESSION,
    versions: Mapping[str, Any] | None = None,
) -> Path:
    """Write a whole run folder at once: the three tables, ``config.json`` and ``version.json``.

    All three tables are validated before any file is written. See :class:`RunWriter` for the arguments.
    Returns the run folder.
    """
    run_dir = Path(run_dir)
    tables = {
        STEPS: conform(steps, STEPS, path=run_dir / FILE_NAMES[STEPS]),
        FILLS: conform(fills, FILLS, path=run_dir / FILE_NAMES[FILLS]),
        EPISODES: conform(episodes, EPISODES, path=run_dir / FILE_NAMES[EPISODES]),
    }
    with RunWriter(run_dir, config, overwrite=overwrite, compression=compression, versions=versions) as w:
        for name, table in tables.items():
            w.write(name, table)
    return run_dir


# ----------------------------------------------------------------------------------------------------
# Reading.


def read_table(path, schema) -> pa.Table:
    """Read one results Parquet file and check it against its pinned schema (exact types, no casts).

    Raises:
        ResultsError: naming ``path`` when the file is missing, is not a readable Parquet file (corrupt,
            truncated, not Parquet), belongs to another table or to another schema version.
        SchemaError: naming ``path``, the table and the column when a column is missing, extra or mistyped.
    """
    path = Path(path)
    name, pinned = resolve_schema(schema)
    if not path.exists():
        raise ResultsError(path, f"file not found (expected the {name!r} table)")
    if not path.is_file():
        raise ResultsError(path, "is not a file")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as e:
        raise ResultsError(path, f"is not a readable Parquet file ({type(e).__name__}: {e})") from e
    meta = table.schema.metadata or {}
    file_table = meta.get(TABLE_KEY, b"").decode()
    if file_table and file_table != name:
        raise ResultsError(path, f"holds the {file_table!r} table, not {name!r}")
    file_version = meta.get(VERSION_KEY, b"").decode()
    if file_version and file_version != str(SCHEMA_VERSION):
        raise ResultsError(
            path,
            f"was written with results schema version {file_version}; this package reads {SCHEMA_VERSION}",
        )
    return conform(table, pinned, strict=True, path=path)


def read_json(path) -> dict[str, Any]:
    """Read a JSON object; a missing or malformed file is a :class:`ResultsError` naming the path."""
    path = Path(path)
    if not path.is_file():
        raise ResultsError(path, "file not found")
    try:
        with open(path, encoding="utf-8") as f:
            obj = json.load(f)
    except (OSError, ValueError) as e:
        raise ResultsError(path, f"is not readable JSON ({e})") from e
    if not isinstance(obj, dict):
        raise ResultsError(path, f"holds a JSON {type(obj).__name__}, expected an object")
    return obj


@dataclasses.dataclass(frozen=True)
class RunData:
    """The content of one run folder. Tables are pandas DataFrames, or pyarrow Tables with ``as_arrow``;
    a table that was not asked for is ``None``."""

    path: Path
    steps: Any
    fills: Any
    episodes: Any
    config: dict[str, Any]
    version: dict[str, Any]


def read_run(run_dir, *, tables=TABLES, as_arrow: bool = False) -> RunData:
    """Read a run folder written by :func:`write_run` / :class:`RunWriter`.

    Args:
        run_dir: the run folder.
        tables: which tables to read (the step log can be large).
        as_arrow: return pyarrow Tables instead of pandas DataFrames.

    Raises:
        ResultsError: naming the folder or file that is missing, unreadable or corrupt.
        SchemaError: a table does not match its pinned schema.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ResultsError(run_dir, "run folder not found")
    unknown = [t for t in tables if t not in TABLES]
    if unknown:
        raise ValueError(f"unknown results tables {unknown}; expected some of {TABLES}")
    config = read_json(run_dir / CONFIG_FILE)
    version = read_json(run_dir / VERSION_FILE)
    out: dict[str, Any] = dict.fromkeys(TABLES)
    for name in tables:
        t = read_table(run_dir / FILE_NAMES[name], name)
        out[name] = t if as_arrow else t.to_pandas()
    return RunData(path=run_dir, config=config, version=version, **out)
