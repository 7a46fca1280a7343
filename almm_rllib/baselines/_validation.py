"""Field checks shared by the strategies' frozen parameter dataclasses.

Every check names the owning dataclass and the field (``AvellanedaStoikovParams.gamma must be > 0, got -1``)
and coerces the stored value to a plain Python ``float`` or ``int`` so that parameters pickle, compare and
print the same whatever numeric type the caller passed (numpy scalars, YAML ints).
"""

from __future__ import annotations

import math
import numbers
from typing import Any


def _where(obj: Any, field: str) -> str:
    return f"{type(obj).__name__}.{field}"


def set_real(
    obj: Any,
    field: str,
    *,
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
    optional: bool = False,
    allow_inf: bool = False,
) -> None:
    """Check that ``obj.field`` is a real number within the bounds and store it back as ``float``.

    ``gt``/``ge`` are exclusive/inclusive lower bounds, ``le`` an inclusive upper bound. ``optional`` admits
    ``None``; ``allow_inf`` admits ``+inf`` (never NaN).
    """
    value = getattr(obj, field)
    where = _where(obj, field)
    if value is None:
        if optional:
            return
        raise TypeError(f"{where} must be a number, got None")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where} must be a number, got {type(value).__name__} {value!r}")
    x = float(value)
    if math.isnan(x) or (math.isinf(x) and not (allow_inf and x > 0)):
        raise ValueError(f"{where} must be finite, got {x}")
    if gt is not None and not x > gt:
        raise ValueError(f"{where} must be > {gt}, got {x}")
    if ge is not None and not x >= ge:
        raise ValueError(f"{where} must be >= {ge}, got {x}")
    if le is not None and not x <= le:
        raise ValueError(f"{where} must be <= {le}, got {x}")
    object.__setattr__(obj, field, x)


def set_int(obj: Any, field: str, *, ge: int | None = None, optional: bool = False) -> None:
    """Check that ``obj.field`` is an integer (not a bool, not a float) ``>= ge`` and store it as ``int``."""
    value = getattr(obj, field)
    where = _where(obj, field)
    if value is None:
        if optional:
            return
        raise TypeError(f"{where} must be an integer, got None")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where} must be an integer, got {type(value).__name__} {value!r}")
    n = int(value)
    if ge is not None and n < ge:
        raise ValueError(f"{where} must be >= {ge}, got {n}")
    object.__setattr__(obj, field, n)


def set_bool(obj: Any, field: str) -> None:
    """Check that ``obj.field`` is a bool (``numpy.bool_`` accepted) and store it as ``bool``."""
    value = getattr(obj, field)
    if not isinstance(value, bool) and type(value).__name__ != "bool_":
        raise TypeError(f"{_where(obj, field)} must be a bool, got {type(value).__name__} {value!r}")
    object.__setattr__(obj, field, bool(value))


def require(obj: Any, field: str, ok: bool, message: str) -> None:
    """Raise ``ValueError('<Class>.<field> <message>')`` unless ``ok`` (for checks across fields)."""
    if not ok:
        raise ValueError(f"{_where(obj, field)} {message}")
