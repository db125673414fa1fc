"""The WordNet 3.0 noun graph from Debian's `wordnet-base` (/usr/share/wordnet/data.noun), no download.

Nodes are the 82,115 noun synsets; each has a gloss (its dictionary definition) and a class: the lexicographer
file it was filed in (noun.animal, noun.artifact, noun.person, ... 26 classes). Typed edges follow five pointer
kinds between nouns: hypernym (@), instance hypernym (@i), member / part / substance holonym (%m, %p, %s):
106,614 edges. The reverse pointers (hyponym ~, meronyms #m/#p/#s) are the same edges read backwards, so they are
not stored twice.

    g = wordnet_nouns()                 # WordNetGraph: parsed once (~1 s), cached as .npz under $MODELBOOK_HOME
    g.edges                             # (E, 3) int64 rows [source, relation, target]
    x = hashed_bag_of_words(g.glosses(idx), 512)  # cheap gloss features (no model)
    f = hashed_gloss_lookup(g, 512)     # the same, hashed lazily per node on first use: f(idx)
    x = minilm_gloss_embeddings(g)      # (82115, 384) MiniLM sentence embeddings, computed once and cached

The split is fixed (not tied to a lab's seed): a permutation drawn with seed 0 over all synsets, 10% train,
10% validation, 80% test, so every lab and every subgraph sees the same node in the same part.
"""
from __future__ import annotations

import io
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from modelbook.core import progress
from modelbook.core.errors import ModelbookError, missing_debian
from modelbook.core.paths import atomic_write_bytes, cache_dir

DATA_NOUN = Path("/usr/share/wordnet/data.noun")
# Lexicographer file numbers 3..28 are the noun files (0-2 are adjectives and adverbs); see WordNet's lexnames(5).
LEXNAMES = ("adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact",
            "noun.attribute", "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling",
            "noun.food", "noun.group", "noun.location", "noun.motive", "noun.object", "noun.person",
            "noun.phenomenon", "noun.plant", "noun.possession", "noun.process", "noun.quantity", "noun.relation",
            "noun.shape", "noun.state", "noun.substance", "noun.time")
NOUN_CLASSES = LEXNAMES[3:]
RELATIONS = ("hypernym", "instance_hypernym", "member_holonym", "part_holonym", "substance_holonym")
_POINTERS = {"@": 0, "@i": 1, "%m": 2, "%p": 3, "%s": 4}
_CACHE_VERSION = 1
SPLIT_FRACTIONS = (0.1, 0.1, 0.8)


@dataclass(frozen=True)
class WordNetGraph:
    offsets: np.ndarray
    """(N,) int64 synset offsets in data.noun (WordNet's synset ids)."""
    labels: np.ndarray
    """(N,) int64 class index into NOUN_CLASSES."""
    edges: np.ndarray
    """(E, 3) int64 rows [source node, relation index into RELATIONS, target node]."""
    split: np.ndarray
    """(N,) int8: 0 train, 1 validation, 2 test (fixed, see the module docstring)."""
    _gloss_blob: bytes
    _gloss_ends: np.ndarray
    _name_blob: bytes
    _name_ends: np.ndarray

    @property
    def n_nodes(self) -> int:
        return len(self.offsets)

    @property
    def n_classes(self) -> int:
        return len(NOUN_CLASSES)

    def gloss(self, i: int) -> str:
        start = int(self._gloss_ends[i - 1]) if i else 0
        return self._gloss_blob[start:int(self._gloss_ends[i])].decode("utf8")

    def glosses(self, idx=None) -> list[str]:
        idx = range(self.n_nodes) if idx is None else idx
        return [self.gloss(int(i)) for i in idx]

    def name(self, i: int) -> str:
        """The synset's first lemma, e.g. 'dog' (underscores for spaces, as WordNet writes them)."""
        start = int(self._name_ends[i - 1]) if i else 0
        return self._name_blob[start:int(self._name_ends[i])].decode("utf8")

    def edge_index(self, undirected: bool = True) -> np.ndarray:
        """(2, E) source/target rows; with undirected=True each edge appears in both directions."""
        ei = self.edges[:, [0, 2]].T
        return np.concatenate([ei, ei[::-1]], axis=1) if undirected else ei.copy()


def _parse(path: Path) -> dict[str, np.ndarray]:
    offsets, labels, glosses, names, raw_edges = [], [], [], [], []
    with open(path, encoding="utf8") as f:
        for line in f:
            if line.startswith("  "):  # the licence header
                continue
            head, _, gloss = line.partition(" | ")
            fields = head.split()
            n_words = int(fields[3], 16)
            i = 4 + 2 * n_words
            n_pointers = int(fields[i])
            i += 1
            offset = int(fields[0])
            offsets.append(offset)
            labels.append(int(fields[1]) - 3)
            names.append(fields[4])
            glosses.append(gloss.strip())
            for _ in range(n_pointers):
                symbol, target, pos = fields[i], fields[i + 1], fields[i + 2]
                i += 4
                if pos == "n" and symbol in _POINTERS:
                    raw_edges.append((offset, _POINTERS[symbol], int(target)))
    offsets_a = np.asarray(offsets, dtype=np.int64)
    order = np.argsort(offsets_a)
    if not np.array_equal(order, np.arange(len(order))):
        raise ModelbookError(f"{path} is not sorted by synset offset: is it a WordNet 3.0 data.noun file?")
    raw = np.asarray(raw_edges, dtype=np.int64)
    src = np.searchsorted(offsets_a, raw[:, 0])
    dst = np.searchsorted(offsets_a, raw[:, 2])
    if (offsets_a[np.minimum(dst, len(offsets_a) - 1)] != raw[:, 2]).any():
        raise ModelbookError(f"{path} has pointers to unknown synsets: the file looks damaged; reinstall wordnet-base")
    edges = np.stack([src, raw[:, 1], dst], axis=1)
    perm = np.random.default_rng(0).permutation(len(offsets_a))
    split = np.full(len(offsets_a), 2, dtype=np.int8)
    n_train, n_val = (int(round(f * len(offsets_a))) for f in SPLIT_FRACTIONS[:2])
    split[perm[:n_train]], split[perm[n_train:n_train + n_val]] = 0, 1
    gloss_bytes = [g.encode("utf8") for g in glosses]
    name_bytes = [n.encode("utf8") for n in names]
    return {
        "offsets": offsets_a, "labels": np.asarray(labels, dtype=np.int64), "edges": edges, "split": split,
        "gloss_blob": np.frombuffer(b"".join(gloss_bytes), dtype=np.uint8),
        "gloss_ends": np.cumsum([len(b) for b in gloss_bytes]).astype(np.int64),
        "name_blob": np.frombuffer(b"".join(name_bytes), dtype=np.uint8),
        "name_ends": np.cumsum([len(b) for b in name_bytes]).astype(np.int64),
    }


