"""Imports point one way: core <- env/baselines/results/evaluation <- training/cluster/cli/dashboard.

The core may import only the standard library, numpy and numba; the middle layer never imports ray or torch
at module level; no layer imports one above it. Checked statically on every module (so a lazy import inside a
function is allowed where the design says so) and at run time in a fresh interpreter.
"""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

PKG = pathlib.Path(__file__).resolve().parents[1] / "almm_rllib"
LAYERS = {
    "core": 0,
    "env": 1,
    "baselines": 1,
    "results": 1,
    "data": 1,
    "evaluation": 1,
    "training": 2,
    "cluster": 2,
    "cli": 2,
    "dashboard": 2,
}
STDLIB = set(sys.stdlib_module_names)
CORE_ALLOWED = {"numpy", "numba"}
MIDDLE_FORBIDDEN_AT_TOP = {"ray", "torch"}
#: the one middle-layer module allowed to import ray at its top: the RLlib MultiAgentEnv subclass, which the
#: package imports lazily (checked at run time below)
RAY_ADAPTERS = {"env/rllib_env.py"}


def _modules():
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG)
        top = rel.parts[0].removesuffix(".py")
        yield path, rel, top


def _imports(path: pathlib.Path, top_level_only: bool):
    """(module name, is at module top) for every import; relative imports resolved inside almm_rllib."""
    tree = ast.parse(path.read_text(), filename=str(path))
    pkg_parts = ["almm_rllib", *path.relative_to(PKG).parts[:-1]]
    top_nodes = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg_parts[: len(pkg_parts) - node.level + 1]
                names = [".".join([*base, node.module] if node.module else base)]
                if not node.module:
                    names = [".".join([*base, a.name]) for a in node.names]
            else:
                names = [node.module]
        else:
            continue
        at_top = id(node) in top_nodes
        if top_level_only and not at_top:
            continue
        yield from ((n, at_top) for n in names)


def _layer_of(name: str) -> int | None:
    parts = name.split(".")
    if parts[0] != "almm_rllib" or len(parts) < 2:
        return None
    return LAYERS.get(parts[1])


def test_every_subpackage_has_a_layer():
    tops = {top for _, _, top in _modules()} - {"__init__", "_version"}
    assert tops <= set(LAYERS), f"new top-level module(s) without a layer: {tops - set(LAYERS)}"


@pytest.mark.parametrize(
    ("path", "rel", "top"),
    list(_modules()),
    ids=lambda x: str(x) if isinstance(x, pathlib.PurePath) else None,
)
def test_imports_point_down(path, rel, top):
    if top in ("__init__", "_version"):
        return
    mine = LAYERS[top]
    for name, at_top in _imports(path, top_level_only=False):
        root = name.split(".")[0]
        layer = _layer_of(name)
        if layer is not None:
            assert layer <= mine, f"{rel} (layer {mine}) imports {name} (layer {layer})"
            if mine == 0:
                assert name.split(".")[1] == "core", f"core module {rel} imports {name}"
        elif root == "almm_rllib":
            continue  # the package root (version, facade re-exports)
        elif mine == 0:
            assert root in STDLIB or root in CORE_ALLOWED, f"core module {rel} imports {name}"
        elif mine == 1 and at_top and rel.as_posix() not in RAY_ADAPTERS:
            assert root not in MIDDLE_FORBIDDEN_AT_TOP, f"{rel} imports {name} at module level"


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
        "          'almm_rllib.data'):\n"
        "    importlib.import_module(m)\n"
        "print(','.join(m for m in ('ray', 'torch') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"the middle layer pulled in: {out}"
