"""Lab `hyperparams`: measured outcomes beyond the contract."""
import math


def test_hyperparams_lab_outcomes(quick_result):
    result, run_dir = quick_result("hyperparams")
    v = result.value
    cfg = result.config
    # the LR range test finds a sensible rate: within a decade of the sweep's best, far from both ends
    assert abs(math.log10(v("lr_range/suggested_lr") / v("lr_sweep/best_lr"))) <= 1
    assert 1e-3 < v("lr_range/suggested_lr") < 0.5
    assert v("lr_sweep/val_acc@lr=1") < 0.3 and v("lr_sweep/val_acc@lr=0.0001") < 0.3   # both ends fail
    # linear scaling: the big batch needs the bigger LR
    big = cfg.batch_sizes[-1]
    assert v(f"batch/val_acc@b={big}/lr_scaled") > v(f"batch/val_acc@b={big}/same_lr") + 0.02
    # epochs: validation minimum before the end, then up
    assert v("epochs/best_epoch_by_val_loss") < cfg.curve_epochs and v("epochs/final_val_loss") > v("epochs/min_val_loss")
    # weight decay shrinks weights and the gap; momentum and Adam beat plain SGD in the same steps
    lo, hi = cfg.weight_decays[0], cfg.weight_decays[-1]
    assert v(f"weight_decay/weight_norm@wd={hi:g}") < v(f"weight_decay/weight_norm@wd={lo:g}")
    assert v(f"weight_decay/gap@wd={hi:g}") < v(f"weight_decay/gap@wd={lo:g}")
    assert min(v("optimizer/val_acc/sgd_momentum"), v("optimizer/val_acc/adam")) > v("optimizer/val_acc/sgd") + 0.03
    # sensitivity table: LR matters most, weight decay least
    spreads = {m.name.rsplit("/", 1)[1]: m.value for m in result.metrics if m.name.startswith("sensitivity/spread/")}
    assert max(spreads, key=spreads.get) == "learning_rate" and min(spreads, key=spreads.get) == "weight_decay"
    table = (run_dir / "sensitivity.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + len(spreads) and "Best setting found" in table
    assert {"hyperparameters.png"} <= set(result.artifacts)
    assert result.artifacts and all(a.endswith(".png") for a in result.artifacts)   # the report shows them as images
