"""What a lab returns: measured metrics, comparisons with reference figures, notes and plots.

A lab returns data and prints nothing; the CLI renders it as a table, `--json` prints `to_dict()`,
the store keeps it and the report turns it into HTML.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

KINDS = ("close", "at_least", "at_most")


@dataclass(frozen=True)
class Metric:
    """One measured number. Names are namespaced with '/': "auc/ours", "sdpa/time_ratio"."""

    name: str
    value: float
    unit: str = ""
    volatile: bool = False
    """True for numbers that depend on the machine (times, speedups, memory), not only on the seed.
    Determinism tests compare every metric that is not volatile."""


@dataclass(frozen=True)
class Check:
    """A measured value held against a reference figure from a paper or a well-kept library.

    kind "close":    passes when |measured - reference| <= tolerance
    kind "at_least": passes when measured >= reference - tolerance   (accuracy reached, ...)
    kind "at_most":  passes when measured <= reference + tolerance   (max abs error vs a library, ...)
    With relative=True the tolerance is a fraction of |reference|.
    """

    name: str
    measured: float
    _: dataclasses.KW_ONLY  # everything after `measured` is named: which number is the reference is never a guess
    reference: float
    tolerance: float
    source: str
    kind: str = "close"
    relative: bool = False
    unit: str = ""
    note: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Check kind must be one of {KINDS}, got {self.kind!r}")
        if not self.source:
            raise ValueError(f"Check {self.name!r} needs a source for its reference")
        object.__setattr__(self, "measured", float(self.measured))
        object.__setattr__(self, "reference", float(self.reference))
        object.__setattr__(self, "tolerance", float(self.tolerance))

    @property
    def allowed(self) -> float:
        """The tolerance in the unit of the measurement."""
        return self.tolerance * abs(self.reference) if self.relative else self.tolerance

    @property
    def passed(self) -> bool:
        m, r, tol = self.measured, self.reference, self.allowed
        if math.isnan(m) or math.isnan(r):
            return False
        if self.kind == "close":
            return abs(m - r) <= tol
        if self.kind == "at_least":
            return m >= r - tol
        return m <= r + tol

    def criterion(self) -> str:
        """The pass rule in words, e.g. '≥ 0.9 − 0.02' or '|Δ| ≤ 1e-05'."""
        tol = f"{self.tolerance:g}" + (" × |ref|" if self.relative else "")
        if self.kind == "close":
            return f"|Δ| ≤ {tol}"
        if self.kind == "at_least":
            return f"≥ ref − {tol}"
        return f"≤ ref + {tol}"


@dataclass
class LabResult:
    """Everything one run of a lab measured. `env` is filled by the runner (times, versions, git)."""

    lab: str
    config: Any = None
    preset: str = "custom"
    metrics: list[Metric] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    artifacts: list[str] = field(default_factory=list)
    env: dict[str, Any] = field(default_factory=dict)

    # -- building a result (what labs call) --
    def metric(self, name: str, value: float, unit: str = "", volatile: bool = False) -> float:
        value = float(value)
        self.metrics.append(Metric(name, value, unit, volatile))
        return value

    def check(self, name: str, measured: float, *, reference: float, tolerance: float, source: str,
              kind: str = "close", relative: bool = False, unit: str = "", note: str = "") -> Check:
        """Hold `measured` against `reference` (see Check); every argument after `measured` is by keyword."""
        c = Check(name, measured, reference=reference, tolerance=tolerance, source=source, kind=kind,
                  relative=relative, unit=unit, note=note)
        self.checks.append(c)
        return c

    def note(self, text: str) -> None:
        self.notes.append(text)

    def artifact(self, path) -> None:
        """Record a file the lab wrote into its output folder (by name, relative to the run folder)."""
        from pathlib import Path

        self.artifacts.append(Path(path).name)

    # -- reading a result --
    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failed_checks(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def value(self, name: str) -> float:
        """The value of the metric called `name` (KeyError if the lab did not measure it)."""
        for m in self.metrics:
            if m.name == name:
                return m.value
        raise KeyError(f"{self.lab} has no metric {name!r}")

    def to_dict(self) -> dict[str, Any]:
        config = self.config
        if dataclasses.is_dataclass(config):
            config = dataclasses.asdict(config)
        return {
            "lab": self.lab,
            "preset": self.preset,
            "passed": self.passed,
            "config": config,
            "metrics": [dataclasses.asdict(m) for m in self.metrics],
            "checks": [dict(dataclasses.asdict(c), passed=c.passed, criterion=c.criterion()) for c in self.checks],
            "notes": list(self.notes),
            "artifacts": list(self.artifacts),
            "env": dict(self.env),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, default=_json_default)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "LabResult":
        checks = [Check(**{k: v for k, v in c.items() if k not in ("passed", "criterion")}) for c in d.get("checks", [])]
        return cls(
            lab=d["lab"], config=d.get("config"), preset=d.get("preset", "custom"),
            metrics=[Metric(**m) for m in d.get("metrics", [])], checks=checks,
            notes=list(d.get("notes", [])), artifacts=list(d.get("artifacts", [])), env=dict(d.get("env", {})),
        )


def _json_default(o):
    if isinstance(o, float) and math.isnan(o):
        return None
    if hasattr(o, "item"):  # numpy / torch scalars
        return o.item()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    return str(o)
