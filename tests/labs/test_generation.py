"""Lab `generation`: measured outcomes beyond the contract."""


def test_generation_lab_outcomes(quick_result):
    result, run_dir = quick_result("generation")
    v = result.value
    assert v("greedy/identical_share") == 1.0 and v("greedy/tokens_compared") >= 5
    assert v("sampling/identical_share") == 1.0
    assert v("beam/smollm2_same_hypotheses") == 1.0 and v("beam/smollm2_max_score_diff") < 1e-4
    assert v("beam/full_width_equals_exhaustive_share") == 1.0
    assert v("beam/search_error_rate_width1") >= v("beam/search_error_rate_width4")
    assert v("top_k/kept") == 20 and v("top_p/kept_mass") >= 0.9
    assert v("temperature/entropy_nats_T0.5") < v("temperature/entropy_nats_T1.0") < v("temperature/entropy_nats_T1.5")
    assert v("processors/max_prob_diff_vs_transformers") < 1e-12
    # the answer was spoken: a real WAV of plausible length at espeak-ng's native rate
    assert v("tts/sample_rate") == 22050 and 0.3 < v("tts/answer_seconds") < 60
    assert 100 < v("tts/answer_words_per_minute") < 300
    assert (run_dir / "answer.wav").stat().st_size > 10_000
    assert "ours" in (run_dir / "generations.txt").read_text()
    assert result.artifacts and all(a.endswith(".png") for a in result.artifacts)   # the report shows them as images
