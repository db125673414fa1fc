"""The ladder's machinery (modelbook.scaling.ladder): FLOPs of the GPT against torch.utils.flop_counter, the
stacked Adam against torch.optim.Adam, and a forked warmup-stable-decay branch against a standalone run."""
import copy

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from modelbook.nn.gpt import GPT, GPTConfig
from modelbook.scaling.flops import LlamaShape, attention_flops_forward
from modelbook.scaling.ladder import (
    ADAM_BETAS,
    ADAM_EPS,
    StackedTrainer,
    gpt_train_flops,
    matmul_params,
    windows,
    wsd_ladder,
    wsd_lr,
)
from modelbook.scaling.mup import MuGPT, lr_multipliers, param_groups


def _counted(cfg: GPTConfig, batch: int, seq: int) -> int:
    model = GPT(cfg)
    idx = torch.randint(0, cfg.vocab_size, (batch, seq))
    counter = FlopCounterMode(display=False)
    with counter:
        model(idx, idx).backward()
    return counter.get_total_flops()


@pytest.mark.parametrize("shape", [(85, 32, 1, 2, 16), (85, 64, 2, 4, 96), (300, 48, 3, 3, 48)])
def test_train_flops_equal_torch_flop_counter(shape, single_thread):
    V, T, L, H, d = shape
    cfg = GPTConfig(vocab_size=V, block_size=T, n_layer=L, n_head=H, d_model=d, attention="math")
    assert gpt_train_flops(cfg, 3, T) == _counted(cfg, 3, T)
    assert matmul_params(cfg) == L * (12 * d * d) + V * d


def test_counting_only_the_causal_triangle_is_caught(single_thread):
    """The fault: attention FLOPs on the causal triangle (what a kernel that skips masked blocks does), not the
    full square the written-out attention multiplies."""
    cfg = GPTConfig(vocab_size=85, block_size=32, n_layer=2, n_head=2, d_model=32, attention="math")
    shape = LlamaShape("gpt", 85, 32, 0, 2, 2, 2)
    wrong = 6 * matmul_params(cfg) * 4 * 32 + 3 * attention_flops_forward(shape, 4, 32, full_square=False)
    assert wrong != _counted(cfg, 4, 32)


def test_stacked_adam_equals_torch_adam_copy_by_copy(single_thread):
    cfg = GPTConfig(vocab_size=40, block_size=12, n_layer=1, n_head=2, d_model=32, attention="math")
    lrs = [1e-3, 3e-3, 1e-2]
    models = []
    for k in range(3):
        torch.manual_seed(k)
        models.append(MuGPT(cfg, base_width=16))             # μP, m = 2: per-weight step sizes differ
    references = [copy.deepcopy(m) for m in models]
    trainer = StackedTrainer(models, lrs, lr_multipliers(models[0]))
    opts = [torch.optim.Adam(param_groups(m, lr), betas=ADAM_BETAS, eps=ADAM_EPS) for m, lr in zip(references, lrs)]
    gen = torch.Generator().manual_seed(0)
    data = torch.randint(0, 40, (500,), generator=gen)
    for _ in range(5):
        starts = torch.randint(0, 480, (3, 4), generator=gen)
        x, y = windows(data, starts, 12)
        trainer.step(x, y)
        for k, (m, o) in enumerate(zip(references, opts)):
            o.zero_grad()
            m(x[k], y[k]).backward()
            o.step()
    d = cfg.d_model
    for k, m in enumerate(references):
        for name, p in m.named_parameters():
            got, want = trainer.params[name][k], p.detach()
            if name.endswith("qkv.bias"):
                # the key bias has a gradient of exactly zero in theory (softmax ignores a shift shared by all keys);
                # Adam divides float noise by its own size, so those d entries follow the noise: compare q and v only
                got, want = torch.cat([got[:d], got[2 * d:]]), torch.cat([want[:d], want[2 * d:]])
            torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6, msg=name)


def test_wsd_schedule():
    assert wsd_lr(0, 100, warmup=10, cooldown=0.2) == pytest.approx(0.1)
    assert wsd_lr(50, 100, warmup=10, cooldown=0.2) == 1.0
    assert wsd_lr(80, 100, warmup=10, cooldown=0.2) == 1.0
    assert wsd_lr(99, 100, warmup=10, cooldown=0.2) == pytest.approx(1 / 20)   # the last step; 0 after it


def test_forked_branch_equals_a_standalone_run_of_its_budget(single_thread):
    """A budget's loss from the ladder (main run + fork) is exactly the loss of a run trained alone for that
    budget on the same batches with the same schedule."""
    cfg = GPTConfig(vocab_size=40, block_size=8, n_layer=1, n_head=2, d_model=16)
    gen = torch.Generator().manual_seed(0)
    data = torch.randint(0, 40, (400,), generator=gen)
    starts = torch.randint(0, 390, (20, 4), generator=gen)
    heldout = windows(data, torch.arange(0, 80, 8), 8)
    torch.manual_seed(0)
    model = MuGPT(cfg, base_width=16)
    alone = copy.deepcopy(model)
    losses = wsd_ladder(model, param_groups(model, 1e-2), data, heldout, (10, 20), starts, 8, warmup=3, cooldown=0.3)
    opt = torch.optim.Adam(param_groups(alone, 1e-2), fused=True)
    for t in range(10):
        for g in opt.param_groups:
            g["lr"] = 1e-2 * wsd_lr(t, 10, 3, 0.3)
        opt.zero_grad()
        alone(*windows(data, starts[t], 8)).backward()
        opt.step()
    with torch.no_grad():
        assert float(alone.eval()(*heldout)) == losses[10]
    assert losses[20] < losses[10]
