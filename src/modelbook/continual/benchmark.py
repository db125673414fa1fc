"""Split Fashion-MNIST in the task- and class-incremental scenarios (van de Ven & Tolias 2019), five methods.

Five tasks of two classes each, (0, 1), (2, 3), ..., (8, 9), learned one after another by one MLP with ten outputs:
  - task-incremental ('task'): the task is given at test time; loss and prediction use that task's two outputs
    (a multi-headed output layer);
  - class-incremental ('class'): no task label; loss over every class seen so far, prediction an argmax over them.
Methods: fine-tuning (the lower bound), EWC, LwF, experience replay (a reservoir buffer of earlier images) and joint
training on every task so far (the upper bound). Replay-type losses are weighted 1/t for the current task and
1 − 1/t for the replayed or distilled part, as in van de Ven & Tolias, so no mixing weight needs tuning.
The result is the accuracy matrix R[t, i], accuracy on task i after training task t, from which come the
average accuracy, forgetting and backward transfer (Lopez-Paz & Ranzato 2017; Chaudhry et al. 2018).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from modelbook.continual.regularizers import distillation_loss, ewc_penalty, fisher_diagonal
from modelbook.continual.replay import ReservoirBuffer

METHODS = ("finetune", "ewc", "lwf", "replay", "joint")
SCENARIOS = ("task", "class")


@dataclass(frozen=True)
class SplitTasks:
    """Flattened images in [0, 1]: x (N, 784) float32, y (N,) global labels, task (N,) = y // 2, for train and test."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_tasks: int

    @property
    def task_train(self):
        return self.y_train // 2

    @property
    def task_test(self):
        return self.y_test // 2


def split_fashion(rng: np.random.Generator, per_class_train: int, per_class_test: int) -> SplitTasks:
    """A class-balanced subset of Fashion-MNIST (Debian dataset-fashion-mnist) split into five two-class tasks."""
    from modelbook.data.images import fashion_mnist

    data = fashion_mnist()

    def pick(y, k):
        return np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), k, replace=False) for c in range(10)]))

    tr, te = pick(data.y_train, per_class_train), pick(data.y_test, per_class_test)

    def tensors(x, y, idx):
        return torch.from_numpy(x[idx].reshape(len(idx), -1).astype(np.float32) / 255.0), torch.from_numpy(y[idx])

    xtr, ytr = tensors(data.x_train, data.y_train, tr)
    xte, yte = tensors(data.x_test, data.y_test, te)
    return SplitTasks(xtr, ytr, xte, yte, 5)


def mlp(hidden: int, layers: int = 2, n_in: int = 784, n_out: int = 10) -> torch.nn.Sequential:
    mods, d = [], n_in
    for _ in range(layers):
        mods += [torch.nn.Linear(d, hidden), torch.nn.ReLU()]
        d = hidden
    return torch.nn.Sequential(*mods, torch.nn.Linear(d, n_out))


