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


def chat_ids(tokenizer, user: str, system: str = "You are a helpful assistant.", prefix: str = "") -> list[int]:
    """ChatML as SmolLM2-Instruct was tuned on, ready for the assistant's turn; `prefix` starts its answer."""
    text = (f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n"
            f"<|im_start|>assistant\n{prefix}")
    return tokenizer.encode(text, add_special_tokens=False).ids
