"""The harness against lm-evaluation-harness's formulas and transformers' forward; tasks; contamination; judge."""
import numpy as np
import pytest
import torch

from modelbook.core.errors import ModelbookError
from modelbook.llm_eval import contamination as C
from modelbook.llm_eval import judge as J
from modelbook.llm_eval import tasks as T
from modelbook.llm_eval.harness import MCItem, acc, acc_norm, encode_pair, loglikelihoods, summarise


def _lm_eval_process_results(lls, choices, gold):
    """lm-evaluation-harness v0.4 ConfigurableTask.process_results, multiple_choice branch, written out again."""
    completion_len = np.array([float(len(i)) for i in choices])
    pred = np.argmax(lls)
    pred_norm = np.argmax(lls / completion_len)
    return {"acc": 1.0 if pred == gold else 0.0, "acc_norm": 1.0 if pred_norm == gold else 0.0}


def test_acc_and_acc_norm_equal_lm_eval_formulas():
    rng = np.random.default_rng(0)
    for _ in range(500):
        n = int(rng.integers(2, 6))
        choices = ["x" * int(k) for k in rng.integers(1, 12, size=n)]
        lls = np.round(-rng.exponential(5, size=n), 1)  # rounded: ties happen, argmax takes the first
        gold = int(rng.integers(n))
        ref = _lm_eval_process_results(lls, choices, gold)
        assert acc(lls, gold) == ref["acc"] and acc_norm(lls, choices, gold) == ref["acc_norm"]
    # the normalisation can flip the choice: long right answer, short wrong one
    assert acc([-6.0, -4.0], 0) == 0.0 and acc_norm([-6.0, -4.0], ["elephant", "ox"], 0) == 1.0


@pytest.fixture(scope="module")
def tiny():
    """A random 2-layer Llama over SmolLM2's tokenizer: the same code path as SmolLM2, in milliseconds."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from modelbook.models.loaders import _smollm2_cache

    tok = AutoTokenizer.from_pretrained(str(_smollm2_cache()))
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256, tie_word_embeddings=True)
    return LlamaForCausalLM(cfg).eval(), tok


def _reference(model, tok, context, continuation):
    ctx, cont = encode_pair(tok, context, continuation)
    with torch.no_grad():  # the head at the positions that predict the continuation (and the last one) only
        logp = model(torch.tensor([ctx + cont]), logits_to_keep=len(cont) + 1).logits[0, :-1].double().log_softmax(-1)
    return float(logp.gather(-1, torch.tensor(cont)[:, None]).sum())


@pytest.mark.parametrize("task", ["arithmetic", "tang"])
def test_loglikelihoods_equal_transformers_alone(tiny, task):
    model, tok = tiny
    items = T.build(task, np.random.default_rng(1), 7)
    demos, items = items[:3], items[3:]
    d = T.DELIMITERS[task]
    for prefix in ("", T.few_shot_prefix(demos, d)):
        lls = loglikelihoods(model, tok, items, prefix=prefix, delimiter=d, batch=5)  # batches cut through items
        for it, ll in zip(items, lls):
            ref = [_reference(model, tok, prefix + it.context, d + c) for c in it.choices]
            np.testing.assert_allclose(ll, ref, atol=1e-4)


def test_one_token_answers_share_a_row(tiny):
    model, tok = tiny
    item = MCItem("Which is right, A or B?\nVerdict:", ("A", "B"), 1)
    ll = loglikelihoods(model, tok, [item])[0]
    np.testing.assert_allclose(ll, [_reference(model, tok, item.context, " " + c) for c in item.choices], atol=1e-4)


def test_encode_pair_moves_trailing_space(tiny):
    _, tok = tiny
    assert encode_pair(tok, "2 + 2 = ", "4") == encode_pair(tok, "2 + 2 =", " 4")


def test_bad_items_are_refused():
    with pytest.raises(ModelbookError):
        MCItem("q", ("a",), 0)
    with pytest.raises(ModelbookError):
        MCItem("q", ("a", "b"), 2)
    with pytest.raises(ModelbookError):
        T.build("mmlu", np.random.default_rng(0), 3)


def test_summarise_confidence_and_gold_prob():
    items = [MCItem("q", ("a", "b"), 0), MCItem("q", ("a", "b", "c"), 2)]
    s = summarise(items, [np.log([0.75, 0.25]), np.log([0.5, 0.3, 0.2])])
    np.testing.assert_allclose(s.confidence, [0.75, 0.5])
    np.testing.assert_allclose(s.gold_prob, [0.75, 0.2])
    assert list(s.acc) == [1.0, 0.0]


def test_tasks_have_one_right_answer_uniformly_placed():
    rng = np.random.default_rng(0)
    for task in T.TASKS:
        items = T.build(task, rng, 40)
        assert len(items) >= 30
        for it in items:
            assert len(set(it.choices)) == len(it.choices) == 4
            assert it.choices[it.gold] in it.text
        assert len({it.gold for it in items}) == 4
    for it in T.arithmetic(rng, 50):  # the answer is the arithmetic
        a, op, b, _ = it.context.split()
        assert int(it.choices[it.gold]) == (int(a) + int(b) if op == "+" else int(a) - int(b))


def test_contamination_flags_equal_substring_search_and_find_scraped_leaks():
    rng = np.random.default_rng(3)
    items = T.hypernym(rng, 40)
    from modelbook.data.text import shakespeare

    corpus = C.leak(shakespeare()[:20_000], [it.text for it in items[:20]], rng)
    texts = [it.text for it in items]
    for n in (3, 8, 13):
        np.testing.assert_array_equal(C.flag(texts, corpus, n) > 0, C.flag_brute_force(texts, corpus, n))
    share = C.flag(texts, corpus, 8)
    assert (share[:20] == 1).all() and (share[20:] == 0).all()
    assert np.mean([t in corpus for t in texts[:20]]) < 0.5  # the scraped copies are mostly not byte-equal
    assert C.normalise("A  DOG Is A Kind Of Canine !") == ["a", "dog", "is", "a", "kind", "of", "canine"]
    assert C.normalise("床前明月光，") == list("床前明月光")


def test_ngram_scorer_prefers_the_memorised_sentence():
    lm = C.NgramScorer("the cat sat on the mat . a poodle is a kind of dog .")
    assert lm.sentence_logscore("a poodle is a kind of dog") > lm.sentence_logscore("a poodle is a kind of cat")


def test_position_stats_by_hand():
    a_wins, b_wins = np.log([0.9, 0.1]), np.log([0.1, 0.9])
    always_a = J.position_stats([a_wins] * 4, [a_wins] * 4)
    assert always_a.first_rate == 1.0 and always_a.consistency == 0.0
    assert always_a.accuracy_one_order == 0.5 and always_a.accuracy_consistent == 0.5
    perfect = J.position_stats([a_wins] * 4, [b_wins] * 4)
    assert perfect.first_rate == 0.5 and perfect.consistency == 1.0 and perfect.accuracy_consistent == 1.0
    mixed = J.position_stats([a_wins, b_wins], [b_wins, b_wins])  # pair 2: wrong when right is shown first
    assert mixed.consistency == 0.5 and mixed.accuracy_consistent == 0.75 and mixed.first_rate == 0.25
    first, second = J.both_orders([J.Pair("2 + 2?", "4", "5")])
    assert "Response A: 4" in first[0].context and "Response A: 5" in second[0].context
    assert first[0].gold == 0 and second[0].gold == 1
