"""Lab `monitoring`: the run's logs, read back independently, agree with what the lab reports."""
import json

import numpy as np


def test_monitoring_lab_outcomes(quick_result):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result, run_dir = quick_result("monitoring")
    v = result.value
    # TensorBoard events, read back here with tensorboard's own reader, equal the JSONL log line by line
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    lines = [json.loads(line) for line in (run_dir / "train_log.jsonl").read_text().splitlines()]
    assert len(lines) == result.config.n_epochs == v("log/epochs_logged_jsonl")
    for key in ("train_loss", "val_loss", "val_acc", "lr"):
        np.testing.assert_allclose([e.value for e in events.Scalars(f"epoch/{key}")], [l[key] for l in lines], rtol=1e-6)
    assert [e.step for e in events.Scalars("epoch/val_acc")] == list(range(1, len(lines) + 1))
    assert len(events.Scalars("step/grad_norm")) == v("log/step_points_grad_norm") > 10
    # checkpoint-best holds the best epoch of the log, not the last
    accs = [l["val_acc"] for l in lines]
    assert v("checkpoint/best_epoch") == int(np.argmax(accs)) + 1 and v("checkpoint/best_val_acc") == max(accs)
    assert (run_dir / "checkpoints" / "best.safetensors").stat().st_size > 0
    # the network learned something; the schedules behaved as their definitions say
    assert v("run/final_val_acc") > 0.7
    assert abs(v("schedules/one_cycle/peak_lr") - 10 * result.config.lr) < 1e-5 and v("schedules/plateau/lr_cuts") >= 1
    assert v("schedules/step/final_lr") < 1e-5 < v("schedules/step/peak_lr")
    # the alerts fired right after the injected faults, and resume reproduced the uninterrupted run exactly
    assert v("alerts/nan_batch/steps_to_alert") == 1 and 1 <= v("alerts/lr_spike/steps_to_alert") <= 3
    assert v("resume/max_abs_weight_diff") == 0.0
    notes = [c.note for c in result.checks if "alert" in c.name]
    assert any("loss became nan" in n for n in notes) and any("exploding gradient" in n or "loss became" in n for n in notes)
    assert {"lr_schedules.png", "learning_curves.png"} <= set(result.artifacts)
    assert result.artifacts and all(a.endswith(".png") for a in result.artifacts)   # the report shows them as images
