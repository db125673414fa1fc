"""Decoding a language model, from scratch: decoding rules, the decoding loop with a KV cache, beam search,
streaming, and multi-turn conversation with a context budget. Imports only torch.

    processors.py     what each decoding rule does to the logits (penalty, temperature, top-k, top-p, min-p)
    strategies.py     the loop (greedy / sampling, stop tokens and strings, streaming text), beam search and the
                      exhaustive search it is checked against
    conversation.py   chat template, fitting the history to the context window, cache reuse across turns

The model is any `forward(ids, cache) -> logits` with `new_cache()`: modelbook.nn.llama.LlamaLM runs SmolLM2's
weights through our own blocks. Not to be confused with modelbook.generative: generative models whose training
loop is the lesson (SeqGAN).
"""
from modelbook.decoding.conversation import ChatSession, fit_to_window, render
from modelbook.decoding.strategies import (
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
