"""Lab `dialogue`: measured outcomes beyond the contract."""


def test_dialogue_lab_outcomes(quick_result):
    result, run_dir = quick_result("dialogue")
    v = result.value
    assert v("intent/classes") == 18 and v("intent/imbalance_ratio") > 30
    assert v("intent/tfidf_balanced_macro_f1") > v("intent/tfidf_macro_f1") > 0.5
    assert v("intent/minilm_balanced_macro_f1") > 0.75
    assert v("intent/majority_macro_f1") < 0.05
    assert v("sentiment/test_accuracy") > 0.75
    assert v("sentiment/escalation_recall_negative") >= 0.85
    assert v("dst/generated_carry_over_jga") == 1.0
    assert v("dst/generated_turn_only_jga") < 0.4 and v("dst/handwritten_turn_only_jga") < 0.4
    assert v("chat/p_true_answer_full_history") > v("chat/p_true_answer_truncated") + 0.2
    assert v("chat/prefill_tokens_with_cache_reuse") < v("chat/prefill_tokens_without_reuse")
    assert "intent" in (run_dir / "intent_report.txt").read_text()
    assert "window" in (run_dir / "chat_transcripts.txt").read_text()
    assert result.artifacts and all(a.endswith(".png") for a in result.artifacts)   # the report shows them as images
