"""Lab `automl`: measured outcomes beyond the contract (quick preset, run once per session), and config errors."""
import dataclasses

import pytest

from modelbook.core.config import validate
from modelbook.core.errors import ModelbookError
from modelbook.labs import automl


def test_search_orderings_and_pruning(quick_result):
    result, run_dir = quick_result("automl")
    v = result.value
    # TPE below random at the budget, paired over seeds, both above the L-BFGS-B optimum (a true lower bound here)
    assert v("search/random_minus_tpe/lower95") > 0
    assert v("search/tpe_wins") > 0.5
    assert v("search/optimum_lbfgs") <= v("search/tpe/best_mean") < v("search/random/best_mean")
    # the curves fall with the budget
    for k in ("tpe", "random"):
        assert v(f"search/{k}/best_mean") <= v(f"search/{k}/best_at_half_budget")
    # the pruner saved epochs, our median rule made Optuna's decision every time
    assert v("pruning/epochs_saved_fraction") > 0.1
    assert v("pruning/decisions_compared") > 50
    assert (run_dir / "automl.png").stat().st_size > 0


def test_selection_features_ensembles(quick_result):
    result, _ = quick_result("automl")
    v = result.value
    assert 0.9 < v("selection/nested_cv_accuracy") <= 1.0
    assert 0.9 < v("selection/test_accuracy_of_selected") <= 1.0
    assert 0.4 < v("features/raw_r2") < 0.6 and 0.4 < v("features/auto_r2") < 0.6  # diabetes: R² ≈ 0.5 (Efron et al. 2004)
    assert v("ensembles/best_single_accuracy") >= v("ensembles/logistic/accuracy")
    checks = {c.name: c for c in result.checks}
    assert checks["ensembles/stacking_vs_sklearn"].measured < 1e-9


def test_shared_study_counts(quick_result):
    result, _ = quick_result("automl")
    cfg = result.config
    v = result.value
    n = cfg.workers * cfg.worker_trials
    assert v("shared/trials") == v("shared/distinct_numbers") == n
    assert v("shared/min_trials_per_worker") == cfg.worker_trials
    assert any("postgresql+psycopg://" in note for note in result.notes)  # the multi-machine command is printed


@pytest.mark.parametrize("field, value", [("test_fraction", 0.9), ("workers", 1), ("trials", 2), ("search_seeds", 1)])
def test_bad_config_is_a_one_line_error(field, value):
    cfg = dataclasses.replace(automl.PRESETS["quick"], **{field: value})
    with pytest.raises(ModelbookError, match=field):
        validate(cfg, automl.PRESETS)


def test_bad_storage_url_is_a_one_line_error(tmp_path):
    cfg = dataclasses.replace(automl.PRESETS["quick"], storage="studies.db")
    with pytest.raises(ModelbookError, match="not a database URL"):
        automl.run(cfg, tmp_path)
