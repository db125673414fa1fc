"""The minimal GPT: its two attention paths agree, with PyTorch's fused kernel as the reference."""
import torch

from modelbook.nn.gpt import GPT, GPTConfig, n_params


def test_math_and_sdpa_paths_agree():
    cfg = GPTConfig(vocab_size=50, block_size=16, n_layer=2, n_head=2, d_model=32)
    torch.manual_seed(1)
    a = GPT(cfg).double()
    b = GPT(GPTConfig(**{**cfg.__dict__, "attention": "math"})).double()
    b.load_state_dict(a.state_dict())
    idx = torch.randint(0, 50, (3, 16))
    torch.testing.assert_close(a(idx), b(idx))
    assert sum(p.numel() for p in a.parameters()) == n_params(cfg)
    # gradients too: the written-out softmax path and the fused kernel give the same weight gradients
    a(idx, idx).backward()
    b(idx, idx).backward()
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(p.grad, q.grad, msg=name)
