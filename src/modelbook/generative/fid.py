"""Judging generated images: FID and precision/recall on the features of a classifier trained on the data.

Fréchet Inception Distance (Heusel et al. 2017) fits a Gaussian to the features of real and of generated images
and measures the Fréchet (2-Wasserstein) distance between the two Gaussians:

    FID = ‖μ_r − μ_g‖² + Tr(Σ_r) + Tr(Σ_g) − 2 Tr((Σ_r Σ_g)^{1/2})

The published FID uses Inception-v3 pool features of ImageNet; here the features are the penultimate layer of
`FeatureClassifier`, a small CNN trained on Fashion-MNIST itself (nothing downloads), so our values compare
within the lab, never with Inception-based figures. Tr((Σ_r Σ_g)^{1/2}) is computed as Tr((A Σ_g A)^{1/2}) with
A = Σ_r^{1/2}: the two products are similar matrices, and the second is symmetric, so `eigvalsh` applies
(torchmetrics takes eigenvalues of the non-symmetric product instead; tests/generative/test_fid.py holds the two
equal on the same features).

Improved precision and recall (Kynkäänniemi et al. 2019) separate the two things FID mixes. Each set of features
gets a manifold estimate: the union of balls around each point with radius the distance to its k-th nearest
neighbour in the same set. Precision = the share of generated points inside the real manifold (are samples
realistic?); recall = the share of real points inside the generated manifold (is all of the data covered?).
A mode-collapsed generator keeps its precision and loses its recall.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FeatureClassifier(nn.Module):
    """A small CNN for side × side greyscale images in [0, 1]: two conv/pool stages, a `width`-wide feature layer."""

    def __init__(self, side: int = 28, n_classes: int = 10, channels: int = 16, width: int = 64):
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, 2 * channels, 3, padding=1)
        self.fc = nn.Linear(2 * channels * (side // 4) ** 2, width)
        self.head = nn.Linear(width, n_classes)
        self.num_features = width

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, side, side) in [0, 1] -> (N, width): the representation FID and precision/recall use."""
        h = F.max_pool2d(F.relu(self.conv1(x * 2 - 1)), 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        return F.relu(self.fc(h.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class FeatureExtractor(nn.Module):
    """The classifier's features in float64, as a module: the form torchmetrics' FID takes for a custom network."""

    def __init__(self, classifier: FeatureClassifier):
        super().__init__()
        self.classifier = classifier
        self.num_features = classifier.num_features

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier.features(x.float()).double()


@torch.no_grad()
def extract(classifier: FeatureClassifier, images: torch.Tensor, batch: int = 500) -> torch.Tensor:
    """Features of `images` ((N, 1, s, s) in [0, 1]) in float64, in batches, with the classifier in eval mode."""
    classifier.eval()
    return torch.cat([classifier.features(images[i:i + batch]) for i in range(0, len(images), batch)]).double()


def gaussian_stats(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and unbiased covariance (divided by N − 1) of (N, d) features, in float64."""
    f = features.double()
    if len(f) < 2:
        raise ValueError("FID needs at least two feature vectors per set")
    mu = f.mean(0)
    centred = f - mu
    return mu, centred.T @ centred / (len(f) - 1)


def _sqrt_psd(m: torch.Tensor) -> torch.Tensor:
    """The symmetric square root of a symmetric positive semi-definite matrix (eigenvalues below 0 clamped)."""
    vals, vecs = torch.linalg.eigh((m + m.T) / 2)
    return (vecs * vals.clamp_min(0).sqrt()) @ vecs.T


def frechet_distance(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor) -> float:
    """‖μ1 − μ2‖² + Tr(Σ1) + Tr(Σ2) − 2 Tr((Σ1 Σ2)^{1/2}), the Fréchet distance between two Gaussians."""
    a = _sqrt_psd(sigma1)
    cross = torch.linalg.eigvalsh(a @ sigma2 @ a).clamp_min(0).sqrt().sum()
    return float(((mu1 - mu2) ** 2).sum() + sigma1.trace() + sigma2.trace() - 2 * cross)


def fid(real_features: torch.Tensor, fake_features: torch.Tensor) -> float:
    """FID between two (N, d) feature sets (the sets may differ in size)."""
    return frechet_distance(*gaussian_stats(real_features), *gaussian_stats(fake_features))


def knn_radii(features: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each point to its k-th nearest neighbour in the same set (the point itself not counted)."""
    if len(features) <= k:
        raise ValueError(f"a k-NN manifold with k = {k} needs more than {k} points, got {len(features)}")
    d = torch.cdist(features.double(), features.double())
    return d.kthvalue(k + 1, dim=1).values  # the 1st smallest is the point itself, at distance 0


def coverage_of(points: torch.Tensor, manifold: torch.Tensor, radii: torch.Tensor) -> float:
    """Share of `points` that fall inside at least one ball (centre in `manifold`, radius in `radii`)."""
    d = torch.cdist(points.double(), manifold.double())
    return float((d <= radii[None, :]).any(dim=1).double().mean())


def precision_recall(real_features: torch.Tensor, fake_features: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN manifolds of each set."""
    precision = coverage_of(fake_features, real_features, knn_radii(real_features, k))
    recall = coverage_of(real_features, fake_features, knn_radii(fake_features, k))
    return precision, recall


@torch.no_grad()
def consistency(clf, images: torch.Tensor, asked: torch.Tensor) -> float:
    """Class consistency of a conditional generator: the share of its images the classifier assigns to the class they
    were generated for (chance: 1 / classes for a generator that ignores the label)."""
    return float((clf(images).argmax(1) == asked).float().mean())
