"""The decoding loop, written out: prefill, then one token at a time with a KV cache.

    cache = empty;  z = model(prompt, cache)[-1]                    prefill: the whole prompt in one pass
    repeat up to max_new_tokens:
        z' = process(z)                                             penalty, temperature, top-k / top-p / min-p
        y  = argmax z'  (greedy)   or   y ~ softmax(z')  (sampling)
        emit y;  stop at a stop token, a stop string, or the end of the context window
        z = model([y], cache)[-1]                                   decode: one new token, attention over the cache

Without a cache, every step runs the model over the whole sequence so far: the same tokens (the lab checks
it) at O(t) times the work per step. Any model with `forward(ids (B, T), cache) -> logits (B, T, V)` and
`new_cache()` works: our LlamaLM (nn/llama.py) on SmolLM2's weights, the library's model (HFCausalLM), or a
tiny random model for exhaustive checks.

Beam search keeps the B best partial sequences by summed log-probability. A sequence ending in a stop token is
finished and scored log p(y) / |y|^α (α = length_penalty; |y| counts the generated tokens, stop token
included); after max_new_tokens the unfinished beams are scored the same way. It stops early only when no
live beam can still beat the B-th finished one: a live beam's sum can only fall, so its best reachable score
is sum / max_new_tokens^α (for α ≥ 0). With a beam wide enough never to prune, the result is the exact argmax
over every sequence, which `exhaustive_search` computes by enumeration (tests and the lab compare them).

Streaming: `TextStream` turns tokens into printable text deltas, holding back a partial UTF-8 character (a
token can be half of a Chinese character) and any tail that could still become a stop string.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Iterator

import torch

from modelbook.decoding import processors


@dataclass(frozen=True)
class GenerationConfig:
    max_new_tokens: int = 64
    do_sample: bool = False
    """False: greedy (argmax); True: sample from the processed distribution"""
    temperature: float = 1.0
    top_k: int = 0
    """0 = off"""
    top_p: float = 1.0
    """1 = off"""
    min_p: float = 0.0
    """0 = off"""
    repetition_penalty: float = 1.0
    """CTRL's θ; 1 = off"""
    stop_token_ids: tuple[int, ...] = ()
    """generation ends after emitting one of these (it is included in the tokens, not in the text)"""
    stop_strings: tuple[str, ...] = ()
    """generation ends when the text contains one of these (the text is cut before it)"""
    use_cache: bool = True


@dataclass
class Generation:
    tokens: list[int]
    """the new tokens, a final stop token included"""
    text: str
    """the new text, without stop tokens or stop strings"""
    stop_reason: str
    """'stop_token', 'stop_string', 'max_new_tokens' or 'context_window'"""
    prompt_tokens: int = 0


