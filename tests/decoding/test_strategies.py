"""The decoding loop: greedy and beam search equal transformers' generate on a tiny random Llama (float64);
beam search equals exhaustive search when it never prunes; streaming text; stopping."""
import itertools
import math
import time

import pytest
import torch

from modelbook.decoding import GenerationConfig, TextStream, beam_search, exhaustive_search, generate, stream_tokens
from modelbook.decoding.strategies import random_tiny_lm, timed_stream_tokens
from modelbook.nn.llama import LlamaLM
from tests.nn.test_llama import tiny_hf_llama

EOS = 3


def _hf(seed):
    hf = tiny_hf_llama(seed)
    with torch.no_grad():  # peaked next-token distributions, so decoding choices are far from ties
        hf.model.embed_tokens.weight.mul_(60)
    hf.generation_config.eos_token_id = EOS
    hf.generation_config.pad_token_id = EOS
    return hf


@pytest.mark.parametrize("seed", range(4))
def test_greedy_equals_transformers_generate(seed):
    hf = _hf(seed)
    ours = LlamaLM.from_hf(hf)
    ids = torch.tensor([[5, 17, 9, 30]])
    ref = hf.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=12, do_sample=False)[0, 4:].tolist()
    got = generate(ours, ids, GenerationConfig(max_new_tokens=12, stop_token_ids=(EOS,)))
    assert got.tokens == ref
    nocache = generate(ours, ids, GenerationConfig(max_new_tokens=12, stop_token_ids=(EOS,), use_cache=False))
    assert nocache.tokens == ref


