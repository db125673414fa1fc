"""Lab `nlp`: measured outcomes beyond the contract."""


def test_nlp_lab_outcomes(quick_result):
    result, run_dir = quick_result("nlp")
    v = result.value
    assert 2.5 < v("ppl/chars_per_token") < 4.5                      # English text through SmolLM2's BPE
    assert v("ppl/sliding_perplexity") < v("ppl/disjoint_perplexity")
    assert v("ppl/sliding_bits_per_char") < v("ppl/char_2gram_bits_per_char") < v("ppl/char_1gram_bits_per_char")
    assert v("sentiment/tfidf_jieba_accuracy") > 0.75 and v("sentiment/majority_accuracy") < 0.55
    assert v("sentiment/fasttext_macro_f1") > 0.7
    assert v("qa/rrf_recall_at_3") >= 0.8 and v("qa/documents") >= 10
    assert any("full preset" in n for n in result.notes)  # RAG answers are the full preset's (tests/nlp/test_rag.py)
    assert result.artifacts and all(a.endswith(".png") for a in result.artifacts)
