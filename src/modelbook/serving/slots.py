"""One slot per served model name, holding the version that answers requests, with an atomic hot swap.

    slot.get()            -> the current servable (requests take it ONCE and use only that object)
    slot.activate(v)      -> load + verify + build + warm up v, THEN swap the reference; returns (old, new)

The swap is a single reference assignment, atomic in CPython, done only after the new version is fully ready:
  - a request that started before the swap holds the old object and finishes on it (in-flight requests are not
    cut off and never see a half-loaded model);
  - a request that starts after the swap sees the new version, so a client that sends one request after another
    never sees the version go backwards while versions are activated in increasing order;
  - if loading fails (missing, unsigned, altered, wrong shape) nothing is swapped: the old version keeps serving.
Activations are serialised by a lock, so two concurrent activations cannot interleave their load and swap.
"""
from __future__ import annotations

import threading
from typing import Callable

from modelbook.core.errors import ModelbookError
from modelbook.serving.registry import ModelRegistry
from modelbook.serving.servables import build_servable
from modelbook.serving.signing import Verifier


class NotReady(ModelbookError):
    """The slot has no version loaded yet."""


class ModelSlot:
    def __init__(self, name: str, registry: ModelRegistry, verifier: Verifier, on_swap: Callable | None = None):
        self.name, self.registry, self.verifier, self.on_swap = name, registry, verifier, on_swap
        self.current = None
        self._lock = threading.Lock()

    def get(self):
        current = self.current  # one read: the object this request will use from start to end
        if current is None:
            raise NotReady(f"model {self.name} has no version loaded yet")
        return current

    @property
    def version(self) -> int | None:
        current = self.current
        return current.version if current is not None else None

    def activate(self, version: int) -> tuple[int | None, int]:
        """Make `version` the one that answers requests. Raises (and changes nothing) if it cannot be loaded."""
        with self._lock:
            previous = self.current
            if previous is not None and previous.version == version:
                return version, version
            servable = build_servable(self.registry.load(self.name, version, self.verifier))
            self.current = servable  # the swap
            self.registry.set_active(self.name, version)
            if self.on_swap:
                self.on_swap(self.name, servable)
        return (previous.version if previous is not None else None), version
