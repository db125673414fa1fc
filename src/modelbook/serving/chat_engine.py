"""The chat server's engine: one background thread runs modelbook.inference's continuous batcher over SmolLM2
(paged KV cache, prefix cache for the server's system prompt); request threads submit token ids and read their
tokens back from a queue as they are generated.

    worker = EngineWorker(model, max_context=1024, pool_tokens=4096, max_batch=8)
    for token in worker.generate(prompt_ids, max_new_tokens, eos):   # blocks per token; streaming-friendly
        ...

The one-request-at-a-time server (ChatService(engine="serial")) holds a lock around transformers' generate; the
load test (serving/loadtest.chat_load) compares the two.
"""
from __future__ import annotations

import itertools
import queue
import threading
from typing import Iterator

from modelbook.core.errors import ModelbookError


class PromptTooLong(ModelbookError):
    pass


class EngineWorker:
    def __init__(self, model, max_context: int = 1024, pool_tokens: int = 4096, max_batch: int = 8, block_size: int = 16,
                 on_step=None):
        from modelbook.inference.engine import PackedLlama
        from modelbook.inference.scheduler import ContinuousBatcher

        self.max_context = min(max_context, pool_tokens)
        self.batcher = ContinuousBatcher(PackedLlama(model), pool_tokens // block_size, block_size, max_batch, prefix_cache=True)
        self.on_step = on_step
        self._inbox: queue.Queue = queue.Queue()
        self._ids = itertools.count()
        self._thread = threading.Thread(target=self._loop, name="chat-engine", daemon=True)
        self._thread.start()

    def check(self, n_prompt: int, max_new_tokens: int) -> None:
        if n_prompt + max_new_tokens > self.max_context:
            raise PromptTooLong(f"the prompt is {n_prompt} tokens; with max_new_tokens {max_new_tokens} it exceeds the "
                                f"{self.max_context}-token context this server allows")

    def generate(self, prompt: list[int], max_new_tokens: int, eos: int | None) -> Iterator[int]:
        from modelbook.inference.scheduler import Request

        self.check(len(prompt), max_new_tokens)
        out: queue.Queue = queue.Queue()
        self._inbox.put(Request(next(self._ids), list(prompt), max_new_tokens, eos, on_token=lambda rid, tok: out.put(tok)))
        while True:
            tok = out.get()
            if tok is None:
                return
            if isinstance(tok, BaseException):
                raise tok
            yield tok

    def _loop(self) -> None:
        b = self.batcher
        while True:
            block = not (b.running or b.waiting)
            try:
                while True:
                    b.submit(self._inbox.get(block=block))
                    block = False
            except queue.Empty:
                pass
            try:
                n = b.step()
            except Exception as e:  # never leave a client waiting forever: fail every request in flight
                for r in b.running + list(b.waiting):
                    if r.cache is not None:
                        r.cache.free()
                    r.on_token(r.rid, e)
                    r.on_token(r.rid, None)
                b.running, b.waiting, b.promised = [], type(b.waiting)(), 0
                continue
            if self.on_step and n:
                self.on_step(n)
