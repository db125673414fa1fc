"""Image GANs: an MLP GAN, a DCGAN and a class-conditional GAN, with the non-saturating loss written out.

The game (Goodfellow et al. 2014): a discriminator D(x) (here a logit) learns to tell real images from G(z),
and the generator learns to fool it. Each step

    D:  minimise  −log σ(D(x)) − log(1 − σ(D(G(z))))        real labelled 1, generated labelled 0
    G:  minimise  −log σ(D(G(z)))                            the non-saturating loss: generated labelled 1

`BCEWithLogitsLoss` computes both from logits without the unstable sigmoid-then-log. The saturating form
log(1 − σ(D(G(z)))) has the same fixed point but a vanishing gradient while D wins, early in training.

DCGAN (Radford et al. 2016) is a set of architecture rules: strided transposed convolutions in G and strided
convolutions in D instead of pooling, batch normalisation in both (not on G's output or D's input), ReLU in G
with a tanh output (images scaled to [−1, 1]), LeakyReLU(0.2) in D, Adam with lr 2e-4 and β₁ = 0.5.

The conditional GAN (Mirza & Osindero 2014) gives the class y to both players: G gets a one-hot y beside z,
and D here is a projection discriminator (Miyato & Koyama 2018), D(x, y) = ψ(φ(x)) + e(y)ᵀφ(x), so a
generated image is judged on being real *and* of class y.

Images: (N, 1, side, side) with side = 7 · 2^k; G outputs tanh values in [−1, 1]. Written out here, not in
core.train.fit, because the alternating updates are the algorithm (STYLE.md C8). Cross-checks:
tests/generative/test_image_gan.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn


def _n_up(side: int) -> int:
    k = round(math.log2(side / 7)) if side >= 7 else -1
    if k < 1 or 7 * 2 ** k != side:
        raise ValueError(f"image side must be 7·2^k with k ≥ 1 (14, 28, ...), got {side}")
    return k


class MLPGenerator(nn.Module):
    """z (and an optional one-hot class) -> hidden -> hidden -> side² tanh pixels."""

    def __init__(self, z_dim: int, side: int, hidden: int = 256, n_classes: int = 0):
        super().__init__()
        self.z_dim, self.side, self.n_classes = z_dim, side, n_classes
        self.net = nn.Sequential(nn.Linear(z_dim + n_classes, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, side * side), nn.Tanh())

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.n_classes:
            z = torch.cat([z, F.one_hot(y, self.n_classes).float()], 1)
        return self.net(z).view(-1, 1, self.side, self.side)


class MLPDiscriminator(nn.Module):
    """side² pixels -> hidden -> hidden -> one logit (LeakyReLU 0.2)."""

    def __init__(self, side: int, hidden: int = 256):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(side * side, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(x).squeeze(1)


class DCGenerator(nn.Module):
    """DCGAN generator: z (+ one-hot y) -> (C·2^(k−1), 7, 7) -> k stride-2 transposed convolutions -> tanh image.

    Batch norm and ReLU after every layer but the last, which is a transposed convolution to 1 channel and tanh.
    """

    def __init__(self, z_dim: int, side: int, channels: int = 32, n_classes: int = 0):
        super().__init__()
        k = _n_up(side)
        self.z_dim, self.n_classes = z_dim, n_classes
        c0 = channels * 2 ** (k - 1)
        self.project = nn.Sequential(nn.Linear(z_dim + n_classes, c0 * 49, bias=False), nn.BatchNorm1d(c0 * 49), nn.ReLU())
        layers, c = [], c0
        for _ in range(k - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU()]
            c //= 2
        layers += [nn.ConvTranspose2d(c, 1, 4, 2, 1), nn.Tanh()]
        self.c0, self.up = c0, nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.n_classes:
            z = torch.cat([z, F.one_hot(y, self.n_classes).float()], 1)
        return self.up(self.project(z).view(-1, self.c0, 7, 7))


class DCDiscriminator(nn.Module):
    """DCGAN discriminator: k stride-2 convolutions (LeakyReLU 0.2; batch norm from the second on) -> φ(x) -> logit.

    With n_classes > 0 it is a projection discriminator: logit = ψ(φ(x)) + e(y)ᵀφ(x) (Miyato & Koyama 2018).
    """

    def __init__(self, side: int, channels: int = 32, n_classes: int = 0):
        super().__init__()
        k = _n_up(side)
        layers, c = [nn.Conv2d(1, channels, 4, 2, 1), nn.LeakyReLU(0.2)], channels
        for _ in range(k - 1):
            layers += [nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2)]
            c *= 2
        self.body = nn.Sequential(*layers, nn.Flatten())
        width = c * 49
        self.psi = nn.Linear(width, 1)
        self.embed = nn.Embedding(n_classes, width) if n_classes else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        phi = self.body(x)
        logit = self.psi(phi).squeeze(1)
        if self.embed is not None:
            logit = logit + (self.embed(y) * phi).sum(1)
        return logit


def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's cross-entropy: real labelled 1, generated labelled 0 (both batches averaged, summed)."""
    return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


def g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss −log σ(D(G(z))): generated images labelled real."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


@dataclass
class GANHistory:
    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)


def train_gan(G: nn.Module, D: nn.Module, images: torch.Tensor, steps: int, generator: torch.Generator,
              labels: torch.Tensor | None = None, batch: int = 64, lr: float = 2e-4, betas=(0.5, 0.999),
              track=lambda it, _desc: it) -> GANHistory:
    """Alternate one D step and one G step, `steps` times, on `images` in [−1, 1] (with `labels` for a cGAN).

    Batches and z come from `generator`; `track` wraps the step loop (a progress bar).
    """
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
    hist = GANHistory()
    G.train()
    D.train()
    for _ in track(range(steps), "GAN steps"):
        idx = torch.randint(len(images), (batch,), generator=generator)
        x, y = images[idx], (labels[idx] if labels is not None else None)
        z = torch.randn(batch, G.z_dim, generator=generator)
        y_fake = torch.randint(G.n_classes, (batch,), generator=generator) if labels is not None else None
        fake = G(z, y_fake)
        # -- discriminator: real -> 1, generated -> 0 (generated images detached: G is not updated here) --
        loss_d = d_loss(D(x, y), D(fake.detach(), y_fake))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        # -- generator: the non-saturating loss through the updated D --
        loss_g = g_loss(D(fake, y_fake))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        hist.d_loss.append(loss_d.item())
        hist.g_loss.append(loss_g.item())
    return hist


@torch.no_grad()
def sample(G: nn.Module, n: int, generator: torch.Generator, labels: torch.Tensor | None = None,
           z_scale: float = 1.0) -> torch.Tensor:
    """n images in [0, 1] from G in eval mode (z ~ N(0, z_scale² I)); `labels` for a conditional G."""
    G.eval()
    z = torch.randn(n, G.z_dim, generator=generator) * z_scale
    return (G(z, labels) + 1) / 2
