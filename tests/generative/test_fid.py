"""FID and precision/recall building blocks against torchmetrics, scipy and brute-force loops."""
import numpy as np
import torch

from modelbook.generative import fid as fidlib


def _features(seed, n=300, d=8, shift=0.0):
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(d, d, generator=g, dtype=torch.float64)
    return torch.randn(n, d, generator=g, dtype=torch.float64) @ mix + shift


def test_frechet_distance_equals_scipy_sqrtm_and_torchmetrics():
    from scipy import linalg
    from torchmetrics.image.fid import _compute_fid

    a, b = _features(0), _features(1, n=200, shift=0.5)
    (mu1, s1), (mu2, s2) = fidlib.gaussian_stats(a), fidlib.gaussian_stats(b)
    assert torch.allclose(s1, torch.from_numpy(np.cov(a.numpy(), rowvar=False)))
    covmean = linalg.sqrtm(s1.numpy() @ s2.numpy()).real
    ref = float(((mu1 - mu2) ** 2).sum() + s1.trace() + s2.trace() - 2 * np.trace(covmean))
    ours = fidlib.fid(a, b)
    assert abs(ours - ref) < 1e-8 * ref
    assert abs(ours - float(_compute_fid(mu1, s1, mu2, s2))) < 1e-8 * ref
    assert abs(fidlib.fid(a, a)) < 1e-8                     # a set against itself: 0


def test_fid_matches_torchmetrics_module_with_a_custom_feature_network():
    from torchmetrics.image.fid import FrechetInceptionDistance

    torch.manual_seed(0)
    clf = fidlib.FeatureClassifier(side=14, width=16).eval()
    real, fake = torch.rand(120, 1, 14, 14), torch.rand(100, 1, 14, 14) ** 2
    tm = FrechetInceptionDistance(feature=fidlib.FeatureExtractor(clf), normalize=True, input_img_size=(1, 14, 14))
    tm.update(real, real=True)
    tm.update(fake, real=False)
    ours = fidlib.fid(fidlib.extract(clf, real), fidlib.extract(clf, fake))
    assert abs(ours - float(tm.compute())) < 1e-6 * ours


def test_precision_recall_equal_a_brute_force_loop_and_see_collapse():
    real, fake = _features(2, n=40, d=3), _features(3, n=30, d=3, shift=0.3)
    k = 3

    def radii(points):
        return [sorted(float(torch.dist(p, q)) for j, q in enumerate(points) if j != i)[k - 1] for i, p in enumerate(points)]

    def share_covered(points, manifold):
        r = radii(manifold)
        return np.mean([any(float(torch.dist(p, m)) <= r[j] for j, m in enumerate(manifold)) for p in points])

    precision, recall = share_covered(fake, real), share_covered(real, fake)
    assert fidlib.precision_recall(real, fake, k) == (precision, recall)
    # a collapsed "generator": 50 points jittered around one real point keep precision and lose recall
    collapsed = real[:1] + 1e-3 * _features(4, n=50, d=3)
    p, r = fidlib.precision_recall(real, collapsed, k)
    assert p > 0.9 and r < 0.1


def test_feature_classifier_shapes():
    clf = fidlib.FeatureClassifier(side=28)
    x = torch.rand(5, 1, 28, 28)
    assert clf(x).shape == (5, 10) and fidlib.extract(clf, x).dtype == torch.float64
    assert fidlib.FeatureExtractor(clf)(x).shape == (5, 64)
