"""What to share: one trunk for all tasks, one network per task, or towers coupled softly.

    HardSharing(in, (h, h), heads=(10, 10))     Flatten → [Linear → ReLU] × L (shared) → one Linear head per task
    Separate(in, (h', h'), heads=(10, 10))      one such tower + head per task, nothing shared
    CrossStitch(in, (h', h'), heads=(10, 10))   Separate's towers, and after every hidden layer the T activations
                                                are mixed by a learned T×T matrix (Misra et al. 2016): x̃ᵢ = Σⱼ αᵢⱼ xⱼ
    l2_coupling(separate)                       Σ over tower pairs and layers of ‖Wᵢ − Wⱼ‖²: soft sharing by a
                                                penalty that pulls the towers together (Duong et al. 2015)

Every model returns a list of T outputs and names its shared parameters (`shared_parameters()`, empty when nothing is
shared) and the last shared layer's weight (GradNorm measures gradient norms there). `width_for_budget` picks the
tower width that gives a model the same parameter count as another: comparisons "at equal parameters".
"""
from __future__ import annotations

import itertools

import torch
from torch import nn


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class Tower(nn.Module):
    """A stack of stages, each ending in a ReLU; `stages` are applied in order (cross-stitch mixes between them).

    widths (h, h):             MLP stages Flatten → Linear(in, h) → ReLU → Linear(h, h) → ReLU
    conv=(c, 2c), widths (h,): two 3×3 convolution stages (each → ReLU → 2×2 max-pool), then Linear → ReLU
    """

    def __init__(self, in_features: int, widths: tuple[int, ...], conv: tuple[int, ...] = (), side: int = 0):
        super().__init__()
        stages: list[nn.Module] = []
        channels, size = 1, side
        for c in conv:
            stages.append(nn.Sequential(nn.Conv2d(channels, c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)))
            channels, size = c, size // 2
        width = channels * size * size if conv else in_features
        for i, h in enumerate(widths):
            stages.append(nn.Sequential(*([nn.Flatten()] if i == 0 else []), nn.Linear(width, h), nn.ReLU()))
            width = h
        self.stages = nn.ModuleList(stages)
        self.conv = bool(conv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x if self.conv else x.flatten(1)
        for stage in self.stages:
            x = stage(x)
        return x

    def last_linear(self) -> nn.Linear:
        return [m for m in self.stages[-1] if isinstance(m, nn.Linear)][0]


class HardSharing(nn.Module):
    def __init__(self, in_features: int, widths: tuple[int, ...], heads: tuple[int, ...], conv: tuple[int, ...] = (),
                 side: int = 0):
        super().__init__()
        self.trunk = Tower(in_features, widths, conv, side)
        self.heads = nn.ModuleList(nn.Linear(widths[-1], k) for k in heads)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        z = self.trunk(x)
        return [head(z) for head in self.heads]

    def shared_parameters(self) -> list[nn.Parameter]:
        return list(self.trunk.parameters())

    def last_shared_weight(self) -> nn.Parameter:
        return self.trunk.last_linear().weight


class Separate(nn.Module):
    def __init__(self, in_features: int, widths: tuple[int, ...], heads: tuple[int, ...], conv: tuple[int, ...] = (),
                 side: int = 0):
        super().__init__()
        self.towers = nn.ModuleList(Tower(in_features, widths, conv, side) for _ in heads)
        self.heads = nn.ModuleList(nn.Linear(widths[-1], k) for k in heads)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [head(tower(x)) for tower, head in zip(self.towers, self.heads)]

    def shared_parameters(self) -> list[nn.Parameter]:
        return []


class CrossStitch(Separate):
    """Separate towers whose hidden activations are linearly mixed after every layer; α starts near the identity."""

    def __init__(self, in_features: int, widths: tuple[int, ...], heads: tuple[int, ...], conv: tuple[int, ...] = (),
                 side: int = 0, keep: float = 0.9):
        super().__init__(in_features, widths, heads, conv, side)
        t = len(heads)
        init = torch.full((t, t), (1 - keep) / max(t - 1, 1)) + torch.eye(t) * (keep - (1 - keep) / max(t - 1, 1))
        self.alphas = nn.ParameterList(nn.Parameter(init.clone()) for _ in self.towers[0].stages)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        xs = [x if self.towers[0].conv else x.flatten(1)] * len(self.towers)
        for depth, alpha in enumerate(self.alphas):
            hs = torch.stack([tower.stages[depth](h) for tower, h in zip(self.towers, xs)])  # (T, B, ...)
            xs = list(torch.tensordot(alpha, hs, dims=1))
        return [head(h) for head, h in zip(self.heads, xs)]

    def shared_parameters(self) -> list[nn.Parameter]:
        return list(self.alphas)


def l2_coupling(model: Separate) -> torch.Tensor:
    """Σ over pairs of towers and their layers of ‖Wᵢ − Wⱼ‖² + ‖bᵢ − bⱼ‖²."""
    total = torch.zeros(())
    for a, b in itertools.combinations(model.towers, 2):
        for pa, pb in zip(a.parameters(), b.parameters()):
            total = total + (pa - pb).pow(2).sum()
    return total


def width_for_budget(budget: int, build, lo: int = 1, hi: int = 4096) -> int:
    """The largest width w with n_params(build(w)) ≤ budget (parameter count grows with w)."""
    if n_params(build(lo)) > budget:
        raise ValueError(f"even width {lo} has more than {budget} parameters")
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if n_params(build(mid)) <= budget else (lo, mid - 1)
    return lo
