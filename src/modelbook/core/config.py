"""Lab configs: frozen dataclasses with `quick` and `full` presets, changed by typed `key=value` overrides.

    modelbook run attention --preset full --set lengths=256,512,1024 --set n_heads=4

A value is parsed against the field's annotated type (int, float, bool, str, Literal, tuple[...]);
an unknown key or a value of the wrong type is a one-line error, never a traceback.
"""
from __future__ import annotations

import dataclasses
import difflib
import typing
from typing import Any

from modelbook.core.errors import ModelbookError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def field_types(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def parse_value(text: str, tp: Any, key: str) -> Any:
    """Parse `text` as a value of type `tp`, or raise a ModelbookError naming the key and the type."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    try:
        if tp is bool:
            low = text.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError
        if tp is int:
            return int(text)
        if tp is float:
            return float(text)
        if tp is str:
            return text
        if origin is typing.Literal:
            for choice in args:
                if str(choice) == text:
                    return choice
            raise ModelbookError(f"--set {key}: '{text}' is not one of {', '.join(map(str, args))}")
        if origin is tuple:
            items = [t for t in text.split(",") if t.strip()] if text.strip() else []
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(parse_value(t.strip(), args[0], key) for t in items)
            if len(items) != len(args):
                raise ModelbookError(f"--set {key}: expected {len(args)} comma-separated values, got {len(items)}")
            return tuple(parse_value(t.strip(), a, key) for t, a in zip(items, args))
        if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)) and type(None) in args:
            if text.strip().lower() in ("none", "null", ""):
                return None
            inner = [a for a in args if a is not type(None)]
            return parse_value(text, inner[0], key)
    except ModelbookError:
        raise
    except (TypeError, ValueError):
        pass
    else:
        raise ModelbookError(f"--set {key}: fields of type {tp} cannot be set from the command line")
    name = getattr(tp, "__name__", str(tp))
    raise ModelbookError(f"--set {key}: '{text}' is not a valid {name}")


def apply_overrides(cfg, overrides: list[str] | tuple[str, ...]):
    """A copy of the frozen `cfg` with each "key=value" applied (dataclasses.replace)."""
    if not overrides:
        return cfg
    types = field_types(type(cfg))
    names = [f.name for f in dataclasses.fields(cfg)]
    changes: dict[str, Any] = {}
    for item in overrides:
        if "=" not in item:
            raise ModelbookError(f"--set expects key=value, got '{item}'")
        key, value = item.split("=", 1)
        key = key.strip()
        if key not in names:
            close = difflib.get_close_matches(key, names, n=3)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise ModelbookError(f"unknown config key '{key}'.{hint} Keys: {', '.join(names)}")
        changes[key] = parse_value(value, types[key], key)
    return dataclasses.replace(cfg, **changes)


def preset(module, name: str):
    """The lab module's preset called `name` ("quick" or "full")."""
    presets = getattr(module, "PRESETS", {})
    if name not in presets:
        raise ModelbookError(f"unknown preset '{name}': choose one of {', '.join(presets) or 'quick, full'}")
    return presets[name]