@pytest.mark.parametrize("seed,alpha", [(0, 1.0), (1, 0.0), (2, 2.0), (3, 1.0), (4, 0.5)])
def test_beam_search_equals_transformers(seed, alpha):
    hf = _hf(seed)
    ours = LlamaLM.from_hf(hf)
    ids = torch.tensor([[5, 17, 9]])
    ref = hf.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=8, num_beams=3, num_return_sequences=3,
                      do_sample=False, length_penalty=alpha, early_stopping=False, output_scores=True,
                      return_dict_in_generate=True)
    hyps = beam_search(ours, ids, 3, 8, (EOS,), alpha)
    ref_seqs = []
    for s in ref.sequences[:, 3:].tolist():
        ref_seqs.append(s[:s.index(EOS) + 1] if EOS in s else s)
    assert [list(h.tokens) for h in hyps] == ref_seqs
    torch.testing.assert_close(torch.tensor([h.score for h in hyps]), ref.sequences_scores, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("seed,alpha", [(0, 0.0), (1, 1.0), (2, 0.7), (3, 1.0)])
def test_beam_that_never_prunes_is_exhaustive_search(seed, alpha):
    torch.manual_seed(seed)
    model = LlamaLM(5, d=16, n_layers=1, n_heads=2, n_kv_heads=1, head_dim=8, d_ff=32).double().eval()
    with torch.no_grad():
        model.embed_tokens.weight.normal_(0, 1.5)
    prompt = torch.tensor([[2, 1]])
    top = exhaustive_search(model, prompt, 5, 4, (0,), alpha, top=3)
    beam = beam_search(model, prompt, 4 ** 3, 4, (0,), alpha)[:3]
    assert [h.tokens for h in beam] == [h.tokens for h in top]
    assert [h.score for h in beam] == pytest.approx([h.score for h in top], abs=1e-10)
    # the exhaustive scores are log p / len^alpha of sequences whose probabilities sum to one
    every = exhaustive_search(model, prompt, 5, 4, (0,), 0.0, top=10_000)
    assert sum(math.exp(h.logprob) for h in every) == pytest.approx(1.0, abs=1e-9)


def test_sampling_is_reproducible_from_a_generator():
    model = LlamaLM.from_hf(_hf(0))
    ids = torch.tensor([[5, 17]])
    cfg = GenerationConfig(max_new_tokens=10, do_sample=True, temperature=1.5, top_k=20)
    draws = [generate(model, ids, cfg, generator=torch.Generator().manual_seed(s)).tokens for s in (7, 7, 8)]
    assert draws[0] == draws[1]
    assert len(draws[2]) == 10


def test_stops_at_the_context_window_and_refuses_a_prompt_that_fills_it():
    model = LlamaLM.from_hf(_hf(0))  # 64-position window
    reasons = []
    tokens = list(stream_tokens(model, torch.full((1, 60), 5), GenerationConfig(max_new_tokens=50), stop_reason=reasons))
    assert len(tokens) == 4 and reasons == ["context_window"]
    with pytest.raises(ValueError, match="context window"):
        list(stream_tokens(model, torch.full((1, 64), 5), GenerationConfig()))


def test_text_stream_never_prints_half_a_character(smollm2):
    _, tok = smollm2
    text = "长城是中国古代的军事防御工程。The Great Wall"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    stream = TextStream(tok)
    deltas = [stream.push(i) for i in ids]
    deltas.append(stream.finish())
    assert all("\ufffd" not in d for d in deltas)
    assert "".join(deltas) == text
    assert sum(1 for d in deltas if d) > 5  # it streams, not one block at the end


def test_stop_string_is_cut_and_never_printed(smollm2):
    _, tok = smollm2
    ids = tok("Answer: yes\nUser: and then", add_special_tokens=False)["input_ids"]
    stream = TextStream(tok, stop_strings=("\nUser:",))
    printed = ""
    for i in ids:
        printed += stream.push(i)
        if stream.stopped:
            break
    printed += stream.finish()
    assert stream.stopped and printed == stream.text == "Answer: yes"


def test_generate_with_a_stop_string_on_smollm2(smollm2):
    hf, tok = smollm2
    model = LlamaLM.from_hf(hf)
    ids = tok("1, 2, 3, 4,", return_tensors="pt")["input_ids"]
    pieces = []
    g = generate(model, ids, GenerationConfig(max_new_tokens=20, stop_strings=(" 7",)), tok, on_text=pieces.append)
    assert g.stop_reason == "stop_string"
    assert g.text.replace(" ", "") == "5,6,"
    assert "".join(pieces) == g.text


def test_timed_stream_gives_the_tokens_of_generate_and_one_time_per_token():
    model = LlamaLM.from_hf(_hf(1))
    ids = torch.tensor([[5, 17, 9]])
    cfg = GenerationConfig(max_new_tokens=10)
    t0 = time.perf_counter()
    tokens, times = timed_stream_tokens(model, ids, cfg)
    wall = time.perf_counter() - t0
    assert tokens == generate(model, ids, cfg).tokens
    assert len(times) == len(tokens) == 10
    assert all(t > 0 for t in times) and sum(times) <= wall
    # without the cache: the same tokens, each step timed
    uncached, times_uncached = timed_stream_tokens(model, ids, GenerationConfig(max_new_tokens=10, use_cache=False))
    assert uncached == tokens and len(times_uncached) == 10


def test_random_tiny_lm_is_the_seeded_one_layer_model_and_beam_search_finds_its_argmax():
    model = random_tiny_lm(5, 7)
    torch.manual_seed(7)  # the same construction written out
    ref = LlamaLM(5, d=16, n_layers=1, n_heads=2, n_kv_heads=1, head_dim=8, d_ff=32).double().eval()
    with torch.no_grad():
        ref.embed_tokens.weight.normal_(0, 1.5)
    assert model.state_dict().keys() == ref.state_dict().keys()
    assert all(torch.equal(v, ref.state_dict()[k]) for k, v in model.state_dict().items())
    assert not model.training and model.embed_tokens.weight.dtype == torch.float64
    assert not torch.equal(random_tiny_lm(5, 8).embed_tokens.weight, model.embed_tokens.weight)
    # the argmax over every sequence, scored token by token with full forward passes
    prompt, eos = torch.tensor([[3]]), 0
    best, best_logp = None, -math.inf
    for n in range(1, 4):
        for seq in itertools.product(range(5), repeat=n):
            if eos in seq[:-1] or (n < 3 and seq[-1] != eos):
                continue
            ids = torch.cat([prompt, torch.tensor([seq])], dim=1)
            logp = sum(float(model(ids[:, :i]).double().log_softmax(-1)[0, -1, ids[0, i]]) for i in range(1, ids.size(1)))
            if logp > best_logp:
                best, best_logp = seq, logp
    wide = beam_search(model, prompt, 4 ** 2, 3, (eos,), 0.0)[0]
    assert wide.tokens == best and wide.logprob == pytest.approx(best_logp, abs=1e-10)
