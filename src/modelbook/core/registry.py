"""The lab table: find a lab by name or topic without importing it; import it only to run it.

`modelbook list` and `show` must not import torch, and every lab module imports torch, so the index
is a static table (modelbook/labs/__init__.py) rather than decorators discovered by importing.
tests/labs/test_contract.py keeps the table and the lab files in step.
"""
from __future__ import annotations

import ast
import difflib
import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from modelbook.core.errors import ModelbookError


@dataclass(frozen=True)
class LabSpec:
    name: str
    """CLI name, kebab-case: "training-cost"."""
    topics: tuple[int, ...]
    title: str

    @property
    def module(self) -> str:
        """Dotted path of the lab's module: "modelbook.labs.training_cost"."""
        return "modelbook.labs." + self.name.replace("-", "_")


def all_labs() -> tuple[LabSpec, ...]:
    from modelbook.labs import LABS

    return LABS


def get(name: str) -> LabSpec:
    """The lab called `name`; a one-line error with the closest names if there is none."""
    by_name = {spec.name: spec for spec in all_labs()}
    key = name.strip().lower().replace("_", "-")
    if key in by_name:
        return by_name[key]
    close = difflib.get_close_matches(key, list(by_name), n=3, cutoff=0.6)  # 0.5 offered "exploration" for "atention"
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise ModelbookError(f"unknown lab '{name}'.{hint} See `modelbook list`.")


def for_topic(topic: int) -> tuple[LabSpec, ...]:
    """The labs that back topic `topic` (1..48); an error if the topic does not exist."""
    from modelbook.handbook.loader import LAST_TOPIC, unknown_topic  # the topic range lives with the topics

    if not 1 <= topic <= LAST_TOPIC:
        raise unknown_topic(topic)
    return tuple(spec for spec in all_labs() if topic in spec.topics)


def resolve(target: str) -> tuple[LabSpec, ...]:
    """A lab name or a topic number -> the labs to run."""
    if target.strip().isdigit():
        from modelbook.handbook.loader import BEYOND_BY_ID

        n = int(target)
        labs = for_topic(n)
        if not labs:
            if n in BEYOND_BY_ID:
                b = BEYOND_BY_ID[n]
                raise ModelbookError(f"topic {n} has no lab yet: its lab `{b.lab}` is planned (issue {b.issue}). "
                                     "See `modelbook list` for the topics that have one.")
            raise ModelbookError(f"topic {n} has no lab yet. See `modelbook list` for the topics that do.")
        return labs
    return (get(target),)


def load(name: str) -> ModuleType:
    """Import a lab's module: the only place a lab is imported."""
    spec = get(name)
    try:
        return importlib.import_module(spec.module)
    except ModuleNotFoundError as e:
        missing = (e.name or "").split(".")[0]
        if missing and missing != "modelbook":
            raise ModelbookError(
                f"lab '{spec.name}' needs the package '{missing}', which is not installed: re-run ./setup.sh "
                f"(or `pip install {missing}`)"
            ) from e
        raise


def describe(spec: LabSpec) -> tuple[str, list[tuple[str, str, str]], dict[str, dict[str, str]]]:
    """(docstring, fields, presets) of a lab, read from its source with ast, so nothing is imported (no torch).

    fields: (name, default, docstring) of each Config field, as written in the source;
    presets: {preset: {field: value as written}} from the `PRESETS = {...: Config(...)}` table."""
    path = Path(__file__).parents[1] / "labs" / (spec.module.rsplit(".", 1)[1] + ".py")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    fields: list[tuple[str, str, str]] = []
    presets: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Config":
            body = node.body
            for i, stmt in enumerate(body):
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                    if "ClassVar" in ast.unparse(stmt.annotation):  # e.g. RANGES: a class attribute, not a field
                        continue
                    doc = ""
                    if i + 1 < len(body) and isinstance(body[i + 1], ast.Expr) and isinstance(getattr(body[i + 1], "value", None), ast.Constant):
                        doc = str(body[i + 1].value.value)
                    default = ast.unparse(stmt.value) if stmt.value is not None else ""
                    fields.append((stmt.target.id, default, " ".join(doc.split())))
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "PRESETS" for t in node.targets):
            if isinstance(node.value, ast.Dict):
                for k, v in zip(node.value.keys, node.value.values):
                    if isinstance(k, ast.Constant) and isinstance(v, ast.Call):
                        presets[str(k.value)] = {kw.arg: ast.unparse(kw.value) for kw in v.keywords if kw.arg}
    return ast.get_docstring(tree) or "", fields, presets
