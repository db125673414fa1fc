"""modelbook.inference cross-checked: the packed engine = transformers, paged = contiguous caches, speculative
greedy = greedy, the speculative sampling rule's distribution (exact, by enumeration), int8 codes = torch's."""
import warnings

import numpy as np
import pytest
import torch

from modelbook.inference.engine import PackedLlama, greedy, tiny_llama
from modelbook.inference.kvquant import QuantCache, chunked_nll, quantize
from modelbook.inference.paged import BlockPool, OutOfBlocks, PagedCache
from modelbook.inference.scheduler import ContinuousBatcher, Request, static_batching
from modelbook.inference.speculative import LayerDraft, PromptLookup, accept_sampled, speculative_generate


@pytest.fixture(autouse=True)
def one_thread():
    from modelbook.core.measure import limit_threads

    with limit_threads(1):
        yield


@pytest.fixture(scope="module")
def model():
    return tiny_llama(3, vocab=64, hidden=32, layers=3, heads=4, kv_heads=2)


def test_packed_forward_equals_transformers_on_mixed_lengths(model):
    eng = PackedLlama(model)
    prompts = [[5, 6, 7], [9, 10, 11, 12, 13, 14], [3]]
    ours = eng.forward(prompts, [eng.new_cache(8) for _ in prompts], all_logits=True)
    for p, z in zip(prompts, ours):
        with torch.no_grad():
            ref = model(torch.tensor([p])).logits[0]
        torch.testing.assert_close(z, ref, rtol=1e-4, atol=1e-4)


def test_paged_cache_equals_contiguous_and_frees_blocks(model):
    eng = PackedLlama(model)
    pool = BlockPool(8, 4, eng.n_layers, eng.n_kv, eng.head_dim)
    paged, flat = PagedCache(pool), eng.new_cache(20)
    seq = [4, 8, 15, 16, 23, 42, 7]
    a = eng.forward([seq], [paged])[0]
    b = eng.forward([seq], [flat])[0]
    for t in (1, 2, 3):  # decode steps across a block boundary
        a, b = eng.forward([[t]], [paged])[0], eng.forward([[t]], [flat])[0]
        torch.testing.assert_close(a, b)
    assert len(paged.table) == 3 and pool.n_free == 5
    paged.free()
    assert pool.n_free == 8
    with pytest.raises(OutOfBlocks):
        PagedCache(pool).prepare(33)


def test_prefix_cache_shares_full_blocks_only_and_keeps_outputs(model):
    eng = PackedLlama(model)
    system = list(range(2, 12))  # 10 tokens: 2 full blocks of 4
    reqs = lambda: [Request(i, system + [20 + i, 30 + i], 5) for i in range(4)]  # noqa: E731
    alone = {i: greedy(eng, r.prompt, 5) for i, r in enumerate(reqs())}
    b = ContinuousBatcher(eng, n_blocks=32, block_size=4, max_batch=1, prefix_cache=True)
    s = b.run(reqs())
    assert s.outputs == alone
    assert s.prefix_hits == 3 * 8  # the 2nd-4th requests reuse the 2 full blocks of the first


def test_continuous_and_static_batching_equal_greedy_and_continuous_computes_less(model):
    eng = PackedLlama(model)
    work = [(list(range(2, 2 + n)), m) for n, m in [(3, 12), (9, 2), (5, 2), (4, 9), (7, 1), (2, 6)]]
    alone = {i: greedy(eng, p, m) for i, (p, m) in enumerate(work)}
    c = ContinuousBatcher(eng, n_blocks=64, block_size=4, max_batch=3).run([Request(i, p, m) for i, (p, m) in enumerate(work)])
    st = static_batching(eng, [Request(i, p, m) for i, (p, m) in enumerate(work)], 3)
    assert c.outputs == alone and st.outputs == alone
    assert c.steps < st.steps and c.peak_reserved_slots < st.peak_reserved_slots


def test_admission_waits_for_blocks_and_refuses_what_never_fits(model):
    eng = PackedLlama(model)
    b = ContinuousBatcher(eng, n_blocks=4, block_size=4, max_batch=8)
    with pytest.raises(ValueError, match="exceeds the KV pool"):
        b.submit(Request(0, list(range(2, 14)), 8))
    s = b.run([Request(i, [2, 3, 4], 5) for i in range(3)])  # 2 blocks each: only 2 at a time fit
    assert len(s.outputs) == 3 and b.pool.n_free == 4


def test_speculative_greedy_equals_greedy_with_both_drafters(model):
    eng = PackedLlama(model)
    prompt = [5, 6, 7, 5, 6, 7, 5, 6]
    ref = greedy(eng, prompt, 20)
    for drafter in (LayerDraft(model, 1, 40), PromptLookup()):
        s = speculative_generate(eng, drafter, prompt, 20, 3)
        assert s.tokens == ref and s.target_calls <= 20


def test_speculative_sampling_rule_gives_the_target_distribution_exactly():
    """One step of the rule, its output law computed by summing over the draft and the uniform's two outcomes."""
    rng = np.random.default_rng(0)
    V = 5
    p = rng.dirichlet(np.ones(V), size=2)
    q = rng.dirichlet(np.ones(V), size=1)
    law = np.zeros(V)
    for d in range(V):  # draft d ~ q; accepted w.p. min(1, p/q), else residual
        acc = min(1.0, p[0, d] / q[0, d])
        law[d] += q[0, d] * acc
        res = np.clip(p[0] - q[0], 0, None)
        law += q[0, d] * (1 - acc) * res / res.sum()
    np.testing.assert_allclose(law, p[0], atol=1e-12)
    # and the implementation draws from it: empirical frequencies of the first token
    counts = np.zeros(V)
    gen = np.random.default_rng(1)
    for _ in range(20000):
        d = int(gen.choice(V, p=q[0]))
        n, nxt = accept_sampled(p, q, [d], gen)
        counts[d if n == 1 else nxt] += 1
    assert np.abs(counts / 20000 - p[0]).max() < 0.015


def test_int8_key_codes_equal_torch_quantize_per_channel():
    x = torch.randn(2, 16, 8) * torch.linspace(0.1, 5, 8)  # (heads, tokens, channels), outlier-ish channels
    codes, scale = quantize(x, 8, dim=-2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for h in range(2):
            ref = torch.quantize_per_channel(x[h].t().contiguous(), scale[h, 0], torch.zeros(8, dtype=torch.long), 0, torch.qint8)
            assert torch.equal(ref.int_repr().t(), codes[h])


def test_quantised_cache_full_precision_equals_transformers_and_int8_is_close(model):
    eng = PackedLlama(model)
    ids = [int(t) for t in torch.randint(2, 64, (33,), generator=torch.Generator().manual_seed(0))]
    nll, n = chunked_nll(eng, ids, None, 8)
    with torch.no_grad():
        ref = float(model(torch.tensor([ids]), labels=torch.tensor([ids])).loss)
    assert n == 32 and abs(nll / n - ref) < 1e-4
    nll8, _ = chunked_nll(eng, ids, 8, 8)
    assert abs(nll8 - nll) / nll < 0.01
    with pytest.raises(ValueError, match="chunks of 8"):
        QuantCache(eng.n_layers, 8, 8).prepare(5)


def test_prompt_lookup_proposes_the_continuation_of_the_latest_match():
    d, _ = PromptLookup(2).propose([1, 2, 3, 9, 1, 2, 4, 5, 1, 2], 3)
    assert d == [4, 5, 1]
    assert PromptLookup().propose([1, 2, 3], 3)[0] == []
