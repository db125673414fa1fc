"""Multi-hop queries over a knowledge graph: GQE and Query2Box on hard answers, and path finding (topic 40).

What this lab shows
  1. Seven query structures (1p, 2p, 3p, 2i, 3i, ip, pi) generated on UMLS with exact answers by symbolic
     traversal, each answer marked easy (reachable in the training graph) or hard (needs a held-out edge).
  2. GQE (a query is a point) and Query2Box (a query is a box) trained on 1p/2p/3p/2i/3i queries of the training
     graph only, then asked all seven structures: Hits@3 and MRR on HARD answers per structure, against the exact
     expectation of a random ranker. ip and pi are never trained on: the operators must compose.
     Symbolic traversal of the training graph finds none of the hard answers by definition, so every hard answer
     an embedding ranks first is reasoning beyond the edges it saw.
  3. Path finding between WordNet synsets (82,115 nodes, mean distance ~12 hops): exact breadth-first search
     (nodes settled), A* with a landmark embedding (exact, fewer nodes), and beam search guided by an embedding
     (landmark distances, or gloss text: hashed bag of words in quick, MiniLM in full) at several beam widths:
     success rate, path length over the shortest, nodes touched.

Differences from the papers
  - Query2Box and BetaE report on FB15k-237 / NELL with 450k training steps on a GPU (Ren & Leskovec 2020,
    Table 2; Ren et al. 2020, Table 2 [R: not re-read]); those sets are not shipped. This lab is self-referenced
    on UMLS (135 entities), so its numbers are not comparable with the papers'; the papers' ordering
    (Query2Box ≥ GQE, 1p easiest, 2p/3p hardest) is what carries over. The published FB15k-237 figures are
    quoted in a note for context only.
  - Test queries with more than N/3 answers are dropped (BetaE caps answer sets too).
  - GQE uses translation projection and attention intersection, the baseline form in Query2Box/BetaE code,
    not Hamilton et al.'s original matrix projection.

Building blocks: modelbook/multihop/ (queries.py, models.py, train.py, paths.py), modelbook/data/kg.py,
                 modelbook/data/wordnet.py
Cross-checks:    tests/multihop/ (executor vs brute-force path enumeration; box geometry; A* optimality and the
                 heuristic's admissibility; farthest-point landmarks vs networkx distances; the lab's path check, hops
                 beyond networkx's shortest path, fails a detour, an off-by-one and a depth-first search),
                 tests/data/test_wordnet.py, tests/labs/test_multihop.py (beats random by a wide margin; an untrained
                 model fails the worst-structure check)
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from modelbook.core import plots, progress
from modelbook.core.result import LabResult
from modelbook.data.kg import load_kg
from modelbook.data.wordnet import RELATIONS, hashed_gloss_lookup, minilm_gloss_embeddings, wordnet_nouns
from modelbook.multihop import (
    GQE,
    STRUCTURES,
    TRAIN_TYPES,
    Query2Box,
    astar,
    beam_search,
    bfs,
    bfs_distances,
    evaluate_queries,
    excess_hops,
    farthest_landmarks,
    landmark_embedding,
    random_ranker_metrics,
    reference_graph,
    sample_queries,
    search_graph,
    train_queries,
)

Q2B_PAPER = "Ren, Hu & Leskovec, ICLR 2020 (Query2Box) and Ren & Leskovec, NeurIPS 2020 (BetaE), Table 2"
ANSWER_CAP = 3         # test queries with more than N / 3 answers are dropped (BetaE caps answer sets too)
MIN_PAIR_HOPS = 3      # path-finding pairs at least 3 hops apart: nearer ones are found by any search
BEAM_DEPTH_FACTOR = 4  # a beam search gives up after 4 × the shortest distance (a detour, not a search forever)
CHAINS = ("2p", "3p", "ip")  # structures that keep a hard answer in only about a quarter of the attempted test queries
WORST_OVER_RANDOM = 2.5  # the worst structure's Hits@3 / random must reach this. Measured (quick, seeds 0, 1234567, 1–8,
# both models): 4.5–8.5×, mean 6.0, sd 1.1, so 2.5× sits 3 sd below. With 300 attempts for CHAINS too (~65 3p queries)
# the same trained models gave 3.1–7.9×, and 2.0× on one seed: the spread came from the small test sets


@dataclass(frozen=True)
class Config:
    kg: str = "umls"
    n_train_queries: int = 3000
    """training queries per structure (1p/2p/3p/2i/3i), sampled on the training graph"""
    n_test_queries: int = 500
    """test queries attempted per structure (kept only if they have a hard answer)"""
    n_test_queries_chains: int = 1500
    """test queries attempted for 2p, 3p and ip, which keep fewer: enough that their Hits@3 is not the noisiest number"""
    dim: int = 64
    n_steps: int = 3000
    batch_size: int = 128
    n_negatives: int = 32
    lr: float = 0.005
    n_pairs: int = 100
    """WordNet source/target pairs for path finding"""
    n_astar_pairs: int = 30
    n_landmarks: int = 16
    beam_widths: tuple[int, ...] = (16, 64, 256)
    gloss_features: Literal["hashed", "minilm"] = "minilm"
    gloss_hash_dim: int = 512
    """buckets of the hashed bag of words (gloss_features="hashed")"""
    threads: int = 1
    """torch and BLAS threads, pinned by the runner around run(): one is fastest for small models, fixes float sums"""
    seed: int = 0


PRESETS = {
    "quick": Config(n_train_queries=600, n_test_queries=300, n_test_queries_chains=1000, dim=32, n_steps=250, batch_size=64, n_negatives=8,
                    lr=0.01, n_pairs=20, n_astar_pairs=3, beam_widths=(16, 128), gloss_features="hashed"),
    "full": Config(),
}


def run(cfg: Config, out: Path) -> LabResult:
    result = LabResult("multihop", cfg)
    rng = np.random.default_rng(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    _queries(result, cfg, rng, gen, out)
    _paths(result, cfg, rng, out)
    return result


# -- 1-2. query answering --------------------------------------------------------------------------------
def _queries(result: LabResult, cfg: Config, rng, gen, out: Path) -> None:
    kg = load_kg(cfg.kg)
    N, R = kg.n_entities, kg.n_relations
    max_answers = N // ANSWER_CAP
    valid_graph = np.concatenate([kg.train, kg.valid])
    with progress.status("generating queries"):
        train_sets = {k: sample_queries(k, cfg.n_train_queries, kg.train, None, N, R, rng, max_answers) for k in TRAIN_TYPES}
        # easy = reachable with train + valid edges (BetaE's split); hard answers need a test edge
        test_sets = {k: sample_queries(k, cfg.n_test_queries_chains if k in CHAINS else cfg.n_test_queries, kg.all_triples(),
                                       valid_graph, N, R, rng, max_answers) for k in STRUCTURES}
    for k, qs in test_sets.items():
        result.metric(f"queries/{k}_test_queries", len(qs))
        result.metric(f"queries/{k}_mean_hard_answers", float(qs.hard.sum(1).mean()))
    random = {k: random_ranker_metrics(qs) for k, qs in test_sets.items()}
    scores = {}
    for name, cls in (("gqe", GQE), ("q2b", Query2Box)):
        torch.manual_seed(cfg.seed)
        model = cls(N, R, cfg.dim)
        t0 = time.perf_counter()
        with progress.status(f"training {name.upper()} ({cfg.n_steps} steps)"):
            train_queries(model, train_sets, cfg.n_steps, cfg.batch_size, cfg.n_negatives, cfg.lr, gen)
        result.metric(f"{name}/train_seconds", time.perf_counter() - t0, "s", volatile=True)
        scores[name] = {k: evaluate_queries(model, qs) for k, qs in test_sets.items()}
        for k, m in scores[name].items():
            result.metric(f"{name}/{k}_hits@3", m["hits@3"])
            result.metric(f"{name}/{k}_mrr", m["mrr"])
        result.metric(f"{name}/mean_hits@3", float(np.mean([m["hits@3"] for m in scores[name].values()])))
        result.metric(f"{name}/mean_mrr", float(np.mean([m["mrr"] for m in scores[name].values()])))
    for k in STRUCTURES:
        result.metric(f"random/{k}_hits@3", random[k]["hits@3"])
        result.metric(f"random/{k}_mrr", random[k]["mrr"])
    rand_h3 = float(np.mean([m["hits@3"] for m in random.values()]))
    result.metric("random/mean_hits@3", rand_h3)
    for name in ("gqe", "q2b"):
        worst, ratio = worst_over_random(scores[name], random)
        result.metric(f"{name}/min_hits@3_over_random", ratio, "x")
        result.check(f"{name.upper()}: hard-answer Hits@3 over a random ranker's, worst of the 7 structures ({worst})",
                     ratio, reference=WORST_OVER_RANDOM, tolerance=0.0, source="exact expectation of random scores (train.py, random_ranker_metrics); "
                     + Q2B_PAPER + " report every structure far above chance", kind="at_least")
        mean_ratio = float(np.mean([scores[name][k]["hits@3"] for k in STRUCTURES])) / rand_h3
        result.metric(f"{name}/mean_hits@3_over_random", mean_ratio, "x")
        result.check(f"{name.upper()}: mean hard-answer Hits@3 over the random ranker's (7 structures)", mean_ratio, reference=6.0, tolerance=0.0,
                     source="exact expectation of random scores", kind="at_least")
    q2b, gqe = (np.mean([scores[n][k]["mrr"] for k in STRUCTURES]) for n in ("q2b", "gqe"))
    result.check("Query2Box mean hard-answer MRR minus GQE's (over the 7 structures)", q2b - gqe, reference=0.0, tolerance=0.02,
                 source="Ren, Hu & Leskovec, ICLR 2020 (Query2Box), abstract: boxes beat point embeddings (GQE) by up to 25% "
                 "relative on EPFO queries", kind="at_least")
    for name in ("gqe", "q2b"):
        result.check(f"{name.upper()}: 1p hard-answer MRR above 3p's (one held-out hop vs a chain of three)",
                     scores[name]["1p"]["mrr"] - scores[name]["3p"]["mrr"], reference=0.0, tolerance=0.0,
                     source="each projection adds its error: a 3p answer needs three right hops in a row (" + Q2B_PAPER +
                     " show 1p easiest and 2p/3p hardest for every model [R])", kind="at_least")
    result.note("Context only (FB15k-237, 450k GPU steps, not this data): MRR % GQE 1p 35.0, 2p 7.2, 3p 5.3, 2i 23.3, "
                "3i 34.6, pi 16.5, ip 10.7; Q2B 40.6, 9.4, 6.8, 29.5, 42.3, 21.2, 12.6 (BetaE Table 2, [R]: quoted from "
                "the project's reference notes, not re-read).")
    fig, ax = plots.figure(size=(9, 4))
    kinds = list(STRUCTURES)
    x = np.arange(len(kinds))
    for i, (label, vals) in enumerate((("GQE", [scores["gqe"][k]["hits@3"] for k in kinds]),
                                       ("Query2Box", [scores["q2b"][k]["hits@3"] for k in kinds]),
                                       ("random", [random[k]["hits@3"] for k in kinds]))):
        ax.bar(x + (i - 1) * 0.27, vals, 0.27, label=label)
    ax.set_xticks(x, kinds)
    ax.set(ylabel="Hits@3 on hard answers", title=f"{cfg.kg.upper()}: query answering beyond the training graph")
    ax.legend()
    result.artifact(plots.save(fig, out / "query_hits3.png"))


def worst_over_random(scores: dict[str, dict], random: dict[str, dict]) -> tuple[str, float]:
    """(structure, ratio) of the structure whose hard-answer Hits@3 is the smallest multiple of the random ranker's."""
    worst = min(scores, key=lambda k: scores[k]["hits@3"] / max(random[k]["hits@3"], 1e-9))
    return worst, scores[worst]["hits@3"] / random[worst]["hits@3"]


