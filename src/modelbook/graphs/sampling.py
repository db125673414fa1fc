"""Neighbour-sampled mini-batches (GraphSAGE, Hamilton, Ying & Leskovec, NeurIPS 2017), from scratch.

Full-batch training touches every node and edge at every step: memory grows with the whole graph. A k-layer
GNN only needs each target node's k-hop neighbourhood, and sampling at most `fanout[l]` neighbours per node
and layer bounds that neighbourhood: a batch of B seeds needs at most B·Π fanouts nodes, whatever the graph size.

A mini-batch is a list of bipartite `Block`s, one per layer, from the input side to the output side. Block l
maps its n_src nodes to its n_dst nodes; the dst nodes are the first n_dst src nodes (so a node can keep its
own features: the root/self term), and the dst nodes of block l are the src nodes of block l+1.

    sampler = NeighborSampler(csr_from_edge_index(edge_index, N), fanouts=(10, 10))
    input_nodes, blocks = sampler.sample(batch_nodes, rng)      # x[input_nodes] is all the batch reads
    logits = model(x[input_nodes], blocks)                      # (B, C) for the B seeds

GraphSAGE's mean aggregator:   h_i' = W_neigh · mean_{j ∈ S(i)} h_j + W_self · h_i + b

torch_geometric's NeighborLoader needs pyg-lib or torch-sparse (compiled extensions not installed here), which
is one reason this sampler is written out; the other is that it is short enough to read.

Cross-check: tests/graphs/test_sampling.py (SAGELayer == torch_geometric SAGEConv with the same weights; with
fanouts ≥ the max degree the sampled forward equals the full-graph forward exactly; fanouts are respected).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from modelbook.graphs.gcn import inverted_dropout


@dataclass(frozen=True)
class CSR:
    """In-neighbour lists: the sources j of the edges j → i are indices[indptr[i]:indptr[i+1]]."""
    indptr: np.ndarray
    indices: np.ndarray

    @property
    def n_nodes(self) -> int:
        return len(self.indptr) - 1

    def degree(self) -> np.ndarray:
        return np.diff(self.indptr)


def csr_from_edge_index(edge_index: np.ndarray, n_nodes: int) -> CSR:
    """edge_index (2, E) sources→targets, as numpy."""
    src, dst = np.asarray(edge_index)
    order = np.argsort(dst, kind="stable")
    indptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(dst, minlength=n_nodes), out=indptr[1:])
    return CSR(indptr, src[order].astype(np.int64))


@dataclass(frozen=True)
class Block:
    n_src: int
    n_dst: int
    edge_index: torch.Tensor
    """(2, E_b) local ids: row 0 indexes the src nodes, row 1 the dst nodes."""


class NeighborSampler:
    def __init__(self, csr: CSR, fanouts: tuple[int, ...]):
        """fanouts[l] = neighbours kept per node at layer l, counted from the input side; -1 keeps all."""
        self.csr, self.fanouts = csr, tuple(fanouts)
        self._pos = np.full(csr.n_nodes, -1, dtype=np.int64)  # global id → local id, reset after each use

    def sample_neighbors(self, nodes: np.ndarray, fanout: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Sample without replacement ≤ fanout in-neighbours of each node: (neighbour ids, which `nodes` row)."""
        starts, deg = self.csr.indptr[nodes], self.csr.degree()[nodes]
        row = np.repeat(np.arange(len(nodes)), deg)
        within = np.arange(deg.sum()) - np.repeat(np.cumsum(deg) - deg, deg)   # 0..deg-1 inside each row
        eid = np.repeat(starts, deg) + within
        if fanout >= 0:
            # random keys, sorted inside each row: the first `fanout` are a uniform sample without replacement
            order = np.lexsort((rng.random(len(eid)), row))
            keep = order[within < fanout]
            eid, row = eid[keep], row[keep]
        return self.csr.indices[eid], row

    def sample(self, seeds: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, list[Block]]:
        """(global ids of the input-side nodes, blocks from input to output) for the target nodes `seeds`."""
        blocks, dst = [], np.asarray(seeds, dtype=np.int64)
        for fanout in reversed(self.fanouts):  # sample from the output layer inwards
            nbrs, dst_local = self.sample_neighbors(dst, fanout, rng)
            pos = self._pos
            pos[dst] = np.arange(len(dst))
            new = np.unique(nbrs[pos[nbrs] < 0])
            pos[new] = len(dst) + np.arange(len(new))
            src_local = pos[nbrs]
            src = np.concatenate([dst, new])
            pos[src] = -1
            ei = torch.from_numpy(np.stack([src_local, dst_local]))
            blocks.append(Block(len(src), len(dst), ei))
            dst = src
        return dst, blocks[::-1]


