"""Text generation: decoding rules and a KV-cache decoding loop from scratch on SmolLM2-135M; TTS (topic 13).

What this lab shows
  1. Our decoding loop, on our own forward pass over SmolLM2's weights (nn/llama.py: RMSNorm, grouped-query
     attention with RoPE and a KV cache, SwiGLU, tied head), gives greedy output token-identical to
     `transformers` `generate` on chat-templated and raw prompts, and so do repetition-penalised greedy
     decoding and seeded top-k / top-p sampling (same seed, same draws). Decoding without the cache gives
     the same tokens.
  2. Beam search with a length penalty equals `transformers`' beam search on SmolLM2 (sequences and scores),
     and equals exhaustive search over every sequence of random tiny models when the beam is wide enough
     never to prune; narrower beams (greedy = width 1) miss the best sequence on a measured share of them.
  3. Top-k and top-p on SmolLM2's real next-token distribution: exactly k tokens kept; the smallest set with
     mass ≥ p kept; survivors renormalised (p_i / Σ kept); equal to transformers' warpers; and draws from
     `sample` follow the processed distribution (total-variation distance over many draws).
  4. Speed: tokens/s with vs without the KV cache (same tokens either way), and vs `transformers.generate`
     (machine-dependent numbers); per-step latency grows with position without the cache and stays flat
     with it (plot).
  5. Text-to-speech with espeak-ng as the classical baseline: the generated answer spoken into a WAV file, its
     measured duration, and the speaking rate following espeak-ng's words-per-minute setting; what neural TTS
     adds is in the notes and in modelbook/speech/tts.py.

Differences from the references
  - transformers' `generate` runs its own LlamaForCausalLM forward (SDPA kernels); ours is written out, so
    logits differ by ~1e-5 relative. Identity of tokens is the claim, and it holds on every prompt tried;
    a near-tie between two tokens could in principle flip one, and the lab would report it.
  - The beam-search reference figure is behavioural (same finished hypotheses and scores as transformers'
    `num_beams` with `early_stopping=False`), not a published number.
  - Tokens/s here is a 2-core CPU shared with other work: read ratios, not absolute numbers.

Building blocks: modelbook/nn/llama.py, modelbook/decoding/ (processors, strategies, conversation),
                 modelbook/speech/tts.py
Cross-checks:    tests/nn/test_llama.py, tests/decoding/test_processors.py, tests/decoding/test_strategies.py,
                 tests/labs/test_generation.py
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch

from modelbook.core import plots, progress
from modelbook.core.paths import atomic_write_text
from modelbook.core.result import LabResult
from modelbook.decoding import GenerationConfig, beam_search, exhaustive_search, generate, processors, render
from modelbook.decoding.strategies import random_tiny_lm, timed_stream_tokens
from modelbook.nn.llama import LlamaLM

HF = "transformers 5.24 generate() on the same SmolLM2-135M-Instruct weights and prompt"
CHAT_PROMPTS = (
    "What is the capital of France?",
    "Explain in two sentences why the sky is blue.",
    "Write a haiku about the sea.",
    "用一句话介绍长城。",
    "List three uses of a KV cache.",
)
RAW_PROMPTS = (
    "Once upon a time, in a small village by the sea,",
    "def fibonacci(n):",
    "The three most important ideas in machine learning are",
)
# seeded sampling settings compared with transformers: a top-k, a top-p, and the two combined
SAMPLING_SETTINGS = ({"temperature": 0.8, "top_k": 40}, {"temperature": 1.0, "top_p": 0.9},
                     {"temperature": 0.7, "top_p": 0.95, "top_k": 50})
BEAM_LENGTH_PENALTY = 1.0  # α = 1: score = log p / length, transformers' default
BEAM_WIDTHS = (1, 2, 4)  # narrow beams measured for search errors on the tiny models (1 = greedy)
TINY_LENGTH_PENALTIES = (0.0, 1.0)  # α alternates over the tiny models: raw log p, then per-token log p
ENTROPY_TEMPERATURES = (0.5, 1.0, 1.5)  # sharper, unchanged, flatter


@dataclass(frozen=True)
class Config:
    RANGES: ClassVar[dict] = {"repetition_penalty": (1.0, None)}
    """bounds tighter than the ones core.config infers from the field names (inclusive)"""
    n_chat_prompts: int = 5
    """chat-templated prompts compared with transformers (greedy)"""
    n_raw_prompts: int = 3
    """raw-text prompts compared with transformers (greedy, repetition penalty, sampling)"""
    max_new_tokens: int = 48
    speed_tokens: int = 128
    """tokens decoded for the speed comparison (no stop token)"""
    beam_width: int = 4
    beam_tokens: int = 20
    n_tiny_models: int = 40
    """random tiny models for beam search vs exhaustive search"""
    tiny_vocab: int = 5
    """tiny vocabulary, stop token included"""
    tiny_length: int = 5
    """longest sequence the exhaustive search enumerates"""
    n_sampling_settings: int = 3
    """sampling settings (temperature, top-k, top-p) compared with transformers under the same seed"""
    n_draws: int = 20000
    """draws used to check that sampling follows the processed distribution"""
    repetition_penalty: float = 1.3
    """CTRL's θ in the penalised-greedy comparison with transformers"""
    truncation_k: int = 20
    """k of top-k in the truncation checks on SmolLM2's next-token distribution"""
    truncation_p: float = 0.9
    """p of top-p in the truncation checks"""
    truncation_temperature: float = 0.8
    """temperature before top-k and top-p in the comparison with transformers' warpers"""
    tts_rates: tuple[int, int] = (120, 240)
    """espeak-ng words-per-minute settings compared"""
    threads: int = 1
    """torch and BLAS threads, pinned by the runner around run(): one is fastest for small models, fixes float sums"""
    seed: int = 0


