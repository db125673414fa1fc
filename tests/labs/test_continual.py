"""Lab `continual`: the orderings the issue asks for, on the quick preset's result (run once per session)."""
import pytest

from modelbook.core.config import validate
from modelbook.core.errors import ModelbookError


def test_class_incremental_ordering_ewc_lwf_near_finetune_replay_far_above(quick_result):
    result, _ = quick_result("continual")
    v = result.value
    acc = {m: v(f"split/class/{m}/average_accuracy") for m in ("finetune", "ewc", "lwf", "replay", "joint")}
    assert abs(acc["finetune"] - 0.2) < 0.03                     # only the last two of ten classes
    assert acc["ewc"] - acc["finetune"] < 0.08 and acc["lwf"] - acc["finetune"] < 0.08
    assert acc["replay"] > max(acc["finetune"], acc["ewc"], acc["lwf"]) + 0.3
    assert acc["joint"] - acc["replay"] < 0.15
    assert v("split/class/finetune/forgetting") > 0.9 > 0.4 > v("split/class/replay/forgetting")


def test_task_incremental_all_methods_do_well(quick_result):
    result, _ = quick_result("continual")
    v = result.value
    task = {m: v(f"split/task/{m}/average_accuracy") for m in ("finetune", "ewc", "lwf", "replay", "joint")}
    assert min(task.values()) > 0.75
    assert min(task["ewc"], task["replay"], task["lwf"]) > 0.9
    assert task["finetune"] > v("split/class/finetune/average_accuracy") + 0.5


def test_stream_and_detector(quick_result):
    result, run_dir = quick_result("continual")
    v = result.value
    assert v("drift/statistic_max_abs_diff") < 1e-9
    assert v("drift/detection_rate") >= 0.75
    assert 0.7 < v("drift/largest_jump_delay_over_predicted") < 1.3
    for k in (2, 3, 4):
        assert v(f"stream/concept{k}/online_prequential_accuracy") > v(f"stream/concept{k}/static_accuracy") + 0.02
    assert v("ewc/fisher_vmap_vs_loop_rel_diff") < 1e-5
    for name in ("stream_drift.png", "split_accuracy_matrices.png", "split_average_accuracy.png"):
        assert (run_dir / name).stat().st_size > 0


@pytest.mark.parametrize("override", [{"noise": 0.6}, {"buffer": 0}, {"per_class_train": 7000}, {"ph_threshold": 0.0}])
def test_bad_config_is_a_one_line_error(override):
    from dataclasses import replace

    from modelbook.labs import continual

    cfg = replace(continual.PRESETS["quick"], **override)
    with pytest.raises(ModelbookError):
        validate(cfg, continual.PRESETS, "continual")
