"""Features = librosa, CTC loss = torch, beam search = exhaustive search, WER/CER = jiwer, EER = sklearn's ROC."""
import itertools
import math

import numpy as np
import pytest
import torch

from modelbook.speech import ctc, metrics
from modelbook.speech.features import log_mel, mfcc
from modelbook.speech.lm import EOS, NGram


def test_log_mel_and_mfcc_equal_librosa():
    librosa = pytest.importorskip("librosa")
    x = (np.random.default_rng(0).standard_normal(12000) * 0.1).astype(np.float32)
    kw = dict(sr=16000, n_fft=512, hop_length=160, win_length=400, n_mels=40)
    ref = librosa.power_to_db(librosa.feature.melspectrogram(y=x, **kw), top_db=80.0)
    assert np.abs(log_mel(x) - ref).max() < 1e-3
    assert np.abs(mfcc(x) - librosa.feature.mfcc(y=x, n_mfcc=13, **kw)).max() < 1e-3


def test_ctc_loss_and_its_gradient_equal_torch():
    torch.manual_seed(0)
    z = torch.randn(30, 4, 6, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(1, 6, (4, 7))
    targets[0, :3] = 2  # repeats need a blank between them
    il, tl = torch.tensor([30, 25, 12, 30]), torch.tensor([5, 3, 1, 7])
    for red in ("none", "mean", "sum"):
        ours = ctc.ctc_loss(z.log_softmax(2), targets, il, tl, reduction=red)
        ref = torch.nn.functional.ctc_loss(z.log_softmax(2), targets, il, tl, reduction=red)
        assert torch.allclose(ours, ref, rtol=1e-10, atol=0)
    g1 = torch.autograd.grad(ctc.ctc_loss(z.log_softmax(2), targets, il, tl), z)[0]
    g2 = torch.autograd.grad(torch.nn.functional.ctc_loss(z.log_softmax(2), targets, il, tl), z)[0]
    assert torch.allclose(g1, g2, atol=1e-12)


def _collapse(path):
    out, prev = [], 0
    for p in path:
        if p and p != prev:
            out.append(p)
        prev = p
    return tuple(out)


def test_prefix_beam_search_finds_the_most_probable_labelling():
    """With a wide beam it returns the labelling whose summed path probability is largest (exhaustive search)."""
    rng = np.random.default_rng(1)
    for _ in range(5):
        lp = np.log(rng.dirichlet(np.ones(3) * 0.5, size=6))
        total = {}
        for path in itertools.product(range(3), repeat=6):
            y = _collapse(path)
            total[y] = total.get(y, 0.0) + math.exp(sum(lp[t, c] for t, c in enumerate(path)))
        assert tuple(ctc.prefix_beam_search(lp, beam=200, prune=-1e9)) == max(total, key=total.get)
        assert ctc.greedy(lp) == list(_collapse(lp.argmax(1)))


def test_ngram_is_a_distribution_and_learns_grammar():
    lm = NGram([[1, 2], [1, 3], [4]], vocab_size=5, order=3)
    for h in ([], [1], [1, 2], [4, 4]):
        assert sum(lm.prob(h, t) for t in list(range(5)) + [EOS]) == pytest.approx(1.0)
    assert lm.prob([1], 2) > 5 * lm.prob([1], 4)


def test_wer_cer_equal_jiwer_and_eer_equals_sklearn():
    jiwer = pytest.importorskip("jiwer")
    from sklearn.metrics import roc_curve

    refs, hyps = ["one two three", "go left", "four five"], ["one too three four", "go", "five"]
    assert metrics.wer(refs, hyps) == pytest.approx(jiwer.wer(refs, hyps))
    assert metrics.cer(refs, hyps) == pytest.approx(jiwer.cer(refs, hyps))
    rng = np.random.default_rng(0)
    same = rng.random(400) < 0.3
    scores = np.round(rng.standard_normal(400) + 1.5 * same, 1)  # ties, as real scores have
    fpr, tpr, _ = roc_curve(same, scores, drop_intermediate=False)
    j = np.argmin(np.abs(1 - tpr - fpr))
    assert metrics.eer(scores, same) == pytest.approx((fpr[j] + 1 - tpr[j]) / 2, abs=1e-12)


def test_time_masks_blank_frames_inside_each_utterance_only():
    from modelbook.speech.recognizer import mask_time

    x = torch.ones(3, 40, 4)
    lengths = torch.tensor([40, 12, 6])
    out = mask_time(x, lengths, torch.Generator().manual_seed(0), n=3, width=5)
    assert torch.equal(x, torch.ones(3, 40, 4))  # the batch itself is left alone
    zero = (out == 0).all(-1)
    assert zero.any() and not zero[1, 12:].any() and not zero[2, 6:].any()
    assert (zero.sum(1) <= 15).all()
