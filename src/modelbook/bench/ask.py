"""`modelbook ask` latency against index size: the hybrid search (MiniLM query embedding through ONNX Runtime, dense
scores, BM25, reciprocal-rank fusion, grouping by topic) vs its BM25 half alone, on the handbook's own index grown
m-fold.

The handbook is a few hundred sections; a team that indexes its own notes has thousands. To grow the index without
re-embedding, each section is repeated m times (its embedding with a little noise, its BM25 tokens as they are),
so the postings and the dense matrix grow like N = m × sections exactly as a larger corpus would make them. The
questions are the evaluation set's (handbook/ask_eval.yaml). Timed: all questions through `ask`, hybrid and
BM25-only, interleaved. The query embedding is a fixed cost per question, the scoring passes are O(N), so the
hybrid search's exponent starts below 1 and approaches it as N grows; the ratio hybrid/BM25 is what the dense half
costs at each size.
"""
from __future__ import annotations

from modelbook.bench.harness import Bench, interleaved

TITLE = "ask latency (hybrid vs BM25 alone) against index size"
QUICK = dict(copies=[1, 2, 4], questions=8, repeats=3)
FULL = dict(copies=[1, 4, 16, 32, 64], questions=40, repeats=5)
THREADS = 1


def grown(index, corpus: list[list[str]], m: int, rng):
    """`index` with every section repeated m times (embeddings jittered by 1e-3 so that copies do not tie exactly);
    corpus: its sections' BM25 tokens, as HybridIndex.build makes them."""
    import numpy as np

    from modelbook.retrieval.bm25 import BM25
    from modelbook.retrieval.dense import DenseIndex
    from modelbook.retrieval.index import HybridIndex

    if m == 1:
        return index
    n = len(index.docs)
    d = index.dense
    emb = np.concatenate([d.embeddings + (1e-3 * rng.standard_normal(d.embeddings.shape)).astype(d.embeddings.dtype)
                          for _ in range(m)])
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    dense = DenseIndex(emb.astype(d.embeddings.dtype), np.concatenate([d.passage_doc + k * n for k in range(m)]), n * m)
    return HybridIndex(index.docs * m, BM25.build(corpus * m, k1=index.bm25.k1, b=index.bm25.b), dense, index.dictionary,
                       index.encoder)


def run(quick: bool):
    import numpy as np

    from modelbook.handbook.ask import ask, eval_questions, load_index
    from modelbook.retrieval.text import Segmenter

    p = QUICK if quick else FULL
    b = Bench("ask", quick, p)
    base, _ = load_index()
    full = Segmenter.full()
    corpus = [full.tokens(f"{d.title}\n{d.text}") for d in base.docs]
    questions = [q["q"] for q in eval_questions()][: p["questions"]]
    rng = np.random.default_rng(0)
    sizes, med = [], {"hybrid": [], "bm25": []}
    for m in p["copies"]:
        index = grown(base, corpus, m, rng)
        n = len(index.docs)
        fns = {"hybrid": lambda: [ask(index, q, method="rrf", use_dense=True) for q in questions],
               "bm25": lambda: [ask(index, q, method="bm25") for q in questions]}
        times = interleaved(fns, p["repeats"])
        b.ratio("ask hybrid/bm25 alone", f"N={n}", times["hybrid"], times["bm25"])
        sizes.append(n)
        for k in med:
            med[k].append(sorted(times[k])[len(times[k]) // 2] / len(questions))
    for k, v in med.items():
        b.exponent(f"ask {k} vs N", sizes, v)
        for n, t in zip(sizes, v):
            b.value(f"ask {k} ms per question @N={n}", 1000 * t, "ms")
    b.within("exponent of the hybrid ask's time in N (fixed query embedding + O(N) scoring: between 0 and 1)",
             b.result.value("exponent ask hybrid vs N"), 0.0, 1.2,
             "cost model: a constant ONNX MiniLM query pass plus linear scans of the postings and the dense matrix",
             note="a timing: wide band, the machine is shared")
    b.note(f"{len(questions)} evaluation questions; the handbook's {len(base.docs)} sections repeated "
           f"{', '.join(map(str, p['copies']))}×; median of {p['repeats']} interleaved repeats; > 1 is what the "
           "dense half adds to the BM25 half. Per-question times are in the metrics.")
    return b.result
