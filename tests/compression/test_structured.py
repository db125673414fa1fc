"""Structured pruning: shrinking equals transformers' prune_linear_layer; removed heads = gated heads."""
import pytest
import torch
from torch import nn

from modelbook.compression.structured import head_gates, prune_sequential, remove_heads_, shrink_linear
from modelbook.compression.workbench import small_cnn


@pytest.mark.parametrize("dim", [0, 1])
def test_shrink_linear_equals_transformers_prune_linear_layer(dim):
    from transformers.pytorch_utils import prune_linear_layer

    torch.manual_seed(0)
    lin = nn.Linear(12, 9)
    index = torch.tensor([0, 3, 4, 8]) if dim == 0 else torch.tensor([1, 2, 5, 7, 11])
    ours, ref = shrink_linear(lin, index, dim), prune_linear_layer(lin, index, dim)
    x = torch.randn(3, ours.in_features)
    torch.testing.assert_close(ours(x), ref(x), rtol=0, atol=0)


def test_prune_sequential_cnn_keeps_the_function_of_kept_units():
    torch.manual_seed(0)
    cnn = small_cnn(8, 16, 32).eval()
    with torch.no_grad():  # give BatchNorm non-trivial statistics
        for m in cnn.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    small = prune_sequential(cnn, 0.5).eval()
    convs = [m for m in small if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [4, 8] and small[7].out_features == 16 and small[-1].out_features == 10
    n_small, n_big = (sum(p.numel() for p in m.parameters()) for m in (small, cnn))
    assert n_small < 0.3 * n_big
    # keeping every unit reproduces the original exactly
    same = prune_sequential(cnn, 1.0).eval()
    x = torch.randn(2, 1, 28, 28)
    torch.testing.assert_close(same(x), cnn(x))


def test_removing_heads_equals_gating_them(single_thread):
    import copy

    from modelbook.models import load_minilm_bert
    from modelbook.nn.bert import tokenize

    bert, tok = load_minilm_bert()
    ids, mask = tokenize(tok, ["a man is eating food", "the quick brown fox jumps"])
    heads = {0: [1, 5], 3: [0, 2, 11], 5: list(range(11))}
    gates = torch.ones(6, 12)
    for layer, hs in heads.items():
        gates[layer, hs] = 0
    pruned = copy.deepcopy(bert)
    with torch.no_grad():
        remove_heads_(pruned, heads)
        want = bert(ids, mask, gates)
        got = pruned(ids, mask)
    assert pruned.heads_per_layer() == [10, 12, 12, 9, 12, 1]
    removed = sum(p.numel() for p in bert.parameters()) - sum(p.numel() for p in pruned.parameters())
    assert removed == 16 * (4 * 384 * 32 + 3 * 32)  # W_Q, W_K, W_V rows + biases and W_O columns per head
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError):
        remove_heads_(copy.deepcopy(bert), {2: list(range(12))})


def test_head_gates_switch_off_heads_in_order_and_never_empty_a_layer():
    # 3 layers of 2 heads (flat index = layer · 2 + head); worked out by hand
    order = [0, 1, 2, 4, 5, 3]
    gates = head_gates(order, 3, 3, 2)  # 0 goes; 1 would empty layer 0, skipped; 2 and 4 go
    assert gates.tolist() == [[0, 1], [0, 1], [0, 1]]
    assert head_gates(order, 10, 3, 2).tolist() == [[0, 1], [0, 1], [0, 1]]  # at most one head per layer can go
    assert head_gates(order, 0, 3, 2).tolist() == [[1, 1]] * 3
    assert head_gates([5, 3, 1], 2, 3, 2).tolist() == [[1, 1], [1, 0], [1, 0]]
    # a random ranking of MiniLM's 6 x 12 heads: k switched off, at least one head left in every layer
    order = torch.randperm(72, generator=torch.Generator().manual_seed(0)).tolist()
    gates = head_gates(order, 18, 6, 12)
    assert int((gates == 0).sum()) == 18 and bool((gates.sum(1) >= 1).all())
    off = {i for i in range(72) if gates.flatten()[i] == 0}
    assert off == set(order[:18])  # 18 of 72 heads: no layer runs out, so exactly the first 18 go


def test_head_importance_equals_finite_differences_of_the_contrastive_loss():
    import numpy as np

    from modelbook.compression.structured import head_importance

    L, H, N, D, tau = 2, 3, 5, 4, 0.5
    rng = np.random.default_rng(0)
    feats = {f"{kind}{i}": rng.normal(size=(L * H, D)) for kind in "qa" for i in range(N)}  # each head's output

    def embed_np(texts, gates):  # (N, D): gated sum of the heads' outputs, unit length
        e = np.stack([(feats[t] * gates.reshape(-1, 1)).sum(0) for t in texts])
        return e / np.linalg.norm(e, axis=1, keepdims=True)

    def loss_np(gates):  # in-batch contrastive loss, in float64
        s = embed_np(queries, gates) @ embed_np(answers, gates).T / tau
        s = s - s.max(1, keepdims=True)
        return float(np.mean(np.log(np.exp(s).sum(1)) - np.diag(s)))

    def embed(texts, gates):
        x = torch.tensor(np.stack([feats[t] for t in texts]), dtype=torch.float32)
        return torch.nn.functional.normalize((x * gates.reshape(1, -1, 1)).sum(1), dim=-1)

    queries, answers = [f"q{i}" for i in range(N)], [f"a{i}" for i in range(N)]
    ours = head_importance(embed, queries, answers, L, H, tau)
    eps, fd = 1e-6, np.zeros(L * H)
    for h in range(L * H):
        up, down = np.ones(L * H), np.ones(L * H)
        up[h] += eps
        down[h] -= eps
        fd[h] = (loss_np(up) - loss_np(down)) / (2 * eps)
    assert ours.shape == (L, H)
    np.testing.assert_allclose(ours.numpy().reshape(-1), np.abs(fd), rtol=1e-3, atol=1e-6)
