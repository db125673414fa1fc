"""SmolLM2-135M-Instruct for the RAG lab: our LlamaLM on the cached weights, and ChatML prompts, without
importing transformers (its import alone costs ~3.5 CPU-s, a quarter of the quick preset's budget).

The weights and tokenizer are the cache that modelbook.models.loaders.load_smollm2 builds once from the
packaged GGUF file; if the cache is missing, that loader builds it (and transformers is imported once).
"""
from __future__ import annotations

import functools
import json

import torch

from modelbook.core.errors import ModelbookError


@functools.lru_cache(maxsize=1)
def load_smollm2_fast():
    """(LlamaLM, tokenizers.Tokenizer): SmolLM2-135M-Instruct in eval mode, fp32, from the safetensors cache."""
    from safetensors.torch import load_file

    from modelbook.models import loaders
    from modelbook.nn.llama import LlamaLM
    from modelbook.tokenization.pretrained import smollm2_tokenizer

    cache = loaders._smollm2_cache()
    if not (cache / "model.safetensors").is_file():
        loaders.load_smollm2()  # builds the cache once
    try:
        c = json.loads((cache / "config.json").read_text())
        state = load_file(str(cache / "model.safetensors"))
    except Exception as e:  # a damaged cache
        raise ModelbookError(f"the SmolLM2 cache at {cache} is unreadable ({type(e).__name__}: {e}); "
                             "delete that folder to rebuild it") from e
    rope = c.get("rope_parameters") or {}
    with torch.device("meta"):
        model = LlamaLM(c["vocab_size"], c["hidden_size"], c["num_hidden_layers"], c["num_attention_heads"],
                        c["num_key_value_heads"], c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"],
                        c["intermediate_size"], rope.get("rope_theta", c.get("rope_theta", 10000.0)),
                        c["rms_norm_eps"], c["max_position_embeddings"])
    model.load_state_dict({k.removeprefix("model."): v for k, v in state.items()}, assign=True)
    return model.eval(), smollm2_tokenizer()


def chat_prefix(tokenizer, system: str) -> list[int]:
    """The system turn alone: a prefix shared by every prompt with this system message (cache it once)."""
    return tokenizer.encode(f"<|im_start|>system\n{system}<|im_end|>\n", add_special_tokens=False).ids


def chat_ids(tokenizer, user: str, system: str = "You are a helpful assistant.", prefix: str = "") -> list[int]:
    """ChatML as SmolLM2-Instruct was tuned on, ready for the assistant's turn; `prefix` starts its answer.
    Tokenised turn by turn, so it always starts with exactly chat_prefix(tokenizer, system)."""
    rest = f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n{prefix}"
    return chat_prefix(tokenizer, system) + tokenizer.encode(rest, add_special_tokens=False).ids


def prefill(model, ids: list[int]):
    """A cache holding `ids` (a shared prompt prefix); give each use its own `fork`."""
    with torch.no_grad():
        cache = model.new_cache()
        model(torch.tensor([ids]), cache)
    return cache


def fork(cache):
    """A copy of a KVCache that can grow without touching the original (the tensors are shared, not copied:
    KVCache.update concatenates into new tensors)."""
    new = type(cache)()
    new.k, new.v = dict(cache.k), dict(cache.v)
    return new
