"""Imports point one way, down the ranks; checked statically on every module and at run time.

The ranks (README, "Layout")::

    0  core                                  numpy + numba only
    1  env, data
    2  baselines, results
    3  evaluation
    4  training
    5  cluster, cli (almm_rllib/cli.py), dashboard

A module imports only units of strictly lower rank, at module level and inside functions alike (a lazy
import is still a dependency); two units of the same rank do not import each other. Inside one unit anything
goes. Two files at the top of the package have ranks of their own:

* ``_version.py``: rank 0. It imports nothing, so every unit, the core included, may read the version.
* ``__init__.py`` (the package root): rank 1. It re-exports the book classes of the core (rank 0), so it sits
  just above the core, and ``from almm_rllib import LimitOrderBook`` is fine from rank 2 up. Python runs it
  before any submodule, whatever is imported, so it must stay as light as the core:
  :func:`test_core_runtime_imports_stay_light` checks that at run time.

Third-party rules: rank 0 imports only the standard library, numpy and numba; ranks 1 to 3 never import ray
or torch at module level (a function may, when it runs: loading a checkpoint, building the RLlib env). The one
exception is the RLlib ``MultiAgentEnv`` subclass, which the env package imports lazily (checked at run time).

:func:`find_violations` is a small static checker (``ast``; absolute and relative imports, ``from pkg import
unit``, and ``importlib.import_module`` with a literal or f-string name); each failure names the file and the
line of the offending import. :func:`test_the_checker_catches_planted_violations` runs it on a planted package.
"""

from __future__ import annotations

import ast
import dataclasses
import pathlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping

import pytest

PKG = pathlib.Path(__file__).resolve().parents[1] / "almm_rllib"

#: Unit (subpackage, or module at the top of the package; ``__init__`` is the package root) -> rank.
RANKS: dict[str, int] = {
    "_version": 0,
    "core": 0,
    "__init__": 1,
    "env": 1,
    "data": 1,
    "baselines": 2,
    "results": 2,
    "evaluation": 3,
    "training": 4,
    "cluster": 5,
    "cli": 5,
    "dashboard": 5,
}


@dataclasses.dataclass(frozen=True)
class Rules:
    """What :func:`find_violations` enforces on one package."""

    package: str
    """The package's import name."""
    ranks: Mapping[str, int]
    """Unit -> rank; ``__init__`` is the package root."""
    base_allowed: frozenset[str] = frozenset()
    """Third-party top-level modules the rank-0 units may import (besides the standard library)."""
    heavy: frozenset[str] = frozenset()
    """Third-party top-level modules that units of rank 1 to ``heavy_max_rank`` import only inside functions."""
    heavy_max_rank: int = -1
    heavy_exempt: frozenset[str] = frozenset()
    """Module paths (relative to the package, posix) exempt from the ``heavy`` rule."""


RULES = Rules(
    package="almm_rllib",
    ranks=RANKS,
    base_allowed=frozenset({"numpy", "numba"}),
    heavy=frozenset({"ray", "torch"}),
    heavy_max_rank=3,
    #: the RLlib MultiAgentEnv subclass: the env package imports it lazily
    heavy_exempt=frozenset({"env/rllib_env.py"}),
)
STDLIB = frozenset(sys.stdlib_module_names)


@dataclasses.dataclass(frozen=True)
class Violation:
    path: str
    """Module path relative to the package's parent folder (``almm_rllib/env/core.py``)."""
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclasses.dataclass(frozen=True)
class _Import:
    name: str
    """Absolute dotted name of what is imported (a module, or a module plus an attribute)."""
    line: int
    runs_at_import: bool
    """At module level (also inside a module-level ``if``/``try``/class body), not in a function or under
    ``if TYPE_CHECKING``."""


def unit_of(rel: pathlib.PurePath) -> str:
    """The unit a module belongs to: its subpackage, or its own name at the top (``__init__`` for the root)."""
    return rel.parts[0].removesuffix(".py")


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _literal_module(node: ast.Call) -> str | None:
    """The module named by ``importlib.import_module(<literal or f-string>)`` (an f-string's literal head)."""
    func = node.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if called != "import_module" or not node.args:
        return None
    arg = node.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
        return str(arg.values[0].value).rstrip(".") or None
    return None


