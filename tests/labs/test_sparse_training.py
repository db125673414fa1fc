"""Lab `sparse-training`: sparse from scratch at 90%, and the summary over every method."""

METHODS = ("fp32", "static_sparse", "set", "rigl", "magnitude_finetune", "int8_ptq", "magnitude_int8", "binary",
           "gradual", "structured", "distilled")


def test_sparse_training_lab_outcomes(quick_result):
    result, run_dir = quick_result("sparse-training")
    v = result.value
    assert abs(v("dst/RigL_final_density") - 0.1) < 1e-3 and abs(v("dst/SET_final_density") - 0.1) < 1e-3
    assert v("dst/SET_accuracy_mean") >= v("dst/static_sparse_accuracy_mean")
    # at this short budget, pruning a trained dense model is ahead of every sparse-from-scratch method
    assert v("dst/prune_after_training_accuracy") >= max(v(f"dst/{m}_accuracy_mean") for m in ("static_sparse", "SET", "RigL"))
    for m in METHODS:  # the summary table covers every method, each smaller than fp32
        assert v(f"summary/{m}/accuracy") > 0.5
        assert m == "fp32" or v(f"summary/{m}/bytes") < v("summary/fp32/bytes")
    assert v("summary/binary/compression") > 15
    assert v("summary/magnitude_int8/bytes") < v("summary/int8_ptq/bytes")
    assert abs(v("summary/int8_ptq/accuracy") - v("summary/fp32/accuracy")) <= 0.01
    assert {"summary_table.png", "size_vs_accuracy.png"} <= set(result.artifacts)
    assert (run_dir / "summary_table.md").read_text().count("\n") == 2 + len(METHODS)
    assert any(n.startswith("Summary, every method on one model") for n in result.notes)


def _one_rewiring(dst_class, zeta_t_of_step=None):
    """Masks before and after one SET rewiring of a small MLP at step 2 of 10 (ζ = 0.3), and the ζ_t of that step."""
    import math

    import torch
    from torch import nn

    from modelbook.compression.prune import prunable
    from modelbook.compression.sparse import erdos_renyi_densities, random_masks

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(100, 60), nn.ReLU(), nn.Linear(60, 30), nn.ReLU(), nn.Linear(30, 10))
    weights = prunable(net)
    masks = random_masks(weights, erdos_renyi_densities(weights, 0.9), torch.Generator().manual_seed(1))
    before = {k: m.clone() for k, m in masks.items()}
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    dst = dst_class(net, masks, opt, grow="random", zeta=0.3, delta_t=2, t_end=10)

    class State:
        model, step = net, 2
    net(torch.randn(8, 100)).pow(2).mean().backward()
    opt.step()
    dst.on_step_end(State, 0.0, 0.0)
    return before, dst.masks, 0.3 / 2 * (1 + math.cos(math.pi * 2 / 10))


def test_first_rewiring_check_catches_a_wrong_count():
    """The lab's check counts moved connections on the masks; a rewiring that moves one too many, or ζ instead of
    the decayed ζ_t, fails it, while the correct one scores 0."""
    from modelbook.compression.sparse import DynamicSparsity
    from modelbook.labs.sparse_training import rewiring_miscount

    class OffByOne(DynamicSparsity):  # k + 1 connections per layer: ζ_t raised by exactly one active weight
        def _rewire(self, name, w, zeta_t):
            return super()._rewire(name, w, zeta_t + 1 / int(self.masks[name].sum()))

    class NoDecay(DynamicSparsity):  # ζ at every update, the cosine schedule forgotten
        def _rewire(self, name, w, zeta_t):
            return super()._rewire(name, w, self.zeta)

    before, after, zeta_t = _one_rewiring(DynamicSparsity)
    assert rewiring_miscount(before, after, zeta_t) == 0
    for faulty in (OffByOne, NoDecay):
        before, after, zeta_t = _one_rewiring(faulty)
        assert rewiring_miscount(before, after, zeta_t) > 0, faulty.__name__
