"""BPR matrix factorisation, the negative samplers and the ranking metrics, against brute force."""
import numpy as np
import pytest
import torch

from modelbook.recsys.bpr import (
    MatrixFactorization,
    MostPopular,
    bpr_loss,
    hard_negatives,
    popularity_negatives,
    ranking_metrics,
    uniform_negatives,
)

pytestmark = pytest.mark.usefixtures("single_thread")


def test_scores_and_bpr_loss():
    torch.manual_seed(0)
    mf = MatrixFactorization(5, 7, 3)
    u, i = torch.tensor([0, 4]), torch.tensor([6, 2])
    manual = (mf.users.weight[u] * mf.items.weight[i]).sum(1) + mf.item_bias.weight[i, 0]
    torch.testing.assert_close(mf.score(u, i), manual)
    torch.testing.assert_close(mf(u)[torch.arange(2), i], manual)
    torch.testing.assert_close(mf.score(u, i[:, None].repeat(1, 3))[:, 0], manual)
    pos, neg = torch.tensor([2.0, 0.0]), torch.tensor([0.0, 1.0])
    assert float(bpr_loss(pos, neg)) == pytest.approx(float(-(torch.sigmoid(pos - neg)).log().mean()))


def test_samplers():
    g = torch.Generator().manual_seed(0)
    u = uniform_negatives(10, 20000, g)
    assert u.min() == 0 and u.max() == 9 and abs(u.float().mean() - 4.5) < 0.1
    counts = torch.tensor([1, 16, 81, 0])
    p = popularity_negatives(counts, 40000, g)
    freq = torch.bincount(p, minlength=4).double() / 40000
    expected = counts.double() ** 0.75 / (counts.double() ** 0.75).sum()       # 1 : 8 : 27 : 0
    torch.testing.assert_close(freq, expected, atol=0.01, rtol=0)
    torch.manual_seed(1)
    mf = MatrixFactorization(3, 50, 4)
    users = torch.tensor([0, 1, 2, 0])
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    hard = hard_negatives(mf, users, 50, 8, g1)
    cand = torch.randint(0, 50, (4, 8), generator=g2)                           # the same candidates
    with torch.no_grad():
        best = torch.stack([cand[r, mf.score(users[r].repeat(8), cand[r]).argmax()] for r in range(4)])
    assert torch.equal(hard, best)


def test_ranking_metrics_equal_brute_force():
    torch.manual_seed(2)
    mf = MatrixFactorization(6, 30, 4)
    rng = np.random.default_rng(0)
    pairs = {(u, i) for u in range(6) for i in rng.choice(30, 8, replace=False)}
    pairs = sorted(pairs)
    test = [p for k, p in enumerate(pairs) if k % 4 == 0]
    train = [p for k, p in enumerate(pairs) if k % 4]
    ours = ranking_metrics(mf, tuple(np.array(a) for a in zip(*train)), tuple(np.array(a) for a in zip(*test)), k=5, batch=4)
    recalls, ndcgs = [], []
    with torch.no_grad():
        for u in range(6):
            rel = {i for uu, i in test if uu == u}
            if not rel:
                continue
            seen = {i for uu, i in train if uu == u}
            scores = mf(torch.tensor([u]))[0].tolist()
            ranked = sorted((i for i in range(30) if i not in seen), key=lambda i: -scores[i])[:5]
            hits = [1.0 if i in rel else 0.0 for i in ranked]
            recalls.append(sum(hits) / len(rel))
            dcg = sum(h / np.log2(r + 2) for r, h in enumerate(hits))
            ndcgs.append(dcg / sum(1 / np.log2(r + 2) for r in range(min(len(rel), 5))))
    assert ours["recall@5"] == pytest.approx(np.mean(recalls)) and ours["ndcg@5"] == pytest.approx(np.mean(ndcgs))


def test_most_popular_ranks_unseen_items_by_count():
    rng = np.random.default_rng(1)
    counts = torch.from_numpy(rng.permutation(20) * 3)                          # distinct counts: no ties to break
    pairs = sorted({(u, int(i)) for u in range(5) for i in rng.choice(20, 6, replace=False)})
    test = [p for k, p in enumerate(pairs) if k % 3 == 0]
    train = [p for k, p in enumerate(pairs) if k % 3]
    model = MostPopular(5, 20, counts)
    assert torch.equal(model(torch.tensor([0, 3])), counts.double()[None].repeat(2, 1))
    ours = ranking_metrics(model, tuple(np.array(a) for a in zip(*train)), tuple(np.array(a) for a in zip(*test)), k=4)
    by_count = sorted(range(20), key=lambda i: -int(counts[i]))
    recalls = []
    for u in sorted({u for u, _ in test}):
        seen, rel = {i for uu, i in train if uu == u}, {i for uu, i in test if uu == u}
        top = [i for i in by_count if i not in seen][:4]
        recalls.append(len(rel & set(top)) / len(rel))
    assert ours["recall@4"] == pytest.approx(np.mean(recalls), abs=1e-12)
    assert 0 < ours["recall@4"] < 1
