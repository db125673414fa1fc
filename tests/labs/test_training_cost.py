"""Lab `training-cost`: measured outcomes beyond the contract."""
import pytest


def test_training_cost_lab_outcomes(quick_result):
    result, run_dir = quick_result("training-cost")
    v = result.value
    # FLOPs: within 10% of 6·N·T for N = all parameters (tied embedding once), T = tokens; exact with attention
    assert v("flops/ratio_to_6NT_all_params") == pytest.approx(1.0, abs=0.1)
    assert v("flops/ratio_to_6NT_nonembedding") == pytest.approx(1.277, abs=0.01)   # lm_head is 21% of SmolLM2
    ratios = [v(f"flops/ratio_to_6NT@T={t}") for t in result.config.sweep]
    assert ratios == sorted(ratios) and ratios[-1] > 1.5                             # attention grows with T
    # memory: the estimator is within 25% of the measured peak for every size (in fact within ~10%)
    sizes = [f"d{d}_L{L}" for d, L, _ in result.config.mem_sizes]
    assert len(sizes) >= 3
    for name in sizes:
        assert v(f"memory/{name}/estimated_peak_MB") == pytest.approx(v(f"memory/{name}/measured_peak_MB"), rel=0.25)
    # budgets: 16 bytes per parameter either way; 70B states need more than a dozen 80 GB GPUs
    assert v("budget/7B/states_mixed_adam_GB") == pytest.approx(16 * v("budget/7B/params") / 1e9)
    assert v("budget/70B/gpus_80GB_for_states") >= 14
    assert v("budget/70B/h100_days") > 100 * v("budget/1.1B/h100_days")
    assert 0.3 < v("budget/llama2_7B/implied_mfu") < 0.5
    # dedup: half the corpus is exact copies; flagged near-duplicates are real; recall follows the S-curve
    assert v("dedup/exact_duplicate_rate") == pytest.approx(0.504, abs=0.002)
    assert v("dedup/exact_groups_with_both_labels") >= 1
    assert v("dedup/precision_of_flagged_pairs") >= 0.85
    assert abs(v("dedup/lsh_recall") - v("dedup/lsh_recall_predicted_by_s_curve")) < 0.15
    table = (run_dir / "budget_table.md").read_text()
    assert "Llama-2-70B" in table and "TinyLlama-1.1B" in table
    assert {"flops_vs_length.png", "memory_estimate_vs_measured.png", "dedup.png"} <= set(result.artifacts)
    assert result.artifacts and all(a.endswith(".png") for a in result.artifacts)   # the report shows them as images


def test_llama2_hours_check_bites():
    """Llama 2's published A100 hours, predicted at Megatron-LM's MFU: within the MFU spread for 6·N·T at the dense
    peak; a forward-only count (2·N·T), the sparse peak or 8·N·T (recomputation counted as model FLOPs) fall outside."""
    from modelbook.labs.training_cost import (
        A100_MFU_SPREAD,
        A100_PEAK,
        LLAMA2_GPU_HOURS,
        LLAMA2_TOKENS,
        predicted_a100_hours,
    )
    from modelbook.scaling.flops import LLAMA2_7B, LLAMA2_70B, llama_params

    def worst_error(**fault):
        return max(abs(predicted_a100_hours(llama_params(s), LLAMA2_TOKENS, **fault) / LLAMA2_GPU_HOURS[s.name] - 1)
                   for s in (LLAMA2_7B, LLAMA2_70B))

    assert worst_error() < A100_MFU_SPREAD
    for fault in ({"flops_per_param_token": 2}, {"flops_per_param_token": 8}, {"peak": 2 * A100_PEAK}):
        assert worst_error(**fault) > A100_MFU_SPREAD, fault
