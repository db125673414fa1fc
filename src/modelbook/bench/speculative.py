"""Speculative decoding vs plain greedy decoding with the same target, SmolLM2-135M-Instruct.

    modelbook bench speculative [--quick]

The target is inference.engine.PackedLlama over SmolLM2-135M-Instruct; plain decoding is engine.greedy (one target
pass per token, KV cache). Speculative decoding is inference.speculative.speculative_generate, greedy (temperature
0), γ drafted tokens verified in one target pass, with the two drafters the building block has:
  - lookup: PromptLookup, the tokens that followed the latest earlier occurrence of the trailing n-gram (n ≤ 3) in
    the prompt and the text so far (Saxena 2023; transformers' prompt_lookup_num_tokens): free to draft;
  - layers: LayerDraft, the target's own first layers with its final norm and head (self-speculative, as an early
    exit in LayerSkip, Elhoushi et al. 2024), its own KV cache rolled back with the target's.
Prompts: ones whose answer copies the prompt (a passage to repeat, a function to edit) and an open-ended one, where
lookup rarely finds a match. Every variant must give exactly the plain tokens (asserted): greedy verification keeps
a draft only where it equals the target's argmax (Leviathan et al. 2023). No end-of-turn stop, so every run
generates exactly n tokens and the work is equal; n over at least three lengths gives the exponent of time in n.
The early-layer draft, slower than plain decoding here, runs at one length only (quick: 4; full: 32).

Times are CPU-seconds of this thread (time.thread_time; everything runs on one torch thread), interleaved (plain,
lookup, layers, plain, ...) within each round, and each round's ratio is the sum over prompts of a drafter's time
over plain's (< 1: a speed-up). Acceptance (drafts kept / drafts proposed) and tokens per target pass are exact for
greedy decoding and do not depend on the machine. The inference lab found SmolLM2's early layers a net loss as a
draft (they were never trained to exit early); the ratio here says by how much on this machine.
"""
from __future__ import annotations

import statistics
import time

from modelbook.bench.harness import Bench

TITLE = "speculative decoding (prompt lookup, early-layer draft) vs plain greedy, SmolLM2-135M"
QUICK = dict(lengths=[4, 8, 16], layer_lengths=[4], prompts=["copy"], repeats=2, gamma=4, draft_layers=8)
FULL = dict(lengths=[16, 32, 64], layer_lengths=[32], prompts=["copy", "edit", "open"], repeats=3, gamma=4,
            draft_layers=8)
THREADS = 1

PROMPTS = {
    "copy": "Repeat the following text word for word, with nothing before or after it: Paged attention keeps the keys "
            "and values of every sequence in small fixed-size blocks, so memory grows only with the tokens a request "
            "has actually produced, and requests of very different lengths share one pool without fragmenting it.",
    "edit": "Rename the variable total to acc in this Python function and show the whole function:\n\n"
            "def mean(values):\n    total = 0.0\n    for v in values:\n        total += v\n"
            "    if not values:\n        return 0.0\n    return total / len(values)\n",
    "open": "Write a short story about a lighthouse keeper who finds a message in a bottle.",
}


