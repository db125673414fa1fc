"""Building blocks of the multimodal lab, each against a library that does the same job on the same inputs."""
import numpy as np
import pytest
import torch

from modelbook.multimodal import contrastive as cl
from modelbook.multimodal import fusion as fu
from modelbook.multimodal import pairs as pp


def test_log_mel_equals_librosa():
    """The lab's features come from modelbook.speech.features (itself = librosa in tests/speech) with the lab's sizes."""
    librosa = pytest.importorskip("librosa")
    rng = np.random.default_rng(0)
    for n in (4000, 12345):
        x = rng.standard_normal(n).astype(np.float32)
        ref = librosa.feature.melspectrogram(y=x, sr=16000, n_fft=400, hop_length=160, n_mels=40, fmin=20)
        assert np.abs(pp.mel_powers([x])[0] - ref).max() <= 1e-5 * ref.max()


def test_batched_log_mels_equal_one_at_a_time():
    rng = np.random.default_rng(1)
    clips = [rng.standard_normal(int(rng.integers(3000, 9000))).astype(np.float32) for _ in range(5)]
    batch = pp.log_mels(clips)
    assert batch.shape == (5, 40, 24)
    for c, b in zip(clips, batch):
        np.testing.assert_allclose(pp.log_mel(c), b, atol=1e-5)


def test_noise_at_snr_and_occlusion():
    rng = np.random.default_rng(2)
    x = np.sin(np.arange(16000) / 7).astype(np.float32)
    y = pp.add_noise(x, 5.0, rng)
    snr = 10 * np.log10(np.mean(x ** 2) / np.mean((y - x) ** 2))
    assert abs(snr - 5.0) < 0.1
    img = np.ones((3, 28, 28), np.float32)
    occ = pp.occlude(img, 0.25, rng)
    assert np.all((occ == 0).sum((1, 2)) == 14 * 14)


def test_digit_of():
    assert [pp.digit_of(t) for t in ("7", "seven", "七", "Seven.", "go left")] == [7, 7, 7, 7, None]


def test_info_nce_equals_clip_pseudo_code():
    g = torch.Generator().manual_seed(0)
    u, v = torch.randn(12, 8, generator=g), torch.randn(12, 8, generator=g)
    ours = cl.info_nce(u, v, 1 / 0.07)
    assert torch.allclose(ours, cl.clip_reference_loss(cl.logits(u, v, 1 / 0.07)), atol=1e-6)


def test_info_nce_equals_sentence_transformers_symmetric_mnrl():
    mnrl = pytest.importorskip("sentence_transformers.sentence_transformer.losses.multiple_negatives_ranking")
    g = torch.Generator().manual_seed(3)
    u, v = torch.randn(10, 6, generator=g), torch.randn(10, 6, generator=g)
    loss = mnrl.MultipleNegativesRankingLoss(torch.nn.Identity(), scale=20.0, directions=("query_to_doc", "doc_to_query"),
                                             partition_mode="per_direction")  # = MultipleNegativesSymmetricRankingLoss
    theirs = loss.compute_loss_from_embeddings([u, v], labels=None)
    assert torch.allclose(cl.info_nce(u, v, 20.0), theirs, atol=1e-5)


def test_recall_at_k_equals_torchmetrics_hit_rate_and_chance_equals_simulation():
    tm = pytest.importorskip("torchmetrics.retrieval")
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 5, 40)
    scores = rng.standard_normal((40, 40))
    relevant = labels[:, None] == labels[None, :]
    for k in (1, 5):
        metric = tm.RetrievalHitRate(top_k=k)
        theirs = metric(torch.tensor(scores.ravel()), torch.tensor(relevant.ravel()),
                        indexes=torch.arange(40).repeat_interleave(40))
        assert abs(cl.recall_at_k(scores, relevant, k) - float(theirs)) < 1e-6
        sims = [cl.recall_at_k(rng.standard_normal((40, 40)), relevant, k) for _ in range(400)]
        assert abs(np.mean(sims) - cl.chance_recall_at_k(relevant, k)) < 0.01


def test_sized_models_match_the_budget_and_modality_dropout_blanks_one():
    shape = (40, 24)
    counts = {name: fu.n_params(fu.sized(lambda w, b=b: b(shape, w), 20_000)[0]) for name, b in fu.BUILDERS.items()}
    assert all(abs(c - 20_000) / 20_000 < 0.1 for c in counts.values()), counts
    img, mel = torch.ones(1000, 28, 28), torch.ones(1000, 40, 24)
    i, m = fu.modality_dropout(img, mel, 0.5, torch.Generator().manual_seed(0))
    no_img, no_mel = i.sum((1, 2)) == 0, m.sum((1, 2)) == 0
    assert not (no_img & no_mel).any()
    assert abs(no_img.float().mean() - 0.25) < 0.05 and abs(no_mel.float().mean() - 0.25) < 0.05


def test_late_fusion_is_the_mean_of_branch_log_probabilities():
    torch.manual_seed(0)
    model = fu.LateFusion((40, 24), 16)
    img, mel = torch.rand(4, 28, 28), torch.randn(4, 40, 24)
    a, b = model.branch_logits(img, mel)
    assert torch.allclose(model(img, mel), (a.log_softmax(-1) + b.log_softmax(-1)) / 2)


def test_a_broken_loss_fails_the_reference_check():
    """Bite: InfoNCE over rows only (one direction) differs from CLIP's symmetric loss."""
    g = torch.Generator().manual_seed(5)
    u, v = torch.randn(8, 4, generator=g), torch.randn(8, 4, generator=g)
    s = cl.logits(u, v, 10.0)
    one_way = (torch.logsumexp(s, 1) - s.diagonal()).mean()
    assert abs(float(one_way) - float(cl.clip_reference_loss(s))) > 1e-3