def _imports(path: pathlib.Path, package_parts: list[str]) -> Iterator[_Import | Violation]:
    """Every import of the module at ``path`` whose package is ``package_parts`` (relative ones resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))

    def visit(node: ast.AST, runs: bool) -> Iterator[_Import | Violation]:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            runs = False
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                yield from visit(child, False)
            for child in node.orelse:
                yield from visit(child, runs)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield _Import(alias.name, node.lineno, runs)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if node.level > len(package_parts):
                    yield Violation("", node.lineno, "relative import beyond the top of the package")
                    return
                base = package_parts[: len(package_parts) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            for alias in node.names:
                yield _Import(f"{module}.{alias.name}", node.lineno, runs)
        elif isinstance(node, ast.Call):
            name = _literal_module(node)
            if name:
                yield _Import(name, node.lineno, runs)
        for child in ast.iter_child_nodes(node):
            yield from visit(child, runs)

    yield from visit(tree, True)


def _is_unit(pkg_dir: pathlib.Path, name: str) -> bool:
    return (pkg_dir / name).is_dir() or (pkg_dir / f"{name}.py").is_file()


def _check_one(imp: _Import, rel: pathlib.PurePath, rules: Rules, pkg_dir: pathlib.Path) -> str | None:
    """Why ``imp`` (in the module at ``rel``) breaks the rules, or None."""
    mine = unit_of(rel)
    rank = rules.ranks[mine]
    parts = imp.name.split(".")
    if parts[0] == rules.package:
        # "pkg.unit..." names the unit; "pkg.name" that is no unit is an attribute of the package root
        target = parts[1] if len(parts) > 1 and parts[1] in rules.ranks else "__init__"
        if target == "__init__" and len(parts) > 1 and _is_unit(pkg_dir, parts[1]):
            return f"imports {imp.name}: unit {parts[1]!r} has no rank"
        if target == mine:
            return None
        theirs = rules.ranks[target]
        if theirs < rank:
            return None
        what = "a unit of the same rank" if theirs == rank else "a higher rank"
        return f"{mine} (rank {rank}) imports {imp.name} ({target}, rank {theirs}): {what}"
    root = parts[0]
    if rank == 0 and root not in STDLIB and root not in rules.base_allowed:
        allowed = ", ".join(sorted(rules.base_allowed)) or "nothing"
        return f"{mine} (rank 0) imports {imp.name}: rank 0 imports only the standard library and {allowed}"
    if (
        imp.runs_at_import
        and 1 <= rank <= rules.heavy_max_rank
        and root in rules.heavy
        and rel.as_posix() not in rules.heavy_exempt
    ):
        return f"{mine} (rank {rank}) imports {imp.name} at module level (import it inside the function)"
    return None


def module_violations(path: pathlib.Path, pkg_dir: pathlib.Path, rules: Rules) -> list[Violation]:
    """The import violations of one module of the package in ``pkg_dir``."""
    rel = path.relative_to(pkg_dir)
    shown = (pathlib.PurePath(rules.package) / rel).as_posix()
    if unit_of(rel) not in rules.ranks:
        return [Violation(shown, 1, f"unit {unit_of(rel)!r} has no rank (add it to the ranks)")]
    package_parts = [rules.package, *rel.parts[:-1]]
    out = []
    for item in _imports(path, package_parts):
        if isinstance(item, Violation):
            out.append(dataclasses.replace(item, path=shown))
            continue
        why = _check_one(item, rel, rules, pkg_dir)
        if why:
            out.append(Violation(shown, item.line, why))
    return out


def find_violations(pkg_dir: pathlib.Path, rules: Rules) -> list[Violation]:
    """Every import violation in the package in ``pkg_dir`` (all its ``.py`` files)."""
    out = []
    for path in sorted(pkg_dir.rglob("*.py")):
        out.extend(module_violations(path, pkg_dir, rules))
    return out


# ------------------------------------------------------------------------------------------------------------
# The package.


def _modules() -> list[pathlib.Path]:
    return sorted(PKG.rglob("*.py"))


def test_every_unit_has_a_rank():
    units = {unit_of(p.relative_to(PKG)) for p in _modules()}
    assert units <= set(RANKS), f"unit(s) without a rank: {sorted(units - set(RANKS))}"
    # the units the design names are all there (dashboard may not exist yet)
    assert set(RANKS) - units <= {"dashboard"}, (
        f"ranked but missing: {sorted(set(RANKS) - units - {'dashboard'})}"
    )


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(PKG).as_posix())
def test_imports_point_down(path):
    bad = module_violations(path, PKG, RULES)
    assert not bad, "imports against the layering:\n" + "\n".join(map(str, bad))


# ------------------------------------------------------------------------------------------------------------
# The checker itself.


def _write(root: pathlib.Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text).lstrip("\n"))


PLANTED_RULES = Rules(
    package="toypkg",
    ranks={"__init__": 1, "low": 0, "mid": 1, "side": 1, "high": 2, "top": 2},
    base_allowed=frozenset({"numpy"}),
    heavy=frozenset({"torch"}),
    heavy_max_rank=1,
)


def test_the_checker_catches_planted_violations(tmp_path):
    pkg = tmp_path / "toypkg"
    _write(
        pkg,
        {
            "__init__.py": "from .low.a import f\n",
            "top.py": "import toypkg\nfrom toypkg.mid import m\n",
            "low/__init__.py": "",
            "low/a.py": """
                import math
                import numpy as np
                from . import c


                def f():
                    from toypkg.high.b import g  # lazy, still upward
                    return g


                def h():
                    import scipy
                    return scipy
                """,
            "low/c.py": "import toypkg\n",
            "mid/__init__.py": "",
            "mid/m.py": """
                import importlib
                from typing import TYPE_CHECKING

                from ..low import a
                from ..side import s

                if TYPE_CHECKING:
                    import torch
                try:
                    import torch as _t
                except ImportError:
                    _t = None


                def load():
                    import torch

                    return importlib.import_module(f"toypkg.high.{load.__name__}")
                """,
            "side/__init__.py": "",
            "side/s.py": "from toypkg.low import a\n",
            "high/__init__.py": "from .b import g\nfrom ..mid import m\nfrom toypkg import top\n",
            "high/b.py": "import torch\n\n\ndef g():\n    return torch\n",
            "extra/__init__.py": "",
        },
    )
    found = {(v.path, v.line): v.message for v in find_violations(pkg, PLANTED_RULES)}
    assert set(found) == {
        ("toypkg/extra/__init__.py", 1),  # a unit without a rank
        ("toypkg/low/a.py", 7),  # lazy import of a higher rank
        ("toypkg/low/a.py", 12),  # rank 0 imports a third-party module other than numpy
        ("toypkg/low/c.py", 1),  # rank 0 imports the package root (rank 1)
        ("toypkg/mid/m.py", 5),  # same-rank sibling, relative import
        ("toypkg/mid/m.py", 10),  # heavy module at module level (inside try)
        ("toypkg/mid/m.py", 18),  # importlib with an f-string naming a higher rank
        ("toypkg/high/__init__.py", 3),  # same-rank sibling through "from pkg import unit"
    }, found
    assert "rank 2" in found[("toypkg/low/a.py", 7)] and "higher rank" in found[("toypkg/low/a.py", 7)]
    assert "same rank" in found[("toypkg/mid/m.py", 5)] and "toypkg.side.s" in found[("toypkg/mid/m.py", 5)]
    assert "scipy" in found[("toypkg/low/a.py", 12)]
    assert "module level" in found[("toypkg/mid/m.py", 10)]
    assert "no rank" in found[("toypkg/extra/__init__.py", 1)]
    # the same package with the planted imports removed is clean
    for rel in ("low/a.py", "low/c.py", "mid/m.py", "high/__init__.py", "extra/__init__.py"):
        (pkg / rel).unlink()
    assert find_violations(pkg, PLANTED_RULES) == []


# ------------------------------------------------------------------------------------------------------------
# At run time, in a fresh interpreter.


def test_core_runtime_imports_stay_light():
    code = (
        "import sys, importlib, pkgutil\n"
        "import almm_rllib.core as core\n"
        "for m in pkgutil.iter_modules(core.__path__):\n"
        "    importlib.import_module('almm_rllib.core.' + m.name)\n"
        "import almm_rllib\n"
        "bad = [m for m in ('gymnasium', 'ray', 'torch', 'pandas', 'pyarrow') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"importing the core pulled in: {out}"


def test_middle_layer_runtime_imports_no_ray_or_torch():
    code = (
        "import sys, importlib\n"
        "for m in ('almm_rllib.baselines', 'almm_rllib.results', 'almm_rllib.results.report', 'almm_rllib.env',\n"
        "          'almm_rllib.data', 'almm_rllib.evaluation.runner', 'almm_rllib.evaluation.calibration'):\n"
        "    importlib.import_module(m)\n"
        "print(','.join(m for m in ('ray', 'torch') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"the middle layer pulled in: {out}"


# ------------------------------------------------------------------------------------------------------------
# One home for each fact.

#: literal -> the one module (relative to the package) allowed to spell it; the others import its name.
FACT_HOMES = {
    23_400.0: "core/market_facts.py",  # the trading session, seconds (SESSION_SECONDS; the int 23400 is a port)
    140.0: "core/market_config.py",  # the Avellaneda-Stoikov paper's A (StylizedConfig.A; PAPER_A)
}


def test_facts_are_spelled_once():
    """Numbers distinctive enough to grep for appear as float literals in their home module only (tests
    included: they import the constant)."""
    seen: dict[float, list[str]] = {v: [] for v in FACT_HOMES}
    tests = pathlib.Path(__file__).resolve().parent
    for path in [*_modules(), *sorted(tests.rglob("*.py"))]:
        if path == pathlib.Path(__file__).resolve():
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and type(node.value) is float and node.value in seen:
                seen[node.value].append(f"{path.relative_to(PKG.parent).as_posix()}:{node.lineno}")
    for value, home in FACT_HOMES.items():
        assert seen[value] == [f"almm_rllib/{home}:{_line_of(PKG / home, value)}"], (value, seen[value])


def _line_of(path: pathlib.Path, value: float) -> int:
    return next(
        n.lineno
        for n in ast.walk(ast.parse(path.read_text()))
        if isinstance(n, ast.Constant) and type(n.value) is float and n.value == value
    )