def run(quick: bool):
    from modelbook.decoding import render
    from modelbook.inference.engine import PackedLlama, greedy
    from modelbook.inference.speculative import LayerDraft, PromptLookup, speculative_generate
    from modelbook.models.loaders import load_smollm2

    p = QUICK if quick else FULL
    b = Bench("speculative", quick, p)
    model, tok = load_smollm2()
    target = PackedLlama(model)
    gamma = p["gamma"]
    prompts = {k: render(tok, [{"role": "user", "content": PROMPTS[k]}]) for k in p["prompts"]}
    top = max(p["lengths"])
    drafters = {"lookup": PromptLookup(), "layers": LayerDraft(model, p["draft_layers"], 0)}
    variants = ("plain", *drafters)
    lengths = {"plain": p["lengths"], "lookup": p["lengths"], "layers": p["layer_lengths"]}
    at = {v: max(lengths[v]) for v in variants}  # the length each drafter's acceptance and speed-up are quoted at

    def generate(name, ids, n):
        if name == "plain":
            return greedy(target, ids, n), None
        d = drafters[name]
        if name == "layers":
            d.capacity = len(ids) + n + gamma + 2
        s = speculative_generate(target, d, ids, n, gamma)
        return s.tokens, s

    generate("plain", prompts[p["prompts"][0]], 2)  # warm-up
    # cpu[variant][n][kind] = CPU seconds per round
    cpu = {v: {n: {k: [] for k in prompts} for n in lengths[v]} for v in variants}
    stats = {}
    differ = 0
    for _ in range(p["repeats"]):
        for n in p["lengths"]:
            for kind, ids in prompts.items():
                tokens = {}
                for v in (v for v in variants if n in lengths[v]):
                    t0 = time.thread_time()
                    tokens[v], s = generate(v, ids, n)
                    cpu[v][n][kind].append(time.thread_time() - t0)
                    if s is not None:
                        stats[v, n, kind] = s
                differ += sum(tokens[v] != tokens["plain"] for v in tokens)
    rounds = range(p["repeats"])

    def total(v, n):
        return [sum(cpu[v][n][k][r] for k in prompts) for r in rounds]

    for n in p["lengths"]:
        for d in (d for d in drafters if n in lengths[d]):
            b.ratio(f"time {d}/plain", f"n={n}", total(d, n), total("plain", n))
    if len(prompts) > 1:
        for d in drafters:
            for kind in prompts:
                n = at[d]
                b.ratio(f"time {d}/plain ({kind})", f"n={n}", cpu[d][n][kind], cpu["plain"][n][kind])
    for v in variants:
        if len(lengths[v]) >= 3:
            b.exponent(f"time {v} vs n", lengths[v], [statistics.median(total(v, n)) for n in lengths[v]])
    for d in drafters:
        n = at[d]
        for kind in prompts:
            s = stats[d, n, kind]
            b.value(f"{d} acceptance ({kind}) @n={n}", s.acceptance, "", volatile=False)
            b.value(f"{d} tokens per target pass ({kind}) @n={n}", s.tokens_per_call, "tok", volatile=False)
        drafted = sum(stats[d, n, k].drafted for k in prompts)
        b.value(f"{d} acceptance @n={n}", sum(stats[d, n, k].accepted for k in prompts) / max(drafted, 1), "",
                volatile=False)
        b.value(f"{d} tokens per target pass @n={n}", len(prompts) * n / sum(stats[d, n, k].target_calls
                                                                             for k in prompts), "tok", volatile=False)
        b.value(f"speed-up {d} @n={n}", statistics.median(total("plain", n)) / statistics.median(total(d, n)), "x")
        b.value(f"{d} share of its time spent drafting @n={n}", sum(stats[d, n, k].draft_s for k in prompts)
                / sum(stats[d, n, k].seconds for k in prompts), "")
    b.at_most("tokens that differ from plain greedy decoding (every drafter, prompt, length and round)", differ, 0,
              "greedy verification keeps a draft only where it equals the target's argmax (Leviathan et al. 2023, "
              "Fast Inference from Transformers via Speculative Decoding, §2.3)")
    nl = at["layers"]
    lookup_speedup, layers_speedup = b.result.value(f"speed-up lookup @n={top}"), b.result.value(f"speed-up layers @n={nl}")
    verdict = "a net loss here too" if layers_speedup < 1 else "a net gain here, unlike in the lab's run"
    kind_speed = {k: statistics.median(cpu["plain"][top][k]) / statistics.median(cpu["lookup"][top][k]) for k in prompts}
    losses = [k for k, x in kind_speed.items() if x < 1]
    by_kind = "" if len(prompts) == 1 else " (" + ", ".join(f"{k} ×{x:.2f}" for k, x in kind_speed.items()) + (
        f"; a net loss on {', '.join(losses)}: drafts that are rejected still lengthen every target pass" if losses else "") + ")"
    b.note(f"SmolLM2-135M-Instruct, γ = {gamma}, prompts: {', '.join(prompts)}; median of {p['repeats']} interleaved rounds "
           f"of CPU time. At n = {top}: prompt lookup accepts {b.result.value(f'lookup acceptance @n={top}'):.0%} of its "
           f"drafts, {b.result.value(f'lookup tokens per target pass @n={top}'):.2f} tokens per target pass, ×"
           f"{lookup_speedup:.2f} plain's speed{by_kind}; at n = {nl}, the first {p['draft_layers']} layers as a draft accept "
           f"{b.result.value(f'layers acceptance @n={nl}'):.0%}, {b.result.value(f'layers tokens per target pass @n={nl}'):.2f}"
           f" tokens per pass, ×{layers_speedup:.2f}: {verdict} (the inference lab found this draft a net loss: the early "
           f"layers were never trained to exit; each draft token runs {p['draft_layers']} of {target.n_layers} layers and "
           f"the whole tied output head, and drafting took {b.result.value(f'layers share of its time spent drafting @n={nl}'):.0%}"
           " of its time). "
           "A draft pays only when tokens per pass exceed 1 + γ × (draft cost / target cost).")
    return b.result
