"""Prototypical networks against scikit-learn's NearestCentroid; the attention learner's invariances; episodes."""
import numpy as np
import torch
from sklearn.neighbors import NearestCentroid

from modelbook.meta import episodes
from modelbook.meta.protonet import AttentionLearner, ConvEmbed, proto_logits, prototypes


def test_prototypes_are_class_means_and_logits_are_linear():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(15, 8, generator=gen, dtype=torch.float64)
    y = torch.arange(3).repeat_interleave(5)
    c = prototypes(z, y, 3)
    torch.testing.assert_close(c, torch.stack([z[y == k].mean(0) for k in range(3)]))
    q = torch.randn(7, 8, generator=gen, dtype=torch.float64)
    linear = 2 * q @ c.T - (c ** 2).sum(1) - (q ** 2).sum(1, keepdim=True)  # Snell et al. §2.4: a linear model
    torch.testing.assert_close(proto_logits(q, c), linear)


def test_protonet_decision_equals_sklearn_nearest_centroid():
    rng = np.random.default_rng(1)
    for _ in range(5):
        z = rng.normal(size=(25, 16))
        y = np.repeat(np.arange(5), 5)
        q = rng.normal(size=(30, 16))
        ours = proto_logits(torch.tensor(q), prototypes(torch.tensor(z), torch.tensor(y), 5)).argmax(1).numpy()
        assert (ours == NearestCentroid().fit(z, y).predict(q)).all()


def test_conv_embed_shapes():
    for size in (20, 28):
        net = ConvEmbed(8, 3, size)
        assert net(torch.zeros(2, 1, size, size)).shape == (2, net.dim)
    assert ConvEmbed(8, 3, 20, n_out=5)(torch.zeros(2, 1, 20, 20)).shape == (2, 5)


def _episode(seed=0, k=2):
    data = torch.rand(12, 8, 20, 20, generator=torch.Generator().manual_seed(seed))
    return episodes.sample(data, 3, 5, k, 3, torch.Generator().manual_seed(seed))


def test_attention_learner_queries_do_not_see_each_other_and_support_order_does_not_matter():
    torch.manual_seed(0)
    model = AttentionLearner(5, channels=8, size=20, d_model=32, heads=2).eval()
    ep = _episode()
    with torch.no_grad():
        out = model(ep)
        perm_q = torch.randperm(ep.query.shape[1])
        out_q = model(episodes.Episodes(ep.support, ep.support_labels, ep.query[:, perm_q], ep.query_labels[:, perm_q], 5, 2))
        perm_s = torch.randperm(ep.support.shape[1])
        out_s = model(episodes.Episodes(ep.support[:, perm_s], ep.support_labels[:, perm_s], ep.query, ep.query_labels, 5, 2))
    torch.testing.assert_close(out_q, out[:, perm_q], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(out_s, out, rtol=1e-4, atol=1e-5)


def test_episodes_are_well_formed():
    data = torch.arange(12 * 8).float().view(12, 8, 1, 1).expand(12, 8, 4, 4).contiguous()
    ep = episodes.sample(data, 50, 5, 2, 3, torch.Generator().manual_seed(0))
    assert ep.support.shape == (50, 10, 1, 4, 4) and ep.query.shape == (50, 15, 1, 4, 4)
    ids_s = ep.support[:, :, 0, 0, 0].long()
    ids_q = ep.query[:, :, 0, 0, 0].long()
    for e in range(50):
        cls_s, cls_q = ids_s[e] // 8, ids_q[e] // 8
        # one class per label, the same for support and query; no drawing used twice
        for k in range(5):
            assert len(set(cls_s[ep.support_labels[e] == k].tolist()) | set(cls_q[ep.query_labels[e] == k].tolist())) == 1
        assert len(set(ids_s[e].tolist()) | set(ids_q[e].tolist())) == 25
        assert len(set(cls_s.tolist())) == 5


def test_class_split_is_disjoint_and_complete():
    train, test = episodes.split_classes(100, 25, torch.Generator().manual_seed(0))
    assert len(test) == 25 and not set(train.tolist()) & set(test.tolist())
    assert sorted(train.tolist() + test.tolist()) == list(range(100))
