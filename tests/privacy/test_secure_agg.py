"""Secure aggregation: masks cancel exactly in the sum; each masked upload is indistinguishable from uniform
noise (χ² on its top byte, correlation with the clear value)."""
import numpy as np
import pytest
from scipy.stats import chisquare

from modelbook.privacy import secure_agg as sa


def test_fixed_point_roundtrip():
    x = np.array([0.0, -1.5, 3.25, -1e-9, 1e6])
    np.testing.assert_allclose(sa.decode(sa.encode(x)), x, atol=2 ** -33)


@pytest.fixture(scope="module")
def round_data():
    rng = np.random.default_rng(0)
    clients = sa.setup(6, rng)
    vectors = [rng.normal(size=20_000) * 0.1 for _ in clients]
    masked = [c.mask(v, round_id=3) for c, v in zip(clients, vectors)]
    return clients, vectors, masked


def test_masks_cancel_exactly(round_data):
    clients, vectors, masked = round_data
    total = np.zeros(len(vectors[0]), dtype=np.uint64)
    for y in masked:
        total = total + y
    clear = np.zeros_like(total)
    for v in vectors:
        clear = clear + sa.encode(v)
    assert np.array_equal(total, clear)                                   # exact in Z_2^64
    np.testing.assert_allclose(sa.server_sum(masked), np.sum(vectors, 0), atol=6 * 2 ** -32)


def test_masked_uploads_look_uniform(round_data):
    clients, vectors, masked = round_data
    for v, y in zip(vectors, masked):
        top = (y >> np.uint64(56)).astype(np.int64)
        assert chisquare(np.bincount(top, minlength=256)).pvalue > 1e-6   # false alarm rate 1e-6
        r = np.corrcoef(y.view(np.int64).astype(float), v)[0, 1]
        assert abs(r) < 6 / np.sqrt(len(v))
        clear_top = (sa.encode(v) >> np.uint64(56)).astype(np.int64)
        assert chisquare(np.bincount(clear_top, minlength=256)).pvalue < 1e-12  # unmasked: all 0x00 or 0xFF


def test_a_subset_of_participants_still_cancels(round_data):
    clients, vectors, _ = round_data
    part = [clients[i] for i in (0, 2, 5)]
    got = sa.secure_weighted_mean(part, [vectors[i] for i in (0, 2, 5)], [1.0, 2.0, 3.0], round_id=9)
    expected = (vectors[0] + 2 * vectors[2] + 3 * vectors[5]) / 6
    np.testing.assert_allclose(got, expected, atol=1e-9)


def test_masks_change_every_round_and_pairs_agree():
    clients = sa.setup(3, np.random.default_rng(1))
    assert not np.array_equal(clients[0].mask(np.zeros(8), 0), clients[0].mask(np.zeros(8), 1))
    assert clients[0]._seeds[1] == clients[1]._seeds[0] != clients[0]._seeds[2]
    fresh = sa.setup(2)  # OS randomness: still cancels
    s = fresh[0].mask(np.ones(4), 0) + fresh[1].mask(np.ones(4), 0)
    np.testing.assert_allclose(sa.decode(s), 2.0)


def test_secure_aggregator_gives_fedavgs_plain_weighted_mean():
    import torch

    from modelbook.privacy import fedavg

    rng = np.random.default_rng(2)
    server = sa.SecureAggregator(sa.setup(5, rng))
    updates = [torch.tensor(rng.normal(size=1000), dtype=torch.float32) for _ in range(3)]
    selected, sizes = np.array([0, 3, 4]), [10.0, 25.0, 40.0]
    got = server(selected, updates, sizes)
    plain = fedavg.weighted_mean(selected, [u.double() for u in updates], sizes)
    assert got.dtype == torch.float32 and server.rounds == 1
    # the secure mean is the plain one up to fixed point (≤ K·2^-33) and the float32 cast
    np.testing.assert_allclose(got.double().numpy(), plain.numpy(), rtol=1e-6, atol=3 * 2.0 ** -32)
    sel, vectors, kept_sizes, mean = server.first_round
    assert np.array_equal(sel, selected) and kept_sizes == sizes
    assert np.abs(mean - plain.numpy()).max() <= 3 * 2.0 ** -32
    # the masked uploads the server received sum to the clear weighted sum; each one alone does not reveal it
    share = [v * (w / sum(sizes)) for v, w in zip(vectors, sizes)]
    uploads = [server.clients[k].mask(x, 0, {int(i) for i in selected}) for k, x in zip(selected, share)]
    np.testing.assert_allclose(sa.server_sum(uploads), plain.numpy(), atol=3 * 2.0 ** -32)
    assert not np.allclose(sa.decode(uploads[0]), share[0], atol=1.0)
    # a second round uses fresh masks and leaves round 0's record alone
    server(selected, updates, sizes)
    assert server.rounds == 2 and server.first_round[3] is mean


def test_fedavg_through_secure_aggregation_trains_the_same_model():
    import torch

    from modelbook.privacy import fedavg

    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(120, 5, generator=gen), torch.randint(0, 3, (120,), generator=gen)
    clients = [(x[i::4], y[i::4]) for i in range(4)]
    models = []
    for aggregate in (fedavg.weighted_mean, sa.SecureAggregator(sa.setup(4, np.random.default_rng(3)))):
        torch.manual_seed(0)
        model = torch.nn.Linear(5, 3)
        fedavg.fedavg(model, clients, 3, fraction=0.5, local_epochs=1, batch_size=10, lr=0.1,
                      generator=torch.Generator().manual_seed(1), rng=np.random.default_rng(4), aggregate=aggregate)
        models.append(fedavg.flat_params(model))
    torch.testing.assert_close(models[0], models[1], rtol=0, atol=1e-6)


def test_audit_first_round_against_numpy_and_a_hand_chi_square():
    import torch
    from scipy.stats import chi2

    rng = np.random.default_rng(4)
    server = sa.SecureAggregator(sa.setup(6, rng))
    with pytest.raises(ValueError):
        sa.audit_first_round(server)
    updates = [torch.tensor(rng.normal(size=5000) * 0.05) for _ in range(4)]
    selected, sizes = np.array([1, 2, 4, 5]), [30.0, 10.0, 45.0, 15.0]
    server(selected, updates, sizes)
    server(selected, updates, sizes)  # a later round does not replace round 0
    audit = sa.audit_first_round(server)
    vectors = [u.numpy() for u in updates]
    plain = sum(w * v for w, v in zip(sizes, vectors)) / sum(sizes)
    _, _, _, secure = server.first_round
    assert audit.max_abs_diff == pytest.approx(np.abs(plain - secure).max(), abs=1e-15)
    assert audit.max_abs_diff <= 4 * 2.0 ** -32 and audit.n_words == 5000

    def p_value(words):  # Pearson's χ² against uniform bytes, written out
        counts = np.bincount((words >> np.uint64(56)).astype(np.int64), minlength=256)
        expected = len(words) / 256
        return chi2.sf(((counts - expected) ** 2 / expected).sum(), 255)

    share = vectors[0] * sizes[0] / sum(sizes)
    upload = server.clients[1].mask(share, 0, {1, 2, 4, 5})
    assert audit.p_masked == pytest.approx(p_value(upload), rel=1e-9)
    assert audit.p_clear == pytest.approx(p_value(sa.encode(share)), rel=1e-9, abs=1e-300)
    assert audit.p_masked > 1e-6 and audit.p_clear < 1e-12
