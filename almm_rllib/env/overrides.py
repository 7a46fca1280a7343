"""Values typed by people: ``key=value`` overrides, ``a=1,b=2`` parameter lists, YAML text, integer options.

One reader for every override syntax of the ``almm`` verbs (``--set a.b=1e-4``, ``avellaneda_stoikov:gamma=5e-2``,
experiment and env-config YAML files), so a number is a number wherever it is typed:

* values are YAML with the YAML 1.2 number rules: ``1e-4``, ``5E+2``, ``.5`` and ``1_000`` are numbers (PyYAML
  follows YAML 1.1, where ``1e-4`` without a dot is the *string* ``'1e-4'``);
* NaN and infinity are refused anywhere in a value (:func:`check_finite`), naming the key;
* every error is a :class:`~almm_rllib.core.config.ConfigError` that names the option (``--set``, the policy
  spec, the file) and the key, so the command line prints one line.

Lives beside the env config (layer 1) because the evaluation and training layers above both read it.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Mapping
from typing import Any

import yaml

from almm_rllib.core.config import ConfigError

__all__ = [
    "YAML12Loader",
    "apply_overrides",
    "check_finite",
    "check_folder_name",
    "load_yaml",
    "parse_override",
    "parse_params",
    "parse_value",
    "positive_int",
    "positive_number",
    "run_name_arg",
]


class YAML12Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that also reads YAML 1.2 floats without a dot (``1e-4``, ``5E+2``) as numbers."""


YAML12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def load_yaml(text: str, *, where: str) -> Any:
    """Parse YAML ``text`` with :class:`YAML12Loader`; a syntax error is a ConfigError naming ``where``."""
    try:
        return yaml.load(text, Loader=YAML12Loader)  # a SafeLoader subclass: safe
    except yaml.YAMLError as e:
        raise ConfigError("", f"is not valid YAML ({' '.join(str(e).split())})", where) from None


def check_finite(value: Any, key: str = "", *, where: str | None = None) -> None:
    """Refuse NaN and +-inf anywhere in ``value`` (nested mappings and lists), naming the key path."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(key or "value", f"must be a finite number, got {value!r}", where)
    if isinstance(value, Mapping):
        for k, v in value.items():
            check_finite(v, f"{key}.{k}" if key else str(k), where=where)
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            check_finite(v, f"{key}[{i}]", where=where)


def parse_value(raw: str, *, key: str = "", where: str = "--set") -> Any:
    """One typed value: YAML 1.2 scalars and flow collections (``[[0, 1e-4], [1000, 0]]``); empty -> ``""``.

    NaN and infinity are refused."""
    raw = raw.strip()
    if not raw:
        return ""
    try:
        value = yaml.load(raw, Loader=YAML12Loader)  # a SafeLoader subclass: safe
    except yaml.YAMLError as e:
        raise ConfigError(
            key, f"value {raw!r} is not valid YAML ({' '.join(str(e).split())})", where
        ) from None
    check_finite(value, key, where=where)
    return value


def parse_override(text: str, *, where: str = "--set") -> tuple[list[str], Any]:
    """``"a.b.c=value"`` -> ``(["a", "b", "c"], value)``; the value as :func:`parse_value` reads it."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError("", f"expects key=value, got {text!r}", where)
    parts = key.split(".")
    if any(not p.strip() for p in parts):
        raise ConfigError("", f"has an empty key in {text!r}", where)
    return [p.strip() for p in parts], parse_value(raw, key=key, where=where)


def apply_overrides(data: Mapping, overrides: list[str] | None, *, where: str = "--set") -> dict:
    """A deep copy of ``data`` with every ``key.path=value`` of ``overrides`` set (missing mappings created)."""
    import copy

    out = copy.deepcopy(dict(data))
    for text in overrides or []:
        parts, value = parse_override(text, where=where)
        node = out
        for i, p in enumerate(parts[:-1]):
            nxt = node.setdefault(p, {})
            if not isinstance(nxt, dict):
                raise ConfigError(".".join(parts[: i + 1]), f"is not a mapping (in {text!r})", where)
            node = nxt
        node[parts[-1]] = value
    return out


def add_set_option(parser: argparse.ArgumentParser, help: str | None = None) -> None:
    """The repeatable ``--set KEY=VALUE`` option of a command line, collected in ``args.overrides`` (read with
    :func:`apply_overrides`)."""
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help=help
    )


def parse_params(text: str, *, where: str) -> dict[str, Any]:
    """``"a=1,b=x,c=5e-2"`` -> ``{"a": 1, "b": "x", "c": 0.05}`` (values as :func:`parse_value` reads them)."""
    params: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError("", f"expected key=value, got {item!r}", where)
        params[key] = parse_value(value, key=key, where=where)
    return params


def _int_at_least(lo: int, name: str):
    """argparse ``type=``: an integer >= ``lo`` (argparse names the option in its one-line error)."""

    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer >= {lo}, got {text!r}") from None
        if n < lo:
            raise argparse.ArgumentTypeError(f"must be an integer >= {lo}, got {n}")
        return n

    parse.__name__ = parse.__qualname__ = name
    parse.__doc__ = f"argparse ``type=``: an integer >= {lo}."
    return parse


positive_int = _int_at_least(1, "positive_int")
nonnegative_int = _int_at_least(0, "nonnegative_int")


def check_folder_name(name: str, *, where: str = "--run-name") -> str:
    """A run folder's name: one path component (no ``/``, ``\\``, ``..``, not empty, not hidden), so the run
    lands inside its ``--out`` folder. Returns ``name``; raises ConfigError naming ``where``."""
    bad = (
        not isinstance(name, str)
        or not name.strip()
        or name != name.strip()
        or "/" in name
        or "\\" in name
        or name.startswith(".")
        or "\0" in name
    )
    if bad:
        raise ConfigError(
            "",
            f"must be a plain folder name (no path separators, not starting with '.', not '..'), got {name!r}",
            where,
        )
    return name


def run_name_arg(text: str) -> str:
    """argparse ``type=`` for ``--run-name`` (see :func:`check_folder_name`)."""
    try:
        return check_folder_name(text)
    except ConfigError as e:
        raise argparse.ArgumentTypeError(e.message) from None


def positive_number(text: str) -> float:
    """argparse ``type=``: a finite number > 0."""
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}") from None
    if not (math.isfinite(x) and x > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return x
