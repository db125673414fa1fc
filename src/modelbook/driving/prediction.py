"""Trajectory prediction from logged highway-env traffic: constant velocity, constant acceleration, a learned MLP.

Logging: every car (the ego too, driven by highway-env's own IDM/MOBIL driver) is recorded at the simulator's
rate, 5 Hz (dt = 0.2 s). A sample is one car at one time t: its last HISTORY positions (1 s) and the 4 nearest
cars' positions and velocities relative to it; the target is its next 15 positions (3 s).

    constant velocity      p(t + k·dt) = p(t) + k·dt·v,           v = (p(t) − p(t − dt)) / dt
    constant acceleration  p(t + k·dt) = p(t) + k·dt·v + ½(k·dt)²·a, a = (p(t) − 2p(t − dt) + p(t − 2dt)) / dt²,
                           v = (3p(t) − 4p(t − dt) + p(t − 2dt)) / (2dt)   (both exact for a constant acceleration)
    learned                constant velocity + an MLP's correction, trained on the MSE over the 15 future points
    ADE@h = mean L2 error over the future points up to horizon h;  FDE@h = L2 error at h

Train and test samples come from different episodes (different traffic), never from the same drive.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

DT = 0.2            # seconds per simulator step (highway-fast-v0: 5 Hz)
HISTORY = 5         # past steps seen (1 s)
FUTURE = 15         # future steps predicted (3 s)
NEIGHBOURS = 4
HORIZONS = {"1s": 5, "3s": 15}
LANE_WIDTH = 4.0


@dataclass
class Samples:
    history: np.ndarray     # (n, HISTORY + 1, 2) positions relative to the current one (last row = 0)
    context: np.ndarray     # (n, NEIGHBOURS, 4) nearest cars: dx, dy, dvx, dvy relative to the car
    offset: np.ndarray      # (n,) lateral offset from the nearest lane centre (lanes 4 m apart, centres at y = 0, 4, ...)
    future: np.ndarray      # (n, FUTURE, 2) positions relative to the current one
    track: np.ndarray       # (n,) which (episode, car) the sample belongs to: pairs evaluation by track


def make_samples(tracks: list[np.ndarray], stride: int = 2, track_offset: int = 0) -> Samples:
    """Windows from logged tracks (each (T, n, 2), e.g. sim.drive(...).positions), one every `stride` steps per car."""
    hist, ctx, off, fut, ids = [], [], [], [], []
    for e, pos in enumerate(tracks):
        T, n, _ = pos.shape
        vel = np.diff(pos, axis=0, prepend=pos[:1]) / DT
        for t in range(HISTORY + 1, T - FUTURE, stride):
            for i in range(n):
                here = pos[t, i]
                rel = pos[t] - here
                dist = np.hypot(rel[:, 0], rel[:, 1])
                dist[i] = np.inf
                near = np.argsort(dist)[:NEIGHBOURS]
                hist.append(pos[t - HISTORY:t + 1, i] - here)
                ctx.append(np.column_stack([rel[near], vel[t, near] - vel[t, i]]))
                off.append(here[1] - LANE_WIDTH * np.round(here[1] / LANE_WIDTH))
                fut.append(pos[t + 1:t + 1 + FUTURE, i] - here)
                ids.append(track_offset + e * 1000 + i)
    return Samples(np.array(hist), np.array(ctx), np.array(off), np.array(fut), np.array(ids))


def constant_velocity(history: np.ndarray) -> np.ndarray:
    v = (history[:, -1] - history[:, -2]) / DT
    k = np.arange(1, FUTURE + 1)[None, :, None] * DT
    return history[:, -1:, :] + k * v[:, None, :]


def constant_acceleration(history: np.ndarray) -> np.ndarray:
    v = (3 * history[:, -1] - 4 * history[:, -2] + history[:, -3]) / (2 * DT)
    a = (history[:, -1] - 2 * history[:, -2] + history[:, -3]) / DT ** 2
    k = np.arange(1, FUTURE + 1)[None, :, None] * DT
    return history[:, -1:, :] + k * v[:, None, :] + 0.5 * k ** 2 * a[:, None, :]


def displacement_errors(pred: np.ndarray, truth: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Per sample ADE and FDE over the first `steps` future points: ((n,), (n,))."""
    err = np.linalg.norm(pred[:, :steps] - truth[:, :steps], axis=-1)
    return err.mean(1), err[:, -1]


class Predictor(torch.nn.Module):
    """An MLP on the flattened history and context, predicting the correction to constant velocity."""

    def __init__(self, hidden: int = 128):
        super().__init__()
        n_in = (HISTORY + 1) * 2 + 4 + NEIGHBOURS * 4 + 1
        self.net = torch.nn.Sequential(torch.nn.Linear(n_in, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden),
                                       torch.nn.ReLU(), torch.nn.Linear(hidden, FUTURE * 2))
        torch.nn.init.zeros_(self.net[-1].weight)  # starts as constant velocity
        torch.nn.init.zeros_(self.net[-1].bias)
        self.register_buffer("mean", torch.zeros(n_in))
        self.register_buffer("std", torch.ones(n_in))

    def features(self, s: Samples) -> torch.Tensor:
        """History, its last velocity and acceleration (finite differences: a second difference is ~1 cm, lost
        beside metre-sized positions unless given on its own scale), the neighbours, the lane offset."""
        v = (s.history[:, -1] - s.history[:, -2]) / DT
        a = (s.history[:, -1] - 2 * s.history[:, -2] + s.history[:, -3]) / DT ** 2
        return torch.as_tensor(np.concatenate([s.history.reshape(len(s.history), -1), v, a, s.context.reshape(len(s.context), -1),
                                               s.offset[:, None]], 1),
                               dtype=torch.float32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.mean) / self.std).view(-1, FUTURE, 2)

    @torch.no_grad()
    def predict(self, s: Samples) -> np.ndarray:
        return constant_velocity(s.history) + self(self.features(s)).numpy()


def train_predictor(train: Samples, epochs: int, seed: int, hidden: int = 128, lr: float = 2e-3, batch: int = 64) -> Predictor:
    torch.manual_seed(seed)
    model = Predictor(hidden)
    x = model.features(train)
    model.mean.copy_(x.mean(0))
    model.std.copy_(x.std(0).clamp(min=1e-3))
    y = torch.as_tensor(train.future - constant_velocity(train.history), dtype=torch.float32)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * ((len(x) + batch - 1) // batch))
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=gen).split(batch):
            loss = ((model(x[idx]) - y[idx]) ** 2).sum(-1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    return model


def per_track(values: np.ndarray, track: np.ndarray) -> np.ndarray:
    """Mean of a per-sample quantity within each track (car in an episode): the unit of paired comparison."""
    ids, inv = np.unique(track, return_inverse=True)
    return np.bincount(inv, weights=values) / np.bincount(inv)
