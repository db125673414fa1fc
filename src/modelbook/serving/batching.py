"""Dynamic batching: concurrent requests that arrive within a few milliseconds share one forward pass.

    batcher = DynamicBatcher(slot, max_batch=32, max_wait_s=0.002)
    version, probs = await batcher.submit(x)      # x: (n, 784) for one request

A background task takes the first waiting request, then keeps taking requests until it holds `max_batch`
rows or `max_wait_s` has passed since the first, stacks them into one (N, 784) tensor, runs the model once in a
worker thread, and hands each request its own rows. One matrix multiply over N rows costs far less than N
multiplies over one row (fixed per-call overhead, better use of the vector units), at the price of up to
`max_wait_s` extra latency for the first request of a batch. The rows of a batch are computed independently,
so each request gets the same numbers as it would alone (tests/serving/test_batching.py).

Every batch takes the model from the slot once, so a hot swap happens between batches, never inside one.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

import anyio
import numpy as np


@dataclass
class _Pending:
    x: np.ndarray
    future: asyncio.Future


class DynamicBatcher:
    def __init__(self, slot, max_batch: int = 32, max_wait_s: float = 0.002, on_batch=None):
        self.slot, self.max_batch, self.max_wait_s, self.on_batch = slot, max_batch, max_wait_s, on_batch
        self._queue: asyncio.Queue[_Pending] | None = None
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def submit(self, x: np.ndarray) -> tuple[int, np.ndarray]:
        """Queue one request's rows; returns (version that computed them, its rows of the output)."""
        future = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(x, future))
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            rows, deadline = len(batch[0].x), loop.time() + self.max_wait_s
            while rows < self.max_batch:
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self._queue.get(), timeout)
                except asyncio.TimeoutError:
                    break
                batch.append(item)
                rows += len(item.x)
            batch = [p for p in batch if not p.future.done()]  # requests that timed out meanwhile
            if batch:
                await self._compute(batch, rows)

    async def _compute(self, batch: list[_Pending], rows: int) -> None:
        try:
            servable = self.slot.get()
            out = await anyio.to_thread.run_sync(servable.predict, np.concatenate([p.x for p in batch]))
        except Exception as e:  # hand the error to every request of the batch
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(e)
            return
        if self.on_batch:
            self.on_batch(rows)
        start = 0
        for p in batch:
            n = len(p.x)
            if not p.future.done():
                p.future.set_result((servable.version, out[start:start + n]))
            start += n
