"""Continuous batching (Yu et al. 2022, Orca; Kwon et al. 2023, vLLM) against static batching, greedy decoding.

Continuous: every step, retire the sequences that finished and admit waiting requests while a batch slot and
enough free KV blocks (for the prompt and its max_new_tokens) are there; then ONE packed forward pass runs the
new requests' prompts (prefill) together with one token of every running sequence (decode).
Static: take `max_batch` requests, reserve a contiguous max-length cache for each, and step them together until
the LAST one finishes: finished rows keep being computed (their output is thrown away) and nobody new gets in.

Both use the same forward pass (engine.PackedLlama) and greedy argmax, so their outputs must be those of each
request decoded alone; only the schedule differs.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from modelbook.inference.engine import ContiguousCache, PackedLlama
from modelbook.inference.paged import BlockPool, PagedCache


@dataclass
class Request:
    rid: int
    prompt: list[int]
    max_new_tokens: int
    eos: int | None = None
    on_token: Callable[[int, int | None], None] | None = None  # (rid, token); token None = finished
    output: list[int] = field(default_factory=list)
    cache: PagedCache | None = None
    prefilled: int = 0  # prompt tokens this request took from the prefix cache instead of computing

    def done(self) -> bool:
        return bool(self.output) and (self.output[-1] == self.eos or len(self.output) >= self.max_new_tokens)


@dataclass
class RunStats:
    steps: int = 0
    generated: int = 0
    computed_slots: int = 0      # token positions run through the model (padding and finished rows included)
    prefill_tokens: int = 0      # prompt tokens actually computed
    prefix_hits: int = 0         # prompt tokens taken from the prefix cache
    peak_reserved_slots: int = 0  # KV slots reserved at the worst moment
    peak_used_slots: int = 0     # KV slots holding a token of an unfinished request, at its peak
    cpu_s: float = 0.0
    outputs: dict[int, list[int]] = field(default_factory=dict)

    @property
    def tokens_per_cpu_s(self) -> float:
        return self.generated / self.cpu_s


def _blocks(n_tokens: int, block: int) -> int:
    return -(-n_tokens // block)


class ContinuousBatcher:
    """The engine's scheduler. `step()` does one iteration; `run(requests)` drives a fixed workload to the end.
    A server thread calls submit() and step() (see serving/chat_engine.py)."""

    def __init__(self, engine: PackedLlama, n_blocks: int, block_size: int = 16, max_batch: int = 8,
                 prefix_cache: bool = False):
        self.engine = engine
        self.pool = BlockPool(n_blocks, block_size, engine.n_layers, engine.n_kv, engine.head_dim, prefix_cache)
        self.max_batch = max_batch
        self.waiting: deque[Request] = deque()
        self.running: list[Request] = []
        self.promised = 0  # blocks admitted requests may still claim
        self.stats = RunStats()

    def capacity_tokens(self) -> int:
        return self.pool.n_blocks * self.pool.block_size

    def submit(self, req: Request) -> None:
        need = _blocks(len(req.prompt) + req.max_new_tokens, self.pool.block_size)
        if need > self.pool.n_blocks:
            raise ValueError(f"prompt ({len(req.prompt)} tokens) + max_new_tokens ({req.max_new_tokens}) exceeds the KV "
                             f"pool ({self.capacity_tokens()} tokens)")
        self.waiting.append(req)

    def _admit(self) -> list[Request]:
        admitted = []
        bs = self.pool.block_size
        while self.waiting and len(self.running) < self.max_batch:
            req = self.waiting[0]
            need = _blocks(len(req.prompt) + req.max_new_tokens, bs)
            shared = self.pool.lookup(req.prompt[:-1])  # at least one prompt token is computed: its logits start decoding
            if need - len(shared) > self.pool.n_free - self.promised:
                for b in shared:
                    self.pool.release(b)
                break
            self.waiting.popleft()
            req.cache = PagedCache(self.pool, shared)
            req.prefilled = req.cache.length
            self.promised += need - len(shared)
            self.running.append(req)
            admitted.append(req)
        return admitted

    def step(self) -> int:
        """Admit, run one packed forward pass, emit one token per running sequence, retire. Returns tokens emitted."""
        admitted = {id(r) for r in self._admit()}
        if not self.running:
            return 0
        chunks = [r.prompt[r.cache.length:] if id(r) in admitted else [r.output[-1]] for r in self.running]
        before = [len(r.cache.table) for r in self.running]
        logits = self.engine.forward(chunks, [r.cache for r in self.running])
        s = self.stats
        s.steps += 1
        s.computed_slots += sum(len(c) for c in chunks)
        for r, c in zip(self.running, chunks):
            if id(r) in admitted:
                s.prefill_tokens += len(c)
                s.prefix_hits += r.prefilled
                self.pool.register(r.prompt, r.cache.table)
        self.promised -= sum(len(r.cache.table) - b for r, b in zip(self.running, before))
        s.peak_reserved_slots = max(s.peak_reserved_slots, sum(r.cache.reserved_slots for r in self.running))
        s.peak_used_slots = max(s.peak_used_slots, sum(r.cache.length for r in self.running))
        still = []
        for r, z in zip(self.running, logits):
            y = int(z.argmax())
            r.output.append(y)
            s.generated += 1
            if r.on_token:
                r.on_token(r.rid, y)
            if r.done():
                self.promised -= _blocks(len(r.prompt) + r.max_new_tokens, self.pool.block_size) - len(r.cache.table)
                r.cache.free()
                s.outputs[r.rid] = r.output
                if r.on_token:
                    r.on_token(r.rid, None)
            else:
                still.append(r)
        self.running = still
        return len(logits)

    def run(self, requests: list[Request]) -> RunStats:
        for r in requests:
            self.submit(r)
        t0 = time.thread_time()
        while self.waiting or self.running:
            self.step()
        self.stats.cpu_s = time.thread_time() - t0
        return self.stats


def static_batching(engine: PackedLlama, requests: list[Request], max_batch: int) -> RunStats:
    """Groups of max_batch requests in arrival order, each row a contiguous cache of the group's longest prompt +
    max_new_tokens, stepped until the group's last request finishes."""
    s = RunStats()
    t0 = time.thread_time()
    for g in range(0, len(requests), max_batch):
        group = requests[g:g + max_batch]
        cap = max(len(r.prompt) for r in group) + max(r.max_new_tokens for r in group)
        caches = [ContiguousCache(engine.n_layers, engine.n_kv, engine.head_dim, cap) for _ in group]
        s.peak_reserved_slots = max(s.peak_reserved_slots, cap * len(group))
        logits = engine.forward([r.prompt for r in group], caches)
        s.prefill_tokens += sum(len(r.prompt) for r in group)
        s.computed_slots += sum(len(r.prompt) for r in group)
        s.steps += 1
        out: dict[int, list[int]] = {r.rid: [] for r in group}
        while True:
            live = False
            for r, z in zip(group, logits):
                o = out[r.rid]
                if not (o and (o[-1] == r.eos or len(o) >= r.max_new_tokens)):
                    o.append(int(z.argmax()))
                    s.generated += 1
                    live = live or not (o[-1] == r.eos or len(o) >= r.max_new_tokens)
            live_tokens = sum(len(r.prompt) + len(out[r.rid]) for r in group
                              if not (out[r.rid][-1] == r.eos or len(out[r.rid]) >= r.max_new_tokens))
            s.peak_used_slots = max(s.peak_used_slots, live_tokens)  # finished rows' slots are waste from then on
            if not live:
                break
            # every row steps, finished ones on a dummy token: the batch is a rectangle until its longest row ends
            logits = engine.forward([[out[r.rid][-1]] for r in group], caches)
            s.computed_slots += len(group)
            s.steps += 1
        s.outputs.update(out)
    s.cpu_s = time.thread_time() - t0
    return s
