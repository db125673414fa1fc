"""Read what a model's inner modules see: the input hidden states and the output of each, from one forward pass."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def capture_io(model: nn.Module, modules: Sequence[nn.Module], *args, **kwargs) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Run model(*args, **kwargs) once without gradients; return, per module in `modules`, (the hidden states it was
    called with, its output) — the first element where a module returns a tuple, as transformers' layers do. The
    hidden states are the `hidden_states` keyword where the caller passes one, else the first positional argument."""
    captured: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def record(i: int):
        def hook(module, hook_args, hook_kwargs, output):
            x = hook_kwargs["hidden_states"] if "hidden_states" in hook_kwargs else hook_args[0]
            captured[i] = (x.detach(), (output[0] if isinstance(output, tuple) else output).detach())
        return hook

    handles = [m.register_forward_hook(record(i), with_kwargs=True) for i, m in enumerate(modules)]
    try:
        with torch.no_grad():
            model(*args, **kwargs)
    finally:
        for h in handles:
            h.remove()
    return [captured[i] for i in range(len(modules))]