PRESETS = {
    "quick": Config(n_chat_prompts=1, n_raw_prompts=0, max_new_tokens=8, speed_tokens=8, beam_width=3, beam_tokens=5,
                    n_tiny_models=12, tiny_length=4, n_sampling_settings=1, n_draws=5000),
    "full": Config(),
}


def run(cfg: Config, out: Path) -> LabResult:
    from modelbook.models import load_smollm2

    result = LabResult("generation", cfg)
    with progress.status("loading SmolLM2-135M"):
        hf, tokenizer = load_smollm2()
    ours = LlamaLM.from_hf(hf)
    with torch.no_grad():
        answer = _identity_with_transformers(result, cfg, ours, hf, tokenizer, out)
        _beam_search(result, cfg, ours, hf, tokenizer)
        _tiny_exhaustive(result, cfg)
        _truncation_properties(result, cfg, ours, tokenizer)
        _speed(result, cfg, ours, hf, tokenizer, out)
    _tts(result, cfg, answer, out)
    return result


def _chat_ids(tokenizer, text: str) -> torch.Tensor:
    return torch.tensor([render(tokenizer, [{"role": "user", "content": text}])])


def _raw_ids(tokenizer, text: str) -> torch.Tensor:
    return tokenizer(text, return_tensors="pt")["input_ids"]


def _hf_new_tokens(hf, ids, **kwargs) -> list[int]:
    out = hf.generate(ids, attention_mask=torch.ones_like(ids), pad_token_id=hf.config.eos_token_id, **kwargs)
    return out[0, ids.size(1):].tolist()


