"""A variational autoencoder (Kingma & Welling 2014) on binary images, its ELBO and the IWAE bound.

Model: p(z) = N(0, I), a Bernoulli decoder p(x | z) over pixels (logits from an MLP), and a Gaussian encoder
q(z | x) = N(μ(x), diag σ²(x)). Training maximises the evidence lower bound

    log p(x) ≥ ELBO = E_q[log p(x | z)] − KL(q(z | x) ‖ p(z)),   KL = ½ Σ_j (μ_j² + σ_j² − log σ_j² − 1)

with one reparameterised sample z = μ + σ ⊙ ε, ε ~ N(0, I). On binary data log p(x) is a real log-likelihood,
so the ELBO is a bound in nats per image.

The importance-weighted bound (Burda et al. 2016): with z_1..z_k ~ q(z | x) and w_i = p(x, z_i) / q(z_i | x),

    L_k = E[log (1/k) Σ_i w_i],   L_1 = ELBO ≤ L_k ≤ L_{k+1} ≤ log p(x),   L_k → log p(x) as k → ∞.

`iwae_bounds` estimates L_k for k = 1, 2, 4, ..., K from ONE set of K samples, split into K/k groups of k:
merging two groups of size k into one of size 2k replaces the mean of two logs by the log of a mean, which by
Jensen's inequality cannot decrease, so the estimates are non-decreasing in k on every draw, not only in
expectation. Cross-checks: tests/generative/test_vae.py (KL and log-densities against torch.distributions).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LOG_2PI = math.log(2 * math.pi)


class VAE(nn.Module):
    """MLP encoder side² -> hidden -> (μ, log σ²) in `latent` dimensions; MLP decoder latent -> hidden -> logits."""

    def __init__(self, side: int, latent: int = 16, hidden: int = 256):
        super().__init__()
        self.side, self.latent = side, latent
        d = side * side
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, 2 * latent))
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, d))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Bernoulli logits, flattened: (..., latent) -> (..., side²)."""
        return self.decoder(z)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n images: the decoder's pixel probabilities (the Bernoulli means) at z ~ p(z)."""
        self.eval()
        z = torch.randn(n, self.latent, generator=generator)
        return torch.sigmoid(self.decode(z)).view(n, 1, self.side, self.side)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, diag σ²) ‖ N(0, I)) per row, in closed form."""
    return 0.5 * (mu ** 2 + logvar.exp() - logvar - 1).sum(-1)


def bernoulli_log_likelihood(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log p(x | logits) summed over the last dimension, x binary (as float)."""
    return -F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum(-1)


def elbo(model: VAE, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Per-image ELBO (nats) with one reparameterised sample and the analytic KL; x (N, 1, s, s) binary."""
    mu, logvar = model.encode(x)
    eps = torch.randn(mu.shape, generator=generator)
    z = mu + (0.5 * logvar).exp() * eps
    return bernoulli_log_likelihood(model.decode(z), x.flatten(1)) - gaussian_kl(mu, logvar)


def log_weights(model: VAE, x: torch.Tensor, k: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(N, k) log w_i = log p(x | z_i) + log p(z_i) − log q(z_i | x), z_i ~ q(z | x)."""
    mu, logvar = model.encode(x)
    eps = torch.randn((k, *mu.shape), generator=generator)
    z = mu + (0.5 * logvar).exp() * eps                                       # (k, N, latent)
    log_px_z = bernoulli_log_likelihood(model.decode(z), x.flatten(1))        # (k, N)
    log_pz = -0.5 * (z ** 2 + LOG_2PI).sum(-1)
    log_qz = -0.5 * (eps ** 2 + logvar + LOG_2PI).sum(-1)
    return (log_px_z + log_pz - log_qz).T


def iwae_from_log_weights(log_w: torch.Tensor, ks: tuple[int, ...]) -> dict[int, float]:
    """Mean L_k over images for each k, from (N, K) log-weights split into K/k groups of k consecutive samples."""
    n, K = log_w.shape
    out = {}
    for k in ks:
        if K % k:
            raise ValueError(f"k = {k} does not divide the {K} samples")
        groups = log_w.reshape(n, K // k, k)
        out[k] = float((torch.logsumexp(groups, dim=-1) - math.log(k)).mean())
    return out


@torch.no_grad()
def iwae_bounds(model: VAE, x: torch.Tensor, ks: tuple[int, ...], generator: torch.Generator,
                batch: int = 250) -> dict[int, float]:
    """L_k (nats per image, averaged over x) for each k in `ks`, all from the same max(ks) samples per image."""
    model.eval()
    K = max(ks)
    log_w = torch.cat([log_weights(model, x[i:i + batch], K, generator) for i in range(0, len(x), batch)])
    return iwae_from_log_weights(log_w, ks)


def binarise(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each pixel 1 with probability its grey level (a fixed stochastic binarisation, as binarised MNIST)."""
    return (torch.rand(x.shape, generator=generator) < x).float()


@torch.no_grad()
def elbo_kl_gap(model: VAE, x: torch.Tensor, seed: int, kl=gaussian_kl) -> tuple[float, float]:
    """Mean and standard error of ELBO(analytic KL) − log w(z) on the same z per image: the KL's Monte-Carlo error."""
    mu, logvar = model.encode(x)
    eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(seed))
    z = mu + (0.5 * logvar).exp() * eps
    log_px_z = bernoulli_log_likelihood(model.decode(z), x.flatten(1))
    analytic = log_px_z - kl(mu, logvar)
    log_w = log_weights(model, x, 1, torch.Generator().manual_seed(seed))[:, 0]  # the same ε, so the same z
    d = analytic - log_w
    return float(d.mean()), float(d.std() / math.sqrt(len(d)))
