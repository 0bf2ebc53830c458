"""Typed, ranged fields for frozen dataclasses, and building them from plain mappings.

Config sections and the live parameter registry both declare their fields with `setting()`, so the
range, the allowed values and the doc line of a key are written once and every consumer (YAML
loading, command-line overrides, OSC later) validates the same way.
"""

from __future__ import annotations

import dataclasses
import math
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ltsd.errors import ConfigError, shown

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """What a field accepts (bounds, a closed set of choices, or a pattern), plus its docs."""

    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    pattern: str | None = None
    unit: str = ""
    doc: str = ""
    group: str = ""  # live parameters: the OSC sub-path ("pre" → /ltsd/pre/NAME)
    continuous: bool = False  # live parameters: glides under /ltsd/smoothing

    def allowed(self, kind: type) -> str:
        """The allowed values in words, for error messages and generated docs."""
        if self.choices is not None:
            return "one of " + ", ".join(self.choices)
        if self.pattern is not None:
            return f"a string matching {self.pattern}"
        if kind is bool:
            return "true or false"
        noun = "an integer" if kind is int else "a number" if kind is float else "a string"
        if self.minimum is not None and self.maximum is not None:
            return f"{noun} from {_fmt(self.minimum)} to {_fmt(self.maximum)}"
        if self.minimum is not None:
            return f"{noun} of at least {_fmt(self.minimum)}"
        return noun


def setting(
    default: Any,
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    choices: tuple[str, ...] | None = None,
    pattern: str | None = None,
    unit: str = "",
    doc: str = "",
    group: str = "",
    continuous: bool = False,
) -> Any:
    """A dataclass field with its FieldSpec attached as metadata."""
    spec = FieldSpec(minimum, maximum, choices, pattern, unit, doc, group, continuous)
    return dataclasses.field(default=default, metadata={"spec": spec})


def spec_of(field: dataclasses.Field) -> FieldSpec:
    return field.metadata.get("spec", FieldSpec())


def coerce(kind: type, spec: FieldSpec, value: Any, key: str) -> Any:
    """Check one value against its declared type and spec; raise ConfigError naming `key`."""

    def refuse() -> typing.NoReturn:
        raise ConfigError(f"{key}: expected {spec.allowed(kind)}, got {shown(value)}")

    if kind is bool:
        if not isinstance(value, bool):
            refuse()
        return value
    if kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            refuse()
        if kind is int and not float(value).is_integer():
            refuse()
        if not math.isfinite(value):
            refuse()
        if spec.minimum is not None and value < spec.minimum:
            refuse()
        if spec.maximum is not None and value > spec.maximum:
            refuse()
        return kind(value)
    if kind == tuple[str, ...]:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key}: expected a list of strings, got {shown(value)}")
        return tuple(coerce(str, spec, item, f"{key}[{index}]") for index, item in enumerate(value))
    if kind is str:
        if not isinstance(value, str):
            refuse()
        if spec.choices is not None and value not in spec.choices:
            refuse()
        if spec.pattern is not None and not re.fullmatch(spec.pattern, value):
            refuse()
        return value
    raise TypeError(f"unsupported field type {kind!r} for {key}")


def build(cls: type[T], values: Mapping[str, Any] | None, prefix: str = "") -> T:
    """Build dataclass `cls` from a mapping; unknown keys, wrong types, bad values are refused."""
    values = {} if values is None else values
    if not isinstance(values, Mapping):
        raise ConfigError(
            f"{prefix.rstrip('.') or 'config'}: expected a mapping of keys, got {shown(values)}"
        )
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key in values:
        if key not in fields:
            known = ", ".join(fields)
            name = key if isinstance(key, str) and key.isprintable() else shown(key)
            raise ConfigError(f"{prefix}{name[:80]}: unknown key (known keys here: {known})")
    kwargs: dict[str, Any] = {}
    for name, field in fields.items():
        if name not in values:
            continue
        kind = hints[name]
        key = prefix + name
        if dataclasses.is_dataclass(kind):
            kwargs[name] = build(kind, values[name], key + ".")
        else:
            kwargs[name] = coerce(kind, spec_of(field), values[name], key)
    return cls(**kwargs)


def field_types(cls: type) -> dict[str, type]:
    """Each field's declared type, with string annotations resolved."""
    return typing.get_type_hints(cls)


def _fmt(number: float) -> str:
    return f"{number:g}"
