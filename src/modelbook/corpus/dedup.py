"""Deduplication for training corpora: exact hashing, then MinHash + LSH for near-duplicates.

Exact duplicates: normalise each document (Unicode NFKC, lower case, whitespace collapsed) and hash it;
documents with the same digest are copies. O(n), no false positives barring hash collisions (blake2b, 128 bits).

Near-duplicates: represent a document by its set of character n-grams ("shingles"; characters, not words,
because Chinese has no spaces) and compare sets by Jaccard similarity J(A, B) = |A ∩ B| / |A ∪ B|.
All pairs would cost O(n²) comparisons. MinHash (Broder 1997) maps each set to k numbers
m_i(A) = min_{x ∈ A} π_i(x) with k random permutations π_i; for a truly random permutation
P[m_i(A) = m_i(B)] = J(A, B), so the fraction of equal entries estimates J with variance J(1 − J) / k.
Locality-sensitive hashing (Indyk & Motwani 1998; Leskovec, Rajaraman & Ullman, Mining of Massive Datasets
ch. 3) cuts the k entries into b bands of r rows and makes two documents a *candidate pair* if any band
matches exactly; a pair with similarity s becomes a candidate with probability

    P(s) = 1 − (1 − s^r)^b          (the "S-curve"; steep around s ≈ (1/b)^(1/r))

Candidates are then verified by their MinHash estimate (or exact Jaccard), and duplicates are grouped
with union–find so that one document per group is kept.

The permutations here are datasketch 2.x's default "affine32" scheme, so signatures can be compared with
the library bit for bit: the 32-bit SHA-1 prefix of each shingle is mixed by the MurmurHash3 finalizer
(fmix32), then π_i(h) = a_i·h + b_i mod 2³² with odd a_i (a bijection), a_i, b_i drawn from
numpy.random.RandomState(seed). (Such affine maps are universal, not exactly min-wise independent; the
estimator's accuracy is empirical — the lab measures it against exact Jaccard.)

    normalize(text) -> str;  exact_duplicate_groups(texts) -> group id per text (first occurrence's index)
    shingles(text, n) -> set[str];  minhash(shingle_sets, num_perm, seed) -> (N, num_perm) uint32
    optimal_bands(threshold, num_perm) -> (b, r);  s_curve(s, b, r)
    lsh_candidates(signatures, b, r) -> sorted list of pairs (i, j), i < j
    jaccard(a, b);  estimated_jaccard(sig_a, sig_b);  connected_groups(n, pairs) -> group id per item
    all_pairs_above(shingle_sets, threshold) -> every pair with exact Jaccard ≥ threshold (the brute-force truth)
    edited_copies(docs, n, rng, max_share) -> near-duplicates made by editing characters, and their source pairs

Cross-checks: tests/corpus/test_dedup.py (signatures equal datasketch MinHash; candidates equal datasketch
MinHashLSH with the same bands; optimal_bands equals datasketch's choice; all_pairs_above equals a Python
loop over itertools.combinations).
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict

import numpy as np

_WS = re.compile(r"\s+")
_FMIX = (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16)


def normalize(text: str) -> str:
    return _WS.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


def exact_duplicate_groups(texts: list[str], normalized: bool = False) -> np.ndarray:
    """For each text, the index of the first text with the same normalised content (itself if it is first).
    normalized=True: the texts already went through normalize() (it is the slow part: NFKC)."""
    first: dict[bytes, int] = {}
    return np.array([first.setdefault(hashlib.blake2b((t if normalized else normalize(t)).encode(), digest_size=16).digest(), i)
                     for i, t in enumerate(texts)], dtype=np.int64)


def shingles(text: str, n: int = 3, normalized: bool = False) -> set[str]:
    """Character n-grams of the normalised text (the whole text if it is shorter than n)."""
    t = text if normalized else normalize(text)
    return {t[i:i + n] for i in range(len(t) - n + 1)} or {t}


def _sha1_32(shingle: str) -> int:
    return int.from_bytes(hashlib.sha1(shingle.encode("utf-8"), usedforsecurity=False).digest()[:4], "little")


def _fmix32(h: np.ndarray) -> np.ndarray:
    s1, m1, s2, m2, s3 = _FMIX
    h = h ^ (h >> np.uint32(s1))
    h = h * np.uint32(m1)
    h = h ^ (h >> np.uint32(s2))
    h = h * np.uint32(m2)
    return h ^ (h >> np.uint32(s3))


def permutations(num_perm: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(a, b), each (num_perm,) uint32, a odd — the same draws as datasketch.MinHash(num_perm, seed)."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def minhash(shingle_sets: list[set[str]], num_perm: int = 128, seed: int = 1, chunk: int = 1 << 16) -> np.ndarray:
    """MinHash signatures (N, num_perm) uint32: per document, the minimum of each permuted shingle hash.

    Each distinct shingle is hashed once; the documents' shingles are laid end to end and the per-document
    minimum is taken with np.minimum.reduceat over chunks of whole documents."""
    a, b = permutations(num_perm, seed)
    vocab: dict[str, int] = {}
    ids = np.fromiter((vocab.setdefault(x, len(vocab)) for s in shingle_sets for x in s), dtype=np.int64)
    hashes = _fmix32(np.fromiter((_sha1_32(x) for x in vocab), dtype=np.uint32, count=len(vocab)))[ids]   # (S_total,)
    ends = np.cumsum([len(s) for s in shingle_sets])
    out = np.empty((len(shingle_sets), num_perm), dtype=np.uint32)
    first_doc = 0
    with np.errstate(over="ignore"):                       # uint32 wrap-around is the mod 2³²
        while first_doc < len(shingle_sets):
            start = ends[first_doc - 1] if first_doc else 0
            last_doc = max(first_doc + 1, int(np.searchsorted(ends, start + chunk, side="right")))   # whole documents
            stop = ends[last_doc - 1]
            permuted = hashes[start:stop, None] * a[None, :] + b[None, :]                           # (S, k)
            offsets = np.concatenate([[0], ends[first_doc:last_doc - 1] - start])
            out[first_doc:last_doc] = np.minimum.reduceat(permuted, offsets, axis=0)
            first_doc = last_doc
    return out


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    return float(np.mean(sig_a == sig_b))


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def s_curve(s, b: int, r: int):
    """Probability that a pair with Jaccard similarity s shares at least one of b bands of r rows."""
    return 1 - (1 - np.asarray(s, dtype=np.float64) ** r) ** b


def optimal_bands(threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5) -> tuple[int, int]:
    """(b, r) with b·r ≤ num_perm minimising fp_weight·∫₀ᵗ P(s) ds + fn_weight·∫ₜ¹ (1 − P(s)) ds: the areas of
    false positives below the threshold and false negatives above it (datasketch's criterion), integrated with
    the trapezoid rule on 2001 points for every (b, r) at once."""
    br = np.array([(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)])    # (M, 2)
    lo, hi = np.linspace(0.0, threshold, 2001), np.linspace(threshold, 1.0, 2001)
    fp = np.trapezoid(s_curve(lo[None, :], br[:, :1], br[:, 1:]), x=lo, axis=1)                  # (M,)
    fn = np.trapezoid(1 - s_curve(hi[None, :], br[:, :1], br[:, 1:]), x=hi, axis=1)
    b, r = br[int(np.argmin(fp * fp_weight + fn * fn_weight))]
    return int(b), int(r)


def lsh_candidates(signatures: np.ndarray, b: int, r: int) -> list[tuple[int, int]]:
    """Pairs (i < j) whose signatures agree on all r rows of at least one of the b bands."""
    pairs = set()
    for band in range(b):
        buckets: dict[bytes, list[int]] = defaultdict(list)
        for i, key in enumerate(signatures[:, band * r:(band + 1) * r]):
            buckets[key.tobytes()].append(i)
        for members in buckets.values():
            pairs.update((members[x], members[y]) for x in range(len(members)) for y in range(x + 1, len(members)))
    return sorted(pairs)


def connected_groups(n: int, pairs) -> np.ndarray:
    """Union–find over pairs: for each item, the smallest index in its group."""
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in pairs:
        ri, rj = root(i), root(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    return np.array([root(i) for i in range(n)], dtype=np.int64)


def all_pairs_above(shingle_sets: list[set[str]], threshold: float) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Every pair (i < j) with exact Jaccard ≥ threshold, and those Jaccards: the ground truth LSH is judged by.

    All n² pairs at once as a sparse product: with A the (documents × shingles) 0/1 incidence matrix, (A·Aᵀ)_ij
    = |S_i ∩ S_j|, and |S_i ∪ S_j| = |S_i| + |S_j| − |S_i ∩ S_j|. Pairs sharing no shingle never enter the
    product (their Jaccard is 0), so the cost follows the overlapping pairs, not n²."""
    import scipy.sparse as sp

    vocab: dict[str, int] = {}
    rows = [d for d, s in enumerate(shingle_sets) for _ in s]
    cols = [vocab.setdefault(x, len(vocab)) for s in shingle_sets for x in s]
    A = sp.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=(len(shingle_sets), len(vocab)))
    inter = sp.triu(A @ A.T, k=1).tocoo()
    size = np.array([len(s) for s in shingle_sets])
    j = inter.data / (size[inter.row] + size[inter.col] - inter.data)
    keep = j >= threshold
    return list(zip(inter.row[keep].tolist(), inter.col[keep].tolist())), j[keep]


def edited_copies(docs: list[str], n: int, rng: np.random.Generator, max_share: float = 0.25) -> tuple[list[str], list[tuple[int, int]]]:
    """n labelled near-duplicates of `docs`: each copies a random document and overwrites a random share
    q ~ U(0, max_share) of its characters, each with the character at a random position of the copy (so the
    copy keeps the source's length and uses only its characters). Returns the copies and the pairs (source
    index, len(docs) + k) they form once appended to `docs`. Draws from `rng` in a fixed order, copy by copy."""
    copies, pairs = [], []
    for k in range(n):
        src = int(rng.integers(len(docs)))
        chars = list(docs[src])
        q = rng.uniform(0.0, max_share)
        for pos in np.flatnonzero(rng.random(len(chars)) < q):
            chars[pos] = chars[int(rng.integers(len(chars)))]
        copies.append("".join(chars))
        pairs.append((src, len(docs) + k))
    return copies, pairs
