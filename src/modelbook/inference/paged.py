"""Paged KV cache (Kwon et al. 2023, vLLM): a fixed pool of blocks of B token slots; each sequence owns a block
table (a list of block ids), so its cache grows a block at a time and nothing is reserved for tokens it may never
generate. A contiguous cache must reserve prompt + max_new_tokens slots up front.

    pool.k: (L, n_blocks, H_kv, B, d)       token at position t of a sequence: block table[t // B], slot t % B
    read:   pool.k[layer, table] -> (n, H_kv, B, d) -> (H_kv, n·B, d)[:, :length]       (vLLM's kernel does this
            gather inside attention; here it is an index_select)

Prefix caching (vLLM's automatic prefix caching): a FULL block is identified by the hash of every token up to its
end, so two requests that share a system prompt share its blocks (a reference count each), and the second one
prefills only what follows. A freed block that holds a cached prefix is kept (evictable, least recently freed
first) until the pool needs the space.
"""
from __future__ import annotations

from collections import OrderedDict

import torch


class OutOfBlocks(RuntimeError):
    pass


class BlockPool:
    def __init__(self, n_blocks: int, block_size: int, n_layers: int, n_kv: int, head_dim: int, prefix_cache: bool = False):
        self.k = torch.zeros(n_layers, n_blocks, n_kv, block_size, head_dim)
        self.v = torch.zeros_like(self.k)
        self.block_size, self.n_blocks = block_size, n_blocks
        self.free = list(range(n_blocks - 1, -1, -1))
        self.refs = [0] * n_blocks
        self.prefix_cache = prefix_cache
        self.by_hash: dict[int, int] = {}         # hash of the tokens up to a full block's end -> block id
        self.hash_of: dict[int, int] = {}
        self.evictable: OrderedDict[int, None] = OrderedDict()  # cached blocks nobody holds, oldest first
        self.peak_used = 0

    @property
    def n_free(self) -> int:
        return len(self.free) + len(self.evictable)

    @property
    def n_used(self) -> int:
        return self.n_blocks - self.n_free

    def allocate(self) -> int:
        if self.free:
            b = self.free.pop()
        elif self.evictable:
            b, _ = self.evictable.popitem(last=False)
            del self.by_hash[self.hash_of.pop(b)]
        else:
            raise OutOfBlocks(f"all {self.n_blocks} KV blocks are in use")
        self.refs[b] = 1
        self.peak_used = max(self.peak_used, self.n_used)
        return b

    def release(self, b: int) -> None:
        self.refs[b] -= 1
        if self.refs[b] == 0:
            if b in self.hash_of:
                self.evictable[b] = None
            else:
                self.free.append(b)

    def lookup(self, tokens: list[int]) -> list[int]:
        """Cached blocks holding the longest run of full blocks of `tokens` (their references taken)."""
        found = []
        if not self.prefix_cache:
            return found
        for end in range(self.block_size, len(tokens) + 1, self.block_size):
            b = self.by_hash.get(hash(tuple(tokens[:end])))
            if b is None:
                break
            if self.refs[b] == 0:
                self.evictable.pop(b, None)
            self.refs[b] += 1
            found.append(b)
        self.peak_used = max(self.peak_used, self.n_used)
        return found

    def register(self, tokens: list[int], table: list[int]) -> None:
        """Publish the full blocks of a sequence whose first len(tokens) positions are written."""
        if not self.prefix_cache:
            return
        for i in range(len(tokens) // self.block_size):
            h = hash(tuple(tokens[:(i + 1) * self.block_size]))
            if h not in self.by_hash and table[i] not in self.hash_of:
                self.by_hash[h], self.hash_of[table[i]] = table[i], h


class PagedCache:
    """One sequence's view of the pool: its block table and length (the interface of ContiguousCache)."""

    def __init__(self, pool: BlockPool, shared: list[int] | None = None):
        self.pool = pool
        self.table = list(shared or [])
        self.length = len(self.table) * pool.block_size

    def prepare(self, t: int) -> None:
        while len(self.table) * self.pool.block_size < self.length + t:
            self.table.append(self.pool.allocate())

    def write_read(self, layer: int, k, v):
        bs, t = self.pool.block_size, k.shape[1]
        pos = torch.arange(self.length, self.length + t)
        blocks = torch.tensor(self.table)[pos // bs]
        self.pool.k[layer, blocks, :, pos % bs] = k.transpose(0, 1)  # (T, H_kv, d) into (T slots)
        self.pool.v[layer, blocks, :, pos % bs] = v.transpose(0, 1)
        idx = torch.tensor(self.table)
        end = self.length + t

        def gather(pool):
            g = pool[layer].index_select(0, idx)  # (n, H_kv, B, d)
            return g.transpose(0, 1).reshape(g.shape[1], -1, g.shape[-1])[:, :end]
        return gather(self.pool.k), gather(self.pool.v)

    def commit(self, t: int) -> None:
        self.length += t

    def free(self) -> None:
        for b in self.table:
            self.pool.release(b)
        self.table = []

    @property
    def reserved_slots(self) -> int:
        return len(self.table) * self.pool.block_size
