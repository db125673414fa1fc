"""Text generation from scratch: decoding rules, the decoding loop with a KV cache, beam search, streaming,
and multi-turn chat with a context budget. Imports only torch.

    processors.py   what each decoding rule does to the logits (penalty, temperature, top-k, top-p, min-p)
    decoding.py     the loop (greedy / sampling, stop tokens and strings, streaming text), beam search and the
                    exhaustive search it is checked against
    chat.py         chat template, fitting the history to the context window, cache reuse across turns

The model is any `forward(ids, cache) -> logits` with `new_cache()`: modelbook.nn.llama.LlamaLM runs SmolLM2's
weights through our own blocks.
"""
from modelbook.generation.chat import ChatSession, fit_to_window, render
from modelbook.generation.decoding import (
                                           Generation,
                                           GenerationConfig,
                                           Hypothesis,
                                           TextStream,
                                           beam_search,
                                           exhaustive_search,
                                           generate,
                                           stream_tokens,
)

__all__ = ["ChatSession", "Generation", "GenerationConfig", "Hypothesis", "TextStream", "beam_search",
           "exhaustive_search", "fit_to_window", "generate", "render", "stream_tokens"]
