"""The parallel lab's quick preset: every equality and memory figure, from real torchrun ranks."""


def test_equalities_and_memory(quick_result):
    result, _ = quick_result("parallel")
    for name in ("ddp/max_param_diff_vs_single", "accumulation/single_max_diff", "accumulation/ddp_no_sync_max_diff",
                 "tensor/trained_max_diff", "pipeline/max_param_diff_vs_single", "zero/zero1_max_diff_vs_ddp",
                 "zero/fsdp_max_diff_vs_ddp"):
        assert result.value(name) <= 1e-6, name
    assert result.value("ddp/replica_diff") == 0
    assert result.value("ddp/allreduce_bytes_per_step") == result.value("ddp/param_bytes")
    for kind in ("params", "grads", "optimizer"):
        assert abs(result.value(f"zero/fsdp_{kind}_share") - 0.5) < 0.01
    assert result.value("zero/rank0/zero1_optimizer_bytes") + result.value("zero/rank1/zero1_optimizer_bytes") == \
        result.value("zero/rank0/ddp_optimizer_bytes")
    assert result.value("throughput/samples_per_s_1_rank") > 0 and result.value("throughput/samples_per_s_2_ranks") > 0
    assert result.value("pipeline/bubble_theory_m4") == 0.2

