"""Attention maps on MiniLM: rows are distributions, rollout rows sum to one, leave-one-out finds the content word."""
import numpy as np
import pytest
import torch

from modelbook.interpret import attention_maps as am


@pytest.fixture(scope="module")
def minilm():
    from modelbook.models.loaders import minilm_path
    from modelbook.nn.bert import load_minilm_encoder

    return load_minilm_encoder(minilm_path())


def test_maps_rollout_and_special_tokens(minilm):
    enc, tok = minilm
    attn, tokens = am.attention_maps(enc, tok, "The cat sat on the mat.")
    assert attn.shape == (6, 12, len(tokens), len(tokens)) and tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
    torch.testing.assert_close(attn.sum(-1), torch.ones(attn.shape[:-1]))
    roll = am.attention_rollout(attn)
    torch.testing.assert_close(roll.sum(-1), torch.ones(len(tokens)))
    share = am.special_token_share(attn, tokens)
    assert share.shape == (6,) and np.all((share > 0) & (share < 1))


def test_leave_one_out_finds_the_word_the_query_is_about(minilm):
    enc, tok = minilm
    text = "I paid the bill and then the printer jammed again."
    loo = am.leave_one_out(enc, tok, text, "broken printer")
    tokens = tok.encode(text).tokens
    assert tokens[int(np.argmax(loo))] == "printer" and loo[0] == loo[-1] == 0.0
    assert am.kendall(np.arange(5.0), np.arange(5.0)) == pytest.approx(1.0)


def test_content_kendall_counts_concordant_pairs_between_cls_and_sep():
    """τ over the content tokens equals (concordant − discordant) / pairs counted by hand (no ties), and the
    [CLS]/[SEP] ends do not enter it."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=12), rng.normal(size=12)
    inner_a, inner_b = a[1:-1], b[1:-1]
    n = len(inner_a)
    signs = [np.sign(inner_a[i] - inner_a[j]) * np.sign(inner_b[i] - inner_b[j]) for i in range(n) for j in range(i + 1, n)]
    assert am.content_kendall(a, b) == pytest.approx(sum(signs) / len(signs), abs=1e-12)
    moved = a.copy()
    moved[[0, -1]] = [100.0, -100.0]
    assert am.content_kendall(moved, b) == am.content_kendall(a, b)
