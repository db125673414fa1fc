"""A small DDPM (Ho et al. 2020) with DDPM and DDIM (Song et al. 2021) sampling, written out.

Forward process: a fixed Markov chain adds Gaussian noise with variances β_1..β_T,

    q(x_t | x_{t−1}) = N(√α_t x_{t−1}, β_t I),  α_t = 1 − β_t,  ᾱ_t = Π_{s≤t} α_s
    q(x_t | x_0)     = N(√ᾱ_t x_0, (1 − ᾱ_t) I)                         (closed form: jump to any t)

The closed form follows because a sum of independent Gaussians is Gaussian: iterating the chain gives mean
√ᾱ_t x_0 and a variance that obeys v_t = α_t v_{t−1} + β_t, v_0 = 0, whose solution is 1 − ᾱ_t.
`chain_moments` runs that recursion and `q_sample_chain` iterates the chain itself, so both can be held
against the closed form (`composed_noise` is the one ε that makes the closed form land on the same x_t).

Training: t ~ U{0..T−1} (0-based, as diffusers indexes), ε ~ N(0, I), minimise ‖ε − ε_θ(√ᾱ_t x_0 + √(1 − ᾱ_t) ε, t)‖².

DDPM sampling step (the posterior q(x_{t−1} | x_t, x̂_0), "fixed small" variance β̃_t):
    x̂_0 = (x_t − √(1 − ᾱ_t) ε_θ) / √ᾱ_t   (clipped to [−1, 1])
    x_{t−1} = √ᾱ_{t−1} β_t / (1 − ᾱ_t) · x̂_0 + √α_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · x_t + √β̃_t · z,
    β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · β_t,  no noise at t = 0.
DDIM step from t to an earlier t' (η = 0 is deterministic; "leading" spacing t = 0, T/S, 2T/S, ...):
    x_{t'} = √ᾱ_{t'} x̂_0 + √(1 − ᾱ_{t'} − σ²) ε_θ + σ z,  σ = η √((1 − ᾱ_{t'})/(1 − ᾱ_t) · (1 − ᾱ_t/ᾱ_{t'})),
    with ᾱ of the step before 0 taken as 1.
These are the updates of diffusers' DDPMScheduler and DDIMScheduler (default settings, epsilon prediction);
tests/generative/test_diffusion.py holds them equal on the same tensors.

The denoiser `TinyUNet` is a two-level U-Net with a sinusoidal time embedding added after each block.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class Schedule:
    """β_t linear from beta_start to beta_end over T steps (float32, as diffusers), with α_t and ᾱ_t."""

    def __init__(self, T: int, beta_start: float = 1e-4, beta_end: float = 0.02):
        self.T = T
        self.betas = torch.linspace(beta_start, beta_end, T, dtype=torch.float32)
        self.alphas = 1.0 - self.betas
        self.alphas_cumprod = torch.cumprod(self.alphas, dim=0)

    def abar(self, t: int) -> torch.Tensor:
        """ᾱ_t, with ᾱ_{−1} = 1 (the step before the first)."""
        return self.alphas_cumprod[t] if t >= 0 else torch.tensor(1.0)


def _bcast(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return v.view(-1, *([1] * (x.dim() - 1)))


def q_sample(s: Schedule, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """The closed form: x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε, t (N,) 0-based steps."""
    abar = _bcast(s.alphas_cumprod[t], x0)
    return abar.sqrt() * x0 + (1 - abar).sqrt() * noise


def chain_moments(s: Schedule, t: int) -> tuple[float, float]:
    """Mean coefficient and variance of x_t given x_0 by iterating the chain (float64): m ← √α m, v ← α v + β."""
    m, v = 1.0, 0.0
    for i in range(t + 1):
        a, b = float(s.alphas[i]), float(s.betas[i])
        m, v = math.sqrt(a) * m, a * v + b
    return m, v


def q_sample_chain(s: Schedule, x0: torch.Tensor, t: int, noises: torch.Tensor) -> torch.Tensor:
    """x_t by t + 1 single steps x_i = √α_i x_{i−1} + √β_i ε_i, with noises[i] the ε of step i (float64)."""
    x = x0.double()
    for i in range(t + 1):
        x = s.alphas[i].double().sqrt() * x + s.betas[i].double().sqrt() * noises[i].double()
    return x


def composed_noise(s: Schedule, t: int, noises: torch.Tensor) -> torch.Tensor:
    """The single ε of the closed form that reproduces q_sample_chain: Σ_i √(ᾱ_t/ᾱ_i) √β_i ε_i / √(1 − ᾱ_t)."""
    abar = s.alphas_cumprod.double()
    total = sum((abar[t] / abar[i]).sqrt() * s.betas[i].double().sqrt() * noises[i].double() for i in range(t + 1))
    return total / (1 - abar[t]).sqrt()


def _x0_hat(s: Schedule, eps: torch.Tensor, t: int, x_t: torch.Tensor, clip: bool) -> torch.Tensor:
    abar = s.abar(t)
    x0 = (x_t - (1 - abar).sqrt() * eps) / abar.sqrt()
    return x0.clamp(-1, 1) if clip else x0


def ddpm_step(s: Schedule, eps: torch.Tensor, t: int, x_t: torch.Tensor, noise: torch.Tensor | None,
              clip: bool = True) -> torch.Tensor:
    """x_{t−1} from x_t and the predicted noise `eps`; `noise` ~ N(0, I) is used for t > 0."""
    abar_t, abar_prev = s.abar(t), s.abar(t - 1)
    alpha_t, beta_t = abar_t / abar_prev, 1 - abar_t / abar_prev
    x0 = _x0_hat(s, eps, t, x_t, clip)
    mean = (abar_prev.sqrt() * beta_t / (1 - abar_t)) * x0 + (alpha_t.sqrt() * (1 - abar_prev) / (1 - abar_t)) * x_t
    if t == 0:
        return mean
    var = ((1 - abar_prev) / (1 - abar_t) * beta_t).clamp_min(1e-20)
    return mean + var.sqrt() * noise


def ddim_step(s: Schedule, eps: torch.Tensor, t: int, t_prev: int, x_t: torch.Tensor, eta: float = 0.0,
              noise: torch.Tensor | None = None, clip: bool = True) -> torch.Tensor:
    """x_{t_prev} from x_t (t_prev < 0 means the clean image); η = 0: deterministic."""
    abar_t, abar_prev = s.abar(t), s.abar(t_prev)
    x0 = _x0_hat(s, eps, t, x_t, clip)
    sigma = eta * ((1 - abar_prev) / (1 - abar_t) * (1 - abar_t / abar_prev)).sqrt()
    x = abar_prev.sqrt() * x0 + (1 - abar_prev - sigma ** 2).sqrt() * eps
    return x + sigma * noise if eta > 0 else x


def ddim_timesteps(T: int, steps: int) -> list[int]:
    """The "leading" spacing: t = (steps − 1)·T//steps, ..., T//steps, 0 (largest first)."""
    if not 1 <= steps <= T:
        raise ValueError(f"DDIM steps must be in 1..{T}, got {steps}")
    return [i * (T // steps) for i in range(steps)][::-1]


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of integer steps (N,) -> (N, dim), as the Transformer's positions."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([args.sin(), args.cos()], dim=1)


class _Block(nn.Module):
    def __init__(self, c_in: int, c_out: int, t_dim: int):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(c_in, c_out, 3, padding=1), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.norm1, self.norm2 = nn.GroupNorm(4, c_out), nn.GroupNorm(4, c_out)
        self.time = nn.Linear(t_dim, c_out)

    def forward(self, x, temb):
        h = F.silu(self.norm1(self.conv1(x))) + self.time(temb)[:, :, None, None]
        return F.silu(self.norm2(self.conv2(h)))


class TinyUNet(nn.Module):
    """ε_θ(x_t, t): blocks at side and side/2 with a skip connection; `channels` must be a multiple of 4."""

    def __init__(self, channels: int = 32, t_dim: int = 64):
        super().__init__()
        self.t_dim = t_dim
        self.time_mlp = nn.Sequential(nn.Linear(t_dim, t_dim), nn.SiLU(), nn.Linear(t_dim, t_dim))
        c = channels
        self.inp = nn.Conv2d(1, c, 3, padding=1)
        self.down = _Block(c, c, t_dim)
        self.mid = _Block(c, 2 * c, t_dim)
        self.up = _Block(3 * c, c, t_dim)
        self.out = nn.Conv2d(c, 1, 3, padding=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        temb = self.time_mlp(timestep_embedding(t, self.t_dim))
        h1 = self.down(self.inp(x), temb)                                   # side
        h2 = self.mid(F.avg_pool2d(h1, 2), temb)                            # side / 2
        h = self.up(torch.cat([h1, F.interpolate(h2, scale_factor=2.0, mode="nearest")], 1), temb)
        return self.out(h)


def diffusion_loss(model: nn.Module, s: Schedule, x0: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """The simplified DDPM objective: mean ‖ε − ε_θ(x_t, t)‖² at a uniformly drawn t per image."""
    t = torch.randint(s.T, (len(x0),), generator=generator)
    noise = torch.randn(x0.shape, generator=generator)
    return F.mse_loss(model(q_sample(s, x0, t, noise), t), noise)


@torch.no_grad()
def sample_ddpm(model: nn.Module, s: Schedule, n: int, side: int, generator: torch.Generator) -> torch.Tensor:
    """n images in [−1, 1] by the full T-step ancestral DDPM chain."""
    model.eval()
    x = torch.randn(n, 1, side, side, generator=generator)
    for t in reversed(range(s.T)):
        eps = model(x, torch.full((n,), t))
        x = ddpm_step(s, eps, t, x, torch.randn(x.shape, generator=generator) if t > 0 else None)
    return x


@torch.no_grad()
def sample_ddim(model: nn.Module, s: Schedule, n: int, side: int, steps: int, generator: torch.Generator,
                start: torch.Tensor | None = None) -> torch.Tensor:
    """n images in [−1, 1] by `steps` deterministic DDIM steps (η = 0) from `start` or fresh N(0, I) noise."""
    model.eval()
    x = torch.randn(n, 1, side, side, generator=generator) if start is None else start.clone()
    ts = ddim_timesteps(s.T, steps)
    for i, t in enumerate(ts):
        t_prev = ts[i + 1] if i + 1 < len(ts) else -1
        x = ddim_step(s, model(x, torch.full((n,), t)), t, t_prev, x)
    return x


def train_denoiser(model: nn.Module, s: Schedule, x: torch.Tensor, steps: int, batch: int, lr: float,
                   generator: torch.Generator, track=lambda it, _: it) -> float:
    """Adam on the ε-prediction loss, each step a random batch of x, a random t and noise, all from `generator`;
    returns the last step's loss. `track` wraps the step range (a progress bar)."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in track(range(steps), "DDPM denoiser"):
        loss = diffusion_loss(model, s, x[torch.randint(len(x), (batch,), generator=generator)], generator)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    model.eval()
    return loss.item()
