"""Our from-scratch BERT encoder equals transformers' BertModel on all-MiniLM-L6-v2's weights."""
import pytest
import torch

TEXTS = ["A man is eating food.", "Someone is having a meal in a small restaurant near the station.", "hi"]


@pytest.fixture(scope="module")
def both():
    from modelbook.models import load_minilm_bert, load_minilm_hf

    ours, tokenizer = load_minilm_bert()
    hf, hf_tokenizer = load_minilm_hf()
    return ours, tokenizer, hf, hf_tokenizer


def test_hidden_states_and_embeddings_equal_transformers(both, single_thread):
    from modelbook.nn.bert import tokenize

    ours, tokenizer, hf, hf_tokenizer = both
    ids, mask = tokenize(tokenizer, TEXTS)
    ref = hf_tokenizer(TEXTS, padding=True, return_tensors="pt")
    assert torch.equal(ids, ref["input_ids"]) and torch.equal(mask, ref["attention_mask"])  # padding included
    with torch.no_grad():
        want = hf(**ref).last_hidden_state
        got = ours(ids, mask)
        real = mask.bool()
        torch.testing.assert_close(got[real], want[real], rtol=1e-4, atol=1e-4)  # float32, different op order
        emb = ours.embed(ids, mask)
    assert emb.shape == (3, 384) and torch.allclose(emb.norm(dim=-1), torch.ones(3))
    assert float(emb[0] @ emb[1]) > float(emb[0] @ emb[2])  # the meal sentence is nearer than "hi"


def test_gates_of_one_change_nothing_and_gradients_reach_them(both, single_thread):
    from modelbook.nn.bert import tokenize

    ours, tokenizer, _, _ = both
    ids, mask = tokenize(tokenizer, TEXTS[:2])
    gates = torch.ones(6, 12, requires_grad=True)
    out = ours.embed(ids, mask, gates)
    with torch.no_grad():
        torch.testing.assert_close(out, ours.embed(ids, mask), rtol=0, atol=0)
    out.sum().backward()
    assert gates.grad.abs().sum() > 0