# -- 1. identical to transformers --------------------------------------------------------------------
def _identity_with_transformers(result, cfg, ours, hf, tokenizer, out: Path) -> str:
    eos = hf.generation_config.eos_token_id
    stop = (eos,) if isinstance(eos, int) else tuple(eos)
    greedy = GenerationConfig(max_new_tokens=cfg.max_new_tokens, stop_token_ids=stop)
    cases = [("chat", p, _chat_ids(tokenizer, p)) for p in CHAT_PROMPTS[:cfg.n_chat_prompts]]
    cases += [("raw", p, _raw_ids(tokenizer, p)) for p in RAW_PROMPTS[:cfg.n_raw_prompts]]
    same, n_tokens, transcript, answer = 0, 0, [], ""
    for kind, text, ids in progress.track(cases, "greedy vs transformers"):
        mine = generate(ours, ids, greedy, tokenizer)
        ref = _hf_new_tokens(hf, ids, max_new_tokens=cfg.max_new_tokens, do_sample=False)
        same += mine.tokens == ref
        n_tokens += len(ref)
        answer = answer or mine.text
        transcript.append(f"[{kind}] {text}\n  ours : {mine.text!r}\n  match: {mine.tokens == ref}\n")
    n = len(cases)
    result.metric("greedy/prompts", n)
    result.metric("greedy/tokens_compared", n_tokens)
    result.metric("greedy/identical_share", same / n)
    result.check(f"greedy decoding on our SmolLM2 forward = transformers generate, token for token ({n} prompts, "
                 f"{n_tokens} tokens)", same / n, reference=1.0, tolerance=0.0, source=HF, kind="at_least")

    # repetition penalty (greedy) and seeded sampling on a raw prompt: same draws from the same seed
    ids = _raw_ids(tokenizer, RAW_PROMPTS[0])
    theta = cfg.repetition_penalty
    penalised = generate(ours, ids, GenerationConfig(max_new_tokens=cfg.max_new_tokens, repetition_penalty=theta))
    ref = _hf_new_tokens(hf, ids, max_new_tokens=cfg.max_new_tokens, do_sample=False, repetition_penalty=theta)
    result.check(f"greedy with CTRL repetition penalty θ = {theta:g} = transformers generate(repetition_penalty={theta:g})",
                 float(penalised.tokens == ref), reference=1.0, tolerance=0.0, source=HF, kind="at_least")
    sampled_same = 0
    settings = SAMPLING_SETTINGS[:cfg.n_sampling_settings]
    for i, s in enumerate(settings):
        seed = 1000 * cfg.seed + i  # a stream per setting, 1000 apart per lab seed: no two runs share one
        torch.manual_seed(seed)  # transformers draws from torch's global generator: give both the same stream
        mine = generate(ours, ids, GenerationConfig(max_new_tokens=cfg.max_new_tokens, do_sample=True, **s))
        torch.manual_seed(seed)
        ref = _hf_new_tokens(hf, ids, max_new_tokens=cfg.max_new_tokens, do_sample=True, **{"top_k": 0, **s})
        sampled_same += mine.tokens == ref
        transcript.append(f"[sample {s}] {RAW_PROMPTS[0]}{tokenizer.decode(mine.tokens)!r}\n")
    result.metric("sampling/identical_share", sampled_same / len(settings))
    result.check("seeded sampling (temperature + top-k / top-p) = transformers generate with the same seed",
                 sampled_same / len(settings), reference=1.0, tolerance=0.0, source=HF, kind="at_least")
    atomic_write_text(out / "generations.txt", "\n".join(transcript))
    return answer


