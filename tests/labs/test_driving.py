"""Lab `driving`: measured outcomes beyond the contract (quick preset)."""


def test_driving_quick(quick_result):
    result, run_dir = quick_result("driving")
    v = result.value
    assert v("perception/all/map_50") > 0.2
    assert v("prediction/learned/ade_3s") < v("prediction/const_velocity/ade_3s")
    assert v("prediction/const_velocity/ade_1s") < v("prediction/const_velocity/ade_3s")
    assert v("decision/idm_mobil/collision_rate") < v("decision/random/collision_rate")
    assert v("planning/exhaustive_paths") > 100
    for name in ("detections.png", "prediction.png", "planning.png", "decision.png"):
        assert (run_dir / name).stat().st_size > 0
