"""Frozen, documented configuration dataclasses: building from dicts (YAML), validation with named fields.

Every configuration in the project is a frozen dataclass deriving from :class:`Config`. Defaults live in the
class, YAML only overrides. ``Config.from_dict(data, source=...)`` refuses unknown keys, wrong types and
impossible values with a :class:`ConfigError` that names the full key path and where it came from::

    ConfigError: experiments/x.yaml: market.flow.limit_rate must be >= 0, got -1.0

Validation rules live in each class's ``_validate`` method, which raises ``ConfigError(field, message)``; the
path and source are filled in on the way out. Constructing a config directly (``FlowConfig(limit_rate=-1)``)
runs the same validation.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, ClassVar, TypeVar

T = TypeVar("T", bound="Config")


class ConfigError(ValueError):
    """A configuration that cannot work. ``key`` is the dotted path of the offending field."""

    def __init__(self, key: str, message: str, source: str | None = None):
        self.key = key
        self.message = message
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{key} {message}" if key else f"{where}{message}")

    def within(self, prefix: str, source: str | None = None) -> ConfigError:
        key = f"{prefix}.{self.key}" if prefix and self.key else (prefix or self.key)
        return ConfigError(key, self.message, self.source or source)


def _type_name(tp) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp, key: str) -> Any:
    """Check/convert ``value`` to annotation ``tp`` (bool, int, float, str, tuples, Optional, Literal, Config)."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a, key)
            except ConfigError as e:
                errors.append(e.message)
        raise ConfigError(key, errors[0] if len(errors) == 1 else f"has the wrong type: got {value!r}")
    if origin is typing.Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise ConfigError(key, f"must be one of {', '.join(map(repr, allowed))}; got {value!r}")
        return value
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, list | tuple):
            raise ConfigError(key, f"must be a list, got {type(value).__name__} {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], f"{key}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise ConfigError(key, f"must have {len(args)} items, got {len(value)}")
        return tuple(_coerce(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True)))
    if isinstance(tp, type) and issubclass(tp, Config):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(key, f"must be a mapping of {tp.__name__} fields, got {type(value).__name__}")
        return tp._from_dict(value, key)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(key, f"must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(key, f"must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(key, f"must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(key, f"must be a string, got {value!r}")
        return value
    if tp is dict or typing.get_origin(tp) is dict:
        if not isinstance(value, dict):
            raise ConfigError(key, f"must be a mapping, got {value!r}")
        return dict(value)
    raise ConfigError(key, f"has an unsupported type {_type_name(tp)}")


@dataclasses.dataclass(frozen=True)
class Config:
    """Base class: frozen dataclass with validation, ``from_dict``, ``to_dict`` and ``replace``."""

    #: aliases accepted by from_dict for renamed keys: {"old": "new"}
    _aliases: ClassVar[dict[str, str]] = {}

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            try:
                cv = _coerce(v, hints[f.name], f.name)
            except ConfigError as e:
                raise ConfigError(f"{type(self).__name__}.{e.key}", e.message) from None
            if cv is not v:
                object.__setattr__(self, f.name, cv)
            if isinstance(cv, float) and math.isnan(cv):
                raise ConfigError(f"{type(self).__name__}.{f.name}", "must not be NaN")
        try:
            self._validate()
        except ConfigError as e:
            raise ConfigError(f"{type(self).__name__}.{e.key}", e.message) from None

    def _validate(self) -> None:
        """Raise ``ConfigError(field, message)`` for impossible values. Subclasses extend."""

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def _from_dict(cls: type[T], data: dict, prefix: str) -> T:
        hints = typing.get_type_hints(cls)
        names = set(cls.field_names())
        kwargs = {}
        for k, v in data.items():
            k = cls._aliases.get(k, k)
            key = f"{prefix}.{k}" if prefix else str(k)
            if k not in names:
                raise ConfigError(key, f"is not a known key (known: {', '.join(sorted(names))})")
            kwargs[k] = _coerce(v, hints[k], key)
        try:
            return cls(**kwargs)
        except ConfigError as e:
            # strip the class name the constructor put in front, use the dict path instead
            sub = e.key.split(".", 1)[1] if "." in e.key else e.key
            raise ConfigError(f"{prefix}.{sub}" if prefix else sub, e.message) from None

    @classmethod
    def from_dict(cls: type[T], data: dict | None, *, source: str | None = None, prefix: str = "") -> T:
        """Build from a (YAML-loaded) mapping; errors name the key path and ``source``."""
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(prefix, f"must be a mapping, got {type(data).__name__}", source)
        try:
            return cls._from_dict(data, prefix)
        except ConfigError as e:
            raise ConfigError(e.key, e.message, source) from None

    def to_dict(self) -> dict:
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Config):
                v = v.to_dict()
            elif isinstance(v, tuple):
                v = [
                    x.to_dict() if isinstance(x, Config) else (list(x) if isinstance(x, tuple) else x)
                    for x in v
                ]
            out[f.name] = v
        return out

    def replace(self: T, **changes) -> T:
        return dataclasses.replace(self, **changes)

    def merged(self: T, overrides: dict | None, *, source: str | None = None) -> T:
        """A copy with a nested mapping of overrides applied (validated like ``from_dict``)."""
        if not overrides:
            return self
        base = self.to_dict()
        _deep_update(base, overrides)
        return type(self).from_dict(base, source=source)


def _deep_update(base: dict, upd: dict) -> None:
    for k, v in upd.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _deep_update(base[k], v)
        else:
            base[k] = v


def check(cond: bool, field: str, message: str) -> None:
    """``_validate`` helper: raise ConfigError(field, message) unless ``cond``."""
    if not cond:
        raise ConfigError(field, message)
