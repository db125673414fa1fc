"""Lab `transfer`: measured outcomes beyond the contract (quick preset), and bite tests for its checks."""
import copy

import torch

from modelbook.core.result import LabResult


def test_label_efficiency_lora_and_memory(quick_result):
    result, run_dir = quick_result("transfer")
    v = result.value
    # pretrained features make 10 labels per class enough; the same encoder from scratch stays at chance (4 classes)
    assert v("text/probe/10/accuracy") > 0.7 and v("text/scratch/10/accuracy") < 0.45
    assert v("text/probe/50/accuracy") >= v("text/probe/10/accuracy") - 0.05
    # LoRA: ~1.5% of MiniLM's parameters train (rank 8 on six linears × six layers: 331,776 + the 1,540-weight head)
    assert v("lora/trainable_parameters") == 6 * 8 * (4 * (384 + 384) + 2 * (384 + 1536)) + 384 * 4 + 4
    assert 0.01 < v("lora/trainable_share") < 0.02
    # Adam keeps two fp32 numbers per trainable weight: full fine-tuning holds ≈ 4 × the weights, LoRA ≈ 1 ×
    assert v("lora/full_fine_tune/training_bytes") > 3.9 * 4 * 22_566_916
    assert v("qlora/training_bytes") < v("lora/lora/training_bytes")
    assert v("lora/merged_max_abs_diff") < 1e-4 < v("lora/logit_scale")
    assert v("zero_shot/accuracy") > 0.6
    assert v("negative/disagree_minus_none") < 0 < v("negative/agree_minus_none")
    assert (run_dir / "label_efficiency.png").stat().st_size > 0


def test_bite_merge_check_fails_for_a_wrong_merge():
    """Feed the lab's merge check a fault: an adapter whose merge uses the wrong scale (α instead of α/r)."""
    from modelbook.labs import transfer as lab
    from modelbook.nn.bert import BertEncoder
    from modelbook.nn.lora import LoRALinear, inject_lora
    from modelbook.transfer.finetune import TextClassifier

    torch.manual_seed(0)
    enc = BertEncoder(vocab_size=50, d_model=32, n_layers=1, n_heads=2, d_ff=64)
    model = TextClassifier(enc, 3, d_model=32).eval()
    adapters = inject_lora(model.encoder, ["query", "value"], r=4, alpha=8)
    for a in adapters.values():
        torch.nn.init.normal_(a.lora_B, std=0.5)
    x = (torch.randint(0, 50, (4, 6)), torch.ones(4, 6, dtype=torch.long))
    good = LabResult("transfer")
    lab._merge_check(good, "LoRA", model, x)
    assert good.checks[-1].passed
    broken = copy.deepcopy(model)
    for m in broken.modules():
        if isinstance(m, LoRALinear):
            m.merged_linear = (lambda self: (lambda: _wrong_merge(self)))(m)
    bad = LabResult("transfer")
    lab._merge_check(bad, "LoRA", broken, x)
    assert not bad.checks[-1].passed


def _wrong_merge(adapter):
    out = torch.nn.Linear(adapter.in_features, adapter.out_features)
    with torch.no_grad():
        out.weight.copy_(adapter.base.weight + adapter.lora_B @ adapter.lora_A * adapter.alpha)  # α, not α/r
        out.bias.copy_(adapter.base.bias)
    return out


def test_bite_negative_transfer_check_needs_a_disagreeing_source(monkeypatch):
    """Feed the negative-transfer check a fault: the 'disagreeing' source fit on the true labels. It must fail."""
    import numpy as np

    from modelbook.labs import transfer as lab
    from modelbook.transfer import zeroshot

    torch.manual_seed(0)
    k, d, per = 4, 16, 100
    centres = torch.randn(k, d)
    y = torch.arange(k).repeat_interleave(per)  # class-major rows, as the lab's gloss_task returns them
    yt = torch.arange(200) % k
    text = {"f_tr": centres[y] + torch.randn(len(y), d), "y_tr": y, "f_te": centres[yt] + torch.randn(200, d), "y_te": yt,
            "first": lambda n: torch.from_numpy(np.argsort(np.tile(np.arange(per), k), kind="stable")[: n * k])}
    cfg = lab.Config(source_per_class=50, target_per_class=3, neg_draws=4, probe_l2=0.1)
    ok = LabResult("transfer")
    lab._negative_transfer(ok, cfg, np.random.default_rng(0), text)
    assert ok.checks[-1].passed
    real = zeroshot.softmax_regression
    shifted = (y[text["first"](cfg.source_per_class)] + 1) % k

    def no_disagreement(x, labels, n, l2, prior=None, max_iter=100):
        if prior is None and torch.equal(labels, shifted):
            labels = (labels - 1) % n  # the fault: the source's labels agree after all
        return real(x, labels, n, l2, prior, max_iter)

    monkeypatch.setattr(zeroshot, "softmax_regression", no_disagreement)
    bad = LabResult("transfer")
    lab._negative_transfer(bad, cfg, np.random.default_rng(0), text)
    assert not bad.checks[-1].passed
