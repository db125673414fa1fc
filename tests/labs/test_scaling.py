"""Lab `scaling`: measured outcomes beyond the contract, and faults that the lab's checks catch."""
import numpy as np
import pytest

from modelbook.nn.gpt import n_params


@pytest.fixture(autouse=True)
def one_thread():
    from modelbook.core.measure import limit_threads

    with limit_threads(1):
        yield


def _ladder_runs(result):
    """(N, D, L) of every run of the quick ladder, rebuilt from the result's metrics."""
    from modelbook.data.text import shakespeare
    from modelbook.labs import scaling
    from modelbook.nlp.charlm import CharVocab

    cfg = result.config
    vocab = CharVocab(shakespeare())                               # the lab's vocabulary: every character of the corpus
    rows = []
    for w in cfg.ladder_widths:
        N = n_params(scaling._gpt(vocab, cfg, w, cfg.ladder_layers))
        for steps in cfg.budgets:
            rows.append((N, steps * cfg.ladder_batch * cfg.seq, result.value(f"ladder/d{w}_steps{steps}/loss")))
    return (np.array(col, float) for col in zip(*rows))


def test_scaling_lab_outcomes(quick_result):
    result, run_dir = quick_result("scaling")
    v = result.value
    cfg = result.config
    assert result.passed
    assert v("ladder/runs") == len(cfg.ladder_widths) * len(cfg.budgets) >= 20
    # more data and more parameters both lower the loss at the longest budget and the largest width
    top = max(cfg.budgets)
    assert v(f"ladder/d{cfg.ladder_widths[-1]}_steps{top}/loss") < v(f"ladder/d{cfg.ladder_widths[0]}_steps{top}/loss")
    w = cfg.ladder_widths[-1]
    assert v(f"ladder/d{w}_steps{top}/loss") < v(f"ladder/d{w}_steps{min(cfg.budgets)}/loss")
    # the law fitted on the rest predicts the held-out runs within the stated error
    assert v("heldout/mean_rel_error") <= cfg.heldout_tolerance
    assert v("fit/alpha") > 0 and v("fit/beta") > 0 and 0 < v("fit/a") < 1
    assert v("fit/alpha_ci_low") <= v("fit/alpha") <= v("fit/alpha_ci_high")
    # 6ND overstates the counted FLOPs of such small models, most for the smallest
    assert v("flops/6ND_over_exact_smallest") > v("flops/6ND_over_exact_largest") > 1
    # μP: the best learning rate moves less across widths than under SP, on the run's paired seeds
    assert v("mup/sp/octaves_per_width_doubling") < -0.6
    assert abs(v("mup/mup/octaves_per_width_doubling")) < 0.3
    assert v("mup/mup/spread_octaves") < v("mup/sp/spread_octaves")
    for name in ("ladder_fit.png", "compute_optimal.png", "mup_lr_sweep.png", "coordinate_check.png"):
        assert (run_dir / name).is_file()


def test_heldout_check_fails_when_the_data_term_is_switched_off(quick_result):
    """The fault: a law that ignores the token budget (every D set to 1, so B/D^β folds into E). Fitted on the
    same runs, it misses the held-out longest budget by more than the lab's tolerance."""
    from modelbook.scaling.fit import fit_scaling_law

    result, _ = quick_result("scaling")
    cfg = result.config
    N, D, L = _ladder_runs(result)
    held = (N == N.max()) | (D == D.max())

    def heldout_error(d):
        law = fit_scaling_law(N[~held], d[~held], L[~held], starts=cfg.fit_starts)
        return np.abs(law.loss(N[held], d[held]) / L[held] - 1).mean()

    assert heldout_error(D) == pytest.approx(result.value("heldout/mean_rel_error"), rel=1e-6)
    assert heldout_error(np.ones_like(D)) > cfg.heldout_tolerance


def test_allocation_check_fails_with_swapped_exponents(quick_result):
    """The fault: N_opt ∝ C^(α/(α+β)) instead of C^(β/(α+β)). The lab's brute-force search tells them apart."""
    from modelbook.labs import scaling
    from modelbook.scaling.fit import ScalingLaw

    result, _ = quick_result("scaling")
    v = result.value
    law = ScalingLaw(v("fit/E"), v("fit/A"), v("fit/B"), v("fit/alpha"), v("fit/beta"))
    C = v("optimal/C_max")
    G = (law.alpha * law.A / (law.beta * law.B)) ** (1 / (law.alpha + law.beta))
    wrong = G * (C / 6) ** law.b
    right = scaling._brute_force_optimum(law, C)
    assert abs(law.optimal(C)[0] / right - 1) <= 1e-4
    if abs(law.alpha - law.beta) > 0.02:                          # α = β makes the fault invisible, as it should
        assert abs(wrong / right - 1) > 1e-4


def test_mup_check_fails_without_the_hidden_step_size_rule(monkeypatch, tmp_path, quick_result):
    """The fault: μP's multipliers and init, but every weight at the same Adam step size (the 1/m rule for hidden
    matrices switched off). The best learning rate drifts again and the lab's check fails."""
    import torch

    from modelbook.core.result import LabResult
    from modelbook.labs import scaling

    result, _ = quick_result("scaling")
    cfg = result.config
    monkeypatch.setattr(scaling, "lr_multipliers", lambda model: {name: 1.0 for name, _ in model.named_parameters()})
    vocab, train, heldout = scaling._data(cfg)
    faulty = LabResult("scaling", cfg)
    torch.manual_seed(cfg.seed)
    scaling._mup_sweep(faulty, cfg, vocab, train, heldout, tmp_path)
    (check,) = faulty.checks
    assert not check.passed
    assert faulty.value("mup/mup/spread_octaves") > result.value("mup/mup/spread_octaves") + 0.5
