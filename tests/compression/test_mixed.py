"""Mixed bit-width plans: the bench equals quantize_linears on a copy; the guided choice equals a brute-force search."""
import copy
import itertools
import re

import numpy as np
import pytest
import torch

from modelbook.compression.mixed import PlanBench, block_plan, int4_blocks_for
from modelbook.compression.qlinear import QuantizedEmbedding, model_bytes, quantize_linears


def _tiny_llama():
    """A 4-layer Llama with a tied output head, as SmolLM2 (in_features are multiples of the int4 group)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=96, hidden_size=64, intermediate_size=128, num_hidden_layers=4, num_attention_heads=4,
                         num_key_value_heads=2, max_position_embeddings=64, tie_word_embeddings=True)
    model = LlamaForCausalLM(config).eval()
    assert model.lm_head.weight is model.get_input_embeddings().weight
    return model


def _bench_inputs(n_blocks: int, seed: int):
    """A tiny Llama, an untouched copy, its Linear names, its 4 layers in n_blocks blocks, and 12 token ids."""
    model = _tiny_llama()
    names = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    ids = torch.randint(0, 96, (1, 12), generator=torch.Generator().manual_seed(seed))
    return model, copy.deepcopy(model), names, np.array_split(np.arange(4), n_blocks), ids


def test_bench_plans_equal_quantize_linears_on_a_copy():
    model, pristine, names, blocks, ids = _bench_inputs(n_blocks=2, seed=1)
    with torch.no_grad():
        fp32_logits = model(ids).logits
    bench = PlanBench(model, names, group_size=32)
    plans = [{n: "int8" for n in names}, block_plan(names, blocks, {1}), block_plan(names, blocks, {0, 1}),
             {**{n: "int4" for n in names}, "lm_head": "int4"}, block_plan(names, blocks, {0})]
    for plan in plans:
        bench.apply(plan)
        reference = copy.deepcopy(pristine)
        quantize_linears(reference, plan, group_size=32)  # quantizes and ties the embedding by its own route
        with torch.no_grad():
            assert torch.equal(model(ids).logits, reference(ids).logits)
        assert model_bytes(model) == model_bytes(reference)
        assert isinstance(model.get_input_embeddings(), QuantizedEmbedding)
    assert bench.module(names[0], "int8") is bench.module(names[0], "int8")  # quantized once, then reused
    bench.apply({n: "fp32" for n in names})
    with torch.no_grad():
        assert torch.equal(model(ids).logits, fp32_logits)
    assert model.get_input_embeddings() is bench.embedding and model_bytes(model) == model_bytes(pristine)


def test_block_plan_puts_the_chosen_blocks_layers_at_int4():
    names = [f"model.layers.{i}.{p}" for i in range(12) for p in ("self_attn.q_proj", "mlp.down_proj")] + ["lm_head"]
    blocks = np.array_split(np.arange(12), 4)  # layers 0-2, 3-5, 6-8, 9-11
    plan = block_plan(names, blocks, {1, 3})
    for name, scheme in plan.items():
        layer = re.match(r"model\.layers\.(\d+)\.", name)
        expected = "int4" if layer and int(layer.group(1)) in {3, 4, 5, 9, 10, 11} else "int8"
        assert scheme == expected, name
    assert set(plan) == set(names) and block_plan(names, blocks, set()) == {n: "int8" for n in names}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_guided_choice_equals_brute_force_over_block_subsets(seed):
    rng = np.random.default_rng(seed)
    n = 7
    sensitivity = rng.random(n).tolist()  # distinct values: one best subset
    for n_int8 in range(n + 1):
        subsets = list(itertools.combinations(range(n), n_int8))
        most = max(subsets, key=lambda c: sum(sensitivity[b] for b in c))  # int8 where the damage is largest
        least = min(subsets, key=lambda c: sum(sensitivity[b] for b in c))
        assert int4_blocks_for(sensitivity, n_int8, "most") == set(range(n)) - set(most)
        assert int4_blocks_for(sensitivity, n_int8, "least") == set(range(n)) - set(least)


def test_evenly_spaced_blocks_and_unknown_rule():
    sensitivity = list(np.random.default_rng(3).random(31))
    assert int4_blocks_for(sensitivity, 6, "even") == set(range(31)) - {0, 6, 12, 18, 24, 30}
    with pytest.raises(ValueError):
        int4_blocks_for(sensitivity, 6, "random")


def test_block_sensitivity_equals_kl_of_each_plan_on_a_copy():
    from modelbook.compression.mixed import block_sensitivity

    model, pristine, names, blocks, ids = _bench_inputs(n_blocks=3, seed=2)
    seen = []
    with torch.no_grad():
        ours = block_sensitivity(PlanBench(model, names, group_size=32), names, blocks, ids, window=12,
                                 track=lambda it, label: seen.append(label) or it)
        # the reference log-probs are stored in float16 by llm.score, so round them the same way
        ref = pristine(ids).logits[0, :-1].log_softmax(-1).half().float()
        expected = []
        for b in range(len(blocks)):
            copy_ = copy.deepcopy(pristine)
            quantize_linears(copy_, block_plan(names, blocks, {b}), group_size=32)
            logp = copy_(ids).logits[0, :-1].log_softmax(-1)
            expected.append(float(torch.nn.functional.kl_div(logp, ref, log_target=True, reduction="sum")) / 11)
    assert seen == ["sensitivity scan"]
    np.testing.assert_allclose(ours, expected, rtol=1e-5)
    assert all(kl > 0 for kl in ours)
