"""Small knowledge graphs shipped inside the `pykeen` wheel: Nations, Kinships, UMLS (read as files).

PyKEEN's own dataset classes take 6-9 s to import, so the tab-separated files are read directly from the
installed package (found with importlib.util.find_spec, which does not run pykeen's __init__). Identifiers
follow PyKEEN's TriplesFactory: entities and relations of the training split, sorted by label, numbered from 0,
so our (h, r, t) ids equal PyKEEN's (tests/data/test_kg.py checks it).

    kg = load_kg("nations")      # KG: train/valid/test as (n, 3) int64 arrays [head, relation, tail]

| name     | entities | relations | train / valid / test |
|----------|----------|-----------|----------------------|
| nations  | 14       | 55        | 1592 / 199 / 201     |
| kinships | 104      | 25        | 8544 / 1068 / 1074   |
| umls     | 135      | 46        | 5216 / 652 / 661     |
"""
from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from modelbook.core.errors import ModelbookError, missing_package

KG_NAMES = ("nations", "kinships", "umls")


@dataclass(frozen=True)
class KG:
    name: str
    entities: tuple[str, ...]
    relations: tuple[str, ...]
    train: np.ndarray
    """(n, 3) int64 [head, relation, tail]"""
    valid: np.ndarray
    test: np.ndarray

    @property
    def n_entities(self) -> int:
        return len(self.entities)

    @property
    def n_relations(self) -> int:
        return len(self.relations)

    def all_triples(self) -> np.ndarray:
        return np.concatenate([self.train, self.valid, self.test])


def _dataset_dir(name: str) -> Path:
    spec = importlib.util.find_spec("pykeen")
    if spec is None or not spec.submodule_search_locations:
        raise missing_package("pykeen", "pykeen==1.11.1", extra=" (it ships the Nations, Kinships and UMLS files)")
    folder = Path(list(spec.submodule_search_locations)[0]) / "datasets" / name
    if not (folder / "train.txt").is_file():
        raise ModelbookError(f"{folder}/train.txt is missing: reinstall with `pip install --force-reinstall pykeen==1.11.1`")
    return folder


def _read(path: Path) -> list[tuple[str, str, str]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise ModelbookError(f"{path}:{n} is not a 'head<TAB>relation<TAB>tail' line")
        rows.append((parts[0], parts[1], parts[2]))
    return rows


@functools.lru_cache(maxsize=None)
def load_kg(name: str) -> KG:
    """One of KG_NAMES. Validation/test triples with an entity or relation unseen in training are dropped,
    as PyKEEN does (none are, for these three datasets)."""
    key = name.strip().lower()
    if key not in KG_NAMES:
        raise ModelbookError(f"unknown knowledge graph '{name}': choose one of {', '.join(KG_NAMES)}")
    folder = _dataset_dir(key)
    train = _read(folder / "train.txt")
    entities = tuple(sorted({h for h, _, _ in train} | {t for _, _, t in train}))
    relations = tuple(sorted({r for _, r, _ in train}))
    e_id = {e: i for i, e in enumerate(entities)}
    r_id = {r: i for i, r in enumerate(relations)}

    def ids(rows):
        kept = [(e_id[h], r_id[r], e_id[t]) for h, r, t in rows if h in e_id and t in e_id and r in r_id]
        return np.asarray(kept, dtype=np.int64).reshape(-1, 3)

    return KG(key, entities, relations, ids(train), ids(_read(folder / "valid.txt")), ids(_read(folder / "test.txt")))