class SAGELayer(nn.Module):
    """GraphSAGE mean aggregator; names as PyG's SAGEConv: lin_l (neighbours, with bias), lin_r (self, no bias)."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.lin_l = nn.Linear(in_features, out_features, bias=True)
        self.lin_r = nn.Linear(in_features, out_features, bias=False)

    def forward(self, x_src: torch.Tensor, edge_index: torch.Tensor, n_dst: int) -> torch.Tensor:
        """x_src (n_src, F); edge_index (2, E) local src→dst ids; the dst nodes are x_src[:n_dst]."""
        src, dst = edge_index
        total = torch.zeros(n_dst, x_src.size(1), dtype=x_src.dtype).index_add_(0, dst, x_src[src])
        count = torch.zeros(n_dst, dtype=x_src.dtype).index_add_(0, dst, torch.ones_like(dst, dtype=x_src.dtype))
        mean = total / count.clamp_min(1)[:, None]                 # (n_dst, F); isolated nodes get 0
        return self.lin_l(mean) + self.lin_r(x_src[:n_dst])


class SAGE(nn.Module):
    """SAGE layers with ReLU + dropout between them. Runs on sampled blocks or on the whole graph."""

    def __init__(self, in_features: int, hidden: int, n_classes: int, n_layers: int = 2, dropout: float = 0.5):
        super().__init__()
        dims = [in_features] + [hidden] * (n_layers - 1) + [n_classes]
        self.layers = nn.ModuleList(SAGELayer(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.dropout = dropout

    def forward(self, x: torch.Tensor, blocks: list[Block]) -> torch.Tensor:
        for i, (layer, block) in enumerate(zip(self.layers, blocks)):
            x = layer(inverted_dropout(x, self.dropout, self.training), block.edge_index, block.n_dst)
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        return x

    def full_graph_blocks(self, edge_index: torch.Tensor, n_nodes: int) -> list[Block]:
        """The whole graph as one block per layer (full-batch training and exact inference)."""
        return [Block(n_nodes, n_nodes, edge_index)] * len(self.layers)


def snowball_nodes(csr: CSR, seeds: np.ndarray, n_max: int) -> np.ndarray:
    """Breadth-first growth from `seeds`, level by level, until n_max nodes (sorted global ids).

    A connected, edge-dense piece of a large graph (a uniform node sample would keep ~(n/N)² of the edges)."""
    seen = np.zeros(csr.n_nodes, dtype=bool)
    frontier = np.unique(np.asarray(seeds, dtype=np.int64))
    seen[frontier] = True
    taken = [frontier]
    count = len(frontier)
    while count < n_max and len(frontier):
        starts, deg = csr.indptr[frontier], csr.degree()[frontier]
        within = np.arange(deg.sum()) - np.repeat(np.cumsum(deg) - deg, deg)
        nbrs = np.unique(csr.indices[np.repeat(starts, deg) + within])
        frontier = nbrs[~seen[nbrs]][: n_max - count]
        seen[frontier] = True
        taken.append(frontier)
        count += len(frontier)
    return np.sort(np.concatenate(taken))


def induced_subgraph(edge_index: np.ndarray, nodes: np.ndarray, n_total: int) -> np.ndarray:
    """(2, E') edges among `nodes` (sorted global ids), renumbered 0..len(nodes)-1."""
    local = np.full(n_total, -1, dtype=np.int64)
    local[nodes] = np.arange(len(nodes))
    src, dst = local[edge_index[0]], local[edge_index[1]]
    keep = (src >= 0) & (dst >= 0)
    return np.stack([src[keep], dst[keep]])