# -- one step at a time ------------------------------------------------------------------------------
def next_token(logits: torch.Tensor, sequence: torch.Tensor, cfg: GenerationConfig,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """logits (B, V) for the next position, sequence (B, S) so far -> chosen token ids (B,)."""
    z = processors.process(logits, sequence, penalty=cfg.repetition_penalty,
                           t=cfg.temperature if cfg.do_sample else 1.0,
                           k=cfg.top_k if cfg.do_sample else 0, p=cfg.top_p if cfg.do_sample else 1.0,
                           p_min=cfg.min_p if cfg.do_sample else 0.0)
    return processors.sample(z, generator) if cfg.do_sample else z.argmax(-1)


@torch.no_grad()
def stream_tokens(model, prompt: torch.Tensor, cfg: GenerationConfig, generator: torch.Generator | None = None,
                  cache=None, stop_reason: list | None = None) -> Iterator[int]:
    """Yield new token ids one by one for prompt (1, T). Stops after a stop token (yielded), at
    max_new_tokens or at the model's context window. Stop strings are the caller's job (see `generate`).

    cache: an existing cache that already holds a prefix of `prompt` (its length says how much): only the
    rest of the prompt is prefilled. That is how a chat reuses the previous turns' keys and values.
    stop_reason: if given, the reason is appended to it when the loop ends."""
    if prompt.dim() != 2 or prompt.size(0) != 1:
        raise ValueError(f"prompt must have shape (1, T), got {tuple(prompt.shape)}")
    window = getattr(model, "max_positions", None) or 1 << 30
    if prompt.size(1) >= window:
        raise ValueError(f"prompt of {prompt.size(1)} tokens does not fit the {window}-token context window")
    sequence = prompt
    if cfg.use_cache:
        cache = model.new_cache() if cache is None else cache
        done = cache_length(cache)
        logits = model(prompt[:, done:], cache)[:, -1]  # prefill what the cache does not hold yet
    else:
        logits = model(prompt)[:, -1]
    reason = "max_new_tokens"
    for _ in range(cfg.max_new_tokens):
        token = next_token(logits, sequence, cfg, generator)  # (1,)
        yield int(token)
        if int(token) in cfg.stop_token_ids:
            reason = "stop_token"
            break
        sequence = torch.cat([sequence, token[:, None]], dim=1)
        if sequence.size(1) >= window:
            reason = "context_window"
            break
        logits = (model(token[:, None], cache) if cfg.use_cache else model(sequence))[:, -1]
    if stop_reason is not None:
        stop_reason.append(reason)


def timed_stream_tokens(model, prompt: torch.Tensor, cfg: GenerationConfig,
                        generator: torch.Generator | None = None) -> tuple[list[int], list[float]]:
    """Run `stream_tokens` to the end and time it: the new tokens, and the wall-clock seconds each one took
    (the first includes the prefill). Their sum is the decoding time; n / sum is tokens per second."""
    tokens, times, t0 = [], [], time.perf_counter()
    for token in stream_tokens(model, prompt, cfg, generator):
        now = time.perf_counter()
        tokens.append(token)
        times.append(now - t0)
        t0 = now
    return tokens, times


def generate(model, prompt: torch.Tensor, cfg: GenerationConfig, tokenizer=None,
             generator: torch.Generator | None = None, on_text=None, cache=None) -> Generation:
    """Run `stream_tokens` to the end; with a tokenizer, decode the text, honour stop strings and call
    on_text(delta) with each printable piece as it is produced (streaming)."""
    if cfg.stop_strings and tokenizer is None:
        raise ValueError("stop strings need a tokenizer")
    stream = TextStream(tokenizer, cfg.stop_strings, cfg.stop_token_ids) if tokenizer is not None else None
    tokens, reasons = [], []
    for token in stream_tokens(model, prompt, cfg, generator, cache, reasons):
        tokens.append(token)
        if stream is not None:
            delta = stream.push(token)
            if delta and on_text:
                on_text(delta)
            if stream.stopped:
                reasons.append("stop_string")
                break
    text = ""
    if stream is not None:
        tail = stream.finish()
        if tail and on_text:
            on_text(tail)
        text = stream.text
    return Generation(tokens, text, reasons[-1] if reasons else "max_new_tokens", prompt.size(1))


class TextStream:
    """Tokens in, printable text out, as soon as it is safe to print.

    Decoding token by token is wrong for byte-level BPE: a Chinese character can span two tokens, and each
    alone decodes to U+FFFD. So the text is always decoded from all tokens so far, and what is new is printed,
    except a trailing U+FFFD (an incomplete character) and a tail that is the start of a stop string."""

    def __init__(self, tokenizer, stop_strings: tuple[str, ...] = (), skip_ids: tuple[int, ...] = ()):
        self.tokenizer, self.stop_strings, self.skip = tokenizer, tuple(s for s in stop_strings if s), set(skip_ids)
        self.tokens: list[int] = []
        self.emitted = 0  # characters already handed out
        self.stopped = False
        self.text = ""

    def push(self, token: int) -> str:
        if self.stopped:
            return ""
        if token not in self.skip:
            self.tokens.append(token)
        text = self.tokenizer.decode(self.tokens, skip_special_tokens=False)
        for s in self.stop_strings:
            at = text.find(s)
            if at >= 0:
                self.stopped, text = True, text[:at]
        self.text = text
        safe = len(text) if self.stopped else self._safe_length(text)
        delta, self.emitted = text[self.emitted:safe], max(self.emitted, safe)
        return delta

    def finish(self) -> str:
        """Whatever was held back, at the end of generation."""
        delta, self.emitted = self.text[self.emitted:], len(self.text)
        return delta

    def _safe_length(self, text: str) -> int:
        n = len(text)
        while n > self.emitted and text[n - 1] == "\ufffd":
            n -= 1
        hold = 0
        for s in self.stop_strings:  # longest suffix of text that is a proper prefix of a stop string
            for j in range(min(len(s) - 1, n), 0, -1):
                if text[n - j:n] == s[:j]:
                    hold = max(hold, j)
                    break
        return max(self.emitted, n - hold)


# -- caches ------------------------------------------------------------------------------------------
def cache_length(cache) -> int:
    if cache is None:
        return 0
    if hasattr(cache, "get_seq_length"):  # transformers' DynamicCache
        return int(cache.get_seq_length())
    return cache.length(0)


def crop_cache(cache, n: int) -> None:
    """Keep the first n positions of every layer (to reuse a shared prefix)."""
    if hasattr(cache, "crop"):
        cache.crop(n)
        return
    for layer in list(cache.k):
        cache.k[layer], cache.v[layer] = cache.k[layer][..., :n, :], cache.v[layer][..., :n, :]


def reorder_cache(cache, index: torch.Tensor) -> None:
    """Row i of the batch becomes old row index[i] (beams that survive, possibly duplicated)."""
    if hasattr(cache, "reorder_cache"):
        cache.reorder_cache(index)
        return
    for layer in list(cache.k):
        cache.k[layer], cache.v[layer] = cache.k[layer][index], cache.v[layer][index]


# -- beam search and its exhaustive reference ----------------------------------------------------------
@dataclass(order=True)
class Hypothesis:
    score: float
    """log p / length^α"""
    logprob: float = field(compare=False)
    tokens: tuple[int, ...] = field(compare=False)


@torch.no_grad()
def beam_search(model, prompt: torch.Tensor, n_beams: int, max_new_tokens: int, eos_ids: tuple[int, ...] = (),
                length_penalty: float = 1.0) -> list[Hypothesis]:
    """The n_beams best finished hypotheses, best first. prompt (1, T)."""
    if n_beams < 1 or max_new_tokens < 1:
        raise ValueError("n_beams and max_new_tokens must be ≥ 1")
    cache = model.new_cache()
    logits = model(prompt, cache)[:, -1]  # (1, V); the cache grows to n_beams rows at the first reorder
    alive_tokens: list[tuple[int, ...]] = [()]
    alive_logp = torch.zeros(1, dtype=torch.float64)
    finished: list[Hypothesis] = []
    eos = set(eos_ids)

    def normalised(logp: float, length: int) -> float:
        return logp / length ** length_penalty

    for step in range(1, max_new_tokens + 1):
        logp = alive_logp[:, None] + logits.double().log_softmax(-1)  # (n_alive, V)
        n_cand = min(2 * n_beams, logp.numel())  # 2B candidates: enough to refill B beams after B stop tokens
        values, flat = logp.flatten().topk(n_cand)
        rows, tokens = flat // logp.size(1), flat % logp.size(1)
        keep_rows, keep_tokens, keep_logp = [], [], []
        for rank, (value, row, token) in enumerate(zip(values.tolist(), rows.tolist(), tokens.tolist())):
            seq = alive_tokens[row] + (token,)
            if token in eos:
                if rank < n_beams:  # a stop token below the top B is not a serious candidate (transformers' rule)
                    finished.append(Hypothesis(normalised(value, step), value, seq))
            elif len(keep_rows) < n_beams:
                keep_rows.append(row)
                keep_tokens.append(token)
                keep_logp.append(value)
        finished = sorted(finished, reverse=True)[:n_beams]
        if not keep_rows:
            break
        if step == max_new_tokens:  # out of budget: the live beams end here, unfinished
            finished.extend(Hypothesis(normalised(v, step), v, alive_tokens[r] + (t,))
                            for r, t, v in zip(keep_rows, keep_tokens, keep_logp))
            break
        best_reachable = normalised(max(keep_logp), max_new_tokens if length_penalty > 0 else step)
        if len(finished) == n_beams and best_reachable < finished[-1].score:
            break  # no live beam can enter the top B any more
        alive_tokens = [alive_tokens[r] + (t,) for r, t in zip(keep_rows, keep_tokens)]
        alive_logp = torch.tensor(keep_logp, dtype=torch.float64)
        reorder_cache(cache, torch.tensor(keep_rows))
        logits = model(torch.tensor(keep_tokens)[:, None], cache)[:, -1]
    return sorted(finished, reverse=True)[:n_beams]


def random_tiny_lm(vocab_size: int, seed: int):
    """A random one-layer LlamaLM (float64, eval mode) over a tiny vocabulary, small enough for
    `exhaustive_search`. Seeds torch's global generator with `seed` and draws the weights from it; embeddings
    with std 1.5 (larger than the default init) give peaked, varied next-token distributions."""
    from modelbook.nn.llama import LlamaLM  # here, not at the top: the decoding loop itself imports only torch

    torch.manual_seed(seed)
    model = LlamaLM(vocab_size, d=16, n_layers=1, n_heads=2, n_kv_heads=1, head_dim=8, d_ff=32).double().eval()
    with torch.no_grad():
        model.embed_tokens.weight.normal_(0, 1.5)
    return model


@torch.no_grad()
def exhaustive_search(model, prompt: torch.Tensor, vocab_size: int, max_new_tokens: int, eos_ids: tuple[int, ...] = (),
                      length_penalty: float = 1.0, top: int = 1) -> list[Hypothesis]:
    """Score every sequence a decoder could produce (ending at a stop token, or cut at max_new_tokens) and
    return the `top` best. V^N sequences: only for tiny vocabularies."""
    eos = set(eos_ids)
    body = [t for t in range(vocab_size) if t not in eos]
    candidates: list[tuple[int, ...]] = []
    for n in range(1, max_new_tokens + 1):
        for prefix in itertools.product(body, repeat=n - 1):
            candidates += [prefix + (e,) for e in sorted(eos)]
        if n == max_new_tokens:
            candidates += [prefix + (t,) for prefix in itertools.product(body, repeat=n - 1) for t in body]
    hyps = []
    by_length: dict[int, list[tuple[int, ...]]] = {}
    for c in candidates:
        by_length.setdefault(len(c), []).append(c)
    for n, seqs in by_length.items():
        ids = torch.cat([prompt.expand(len(seqs), -1), torch.tensor(seqs)], dim=1)  # (N, T + n)
        logp = model(ids).double().log_softmax(-1)[:, prompt.size(1) - 1:-1]  # (N, n, V): predicts each new token
        total = logp.gather(-1, ids[:, prompt.size(1):, None]).squeeze(-1).sum(-1)
        hyps += [Hypothesis(float(s) / n ** length_penalty, float(s), seq) for s, seq in zip(total, seqs)]
    return sorted(hyps, reverse=True)[:top]
