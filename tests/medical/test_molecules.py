"""Molecule graphs (RDKit), the scaffold split and the GCN regressor built from modelbook.graphs."""
import numpy as np
import pytest
import torch
from rdkit import Chem
from rdkit.Chem.Scaffolds import MurckoScaffold

from modelbook.core.measure import torch_threads
from modelbook.graphs import GCNLayer
from modelbook.medical import molecules

SMILES = ["CCO", "c1ccccc1O", "c1ccccc1CC(=O)O", "C1CCCCC1N", "c1ccncc1C", "CC(C)Cc1ccc(cc1)C(C)C(=O)O", "CCN(CC)CC"]


def test_graph_matches_rdkit_counts():
    for s in SMILES:
        m = Chem.MolFromSmiles(s)
        g = molecules.mol_graph(m)
        assert g.x.shape == (m.GetNumAtoms(), molecules.N_ATOM_FEATURES)
        assert g.edges.shape == (2, 2 * m.GetNumBonds())
        assert g.x[:, : len(molecules.ELEMENTS) + 1].sum() == m.GetNumAtoms()      # one element per atom
        hs = g.x[:, len(molecules.ELEMENTS) + 1 + len(molecules.DEGREES):][:, :5] @ np.arange(5)
        assert hs.sum() == sum(a.GetTotalNumHs() for a in m.GetAtoms())


def test_batch_is_block_diagonal_and_readout_is_per_molecule():
    graphs = [molecules.mol_graph(Chem.MolFromSmiles(s)) for s in SMILES]
    b = molecules.batch(graphs)
    A = b.adj.to_dense()
    member = b.member.numpy()
    assert np.all(A.numpy()[member[:, None] != member[None, :]] == 0)   # no messages between molecules
    model = molecules.MoleculeGCN(width=8, depth=2)
    assert any(isinstance(m, GCNLayer) for m in model.modules())       # the graphs package's layer, not a copy
    with torch.no_grad():
        together = model(b)
        alone = torch.cat([model(molecules.batch([g])) for g in graphs])
    assert torch.allclose(together, alone, atol=1e-5)


def test_scaffold_split_shares_no_scaffold_and_uses_rdkit_murcko():
    mols = [Chem.MolFromSmiles(s) for s in SMILES * 3]
    sc = molecules.murcko_scaffolds(mols)
    assert sc == [MurckoScaffold.MurckoScaffoldSmiles(mol=m) for m in mols]
    tr, te = molecules.scaffold_split(sc, 0.3)
    assert len(tr) + len(te) == len(mols) and not set(tr) & set(te)
    assert not {sc[i] for i in tr} & {sc[i] for i in te}
    assert len(tr) <= 0.7 * len(mols)


def test_gnn_learns_an_atom_count():
    """A property that is a sum over atoms (here the number of heteroatoms) is learnable by the sum readout."""
    mols = [Chem.MolFromSmiles(s) for s in SMILES * 4]
    y = np.array([sum(a.GetSymbol() != "C" for a in m.GetAtoms()) for m in mols], dtype=float)
    graphs = [molecules.mol_graph(m) for m in mols]
    with torch_threads(1):   # tiny graphs: more threads only add contention
        model = molecules.train_gnn(graphs, y, epochs=200, width=16, depth=1, seed=0)
    assert np.abs(molecules.predict_gnn(model, graphs) - y).max() < 0.3


def test_morgan_bits_equal_rdkit_bitvect():
    from rdkit.Chem import rdFingerprintGenerator

    m = Chem.MolFromSmiles(SMILES[5])
    fp = molecules.morgan_fingerprints([m], 2, 1024)[0]
    bv = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024).GetFingerprint(m)
    assert set(np.flatnonzero(fp)) == set(bv.GetOnBits())


def test_random_split_partitions():
    tr, te = molecules.random_split(50, 0.2, np.random.default_rng(0))
    assert len(te) == 10 and sorted(np.r_[tr, te].tolist()) == list(range(50))


def test_nci_loader_reads_the_ertl_values():
    from modelbook.data.clinical import nci_tpsa

    smiles, tpsa, card = nci_tpsa()
    assert len(smiles) == len(tpsa) == 4999 and card.n == 4999
    assert smiles[0] == "CC1=CC(=O)C=CC1=O" and tpsa[0] == pytest.approx(34.14)
    assert any("#" in s for s in smiles)      # triple bonds survive (no comment-stripping)