# -- 2. beam search ----------------------------------------------------------------------------------
def _beam_search(result, cfg, ours, hf, tokenizer) -> None:
    ids = _chat_ids(tokenizer, CHAT_PROMPTS[0])
    eos = hf.config.eos_token_id
    hyps = beam_search(ours, ids, cfg.beam_width, cfg.beam_tokens, (eos,), length_penalty=BEAM_LENGTH_PENALTY)
    ref = hf.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=cfg.beam_tokens, do_sample=False,
                      num_beams=cfg.beam_width, num_return_sequences=cfg.beam_width, length_penalty=BEAM_LENGTH_PENALTY,
                      early_stopping=False, output_scores=True, return_dict_in_generate=True, pad_token_id=eos)
    ref_seqs = [_strip_after_eos(s[ids.size(1):].tolist(), eos) for s in ref.sequences]
    same = [list(h.tokens) for h in hyps] == ref_seqs
    score_diff = max(abs(h.score - float(s)) for h, s in zip(hyps, ref.sequences_scores)) if same else math.inf
    result.metric("beam/smollm2_same_hypotheses", float(same))
    result.metric("beam/smollm2_max_score_diff", score_diff)
    result.check(f"beam search (B = {cfg.beam_width}, length penalty {BEAM_LENGTH_PENALTY:g}) = transformers num_beams: same "
                 f"{cfg.beam_width} hypotheses in order", float(same), reference=1.0, tolerance=0.0,
                 source=HF + ", num_beams, early_stopping=False", kind="at_least")
    result.check("beam scores (log p / length) = transformers sequences_scores, max |diff|", score_diff, reference=0.0, tolerance=1e-4,
                 source=HF + ", num_beams", kind="at_most", note="float32 forward passes on both sides")
    result.note(f"beam search on {CHAT_PROMPTS[0]!r}: " + " | ".join(
        f"{h.score:.3f} {tokenizer.decode(h.tokens, skip_special_tokens=True)!r}" for h in hyps))


def _strip_after_eos(tokens: list[int], eos: int) -> list[int]:
    return tokens[:tokens.index(eos) + 1] if eos in tokens else tokens


def _tiny_exhaustive(result, cfg) -> None:
    eos, widths = (0,), BEAM_WIDTHS
    full = (cfg.tiny_vocab - 1) ** (cfg.tiny_length - 1)  # never prunes: every live prefix fits in the beam
    misses = {w: 0 for w in widths}
    exact_equal = 0
    for i in progress.track(range(cfg.n_tiny_models), "beam vs exhaustive"):
        model = random_tiny_lm(cfg.tiny_vocab, 10_000 * cfg.seed + i)  # an init stream per tiny model, 10,000 apart per lab seed
        prompt = torch.tensor([[1 + i % (cfg.tiny_vocab - 1)]])
        alpha = TINY_LENGTH_PENALTIES[i % len(TINY_LENGTH_PENALTIES)]
        best = exhaustive_search(model, prompt, cfg.tiny_vocab, cfg.tiny_length, eos, alpha, top=1)[0]
        wide = beam_search(model, prompt, full, cfg.tiny_length, eos, alpha)[0]
        exact_equal += wide.tokens == best.tokens and abs(wide.score - best.score) < 1e-9  # float64 sums, same terms
        for w in widths:
            misses[w] += beam_search(model, prompt, w, cfg.tiny_length, eos, alpha)[0].tokens != best.tokens
    n, alphas = cfg.n_tiny_models, ", ".join(f"{a:g}" for a in TINY_LENGTH_PENALTIES)
    result.metric("beam/tiny_models", n)
    result.metric("beam/full_width_equals_exhaustive_share", exact_equal / n)
    for w in widths:
        result.metric(f"beam/search_error_rate_width{w}", misses[w] / n)
    result.check(f"beam search wide enough never to prune (B = {full}) = exhaustive search over all "
                 f"{cfg.tiny_vocab}-token sequences up to length {cfg.tiny_length} (same argmax and score, "
                 f"{n} random tiny models, α ∈ {{{alphas}}})", exact_equal / n, reference=1.0, tolerance=0.0,
                 source="definition: a beam that keeps every prefix is exhaustive search", kind="at_least")
    result.note(f"search errors (best sequence missed) on {n} tiny models: " + ", ".join(
        f"{'greedy' if w == 1 else f'B={w}'} {misses[w] / n:.0%}" for w in widths))


