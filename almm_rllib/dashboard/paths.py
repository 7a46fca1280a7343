"""The dashboard's results directory: run folders and checkpoints under it, and nothing outside it."""

from __future__ import annotations

import os
from pathlib import Path

from almm_rllib.evaluation.policies import RL_MODULE_DIR
from almm_rllib.results.io import CONFIG_FILE, FILE_NAMES

#: Environment variable naming the results directory (set by ``almm dashboard --results``).
RESULTS_ENV = "ALMM_DASHBOARD_RESULTS"
DEFAULT_RESULTS = "results"
#: How deep under the results directory checkpoints are looked for (``tune/<exp>/<trial>/checkpoint_N``).
CHECKPOINT_DEPTH = 5
#: The files that make a folder a run folder.
_RUN_FILES = (*FILE_NAMES.values(), CONFIG_FILE)


class DashboardError(ValueError):
    """Something the page reports to the user as a message (a wrong folder, an impossible parameter)."""


def results_root(value: str | os.PathLike[str] | None = None) -> Path:
    """The results directory: ``value``, else ``$ALMM_DASHBOARD_RESULTS``, else ``results``; resolved, and
    required to be an existing folder."""
    raw = value if value is not None else os.environ.get(RESULTS_ENV) or DEFAULT_RESULTS
    root = Path(raw).expanduser().resolve()
    if not root.is_dir():
        raise DashboardError(f"results directory {str(root)!r} does not exist or is not a folder")
    return root


def inside(root: Path, path: str | os.PathLike[str]) -> Path:
    """``path`` (relative to ``root``, or absolute) resolved, refused unless it lies inside ``root``."""
    text = os.fspath(path).strip()
    if not text:
        raise DashboardError("no folder given")
    p = Path(text).expanduser()
    p = (p if p.is_absolute() else root / p).resolve()
    if p != root and root not in p.parents:
        raise DashboardError(
            f"{text!r} is outside the results directory {str(root)!r}; only folders under it are read"
        )
    return p


def run_folder(root: Path, name: str | os.PathLike[str]) -> Path:
    """A run folder under ``root`` (it must exist and hold the run's tables)."""
    p = inside(root, name)
    if not p.is_dir():
        raise DashboardError(f"run folder {os.fspath(name)!r} not found under {str(root)!r}")
    missing = [f for f in _RUN_FILES if not (p / f).is_file()]
    if missing:
        raise DashboardError(f"{os.fspath(name)!r} is not a run folder: it lacks {', '.join(missing)}")
    return p


def list_runs(root: Path) -> list[str]:
    """Names (relative to ``root``) of the run folders directly under it, newest first."""
    runs = [p for p in root.iterdir() if p.is_dir() and all((p / f).is_file() for f in _RUN_FILES)]
    runs.sort(key=lambda p: (p.stat().st_mtime, p.name), reverse=True)
    return [p.name for p in runs]


def is_checkpoint(path: Path) -> bool:
    return path.joinpath(*RL_MODULE_DIR).is_dir()


def list_checkpoints(root: Path, depth: int = CHECKPOINT_DEPTH) -> list[str]:
    """RLlib checkpoint folders (holding ``learner_group/learner/rl_module``) under ``root``, relative, sorted."""
    found = []
    for dirpath, dirnames, _ in os.walk(root):
        here = Path(dirpath)
        level = len(here.relative_to(root).parts)
        if is_checkpoint(here):
            found.append(here.relative_to(root).as_posix())
            dirnames[:] = []
        elif level >= depth:
            dirnames[:] = []
        else:
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
    return sorted(found)
