"""Lab `medical`: measured outcomes beyond the contract (quick preset, shared run)."""


def _check(result, start):
    return next(c for c in result.checks if c.name.startswith(start))


def test_scaffold_split_lowers_the_gnn_score(quick_result):
    result, _ = quick_result("medical")
    v = result.value
    assert v("mol/gnn/scaffold/mae") > v("mol/gnn/random/mae")
    assert v("mol/rf/scaffold/mae") > v("mol/rf/random/mae")
    assert v("mol/scaffold_split_shared_scaffolds") == 0


def test_x_learner_beats_naive_and_t_learner(quick_result):
    result, _ = quick_result("medical")
    v = result.value
    assert v("uplift/pehe/x") < 0.5 * v("uplift/pehe/naive")
    assert v("uplift/pehe/x") < v("uplift/pehe/t")
    assert abs(v("uplift/qini/naive")) < 1e-12 < v("uplift/qini/x")


def test_pipeline_equals_the_libraries(quick_result):
    result, _ = quick_result("medical")
    for start in ("CT_small: our HU", "MR_small: our VOI window", "CT_small: soft-tissue window", "CT_small: our DICOM",
                  "anatomical.nii: voxel sizes", "anatomical.nii: voxel→world", "anatomical.nii 2 mm → 3 mm",
                  "scale-normalised LoG"):
        c = _check(result, start)
        assert c.measured <= 1e-9, (c.name, c.measured)
    assert _check(result, "anatomical.nii: orientation codes").measured == 1.0


def test_net_benefit_formula_and_screening(quick_result):
    result, run_dir = quick_result("medical")
    v = result.value
    for name in ("breast_cancer", "pima"):
        assert _check(result, f"{name}: treat-all net benefit").measured <= 1e-12
        assert _check(result, f"{name}: treat-none").measured == 0.0
        assert _check(result, f"{name}: model net benefit vs").measured <= 1e-12
    # the same sensitivity target costs Pima far more specificity than breast cancer
    assert v("diag/breast_cancer/screen_specificity") > v("diag/pima/screen_specificity") + 0.2
    assert v("lesions/sensitivity_at_1fp/contrast_160hu") > v("lesions/sensitivity_at_1fp/contrast_40hu")
    for name in ("diagnosis.png", "lesions_froc.png", "molecules.png", "qini.png"):
        assert (run_dir / name).stat().st_size > 0