# -- 3. top-k / top-p on a real distribution ----------------------------------------------------------
def _truncation_properties(result, cfg, ours, tokenizer) -> None:
    from transformers import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    ids = _raw_ids(tokenizer, RAW_PROMPTS[0])
    logits = ours(ids)[:, -1].double()  # (1, V)
    probs = logits.softmax(-1)
    k, p, t = cfg.truncation_k, cfg.truncation_p, cfg.truncation_temperature
    kept_k = processors.top_k(logits, k).isfinite()
    z = processors.top_p(logits, p)
    kept_p = z.isfinite()
    mass = float(probs[kept_p].sum())
    smallest_kept = float(probs[kept_p].min())
    renorm_err = float((z.softmax(-1)[kept_p] - probs[kept_p] / probs[kept_p].sum()).abs().max())
    result.metric("top_k/kept", int(kept_k.sum()))
    result.metric("top_p/kept", int(kept_p.sum()))
    result.metric("top_p/kept_mass", mass)
    result.check(f"top-k keeps exactly k = {k} tokens", int(kept_k.sum()), reference=k, tolerance=0, source="Fan et al. 2018 (top-k sampling): definition")
    result.check(f"top-p keeps mass ≥ p = {p}", mass, reference=p, tolerance=0.0, source="Holtzman et al. 2020 (nucleus sampling): definition",
                 kind="at_least")
    result.check("top-p keeps the smallest such set: without its least likely token the mass falls below p",
                 mass - smallest_kept, reference=p, tolerance=0.0, source="Holtzman et al. 2020: the smallest set with mass ≥ p", kind="at_most",
                 note="measured = kept mass minus the smallest kept probability")
    result.check("survivors renormalised: softmax after truncation = p_i / Σ kept p_j (max |diff|)", renorm_err, reference=0.0,
                 tolerance=1e-12, source="definition of renormalisation", kind="at_most")
    scores = logits.clone()
    hf = TopPLogitsWarper(p)(ids, TopKLogitsWarper(k)(ids, TemperatureLogitsWarper(t)(ids, scores)))
    mine = processors.top_p(processors.top_k(processors.temperature(logits, t), k), p)
    diff = float((hf.softmax(-1) - mine.softmax(-1)).abs().max())
    result.metric("processors/max_prob_diff_vs_transformers", diff)
    result.check("temperature → top-k → top-p = transformers' warpers on the same logits (max |Δ prob|)", diff, reference=0.0,
                 tolerance=1e-12, source="transformers 5.24 TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper", kind="at_most")
    gen = torch.Generator().manual_seed(cfg.seed)
    support = mine[0].isfinite().nonzero().squeeze(-1)  # the surviving tokens: sampling never leaves them
    target = mine[0, support].softmax(-1)
    draws = processors.sample(mine[:, support].expand(cfg.n_draws, -1), gen)  # n independent draws
    tv = processors.empirical_total_variation(draws, target)
    support = support.numel()
    # E[TV] for n draws over m outcomes is about sqrt(m / (2π n)); 3x leaves room for sampling noise
    bound = 3 * math.sqrt(support / (2 * math.pi * cfg.n_draws))
    result.metric("sampling/total_variation", tv)
    result.check(f"{cfg.n_draws} draws follow the processed distribution (total variation over {support} tokens)", tv,
                 reference=bound, tolerance=0.0, source="multinomial sampling: E[TV] ≈ √(m / 2πn) for n draws over m outcomes", kind="at_most")
    entropy = {}
    for temp in ENTROPY_TEMPERATURES:
        entropy[temp] = float(processors.entropy(logits, temp))
        result.metric(f"temperature/entropy_nats_T{temp}", entropy[temp])


