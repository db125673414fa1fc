"""Lab configs: frozen dataclasses with `quick` and `full` presets, changed by typed `key=value` overrides.

    modelbook run attention --preset full --set lengths=256,512,1024 --set n_heads=4

A value is parsed against the field's annotated type (int, float, bool, str, Literal, tuple[...]);
an unknown key or a value of the wrong type is a one-line error, never a traceback.

validate(cfg, presets) then checks ranges before any work, from rules inferred from the field's name and type
(range_rule), so that every lab is covered without code of its own:
    seed, *_seed                     integers 0 .. 2**32 − 1 (what numpy's global generator accepts)
    threads                          integers 1 .. 1024
    other ints (and tuples of ints)  sizes and counts: 1 .. 2**31 − 1, or from 0 when a preset of the lab uses 0
                                     (there 0 means "all" or "off")
    floats named like a probability  (prob, p_, _p, dropout, fraction, rate, share, sparsity, keep, recall,
                                     precision, subsample, momentum, gamma, mfu): finite, in [0, 1]
    floats named like a step or a scale (lr, temperature, eps, norm, epochs, *_s, seconds): finite, > 0
    *percentile                      [0, 100]
    other floats                     finite, ≥ 0
A lab whose field needs another range declares it on its Config: `RANGES: ClassVar[dict] = {"field": (lo, hi)}`
(inclusive; None for no bound).
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import re
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


INT_MAX = 2**31 - 1
SEED_MAX = 2**32 - 1
_PROB = re.compile(r"prob|^p_|_p$|^p$|dropout|fraction|rate|share|sparsit|keep|recall|precision|subsample|momentum|gamma|mfu")
_POSITIVE = re.compile(r"(^|_)lr($|_)|temperature|(^|_)eps|norm|epochs|_s$|seconds")


@dataclasses.dataclass(frozen=True)
class Range:
    """An allowed range: lo <= x <= hi (lo < x when lo_open); None is no bound; `finite` rejects nan and ±inf."""
    kind: str  # "int" or "float"
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False

    def admits(self, x) -> bool:
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            return True  # only numbers are range-checked
        if self.kind == "int" and not isinstance(x, int):
            return False
        if isinstance(x, float) and not math.isfinite(x):
            return False
        if self.lo is not None and (x <= self.lo if self.lo_open else x < self.lo):
            return False
        return self.hi is None or x <= self.hi

    def describe(self) -> str:
        what = "integers" if self.kind == "int" else "finite numbers"

        def num(x) -> str:
            return str(int(x)) if float(x).is_integer() else f"{x:g}"

        if self.lo is not None and self.hi is not None and not self.lo_open:
            return f"{what} from {num(self.lo)} to {num(self.hi)}"
        parts = []
        if self.lo is not None:
            parts.append(f"{'>' if self.lo_open else '≥'} {num(self.lo)}")
        if self.hi is not None:
            parts.append(f"≤ {num(self.hi)}")
        return f"{what} {' and '.join(parts)}" if parts else what


def _numeric_kind(tp) -> str | None:
    """"int" or "float" for int/float fields and (nested) tuples or Optionals of them, else None."""
    if tp is bool:
        return None
    if tp in (int, float):
        return tp.__name__
    kinds = {_numeric_kind(a) for a in typing.get_args(tp) if a is not Ellipsis and a is not type(None)}
    kinds.discard(None)
    return kinds.pop() if len(kinds) == 1 and typing.get_origin(tp) in (tuple, typing.Union, __import__("types").UnionType) else None


def _numbers(value) -> list:
    if isinstance(value, (tuple, list)):
        return [x for item in value for x in _numbers(item)]
    return [value] if isinstance(value, (int, float)) and not isinstance(value, bool) else []


def range_rule(cls, name: str, presets: dict | None = None) -> Range | None:
    """The range a field of Config class `cls` must lie in (see the module docstring), or None (not a number)."""
    tp = field_types(cls).get(name)
    kind = _numeric_kind(tp)
    if kind is None:
        return None
    declared = getattr(cls, "RANGES", {}) or {}
    if name in declared:
        lo, hi = declared[name]
        return Range(kind, lo, hi)
    low = name.lower()
    if kind == "int":
        if low == "seed" or low.endswith("_seed"):
            return Range("int", 0, SEED_MAX)
        if low == "threads":
            return Range("int", 1, 1024)
        used = [x for cfg in (presets or {}).values() for x in _numbers(getattr(cfg, name, None))]
        return Range("int", min(0, *used) if used and min(used) <= 0 else 1, INT_MAX)
    if "percentile" in low:
        return Range("float", 0, 100)
    if _PROB.search(low):
        return Range("float", 0, 1)
    if _POSITIVE.search(low):
        return Range("float", 0, None, lo_open=True)
    return Range("float", 0, None)


def validate(cfg, presets: dict | None = None, lab: str = "") -> None:
    """Raise a one-line ModelbookError (exit 2) naming the first field outside its range, before any work."""
    cls = type(cfg)
    for f in dataclasses.fields(cfg):
        rule = range_rule(cls, f.name, presets)
        if rule is None:
            continue
        value = getattr(cfg, f.name)
        bad = [x for x in _numbers(value) if not rule.admits(x)]
        if bad:
            shown = str(value) if len(str(value)) <= 60 else str(value)[:57] + "..."
            where = f"{lab}: " if lab else ""
            raise ModelbookError(f"{where}config field {f.name}={shown} is out of range: allowed {rule.describe()}"
                                 + (" (each value)" if isinstance(value, tuple) else ""))
