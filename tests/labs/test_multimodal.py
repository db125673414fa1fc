"""Lab `multimodal`: measured outcomes beyond the contract (quick preset)."""


def test_orderings_and_artifacts(quick_result):
    result, run_dir = quick_result("multimodal")
    v = result.value
    budget = v("fusion/image_only/params")
    for name in ("audio_only", "early", "late", "cross_attention"):
        assert abs(v(f"fusion/{name}/params") - budget) / budget < 0.1  # equal parameter count
    assert v("fusion/late/acc_both") > max(v("fusion/image_only/acc_both"), v("fusion/audio_only/acc_both"))
    assert v("fusion/image_only/acc_image_missing") < 0.2 and v("fusion/audio_only/acc_audio_missing") < 0.2
    assert v("fusion/audio_only/acc_audio_noisy") < v("fusion/audio_only/acc_both")
    assert v("fusion/early+moddrop/acc_audio_missing") > v("fusion/early/acc_audio_missing")
    assert v("align/image_to_audio/R@5") > v("align/chance_R@5")
    assert 0.5 < v("multitask/gender_joint") <= 1
    for name in ("fusion.png", "alignment.png"):
        assert (run_dir / name).stat().st_size > 0
