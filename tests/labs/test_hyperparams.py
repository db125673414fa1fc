"""Lab `hyperparams`: measured outcomes beyond the contract."""
import math

import numpy as np

from modelbook.labs.hyperparams import LR_BRACKET_DECADES, sensible_lr_spread, sweep_peak

# validation accuracy of the quick sweep (SGD + momentum, 3 epochs) on seed 2: the peak is near 0.1
SWEEP = {1e-4: 0.091, 3e-4: 0.137, 1e-3: 0.315, 3e-3: 0.577, 1e-2: 0.623, 3e-2: 0.700, 1e-1: 0.749, 3e-1: 0.679, 1.0: 0.125}


def test_hyperparams_lab_outcomes(quick_result):
    result, run_dir = quick_result("hyperparams")
    v = result.value
    cfg = result.config
    # the LR range test finds a sensible rate: the sweep's peak lies between min / 10 and the loss minimum
    assert 0 <= math.log10(v("lr_sweep/peak_lr") / v("lr_range/suggested_lr")) <= LR_BRACKET_DECADES
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


def test_lr_bracket_check_fails_for_a_suggestion_a_decade_off():
    """The range-test check on seed 2's sweep: its suggestion (min / 10 = 0.0248) passes; reading the loss minimum
    itself (a decade higher) or backing off by 100 (a decade lower) puts the peak outside [0, 1] decades."""
    peak = sweep_peak(SWEEP)
    assert 0.08 < peak < 0.1                                               # pulled from 0.1 towards 0.03 (0.700 > 0.679)
    for suggested, ok in ((0.0248, True), (0.248, False), (0.00248, False)):
        assert (0 <= math.log10(peak / suggested) <= LR_BRACKET_DECADES) is ok, suggested
    a2, a1, _ = np.polyfit([-2.0, -1.0, 0.0], [0.5, 0.6, 0.1], 2)           # the vertex, by a least-squares fit
    assert math.isclose(math.log10(sweep_peak({1e-2: 0.5, 1e-1: 0.6, 1.0: 0.1})), -a1 / (2 * a2), rel_tol=1e-9)
    assert sweep_peak({1e-3: 0.9, 1e-2: 0.5}) == 1e-3                     # best at an end of the grid: the end itself


def test_lr_sensitivity_check_ignores_a_divergent_rate():
    """A sweep that only moves at its divergent rate: the old statistic (spread over every rate) still reads 0.6, the
    new one (rates that train within two decades of the best) reads ~0, so the check (LR spread ≥ 2 × WD spread) fails."""
    flat = {lr: 0.70 + 0.002 * i for i, lr in enumerate(SWEEP)} | {1.0: 0.10}
    assert max(flat.values()) - min(flat.values()) > 0.5
    assert sensible_lr_spread(flat) < 2 * 0.01                           # a weight-decay spread of 0.01 would beat it
    assert abs(sensible_lr_spread(SWEEP) - (0.749 - 0.315)) < 1e-12      # 1e-3 … 0.3: 1e-4, 3e-4 and 1 did not train
