"""Molecules as graphs for a message-passing GNN, Morgan fingerprints for a random forest, and the scaffold split.

Featurisation (RDKit): one node per heavy atom with a one-hot of element, degree, attached hydrogens, formal
charge, plus aromatic and in-ring flags; one undirected edge per bond (both directions). The GNN is the graphs
package's GCN layer (modelbook.graphs.GCNLayer, checked against PyG's GCNConv in tests/graphs) run on a batch of
molecules as one disconnected graph, then a sum over each molecule's atoms (a size-extensive readout: TPSA and
logP are sums of atom contributions) and a small MLP head.

Scaffold split (Bemis & Murcko 1996 frameworks; the MoleculeNet split of Wu et al. 2018): group molecules by
their Murcko scaffold (rings and the linkers between them; acyclic molecules share the empty scaffold), put the
largest groups in training until it is full and the rest, the rare scaffolds, in the test set. No scaffold is in
both, so the test asks for chemistry the model has not seen; a random split leaks near-copies across.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from modelbook.graphs import GCNLayer, normalized_adjacency

ELEMENTS = ("C", "N", "O", "S", "F", "Cl", "Br", "I", "P")   # anything else is "other"
DEGREES = (0, 1, 2, 3, 4, 5)
HYDROGENS = (0, 1, 2, 3, 4)
CHARGES = (-1, 0, 1)
N_ATOM_FEATURES = len(ELEMENTS) + 1 + len(DEGREES) + len(HYDROGENS) + len(CHARGES) + 2


def _one_hot(value, choices) -> list[float]:
    return [float(value == c) for c in choices]


def atom_features(atom) -> list[float]:
    return (_one_hot(atom.GetSymbol(), ELEMENTS) + [float(atom.GetSymbol() not in ELEMENTS)]
            + _one_hot(min(atom.GetDegree(), 5), DEGREES) + _one_hot(min(atom.GetTotalNumHs(), 4), HYDROGENS)
            + _one_hot(max(min(atom.GetFormalCharge(), 1), -1), CHARGES)
            + [float(atom.GetIsAromatic()), float(atom.IsInRing())])


@dataclass(frozen=True)
class MolGraph:
    x: np.ndarray           # (n_atoms, N_ATOM_FEATURES) float32
    edges: np.ndarray       # (2, 2 · n_bonds) int64, both directions


def mol_graph(mol) -> MolGraph:
    x = np.array([atom_features(a) for a in mol.GetAtoms()], dtype=np.float32).reshape(-1, N_ATOM_FEATURES)
    pairs = [(b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in mol.GetBonds()]
    e = np.array(pairs + [(j, i) for i, j in pairs], dtype=np.int64).reshape(-1, 2).T
    return MolGraph(x, e)


@dataclass(frozen=True)
class GraphBatch:
    x: torch.Tensor          # (N, F) all atoms of the batch
    adj: object              # graphs.Adjacency over the disconnected union
    member: torch.Tensor     # (N,) index of the molecule each atom belongs to
    n_graphs: int


def batch(graphs: list[MolGraph]) -> GraphBatch:
    """Many molecules as one graph with no edges between them (node ids offset per molecule)."""
    sizes = np.array([g.x.shape[0] for g in graphs])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    x = torch.from_numpy(np.concatenate([g.x for g in graphs]))
    edges = torch.from_numpy(np.concatenate([g.edges + o for g, o in zip(graphs, offsets)], axis=1))
    member = torch.from_numpy(np.repeat(np.arange(len(graphs)), sizes))
    return GraphBatch(x, normalized_adjacency(edges, int(sizes.sum())), member, len(graphs))


class MoleculeGCN(nn.Module):
    """Atom embedding → `depth` GCN layers (ReLU, residual) → sum over atoms → MLP → one number per molecule."""

    def __init__(self, in_features: int = N_ATOM_FEATURES, width: int = 64, depth: int = 3):
        super().__init__()
        self.embed = nn.Linear(in_features, width)
        self.layers = nn.ModuleList(GCNLayer(width, width) for _ in range(depth))
        self.head = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 1))

    def forward(self, b: GraphBatch) -> torch.Tensor:
        h = torch.relu(self.embed(b.x))
        for layer in self.layers:
            h = h + torch.relu(layer(h, b.adj))
        pooled = torch.zeros(b.n_graphs, h.size(1), dtype=h.dtype).index_add_(0, b.member, h)
        return self.head(pooled).squeeze(-1)


def train_gnn(graphs: list[MolGraph], y: np.ndarray, epochs: int, width: int = 64, depth: int = 3, lr: float = 1e-2,
              seed: int = 0) -> MoleculeGCN:
    """Full-batch Adam on the mean squared error of the standardised target (all training molecules are one
    disconnected graph, built once), cosine learning-rate decay. The target's scale is kept for `predict_gnn`."""
    torch.manual_seed(seed)
    model = MoleculeGCN(width=width, depth=depth)
    mu, sd = float(np.mean(y)), float(np.std(y) + 1e-8)
    target = torch.tensor((np.asarray(y) - mu) / sd, dtype=torch.float32)
    b = batch(graphs)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    for _ in range(epochs):
        loss = torch.mean((model(b) - target) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    model.target_scale = (mu, sd)
    return model


@torch.no_grad()
def predict_gnn(model: MoleculeGCN, graphs: list[MolGraph]) -> np.ndarray:
    mu, sd = model.target_scale
    return model(batch(graphs)).numpy().astype(np.float64) * sd + mu


def morgan_fingerprints(mols, radius: int = 2, n_bits: int = 2048) -> np.ndarray:
    """(n, n_bits) uint8 Morgan (ECFP-like) bit vectors from RDKit's fingerprint generator."""
    from rdkit.Chem import rdFingerprintGenerator

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    return np.array([gen.GetFingerprintAsNumPy(m) for m in mols], dtype=np.uint8)


def murcko_scaffolds(mols) -> list[str]:
    """Canonical SMILES of each molecule's Bemis–Murcko scaffold ('' for acyclic molecules)."""
    from rdkit.Chem.Scaffolds import MurckoScaffold

    return [MurckoScaffold.MurckoScaffoldSmiles(mol=m, includeChirality=False) for m in mols]


def scaffold_split(scaffolds: list[str], test_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices: scaffold groups by size (largest first, ties by first appearance) fill the training
    set up to (1 − test_fraction) · n; a group that no longer fits goes to test. Deterministic, as in DeepChem."""
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(scaffolds):
        groups.setdefault(s, []).append(i)
    ordered = sorted(groups.values(), key=lambda g: (-len(g), g[0]))
    cap = (1.0 - test_fraction) * len(scaffolds)
    train: list[int] = []
    test: list[int] = []
    for g in ordered:
        (train if len(train) + len(g) <= cap else test).extend(g)
    return np.array(sorted(train)), np.array(sorted(test))


def random_split(n: int, test_fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    perm = rng.permutation(n)
    k = int(round(test_fraction * n))
    return np.sort(perm[k:]), np.sort(perm[:k])
