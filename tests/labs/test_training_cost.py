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
    # mixed precision: the measured table is ZeRO's 2 + 2 + 12; the estimate is within 10% of the measured peak
    for key, bytes_per_param in (("weights", 2), ("gradients", 2), ("master", 4), ("adam_m_v", 8), ("total", 16)):
        assert v(f"memory_mixed/bytes_per_param/{key}") == pytest.approx(bytes_per_param, abs=0.25)
    assert v("memory_autocast/bytes_per_param/weights") == pytest.approx(4, abs=0.25)       # autocast keeps fp32 weights
    for name in sizes:
        assert v(f"memory_mixed/{name}/estimated_over_measured") == pytest.approx(1, abs=0.1)
        assert v(f"memory_mixed/{name}/measured_peak_MB") < v(f"memory/{name}/measured_peak_MB")   # activations halve
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
    assert {"flops_vs_length.png", "memory_estimate_vs_measured.png", "memory_mixed_precision.png", "dedup.png"} <= set(result.artifacts)
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


# -- mixed precision: the measured per-parameter table and the peak estimate, and faults that each check catches --
MIXED_SIZES = ((32, 2, 2), (48, 2, 2), (64, 3, 4))   # (d_model, n_layer, n_head), small: the table is a slope over them


def _mixed_measurements(**kw):
    """(params, peaks, marks, configs) of two mixed-precision steps per size, batch 2 × 16 tokens."""
    import torch

    from modelbook.labs.training_cost import BYTE_VOCAB, mixed_step_memory
    from modelbook.nn.gpt import GPTConfig, n_params

    idx = torch.randint(0, BYTE_VOCAB, (2, 16), generator=torch.Generator().manual_seed(0))
    cfgs = [GPTConfig(vocab_size=BYTE_VOCAB, block_size=16, n_layer=L, n_head=h, d_model=d) for d, L, h in MIXED_SIZES]
    runs = [mixed_step_memory(c, idx, **kw) for c in cfgs]
    return [n_params(c) for c in cfgs], [r[0] for r in runs], [r[1] for r in runs], cfgs


def test_mixed_state_table_checks_bite():
    """Measured 2 + 2 + 12 bytes per parameter; estimators that count a half-precision master copy (2 + 2 + 10),
    forget it (2 + 2 + 8) or count the fp32 layout (4 + 4 + 8, the right total) each miss a row by ≥ 2 bytes.
    Faulty steps fail too: an fp32 model under the master-weights optimizer (20 bytes), and a bf16 model stepped
    without any fp32 copy (torch's AdamW on the bf16 weights: 2 + 2 + 4 = 8)."""
    import torch

    from modelbook.labs.training_cost import STATE_TOLERANCE, state_bytes_per_param, state_table_errors

    params, _, marks, _ = _mixed_measurements()
    table = state_bytes_per_param(params, marks)
    assert max(state_table_errors(table).values()) <= STATE_TOLERANCE
    assert table["master"] == pytest.approx(4, abs=STATE_TOLERANCE) and table["adam_m_v"] == pytest.approx(8, abs=STATE_TOLERANCE)
    for wrong in ((2, 2, 10), (2, 2, 8), (4, 4, 8)):
        assert max(state_table_errors(table, wrong).values()) > STATE_TOLERANCE, wrong
    for fault, total in (({"half": torch.float32}, 20), ({"optimizer": torch.optim.AdamW}, 8)):
        params, _, marks, _ = _mixed_measurements(**fault)
        bad = state_bytes_per_param(params, marks)
        assert bad["total"] == pytest.approx(total, abs=STATE_TOLERANCE), fault
        assert state_table_errors(bad)["total"] > STATE_TOLERANCE, fault


def test_autocast_table_check_bites():
    """torch.autocast keeps fp32 weights: its measured table is the fp32 layout 4 + 4 + 8; held against the
    mixed-precision layout (2 + 2 + 12), which wrongly assumes a 16-bit weight copy, it fails."""
    from modelbook.labs.training_cost import STATE_TOLERANCE, state_bytes_per_param, state_table_errors
    from modelbook.scaling.memory import STATE_BYTES

    params, _, marks, _ = _mixed_measurements(autocast=True)
    auto = state_bytes_per_param(params, marks)
    assert max(state_table_errors(auto, STATE_BYTES[("fp32", "adam")]).values()) <= STATE_TOLERANCE
    assert max(state_table_errors(auto).values()) > STATE_TOLERANCE


def test_mixed_peak_check_bites(monkeypatch):
    """The mixed-precision peak estimate is within MIXED_PEAK_TOLERANCE of the measured peak at every size; an
    estimator that forgets the fp32 master copy, or that keeps 4-byte activations, falls outside at some size."""
    import modelbook.scaling.memory as memory
    from modelbook.labs.training_cost import MIXED_PEAK_TOLERANCE

    _, peaks, _, cfgs = _mixed_measurements()

    def worst():
        return max(abs(memory.training_peak_bytes(c, 2, 16, precision="mixed")["peak"] / m - 1) for c, m in zip(cfgs, peaks))

    assert worst() <= MIXED_PEAK_TOLERANCE
    for fault in ({"STATE_BYTES": {**memory.STATE_BYTES, ("mixed", "adam"): (2, 2, 8)}},    # no fp32 master copy
                  {"VALUE_BYTES": {**memory.VALUE_BYTES, "mixed": 4}}):                      # fp32 activations
        with monkeypatch.context() as m:
            for name, value in fault.items():
                m.setattr(memory, name, value)
            assert worst() > MIXED_PEAK_TOLERANCE, fault
