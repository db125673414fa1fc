"""GCN and GAT layers, ours (modelbook.graphs) vs PyG's GCNConv and GATConv, on the same random graph.

Each pair computes the same function on the same parameters (graphs.pyg.copy_from_pyg; outputs compared below).
Timed: one forward and backward pass of the layer (the work of a full-batch training step), interleaved repeats.
Equal work: our GCN uses the normalised adjacency built once; PyG's GCNConv runs with cached=True, so after the
warm-up call neither recomputes the normalisation. GAT has nothing to cache (attention depends on the features).
Size axis: nodes N at a fixed mean degree, so edges grow like N and the time exponent should be about 1.
"""
from __future__ import annotations

from modelbook.bench.harness import Bench, interleaved

TITLE = "GCN/GAT layers (ours) vs PyG"
QUICK = dict(nodes=[1000, 2000, 4000], degree=8, features=64, out=64, gat_heads=4, repeats=5)
FULL = dict(nodes=[4000, 8000, 16000, 32000, 64000], degree=8, features=64, out=64, gat_heads=4, repeats=9)
THREADS = 1


def random_graph(n: int, degree: int, gen):
    """An undirected random graph as a (2, E) edge_index without self-loops or duplicates (both directions kept)."""
    import torch

    src = torch.randint(0, n, (n * degree // 2,), generator=gen)
    dst = torch.randint(0, n, (n * degree // 2,), generator=gen)
    keep = src != dst
    ei = torch.stack([torch.cat([src[keep], dst[keep]]), torch.cat([dst[keep], src[keep]])])
    return torch.unique(ei, dim=1)


def run(quick: bool):
    import torch
    from torch_geometric.nn import GATConv, GCNConv

    from modelbook.graphs import GATLayer, GCNLayer, normalized_adjacency
    from modelbook.graphs.pyg import copy_from_pyg

    p = QUICK if quick else FULL
    b = Bench("gnn", quick, p)
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    med: dict[str, list[float]] = {k: [] for k in ("gcn ours", "gcn pyg", "gat ours", "gat pyg")}
    worst = 0.0
    for n in p["nodes"]:
        ei = random_graph(n, p["degree"], gen)
        x = torch.randn(n, p["features"], generator=gen)
        gcn_ref, gcn = GCNConv(p["features"], p["out"], cached=True), GCNLayer(p["features"], p["out"])
        gat_ref = GATConv(p["features"], p["out"] // p["gat_heads"], heads=p["gat_heads"])
        gat = GATLayer(p["features"], p["out"] // p["gat_heads"], heads=p["gat_heads"])
        with torch.no_grad():
            gcn_ref.bias.normal_(generator=gen)
            gat_ref.bias.normal_(generator=gen)
        copy_from_pyg(gcn, gcn_ref)
        copy_from_pyg(gat, gat_ref)
        adj = normalized_adjacency(ei, n)
        with torch.no_grad():
            worst = max(worst, float((gcn(x, adj) - gcn_ref(x, ei)).abs().max()),
                        float((gat(x, ei) - gat_ref(x, ei)).abs().max()))

        def step(layer, *args):
            def f():
                layer.zero_grad(set_to_none=True)
                layer(*args).sum().backward()
            return f

        fns = {"gcn ours": step(gcn, x, adj), "gcn pyg": step(gcn_ref, x, ei),
               "gat ours": step(gat, x, ei), "gat pyg": step(gat_ref, x, ei)}
        times = interleaved(fns, p["repeats"])
        b.ratio("gcn ours/pyg", f"N={n}", times["gcn ours"], times["gcn pyg"])
        b.ratio("gat ours/pyg", f"N={n}", times["gat ours"], times["gat pyg"])
        for k in fns:
            med[k].append(sorted(times[k])[len(times[k]) // 2])
        b.value(f"edges @N={n}", ei.size(1), volatile=False)
    for k, v in med.items():
        b.exponent(f"{k} vs N", p["nodes"], v)
    b.at_most("max |ours − PyG| over GCN and GAT outputs (float32)", worst, 1e-4,
              "torch_geometric.nn.GCNConv and GATConv on the same parameters")
    b.within("time exponent of our GCN layer in N (edges ∝ N)", b.result.value("exponent gcn ours vs N"), 0.4, 1.6,
             "sparse propagation: cost linear in the number of edges (Kipf & Welling 2017, O(|E|·F·C))",
             note="a timing: wide band, the machine is shared")
    b.note(f"random graph, mean degree {p['degree']}, {p['features']}→{p['out']} features, GAT {p['gat_heads']} heads; "
           f"forward + backward of one layer; median of {p['repeats']} interleaved repeats; < 1 means ours is faster.")
    return b.result
