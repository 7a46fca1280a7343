"""Numba compilation options, in one place.

Every compiled kernel in the project is decorated with ``@njit(**NJIT)`` (or ``NJIT_NOCACHE`` where caching
cannot work), so that options such as caching and bounds checking are changed here and nowhere else.
"""

from __future__ import annotations

import os

#: Options for ``numba.njit``. ``cache=True`` keeps compiled code in ``__pycache__`` so a new process (a Ray
#: worker, a test run) does not pay the compile again. ``boundscheck`` can be switched on for debugging with
#: ``ALMM_BOUNDSCHECK=1``.
NJIT: dict = {
    "cache": True,
    "nogil": True,
    "boundscheck": os.environ.get("ALMM_BOUNDSCHECK", "0") == "1",
}