# -- 4. speed --------------------------------------------------------------------------------------------
def _speed(result, cfg, ours, hf, tokenizer, out: Path) -> None:
    ids = _raw_ids(tokenizer, RAW_PROMPTS[0])
    n = cfg.speed_tokens
    base = GenerationConfig(max_new_tokens=n)
    ours(ids)  # warm-up: first-call allocations
    cached, t_cached = timed_stream_tokens(ours, ids, base)
    uncached, t_uncached = timed_stream_tokens(ours, ids, GenerationConfig(max_new_tokens=n, use_cache=False))
    t0 = time.perf_counter()
    ref = hf.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=n, min_new_tokens=n, do_sample=False,
                      pad_token_id=hf.config.eos_token_id)
    t_hf = time.perf_counter() - t0
    same = cached == uncached == ref[0, ids.size(1):].tolist()
    tps = {"cache": n / sum(t_cached), "no_cache": n / sum(t_uncached), "transformers": n / t_hf}
    for name, v in tps.items():
        result.metric(f"speed/tokens_per_s_{name}", v, "tok/s", volatile=True)
    result.metric("speed/cache_speedup", tps["cache"] / tps["no_cache"], "x", volatile=True)
    result.metric("speed/ours_over_transformers", tps["cache"] / tps["transformers"], "x", volatile=True)
    result.check(f"decoding without the KV cache gives the same {n} tokens as with it, and as transformers",
                 float(same), reference=1.0, tolerance=0.0, source=HF + "; identity: causal attention at step t sees the keys 0..t, cached or not",
                 kind="at_least")
    fig, ax = plots.figure()
    ax.plot(range(1, n + 1), [1e3 * t for t in t_uncached], ".-", label="no KV cache (recompute the prefix)")
    ax.plot(range(1, n + 1), [1e3 * t for t in t_cached], ".-", label="KV cache")
    ax.set(xlabel="generated token", ylabel="step time (ms)", title=f"SmolLM2-135M, prompt {ids.size(1)} tokens (this CPU)")
    ax.legend()
    result.artifact(plots.save(fig, out / "step_time.png"))


# -- 5. text to speech --------------------------------------------------------------------------------
def _tts(result, cfg, text: str, out: Path) -> None:
    from modelbook.speech.tts import phonemes, synthesize

    speech = synthesize(text, out / "answer.wav")
    result.metric("tts/answer_seconds", speech.seconds, "s")
    result.metric("tts/answer_words_per_minute", speech.words_per_minute, "wpm")
    result.metric("tts/sample_rate", speech.sample_rate, "Hz")
    slow, fast = cfg.tts_rates
    sample = ("The capital of France is Paris. It is a large city with many museums, a famous tower, and "
              "a river that runs through its centre.")
    d_slow = synthesize(sample, out / f".rate{slow}.wav", words_per_minute=slow)
    d_fast = synthesize(sample, out / f".rate{fast}.wav", words_per_minute=fast)
    for f in (d_slow.path, d_fast.path):
        f.unlink()
    ratio = d_slow.seconds / d_fast.seconds
    result.metric("tts/duration_ratio_slow_over_fast", ratio, "x")
    result.check(f"speech at {slow} wpm lasts {fast / slow:g}× as long as at {fast} wpm (rate follows -s)", ratio,
                 reference=fast / slow, tolerance=0.15 * fast / slow, source="espeak-ng 1.51 --help: -s 'Speed in approximate words per minute'",
                 relative=False)
    result.note("in the run folder: generations.txt (every prompt and output, match or not), answer.wav (the spoken answer)")
    result.note(f"TTS: espeak-ng spoke the {speech.words}-word answer in {speech.seconds:.2f} s "
                f"({speech.words_per_minute:.0f} wpm at the 175 wpm setting; punctuation pauses count); front end "
                f"(IPA): {phonemes(text)[:120]}. A neural TTS (Tacotron 2 + HiFi-GAN, or a codec language model "
                f"such as VALL-E) adds natural prosody learned from recordings and voice cloning from seconds of "
                f"audio, at the cost of model weights and compute; espeak-ng is rules and formants, robotic but "
                f"intelligible and instant.")
