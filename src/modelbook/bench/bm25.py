"""BM25 query latency against index size: ours (retrieval.bm25, an inverted index: a query touches only the postings
of its terms) vs the rank_bm25 package (BM25Okapi, which walks every document for every query term), the retriever
behind `modelbook ask`'s keyword half.

Both score the same synthetic corpus: documents of Zipf-distributed words (the shape of real term frequencies), the
same queries, the same k1, b, ε; the scores are compared first (tests/retrieval/test_bm25.py holds them equal on
the handbook). Timed: a batch of queries, interleaved repeats. Size axis: documents N at a fixed length; both are
O(N) per query (rank_bm25 in a Python loop over documents, ours in the postings, which grow with N, and one score
array of N), so the exponents are about 1 and the ratio is the constant.
"""
from __future__ import annotations

from modelbook.bench.harness import Bench, interleaved

TITLE = "BM25 query latency (ours) vs rank_bm25, against index size"
QUICK = dict(docs=[1000, 2000, 4000], doc_len=40, vocab=5000, zipf=1.2, queries=10, query_len=4, repeats=5)
FULL = dict(docs=[1000, 2000, 4000, 8000, 16000], doc_len=100, vocab=20000, zipf=1.2, queries=20, query_len=4, repeats=7)
THREADS = 1


def corpus(n_docs: int, p: dict, rng) -> list[list[str]]:
    words = rng.zipf(p["zipf"], size=(n_docs, p["doc_len"])) % p["vocab"]
    return [[f"w{w}" for w in row] for row in words]


def run(quick: bool):
    import numpy as np
    from rank_bm25 import BM25Okapi

    from modelbook.retrieval.bm25 import BM25

    p = QUICK if quick else FULL
    b = Bench("bm25", quick, p)
    rng = np.random.default_rng(0)
    queries = [[f"w{w}" for w in q] for q in rng.zipf(p["zipf"], size=(p["queries"], p["query_len"])) % 200]
    med: dict[str, list[float]] = {"ours": [], "rank_bm25": []}
    worst = 0.0
    for n in p["docs"]:
        docs = corpus(n, p, rng)
        ours, ref = BM25.build(docs), BM25Okapi(docs)
        for q in queries:
            a, c = ours.scores(q), ref.get_scores(q)
            worst = max(worst, float(np.max(np.abs(a - c)) / max(1.0, float(np.max(np.abs(c))))))
        times = interleaved({"ours": lambda: [ours.scores(q) for q in queries],
                             "rank_bm25": lambda: [ref.get_scores(q) for q in queries]}, p["repeats"])
        b.ratio("query ours/rank_bm25", f"N={n}", times["ours"], times["rank_bm25"])
        for k in med:
            med[k].append(sorted(times[k])[len(times[k]) // 2])
    for k, v in med.items():
        b.exponent(f"query {k} vs N", p["docs"], v)
    b.at_most("max |ours − rank_bm25| / max score", worst, 1e-10, "rank_bm25.BM25Okapi (k1 = 1.5, b = 0.75, ε = 0.25)")
    b.within("time exponent of rank_bm25 in N", b.result.value("exponent query rank_bm25 vs N"), 0.5, 2.0,
             "rank_bm25 scores every document for every query term (a loop over the corpus)",
             note="a timing: a wide band (the machine is shared), which still tells linear from quadratic")
    b.note(f"synthetic corpus: Zipf({p['zipf']}) words over a vocabulary of {p['vocab']}, {p['doc_len']} words per "
           f"document; {p['queries']} queries of {p['query_len']} words; median of {p['repeats']} interleaved repeats; "
           "< 1 means ours is faster.")
    return b.result
