"""What pretraining a Llama-shaped model costs: model-state memory, activations, GPUs, tokens, FLOPs, GPU-days.

    llama_budget(shape, act_seq, peak_flops_per_s, mfu, gpu_memory)   one row of the 1B / 7B / 70B budget table

The row combines the other scaling modules: model states from memory.model_state_bytes (fp32 and mixed-precision
Adam), activations from Korthikanti et al.'s 16-bit formula (memory.korthikanti_activation_bytes, micro-batch 1,
with and without full recomputation), Chinchilla's 20 tokens per parameter, C = 6·N·D and flops.gpu_days.

Cross-checks: tests/scaling/test_budget.py recomputes a row by hand; the training-cost lab checks the same
arithmetic against Llama 2's published A100 GPU-hours.
"""
from __future__ import annotations

import math

from modelbook.scaling.flops import CHINCHILLA_TOKENS_PER_PARAM, LlamaShape, gpu_days, llama_params
from modelbook.scaling.memory import korthikanti_activation_bytes, model_state_bytes


def llama_budget(shape: LlamaShape, act_seq: int, peak_flops_per_s: float, mfu: float, gpu_memory: float) -> dict[str, float]:
    """Pretraining budget of `shape` at 20 tokens per parameter, in bytes, tokens, FLOPs and GPU-days:
    params, states_fp32 and states_mixed (Adam, bytes), activations and activations_recompute (bytes, one sequence
    of act_seq tokens), gpus_for_states (devices of gpu_memory bytes the mixed-precision states alone fill),
    tokens, flops (6·N·tokens) and gpu_days (on GPUs of the given peak at the given model-FLOPs utilisation)."""
    n = llama_params(shape)
    mixed = model_state_bytes(n, "mixed")["total"]
    layers, d, heads = shape.num_hidden_layers, shape.hidden_size, shape.num_attention_heads
    tokens = CHINCHILLA_TOKENS_PER_PARAM * n
    flops = 6 * n * tokens
    return {"params": n, "states_fp32": model_state_bytes(n, "fp32")["total"], "states_mixed": mixed,
            "activations": korthikanti_activation_bytes(layers, d, heads, act_seq),
            "activations_recompute": korthikanti_activation_bytes(layers, d, heads, act_seq, recompute=True),
            "gpus_for_states": math.ceil(mixed / gpu_memory), "tokens": tokens, "flops": flops,
            "gpu_days": gpu_days(flops, peak_flops_per_s, mfu)}
