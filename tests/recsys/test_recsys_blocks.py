"""Temporal split, cold-start truncation, two-tower loss, MMR, hybrid and LinUCB against direct computations."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from modelbook.recsys import bandits, content, pipeline, two_tower
from modelbook.recsys.splits import Ratings, temporal_split, truncate_users

pytestmark = pytest.mark.usefixtures("single_thread")


def _toy(seed=0):
    rng = np.random.default_rng(seed)
    n = 400
    return Ratings(rng.integers(0, 20, n), rng.integers(0, 30, n), rng.integers(1, 11, n) / 2, rng.permutation(n), 20, 30)


def test_temporal_split_puts_each_users_future_in_test():
    r = _toy()
    train, test = temporal_split(r, 0.2)
    assert len(train) + len(test) == len(r)
    for u in range(r.n_users):
        tr, te = train.time[train.user == u], test.time[test.user == u]
        n = (r.user == u).sum()
        assert len(te) == (np.ceil(0.2 * n) if n > 1 else 0)
        if len(te) and len(tr):
            assert tr.max() < te.min()


def test_truncate_users_keeps_the_first_ratings():
    r = _toy()
    t = truncate_users(r, np.array([0, 1]), 3)
    for u in (0, 1):
        kept = np.sort(t.time[t.user == u])
        assert len(kept) == min(3, (r.user == u).sum())
        assert (kept == np.sort(r.time[r.user == u])[:len(kept)]).all()
    assert (t.user == 5).sum() == (r.user == 5).sum()


def test_in_batch_softmax_with_logq_is_the_corrected_cross_entropy():
    torch.manual_seed(0)
    m = two_tower.TwoTower(6, 8, dim=4, temperature=0.5)
    u, i = torch.tensor([0, 1, 2, 3]), torch.tensor([1, 3, 5, 7])
    log_q = torch.log(torch.rand(8))
    logits = m.user_tower(u) @ m.item_tower(i).T / 0.5 - log_q[i][None]
    manual = -torch.stack([logits[a, a] - torch.logsumexp(logits[a], 0) for a in range(4)]).mean()
    torch.testing.assert_close(two_tower.in_batch_softmax_loss(m, u, i, log_q), manual)
    # the same item twice in a batch is not its own negative
    dup = torch.tensor([1, 1, 5, 7])
    logits = m.user_tower(u) @ m.item_tower(dup).T / 0.5
    logits[0, 1] = logits[1, 0] = -torch.inf
    torch.testing.assert_close(two_tower.in_batch_softmax_loss(m, u, dup, None), F.cross_entropy(logits, torch.arange(4)))


def test_mmr_extremes():
    emb = np.array([[1.0, 0], [1.0, 0], [0, 1.0], [0.6, 0.8]])
    cand, rel = np.array([[0, 1, 2, 3]]), np.array([[1.0, 0.9, 0.1, 0.5]])
    assert pipeline.mmr(cand, rel, emb, 2, 1.0).tolist() == [[0, 1]]          # λ = 1: relevance order
    assert pipeline.mmr(cand, rel, emb, 2, 0.3).tolist() == [[0, 2]]          # diversity: skip the duplicate of 0


def test_hybrid_weights():
    cf, cont = np.array([[1.0, 0, -1]]), np.array([[-1.0, 0, 1]])
    np.testing.assert_allclose(content.hybrid_scores(cf, cont, np.array([5.0]), np.zeros(3, bool), 5.0), 0, atol=1e-12)
    np.testing.assert_allclose(content.hybrid_scores(cf, cont, np.array([0.0]), np.zeros(3, bool), 5.0), content.zscore(cont))


def test_regret_shapes_and_linucb_learns():
    rng = np.random.default_rng(0)
    P, Q = rng.normal(size=(30, 4)), rng.normal(size=(50, 4))
    users, items = rng.integers(0, 30, 500), rng.integers(0, 50, 500)
    ratings = np.clip(3 + bandits.features(P, Q, users, items)[:, :4].sum(1) + rng.normal(0, 0.3, 500), 0.5, 5)
    sim = bandits.Simulator.from_ratings(P, Q, users, items, ratings, n_arms=5)
    c = bandits.run_policies(sim, 400, 8, seed=0)
    assert c["linucb"][-1] < c["eps_greedy"][-1] < c["random"][-1]
    t = np.arange(1, 1001)
    assert bandits.growth_exponent(np.sqrt(t)) == pytest.approx(0.5, abs=1e-9)
    assert bandits.halves_ratio(t.astype(float)) == pytest.approx(1.0, abs=1e-2)
    assert bandits.halves_ratio(np.sqrt(t)) == pytest.approx(np.sqrt(2) - 1, abs=1e-2)
