"""Numba compilation options, in one place.

Every compiled kernel in the project is decorated with ``@njit(**NJIT)`` (or ``NJIT_NOCACHE`` where caching
cannot work), so that options such as caching and bounds checking are changed here and nowhere else.
"""

from __future__ import annotations

import hashlib
import os
import pathlib

import numba


def _core_fingerprint() -> str:
    """Hash of every source file of the core package."""
    h = hashlib.sha256()
    for path in sorted(pathlib.Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _configure_cache_dir() -> None:
    """Key numba's on-disk cache on the whole core package, not on one file.

    Numba keys a cached kernel on its own source file's timestamp only, so a kernel that calls or inlines a
    kernel from another file would keep running stale machine code after that file changed (a segfault when a
    state layout changes). Unless the user set ``NUMBA_CACHE_DIR``, every kernel defined after this module is
    imported caches under ``~/.cache/almm_rllib/numba-<hash of the core sources>``.
    """
    if os.environ.get("NUMBA_CACHE_DIR") or os.environ.get("ALMM_NUMBA_CACHE", "1") != "1":
        return
    root = pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache")) / "almm_rllib"
    numba.config.CACHE_DIR = str(root / f"numba-{_core_fingerprint()}")


_configure_cache_dir()

#: Options for ``numba.njit``. ``cache=True`` keeps compiled code on disk (see ``_configure_cache_dir``) so a new process (a Ray
#: worker, a test run) does not pay the compile again. ``boundscheck`` can be switched on for debugging with
#: ``ALMM_BOUNDSCHECK=1``.
NJIT: dict = {
    "cache": os.environ.get("ALMM_NUMBA_CACHE", "1") == "1",
    "nogil": True,
    "boundscheck": os.environ.get("ALMM_BOUNDSCHECK", "0") == "1",
}

#: Options for hot kernels that never allocate: numba's reference counting (NRT) is switched off. Passing a
#: NamedTuple of ~20 arrays through a call otherwise costs ~40 atomic incref/decref operations (measured:
#: ~220 ns per book event with NRT, ~100 ns without). Such kernels only read and write arrays they are given;
#: numba refuses to compile one that would need to allocate, so the flag cannot silently break them.
NJIT_HOT: dict = {**NJIT, "_nrt": False}

#: Hot-path helpers that are inlined at numba-IR level into their callers. A book state is a NamedTuple of ~20
#: arrays, and a call that is not inlined passes every array's fields (~130 machine words) through the stack:
#: inlining the per-event path took the book from ~85 to ~34 ns per event. Kept for the functions every event
#: goes through; rare paths (matching, re-centring, scans) stay real calls to keep compile times short.
NJIT_INLINE: dict = {**NJIT_HOT, "inline": "always"}