def _cache_path() -> Path:
    return cache_dir("data") / f"wordnet-noun-v{_CACHE_VERSION}.npz"


def wordnet_nouns(path: Path = DATA_NOUN) -> WordNetGraph:
    """The noun graph; parsed from `path` the first time, then read from the cache (a few ms)."""
    path = Path(path)
    if not path.is_file():
        raise missing_debian("WordNet 3.0 (data.noun)", str(path), "wordnet-base")
    cache = _cache_path() if path == DATA_NOUN else None
    arrays = None
    if cache is not None and cache.is_file():
        try:
            with np.load(cache, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError):  # a damaged cache is rebuilt, never trusted
            arrays = None
    if arrays is None:
        arrays = _parse(path)
        if cache is not None:
            buf = io.BytesIO()
            np.savez(buf, **arrays)
            atomic_write_bytes(cache, buf.getvalue())
    return WordNetGraph(arrays["offsets"], arrays["labels"], arrays["edges"], arrays["split"],
                        arrays["gloss_blob"].tobytes(), arrays["gloss_ends"],
                        arrays["name_blob"].tobytes(), arrays["name_ends"])


# -- node features ---------------------------------------------------------------------------------------
_TOKEN = re.compile(r"[a-z0-9]+")


def hashed_bag_of_words(texts: list[str], dim: int) -> np.ndarray:
    """(len(texts), dim) float32: each lower-cased word hashed (CRC32) into one of `dim` buckets with a sign
    (the hashing trick), log(1 + count), rows L2-normalised. No vocabulary, no model: deterministic and cheap."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for row, text in enumerate(texts):
        for token in _TOKEN.findall(text.lower()):
            h = zlib.crc32(token.encode())
            out[row, h % dim] += 1.0 if (h >> 31) & 1 else -1.0
    out = np.sign(out) * np.log1p(np.abs(out))
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, 1e-12)


def hashed_gloss_lookup(graph: WordNetGraph, dim: int) -> Callable[[np.ndarray], np.ndarray]:
    """nodes (n,) -> (n, dim) `hashed_bag_of_words` of their glosses, each gloss hashed the first time it is asked
    for and kept: a beam search looks at a few hundred of the 82k glosses, so hashing them all up front is waste."""
    cache: dict[int, np.ndarray] = {}

    def lookup(nodes: np.ndarray) -> np.ndarray:
        missing = [v for v in nodes.tolist() if v not in cache]
        for v, e in zip(missing, hashed_bag_of_words(graph.glosses(missing), dim) if missing else []):
            cache[v] = e
        return np.stack([cache[v] for v in nodes.tolist()])

    return lookup


def minilm_gloss_embeddings(graph: WordNetGraph, batch_size: int = 256):
    """(N, 384) float32 torch tensor: all-MiniLM-L6-v2 embeddings of every gloss (L2-normalised).

    82k glosses take minutes on two cores, so they are computed once, with a progress bar, and cached as
    safetensors (written atomically) under $MODELBOOK_HOME/cache/features.
    """
    import torch
    from safetensors.torch import load_file, save

    path = cache_dir("features") / f"wordnet-noun-minilm-l6-v{_CACHE_VERSION}.safetensors"
    if path.is_file():
        try:
            emb = load_file(str(path))["embeddings"]
            if emb.shape == (graph.n_nodes, 384):
                return emb
        except Exception:  # damaged or foreign file: rebuild it
            pass
    from modelbook.models import load_minilm

    with progress.status("loading all-MiniLM-L6-v2"):
        model = load_minilm()
    texts = graph.glosses()
    order = np.argsort([len(t) for t in texts])  # similar lengths per batch: less padding
    emb = torch.empty(len(texts), 384)
    starts = range(0, len(texts), batch_size)
    with torch.inference_mode():
        for s in progress.track(starts, "embedding WordNet glosses with MiniLM (once)"):
            idx = order[s:s + batch_size]
            vecs = model.encode([texts[i] for i in idx], batch_size=batch_size, convert_to_tensor=True,
                                normalize_embeddings=True, show_progress_bar=False)
            emb[torch.as_tensor(idx)] = vecs.float().cpu()
    atomic_write_bytes(path, save({"embeddings": emb.contiguous()}))
    return emb
