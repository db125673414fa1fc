"""Continuous batching over a paged KV cache vs static batching with contiguous max-length caches, SmolLM2-135M.

    modelbook bench batching [--quick]

One workload of chat requests with mixed prompt lengths (questions of 3 to ~40 words, some with a system prompt)
and mixed output budgets (max_new_tokens drawn from a set; a request also stops at <|im_end|>), greedy. The quick
form serves up to 4 short bare-text questions (no chat template), batch 2, at most 8 new tokens each. The first
N requests of it are served, for N over at least three sizes, by:
  - continuous: inference.scheduler.ContinuousBatcher, the inference lab's engine (admit a request whenever a batch
    slot and KV blocks for its prompt + max_new_tokens are free, retire finished ones every step, one packed
    forward pass per step; KV cache in blocks of 16 slots (4 in the quick form), handed out as a sequence grows);
  - static: inference.scheduler.static_batching (groups of max_batch requests in arrival order, each row a
    contiguous cache of the group's longest prompt + largest max_new_tokens, stepped until the group's last request
    finishes, finished rows still computed).
Both use the same forward pass (inference.engine.PackedLlama) and the same batch size, so only the schedule
differs, and every request's tokens must be the same under both (asserted; the full form also decodes each request
alone with engine.greedy and requires the same tokens).

Times are CPU-seconds of this thread (time.thread_time: both schedules are single-threaded, and on a shared machine
CPU time is steadier than wall time), interleaved (continuous, static, continuous, ...), one paired ratio per round:
continuous / static (< 1: continuous is faster at the same work, since both emit the same tokens). KV memory is
deterministic for a workload: the peak KV slots reserved by each schedule, and the share of them that never held a
live token (static: padding to the group's longest request and rows kept after they finish; paged: only the last
block of each sequence is partly empty). The paged pool here is sized so that it never limits admission; its
reserved slots are the blocks handed to sequences, as vLLM counts them. Exponent: CPU time against N.
"""
from __future__ import annotations

import random
import statistics
import time

from modelbook.bench.harness import Bench

TITLE = "continuous batching + paged KV (ours) vs static batching, SmolLM2-135M: throughput, KV memory"
QUICK = dict(sizes=[1, 2, 4], max_batch=2, max_new=[1, 2, 4, 8], words=(3, 12), repeats=2, block_size=4, chat=False,
             alone=False)
FULL = dict(sizes=[4, 8, 16], max_batch=8, max_new=[4, 8, 16, 32], words=(3, 40), repeats=3, block_size=16, chat=True,
            alone=True)
THREADS = 1

SYSTEM = "You answer questions for readers of a machine-learning handbook. Keep answers short and correct."
TOPICS = ("the KV cache", "paged attention", "batching", "a tokenizer", "greedy decoding", "beam search", "RoPE",
          "grouped-query attention", "the softmax", "quantization", "a transformer layer", "speculative decoding")
FILLER = ("please explain it to someone who knows basic linear algebra but has never trained a language model and "
          "wants to know why it matters for serving many users on one small machine without a graphics card").split()


def workload(tok, n: int, max_new: list[int], words: tuple[int, int], chat: bool = True,
             seed: int = 0) -> list[tuple[list[int], int]]:
    """n (prompt ids, max_new_tokens): a question about a topic padded with 0..k filler words, max_new_tokens drawn
    from `max_new`. chat: in the chat template, with our system prompt on every other request (the template's
    default one on the rest); else the bare question (the quick form: prefill is most of a short run's cost)."""
    from modelbook.decoding import render

    rng = random.Random(seed)
    out = []
    for i in range(n):
        extra = rng.randint(0, words[1] - words[0])
        question = f"What is {rng.choice(TOPICS)}? " + " ".join(FILLER[:extra])
        messages = ([{"role": "system", "content": SYSTEM}] if i % 2 == 0 else []) + [{"role": "user", "content": question}]
        ids = render(tok, messages) if chat else tok(f"Q: {question}\nA:")["input_ids"]
        out.append((ids, rng.choice(max_new)))
    return out


