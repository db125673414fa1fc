"""Multi-turn chat on an instruction-tuned model: the chat template, the context budget, and cache reuse.

The model is stateless. Each turn the application renders the whole conversation with the model's chat
template (SmolLM2: ChatML, `<|im_start|>role\\n…<|im_end|>\\n`, generation starting after
`<|im_start|>assistant\\n`; the template adds a default system message when none is given) and the model
continues it until its end-of-turn token `<|im_end|>`, which must be a stop token or it writes the user's
next line too.

The context window is a budget:  tokens(system + history + new message) + max_new_tokens ≤ window.
When it is exceeded, `fit_to_window` drops the oldest whole turns (user + assistant pairs), never the system
message or the new message; if the new message alone is still too long, it keeps its last tokens (the end
of a long paste usually holds the question) and says so. Nothing is dropped silently: the caller gets notices.

Cache reuse across turns: the keys and values of the previous turns' tokens do not change, so when the new
prompt starts with the tokens already in the cache, only the new tokens are prefilled. The shared prefix is
found token by token (re-tokenised replies can differ from the generated ids), the cache is cropped to it,
and after a truncation (the start of the prompt changed) the prefix is short and most of it is recomputed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from modelbook.decoding.strategies import Generation, GenerationConfig, cache_length, crop_cache, generate


@dataclass
class Fitted:
    ids: list[int]
    """the prompt, rendered and tokenised"""
    dropped_turns: int = 0
    """old user/assistant pairs left out to fit the window"""
    message_tokens_cut: int = 0
    """tokens cut from the start of the new message because it alone did not fit"""

    @property
    def notices(self) -> list[str]:
        out = []
        if self.message_tokens_cut:
            out.append(f"your message was too long for the context window: its first {self.message_tokens_cut} "
                       f"tokens were cut, the last part was kept")
        if self.dropped_turns:
            out.append(f"the {self.dropped_turns} oldest exchange(s) no longer fit the context window and were left out")
        return out


def render(tokenizer, messages: list[dict]) -> list[int]:
    """The chat template applied to messages, ready for the assistant to answer (token ids)."""
    return list(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False))


def fit_to_window(tokenizer, system: str | None, history: list[dict], message: str, budget: int) -> Fitted:
    """Render system + history + message within `budget` tokens (window − room for the reply)."""
    head = [{"role": "system", "content": system}] if system else []
    pairs = [history[i:i + 2] for i in range(0, len(history), 2)]  # (user, assistant) exchanges, oldest first
    for dropped in range(len(pairs) + 1):
        kept = [m for pair in pairs[dropped:] for m in pair]
        ids = render(tokenizer, head + kept + [{"role": "user", "content": message}])
        if len(ids) <= budget:
            return Fitted(ids, dropped)
    # the new message alone is too long: keep as much of its end as fits
    base = len(render(tokenizer, head + [{"role": "user", "content": ""}]))
    room = budget - base
    if room < 8:
        raise ValueError(f"the system message alone ({base} tokens with the template) leaves no room in a "
                         f"{budget}-token budget")
    message_ids = tokenizer(message, add_special_tokens=False)["input_ids"]
    keep = room
    while keep > 0:  # re-tokenising a cut text can add a token or two: shrink until it fits
        tail = tokenizer.decode(message_ids[-keep:])
        ids = render(tokenizer, head + [{"role": "user", "content": tail}])
        if len(ids) <= budget:
            return Fitted(ids, len(pairs), len(message_ids) - keep)
        keep -= max(1, len(ids) - budget)
    raise ValueError("could not fit the message in the context window")


@dataclass
class Reply:
    text: str
    generation: Generation
    notices: list[str]
    prefilled_tokens: int
    """prompt tokens the model actually ran this turn (the rest came from the cache)"""


@dataclass
class ChatSession:
    """A conversation with a model: history, the context budget and a KV cache kept across turns."""

    model: torch.nn.Module
    tokenizer: object
    system: str | None = None
    gen: GenerationConfig = GenerationConfig(max_new_tokens=128)
    context_window: int | None = None
    """tokens; default: the model's own window"""
    reuse_cache: bool = True
    generator: torch.Generator | None = None
    history: list[dict] = field(default_factory=list)

    def __post_init__(self):
        self.window = min(self.context_window or 1 << 30, getattr(self.model, "max_positions", None) or 1 << 30)
        if self.gen.max_new_tokens >= self.window - 16:
            raise ValueError(f"max_new_tokens={self.gen.max_new_tokens} leaves no room for a prompt in a "
                             f"{self.window}-token window")
        end = self.tokenizer.convert_tokens_to_ids("<|im_end|>")
        stops = tuple(dict.fromkeys((*self.gen.stop_token_ids, end, self.tokenizer.eos_token_id)))
        self.gen = GenerationConfig(**{**self.gen.__dict__, "stop_token_ids": stops})
        self.reset()

    def reset(self) -> None:
        self.history = []
        self._cache, self._cached_ids = None, []

    def reply(self, message: str, on_text=None, on_notice=None) -> Reply:
        """Answer `message` and add the exchange to the history. on_notice(text) hears about truncation before
        the answer starts; on_text(delta) receives the answer as it is generated."""
        if not message.strip():
            raise ValueError("empty message")
        fitted = fit_to_window(self.tokenizer, self.system, self.history, message, self.window - self.gen.max_new_tokens)
        for notice in fitted.notices:
            if on_notice:
                on_notice(notice)
        prompt = torch.tensor([fitted.ids])
        cache = None
        if self.reuse_cache and self.gen.use_cache and self._cache is not None:
            shared = 0
            for a, b in zip(self._cached_ids, fitted.ids[:-1]):  # at least the last prompt token is recomputed
                if a != b:
                    break
                shared += 1
            crop_cache(self._cache, shared)
            cache = self._cache
        if cache is None and self.gen.use_cache:
            cache = self.model.new_cache()
        already = 0 if cache is None else cache_length(cache)
        self._cache, self._cached_ids = None, []  # until this turn completes (an interrupted turn leaves no cache)
        generation = generate(self.model, prompt, self.gen, self.tokenizer, self.generator, on_text, cache)
        text = generation.text.strip()
        self.history += [{"role": "user", "content": message}, {"role": "assistant", "content": text}]
        if self.reuse_cache and cache is not None:
            # the cache now holds the prompt and the generated tokens except the last one fed back
            self._cache, self._cached_ids = cache, fitted.ids + generation.tokens[:-1]
        return Reply(text, generation, fitted.notices, len(fitted.ids) - already)
