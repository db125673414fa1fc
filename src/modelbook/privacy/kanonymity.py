"""k-anonymity by generalisation: full-domain lattice search and Mondrian, with information loss.

A table is k-anonymous (Sweeney 2002) when every combination of quasi-identifier values (age, sex, race, ... :
columns an attacker can find elsewhere and link on) is shared by at least k records. Two ways to get there:

  Full-domain generalisation (Samarati 2001; LeFevre et al. 2005, "Incognito"): each quasi-identifier has a
  hierarchy of levels (age → 5-year band → 10-year band → 20-year band → *), and one level is chosen per
  column for the whole table. The levels form a lattice; with a handful of columns it is small enough to scan
  every node. Records still in classes smaller than k may be suppressed, up to a budget. We keep the node
  of least information loss among those that reach k.

  Mondrian (LeFevre, DeWitt & Ramakrishnan 2006): split the records recursively, each time on the column with
  the widest normalised range, at its median, as long as both halves keep ≥ k records. Each final partition
  publishes the range (or the set of values) of its members. Cells are generalised locally, so it loses less.

Information loss, per record and column, is the normalised certainty penalty (Xu et al. 2006):
  numeric column, published interval [lo, hi]:      NCP = (hi − lo) / (max − min of the column)
  categorical column, published set of g values:    NCP = (g − 1) / (|domain| − 1)        (0 exact, 1 = "*")
averaged over records and columns (a suppressed record costs 1). The discernibility metric (Bayardo & Agrawal
2005) is Σ_E |E|² over equivalence classes plus N per suppressed record.

What k-anonymity does not give: if the k records of a class share the sensitive value, it is disclosed anyway
(the homogeneity attack that motivated l-diversity, Machanavajjhala et al. 2006); `homogeneous_fraction`
measures it.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class QuasiIdentifier:
    """One column and its generalisation levels. codes[l] (N,) int: the value of each record at level l
    (equal codes = indistinguishable); penalty[l] (N,) float: the NCP of each record's value at level l."""

    name: str
    codes: tuple[np.ndarray, ...]
    penalty: tuple[np.ndarray, ...]
    labels: tuple[tuple[str, ...], ...]
    """labels[l][code]: how the generalised value is printed"""

    @property
    def n_levels(self) -> int:
        return len(self.codes)


