"""Error classes of the results package.

Every failure to write, read or validate a results table is raised as a :class:`ResultsError` (or its
subclass :class:`SchemaError`), whose message names the file and, for schema problems, the table and column,
so that a person reading a traceback knows which file to look at without a debugger.
"""

from __future__ import annotations

import os


class ResultsError(Exception):
    """A results file or folder could not be written or read.

    Attributes:
        path: the file or folder concerned (``None`` when the data never touched the disk).
        why: what is wrong, in words.
    """

    def __init__(self, path: str | os.PathLike[str] | None, why: str) -> None:
        self.path = None if path is None else os.fspath(path)
        self.why = why
        where = "" if self.path is None else f"{self.path}: "
        super().__init__(f"{where}{why}")

    def __reduce__(self):  # keep the two-argument constructor picklable (multiprocessing, Ray)
        return (type(self), (self.path, self.why))


class SchemaError(ResultsError, ValueError):
    """A table does not match its pinned schema (missing, extra or mistyped column, or a forbidden null).

    Attributes:
        table: the table's name (``"steps"``, ``"fills"`` or ``"episodes"``).
        column: the offending column (``None`` when the problem is not one column's, e.g. wrong input type).
    """

    def __init__(
        self,
        table: str,
        column: str | None,
        why: str,
        path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.table = table
        self.column = column
        col = "" if column is None else f"column {column!r}: "
        super().__init__(path, f"table {table!r}: {col}{why}")
        self.why = why

    def __reduce__(self):
        return (type(self), (self.table, self.column, self.why, self.path))
