"""Resumable training checkpoints: everything needed to continue a run as if it had never stopped.

A resumed run must end with exactly the weights of an uninterrupted one. That needs more than the model:
the optimizer's state (Adam's moments, step counts), the epoch and step counters, the history, each
callback's state (a scheduler's position, early stopping's best value), and every random stream the next
epoch will draw from — torch's global generator (dropout, init), NumPy's and Python's, and the data loader's
own shuffling generator. core.train.fit writes this after each epoch (`checkpoint_dir`) and reads it back with
`resume=True`; tests/core/test_train.py checks the bit-for-bit equality.

The file is written atomically (temp file, fsync, rename) and read with torch.load(weights_only=True): it
holds only tensors, numbers, lists and dicts, never pickled code.
"""
from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
import torch

from modelbook.core.errors import ModelbookError
from modelbook.core.paths import atomic_write_bytes


def save_training_state(path: Path, state, callbacks: list, loader) -> None:
    """Write model, optimizer, counters, history, callbacks' state and every RNG to `path` (atomically)."""
    generator = getattr(loader, "generator", None)
    payload = {
        "model": state.model.state_dict(), "optimizer": state.optimizer.state_dict(),
        "epoch": state.epoch, "step": state.step, "history": state.history,
        "callbacks": [cb.state_dict() for cb in callbacks],
        "rng": {"torch": torch.get_rng_state(), "numpy": _numpy_state(), "python": list(random.getstate()[1]),
                "python_pos": random.getstate()[2], "loader": generator.get_state() if generator is not None else None},
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_training_state(path: Path, state, callbacks: list, loader) -> None:
    """Restore what save_training_state wrote into `state`, the callbacks, the RNGs and the loader's generator."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ModelbookError(f"checkpoint {path} cannot be read ({type(e).__name__}); delete it to start over") from e
    state.model.load_state_dict(payload["model"])
    state.optimizer.load_state_dict(payload["optimizer"])
    state.epoch, state.step, state.history = payload["epoch"], payload["step"], list(payload["history"])
    state.logs = dict(state.history[-1]) if state.history else {}
    if len(payload["callbacks"]) != len(callbacks):
        raise ModelbookError(f"checkpoint {path} was saved with {len(payload['callbacks'])} callbacks, not {len(callbacks)}")
    for cb, d in zip(callbacks, payload["callbacks"]):
        cb.load_state_dict(d)
    rng = payload["rng"]
    torch.set_rng_state(rng["torch"])
    np.random.set_state(("MT19937", np.array(rng["numpy"][0], dtype=np.uint32), *rng["numpy"][1:]))
    random.setstate((3, tuple(rng["python"]), rng["python_pos"]))
    generator = getattr(loader, "generator", None)
    if generator is not None and rng["loader"] is not None:
        generator.set_state(rng["loader"])


def _numpy_state() -> list:
    _, keys, pos, has_gauss, cached = np.random.get_state()
    return [keys.tolist(), int(pos), int(has_gauss), float(cached)]