def numeric_bands(name: str, values: np.ndarray, widths: tuple[int, ...]) -> QuasiIdentifier:
    """Levels: exact value, then bands of each width (lo = ⌊v / w⌋·w), then '*'."""
    values = np.asarray(values, dtype=np.int64)
    span = max(1, int(values.max() - values.min()))
    codes, penalty, labels = [], [], []
    uniq = np.unique(values)
    codes.append(np.searchsorted(uniq, values))
    penalty.append(np.zeros(len(values)))
    labels.append(tuple(str(v) for v in uniq))
    for w in widths:
        lo = (values // w) * w
        hi = np.minimum(lo + w - 1, values.max())
        bands = np.unique(lo)
        codes.append(np.searchsorted(bands, lo))
        penalty.append((hi - np.maximum(lo, values.min())) / span)
        labels.append(tuple(f"{b}-{b + w - 1}" for b in bands))
    codes.append(np.zeros(len(values), dtype=np.int64))
    penalty.append(np.ones(len(values)))
    labels.append(("*",))
    return QuasiIdentifier(name, tuple(codes), tuple(penalty), tuple(labels))


def categorical(name: str, values, groupings: tuple[dict[str, str], ...] = ()) -> QuasiIdentifier:
    """Levels: exact value, then each grouping (value → group name), then '*'."""
    values = np.asarray(values, dtype=object).astype(str)
    domain = sorted(set(values))
    levels = [{v: v for v in domain}, *groupings, {v: "*" for v in domain}]
    codes, penalty, labels = [], [], []
    for mapping in levels:
        groups = sorted(set(mapping[v] for v in domain))
        size = {g: sum(1 for v in domain if mapping[v] == g) for g in groups}
        gen = np.array([mapping[v] for v in values], dtype=object)
        codes.append(np.searchsorted(np.array(groups, dtype=object), gen).astype(np.int64))
        penalty.append(np.array([(size[g] - 1) / max(1, len(domain) - 1) for g in gen]))
        labels.append(tuple(groups))
    return QuasiIdentifier(name, tuple(codes), tuple(penalty), tuple(labels))


@dataclass(frozen=True)
class Release:
    """An anonymised release: which level per column (full-domain), its classes and its costs."""

    levels: tuple[int, ...]
    class_id: np.ndarray          # (N,) equivalence class of each record, −1 if suppressed
    k: int                        # the smallest class among published records
    ncp: float                    # mean NCP over records and columns (suppressed records count 1)
    discernibility: float
    suppressed: int


def _classes(qis: list[QuasiIdentifier], levels: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(class index of each record, size of each class) for one lattice node."""
    key = np.zeros(len(qis[0].codes[0]), dtype=np.int64)
    for q, l in zip(qis, levels):  # one mixed-radix integer per record: equal keys <=> equal generalised rows
        key = key * (int(q.codes[l].max()) + 1) + q.codes[l]
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    return inverse, counts


def evaluate_node(qis: list[QuasiIdentifier], levels: tuple[int, ...], k: int, max_suppressed: int) -> Release | None:
    """The release at one lattice node, suppressing records in classes smaller than k; None if that needs more
    than `max_suppressed` suppressions."""
    cls, counts = _classes(qis, levels)
    small = counts[cls] < k
    if small.sum() > max_suppressed:
        return None
    n = len(cls)
    per_record = np.mean([q.penalty[l] for q, l in zip(qis, levels)], axis=0)
    ncp = float(np.where(small, 1.0, per_record).mean())
    kept_counts = counts[counts >= k]
    dm = float((kept_counts ** 2).sum() + small.sum() * n)
    class_id = np.where(small, -1, cls)
    k_reached = int(kept_counts.min()) if len(kept_counts) else 0
    return Release(tuple(levels), class_id, k_reached, ncp, dm, int(small.sum()))


def full_domain_search(qis: list[QuasiIdentifier], k: int, max_suppression: float = 0.02) -> tuple[Release, int]:
    """Scan every node of the generalisation lattice; return the k-anonymous release with the least NCP and
    the number of nodes that reach k (with at most max_suppression·N records suppressed)."""
    n = len(qis[0].codes[0])
    budget = int(max_suppression * n)
    best, n_ok = None, 0
    for levels in itertools.product(*(range(q.n_levels) for q in qis)):
        release = evaluate_node(qis, levels, k, budget)
        if release is None:
            continue
        n_ok += 1
        if best is None or release.ncp < best.ncp:
            best = release
    if best is None:  # the all-'*' node always reaches k when N ≥ k
        raise ValueError(f"no generalisation reaches k={k} on {n} records")
    return best, n_ok


def mondrian(X: np.ndarray, k: int, categorical_cols: tuple[int, ...] = ()) -> tuple[np.ndarray, float]:
    """Strict multidimensional Mondrian on integer-coded columns X (N, m).

    Returns (partition id of each record, mean NCP). Numeric columns publish [min, max] of the partition;
    categorical columns publish the set of codes present (NCP from its size)."""
    X = np.asarray(X)
    n, m = X.shape
    lo, hi = X.min(axis=0), X.max(axis=0)
    span = np.maximum(hi - lo, 1).astype(float)
    domain = np.array([len(np.unique(X[:, j])) for j in range(m)])
    part = np.zeros(n, dtype=np.int64)
    pending, n_parts = [np.arange(n)], 0
    leaves = []
    while pending:
        idx = pending.pop()
        rows = X[idx]
        order = np.argsort(-(rows.max(axis=0) - rows.min(axis=0)) / span, kind="stable")
        for j in order:  # the widest column first; fall through to the next one if it cannot be cut
            values = np.sort(rows[:, j])
            median = values[len(values) // 2]
            left = rows[:, j] < median
            if left.sum() < k:  # many ties at the median: put the median itself on the left instead
                left = rows[:, j] <= median
            if left.sum() >= k and (~left).sum() >= k:
                pending += [idx[left], idx[~left]]
                break
        else:
            leaves.append(idx)
    ncp = np.zeros(n)
    for idx in leaves:
        part[idx] = n_parts
        n_parts += 1
        rows = X[idx]
        cost = []
        for j in range(m):
            if j in categorical_cols:
                cost.append((len(np.unique(rows[:, j])) - 1) / max(1, domain[j] - 1))
            else:
                cost.append((rows[:, j].max() - rows[:, j].min()) / span[j])
        ncp[idx] = np.mean(cost)
    return part, float(ncp.mean())


def class_sizes(class_id: np.ndarray) -> np.ndarray:
    """Sizes of the published equivalence classes (suppressed records, id −1, left out)."""
    ids = class_id[class_id >= 0]
    return np.unique(ids, return_counts=True)[1]


def homogeneous_fraction(class_id: np.ndarray, sensitive: np.ndarray) -> tuple[float, int]:
    """(fraction of published records whose class has one sensitive value only, the smallest number of
    distinct sensitive values in any class = the 'distinct l' of l-diversity)."""
    kept = class_id >= 0
    ids, sens = class_id[kept], np.asarray(sensitive)[kept]
    homogeneous, min_l = 0, np.inf
    for c in np.unique(ids):
        members = sens[ids == c]
        distinct = len(set(members.tolist()))
        min_l = min(min_l, distinct)
        homogeneous += len(members) if distinct == 1 else 0
    return homogeneous / max(1, kept.sum()), int(min_l)