# -- 3. path finding on WordNet ----------------------------------------------------------------------------
def _paths(result: LabResult, cfg: Config, rng, out: Path) -> None:
    wn = wordnet_nouns()
    g = search_graph(wn.edges, wn.n_nodes, len(RELATIONS))
    lm = landmark_embedding(g, farthest_landmarks(g, cfg.n_landmarks, rng))
    if cfg.gloss_features == "minilm":
        emb = minilm_gloss_embeddings(wn).numpy()

        def gloss(nodes):
            return emb[nodes]
    else:
        gloss = hashed_gloss_lookup(wn, cfg.gloss_hash_dim)

    pairs = []
    while len(pairs) < cfg.n_pairs:
        s, t = (int(v) for v in rng.integers(wn.n_nodes, size=2))
        d = bfs_distances(g, s)[t]
        if MIN_PAIR_HOPS <= d < np.inf:
            pairs.append((s, t, int(d)))
    result.metric("paths/mean_shortest_hops", float(np.mean([d for _, _, d in pairs])))
    reference = reference_graph(wn.edges, wn.n_nodes)   # networkx, built from the triples: the referee of exact searches
    stats: dict[str, list] = {"bfs": []}
    excess: dict[str, list] = {"bfs": [], "astar_landmark": []}
    for s, t, d in progress.track(pairs, "path finding"):
        r = bfs(g, s, t)
        stats["bfs"].append((r.length / d, r.expanded, True))
        excess["bfs"].append(excess_hops(reference, s, t, r))
        goal_gloss = gloss(np.array([t]))[0]
        for w in cfg.beam_widths:
            for name, score in (("landmark", lambda n: -np.abs(lm[:, n] - lm[:, [t]]).max(0)),
                                ("gloss", lambda n: gloss(n) @ goal_gloss)):
                r = beam_search(g, s, t, score, w, max_depth=BEAM_DEPTH_FACTOR * d)
                stats.setdefault(f"beam_{name}_w{w}", []).append((r.length / d, r.expanded, r.path is not None))
    for s, t, d in pairs[:cfg.n_astar_pairs]:
        r = astar(g, s, t, lm)
        stats.setdefault("astar_landmark", []).append((r.length / d, r.expanded, r.path is not None))
        excess["astar_landmark"].append(excess_hops(reference, s, t, r))
        stats.setdefault("bfs_on_astar_pairs", []).append((1.0, stats["bfs"][len(stats["astar_landmark"]) - 1][1], True))
    summary = {}
    for name, rows in stats.items():
        v = np.array(rows, dtype=float)
        ok = v[:, 2] > 0
        summary[name] = (float(ok.mean()), float(v[ok, 0].mean()) if ok.any() else float("nan"), float(v[:, 1].mean()))
        result.metric(f"paths/{name}_success", summary[name][0])
        if ok.any():
            result.metric(f"paths/{name}_length_over_shortest", summary[name][1])
        result.metric(f"paths/{name}_nodes_expanded", summary[name][2])
    bfs_nodes = summary["bfs"][2]
    nx_source = f"networkx {version('networkx')} shortest_path_length on the graph built from the triples"
    result.check(f"BFS: hops beyond networkx's shortest path, worst of {len(pairs)} pairs (a path that is not a walk of the graph counts as ∞)",
                 max(excess["bfs"]), reference=0.0, tolerance=0.0, source="exact breadth-first search (Moore 1959); " + nx_source, kind="at_most")
    if "astar_landmark" in summary:
        result.check(f"A* with the landmark embedding: hops beyond networkx's shortest path, worst of {len(excess['astar_landmark'])} pairs "
                     "(admissible heuristic: exact)", max(excess["astar_landmark"]), reference=0.0, tolerance=0.0, kind="at_most",
                     source="Goldberg & Harrelson, SODA 2005 (ALT): the landmark bound never overestimates, so A* stays optimal; " + nx_source)
        result.check("A* with landmarks expands fewer nodes than BFS on the same pairs (ratio)",
                     summary["astar_landmark"][2] / summary["bfs_on_astar_pairs"][2], reference=1.0, tolerance=0.0,
                     source="Goldberg & Harrelson 2005", kind="at_most")
    widest = max(cfg.beam_widths)
    narrow = min(cfg.beam_widths)
    best = max((k for k in summary if k.startswith("beam_") and k.endswith(f"w{widest}")), key=lambda k: summary[k][0])
    result.check(f"embedding-guided beam search touches far fewer nodes than BFS ({best}, share of BFS's)",
                 summary[best][2] / bfs_nodes, reference=0.0, tolerance=0.5, source="beam search keeps width × depth nodes; BFS settles the whole "
                 "ball around the source", kind="at_most")
    result.check(f"beam search: wider beams find more targets (landmark, width {widest} minus width {narrow})",
                 summary[f"beam_landmark_w{widest}"][0] - summary[f"beam_landmark_w{narrow}"][0], reference=0.0, tolerance=0.0,
                 source="beam search is incomplete; its success rises with the width (it becomes BFS at width N)", kind="at_least")
    fig, ax = plots.figure(size=(7, 4.5))
    for name in ("landmark", "gloss"):
        xs = [summary[f"beam_{name}_w{w}"][2] for w in cfg.beam_widths]
        ys = [summary[f"beam_{name}_w{w}"][0] for w in cfg.beam_widths]
        ax.plot(xs, ys, "o-", label=f"beam, {name} embedding")
        for w, x_, y_ in zip(cfg.beam_widths, xs, ys):
            ax.annotate(f"w={w}", (x_, y_), fontsize=8)
    ax.plot([bfs_nodes], [1.0], "ks", label="BFS (exact)")
    if "astar_landmark" in summary:
        ax.plot([summary["astar_landmark"][2]], [1.0], "r^", label="A* + landmarks (exact)")
    ax.set(xscale="log", xlabel="nodes expanded per search", ylabel="share of targets reached",
           title=f"WordNet paths, mean shortest {np.mean([d for *_, d in pairs]):.1f} hops")
    ax.legend(fontsize=8)
    result.artifact(plots.save(fig, out / "path_finding.png"))