def run(quick: bool):
    from modelbook.inference.engine import PackedLlama, greedy
    from modelbook.inference.scheduler import ContinuousBatcher, Request, static_batching
    from modelbook.models.loaders import load_smollm2

    p = QUICK if quick else FULL
    b = Bench("batching", quick, p)
    model, tok = load_smollm2()
    eos = tok.convert_tokens_to_ids("<|im_end|>")
    engine = PackedLlama(model)
    work = workload(tok, max(p["sizes"]), p["max_new"], p["words"], p["chat"])
    bs, mb = p["block_size"], p["max_batch"]

    def requests(n):
        return [Request(i, ids, m, eos) for i, (ids, m) in enumerate(work[:n])]

    def continuous(n):
        pool = sum(-(-(len(ids) + m) // bs) for ids, m in work[:n])  # enough blocks that the pool never limits
        return ContinuousBatcher(engine, pool, bs, mb).run(requests(n))

    def static(n):
        return static_batching(engine, requests(n), mb)

    schedules = {"continuous": continuous, "static": static}
    continuous(min(p["sizes"]))  # warm-up: first calls allocate and fault in the weights
    mismatched, med = 0, {k: [] for k in schedules}
    last = {}
    for n in p["sizes"]:
        cpu = {k: [] for k in schedules}
        for _ in range(p["repeats"]):
            for name, fn in schedules.items():
                t0 = time.thread_time()
                last[name] = fn(n)
                cpu[name].append(time.thread_time() - t0)
        c, s = last["continuous"], last["static"]
        mismatched += sum(c.outputs[i] != s.outputs[i] for i in range(n))
        b.ratio("time continuous/static", f"N={n}", cpu["continuous"], cpu["static"])
        for name in schedules:
            med[name].append(statistics.median(cpu[name]))
        tokens = c.generated
        b.value(f"tokens generated @N={n}", tokens, "tok", volatile=False)
        b.value(f"throughput continuous @N={n}", tokens / med["continuous"][-1], "tok/s")
        b.value(f"throughput static @N={n}", tokens / med["static"][-1], "tok/s")
        b.value(f"throughput continuous/static @N={n}", med["static"][-1] / med["continuous"][-1], "x")
        b.value(f"KV slots reserved static/continuous @N={n}", s.peak_reserved_slots / c.peak_reserved_slots, "x",
                volatile=False)
        b.value(f"KV waste static @N={n}", 1 - s.peak_used_slots / s.peak_reserved_slots, "", volatile=False)
        b.value(f"KV waste continuous @N={n}", 1 - c.peak_used_slots / c.peak_reserved_slots, "", volatile=False)
        b.value(f"computed slots static/continuous @N={n}", s.computed_slots / c.computed_slots, "x", volatile=False)
    for name in schedules:
        b.exponent(f"time {name} vs requests", p["sizes"], med[name])
    top = max(p["sizes"])
    b.at_most("requests whose greedy tokens differ, continuous vs static (every size)", mismatched, 0,
              "the same forward pass and argmax under both schedules: only the order of work differs "
              "(Yu et al. 2022, Orca; Kwon et al. 2023, vLLM)")
    if p["alone"]:
        alone = [greedy(engine, ids, m, eos) for ids, m in work]
        differ = sum(last["continuous"].outputs[i] != alone[i] for i in range(top))
        b.at_most(f"requests whose tokens differ from the request decoded alone (engine.greedy), N={top}", differ, 0,
                  "greedy decoding of each request by itself, same weights")
    waste_s, waste_c = b.result.value(f"KV waste static @N={top}"), b.result.value(f"KV waste continuous @N={top}")
    b.at_most(f"paged KV waste at N={top} (share of reserved slots never holding a live token)", waste_c, waste_s,
              "static batching's contiguous max-length caches on the same workload (Kwon et al. 2023, vLLM §3: "
              "reservation and internal fragmentation)")
    lengths = sorted(len(ids) for ids, _ in work)
    b.note(f"SmolLM2-135M-Instruct, greedy, batch {mb}, KV blocks of {bs} slots; {top} requests with prompts of "
           f"{lengths[0]}-{lengths[-1]} tokens and max_new_tokens in {p['max_new']} (stopping early at <|im_end|>); "
           f"median of {p['repeats']} interleaved rounds of CPU time. At N={top}: continuous batching ×"
           f"{b.result.value(f'throughput continuous/static @N={top}'):.2f} static's tokens per CPU-second; static "
           f"reserved ×{b.result.value(f'KV slots reserved static/continuous @N={top}'):.2f} the KV slots "
           f"({waste_s:.0%} never live, paged {waste_c:.0%}) and ran ×"
           f"{b.result.value(f'computed slots static/continuous @N={top}'):.2f} the token positions through the model.")
    return b.result