def scenario_logits(logits: torch.Tensor, task: torch.Tensor, scenario: str, n_seen: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits restricted to the scenario's candidates, offset to subtract from the global label).

    task: each example's own two outputs (its task's head); class: the first n_seen outputs (classes seen so far)."""
    if scenario == "task":
        cols = torch.stack([2 * task, 2 * task + 1], 1)
        return logits.gather(1, cols), 2 * task
    return logits[:, :n_seen], torch.zeros_like(task)


def scenario_loss(logits, y, task, scenario, n_seen):
    z, offset = scenario_logits(logits, task, scenario, n_seen)
    return F.cross_entropy(z, y - offset)


@torch.no_grad()
def accuracy_per_task(model, data: SplitTasks, scenario: str, n_seen: int) -> np.ndarray:
    z, offset = scenario_logits(model(data.x_test), data.task_test, scenario, n_seen)
    correct = (z.argmax(1) + offset == data.y_test).float()
    return np.array([correct[data.task_test == i].mean().item() for i in range(data.n_tasks)])


@dataclass(frozen=True)
class TrainConfig:
    hidden: int = 100
    iters: int = 100           # per task
    batch: int = 128
    lr: float = 1e-3
    ewc_lambda: float = 1000.0
    ewc_samples: int = 200
    lwf_temperature: float = 2.0
    buffer: int = 500


def run_method(method: str, scenario: str, data: SplitTasks, cfg: TrainConfig, seed: int) -> np.ndarray:
    """Train one method through the five tasks; returns R (tasks × tasks): accuracy on task i after task t."""
    if method not in METHODS or scenario not in SCENARIOS:
        raise ValueError(f"unknown method/scenario {method!r}/{scenario!r}")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = mlp(cfg.hidden)
    T = data.n_tasks
    R = np.zeros((T, T))
    tasks = data.task_train
    anchors, old_model = [], None
    buffer = ReservoirBuffer(cfg.buffer, np.random.default_rng(seed))
    for t in range(T):
        n_seen = 2 * (t + 1)
        pool = torch.nonzero(tasks <= t if method == "joint" else tasks == t).flatten()
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=True)
        w_cur = 1.0 / (t + 1)
        for _ in range(cfg.iters):
            idx = pool[torch.randint(len(pool), (cfg.batch,), generator=gen)]
            x, y, k = data.x_train[idx], data.y_train[idx], tasks[idx]
            loss = scenario_loss(model(x), y, k, scenario, n_seen)
            if t > 0 and method == "ewc":
                loss = loss + cfg.ewc_lambda * ewc_penalty(model, anchors)
            elif t > 0 and method == "lwf":
                new = model(x)
                with torch.no_grad():
                    old = old_model(x)
                if scenario == "class":
                    distill = distillation_loss(new[:, :2 * t], old[:, :2 * t], cfg.lwf_temperature)
                else:
                    distill = sum(distillation_loss(new[:, 2 * j:2 * j + 2], old[:, 2 * j:2 * j + 2], cfg.lwf_temperature)
                                  for j in range(t)) / t
                loss = w_cur * loss + (1 - w_cur) * distill
            elif t > 0 and method == "replay":
                ridx = torch.from_numpy(buffer.sample(cfg.batch))
                rloss = scenario_loss(model(data.x_train[ridx]), data.y_train[ridx], tasks[ridx], scenario, n_seen)
                loss = w_cur * loss + (1 - w_cur) * rloss
            opt.zero_grad()
            loss.backward()
            opt.step()
        if method == "ewc":
            own = torch.nonzero(tasks == t).flatten()
            sub = own[torch.randperm(len(own), generator=gen)[:cfg.ewc_samples]]
            active = torch.tensor([2 * t, 2 * t + 1]) if scenario == "task" else torch.arange(n_seen)
            fisher = fisher_diagonal(model, data.x_train[sub], active)
            anchors.append((fisher, {k: v.detach().clone() for k, v in model.named_parameters()}))
        elif method == "lwf":
            old_model = copy.deepcopy(model).eval()
        elif method == "replay":
            own = torch.nonzero(tasks == t).flatten().numpy()
            buffer.extend(np.random.default_rng(seed + t).permutation(own))
        R[t] = accuracy_per_task(model, data, scenario, n_seen)
    return R


def average_accuracy(R: np.ndarray) -> float:
    return float(R[-1].mean())


def forgetting(R: np.ndarray) -> float:
    """Mean over the earlier tasks of (best accuracy before the last task − final accuracy) (Chaudhry et al. 2018)."""
    T = len(R)
    return float(np.mean([R[:T - 1, i].max() - R[T - 1, i] for i in range(T - 1)]))


def backward_transfer(R: np.ndarray) -> float:
    """Mean over the earlier tasks of (final accuracy − accuracy just after learning it) (Lopez-Paz & Ranzato 2017)."""
    T = len(R)
    return float(np.mean([R[T - 1, i] - R[i, i] for i in range(T - 1)]))
