"""Lab `llm-eval`: measured outcomes beyond the contract, and faults that the lab's checks catch."""
import numpy as np


def test_llm_eval_lab_outcomes(quick_result):
    result, run_dir = quick_result("llm-eval")
    v = result.value
    assert result.passed
    task = result.config.tasks[0]
    k = result.config.shots
    assert v(f"{task}/{k}shot/acc") > 0.25 and v(f"{task}/gold_ll_gain") > 0  # demonstrations teach the format
    assert v("contamination/recall_leaked") == 1.0 and v("contamination/flagged_clean") == 0.0
    assert v("contamination/recall_exact_string") < 0.5  # scraped copies are not byte-equal
    assert v("contamination/ngram_lm_acc_leaked") > v("contamination/ngram_lm_acc_clean")
    assert abs(v("judge/first_rate") - 0.5) > 0.2  # SmolLM2 as a judge prefers one position
    assert (run_dir / "reliability.png").is_file()


def test_recall_check_fails_without_normalisation():
    """The fault: matching leaked items by exact string (no lower-casing, no re-spacing) misses most scraped
    copies, so the recall check (≥ 1) would fail."""
    from modelbook.data.text import shakespeare
    from modelbook.llm_eval import contamination as C
    from modelbook.llm_eval import tasks as T

    rng = np.random.default_rng(0)
    items = T.hypernym(rng, 12)
    corpus = C.leak(shakespeare()[:20_000], [it.text for it in items], rng)
    assert np.mean([it.text in corpus for it in items]) < 1.0
    assert (C.flag([it.text for it in items], corpus, 8) > 0).all()


def test_position_check_fails_for_an_order_averaged_judge():
    """The fault the judge check detects is real: a judge that averages its scores over both orders (the remedy)
    picks A exactly half the time, and the check's bound |P(A) − 0.5| − margin falls below 0."""
    from modelbook.labs.llm_eval import Z95
    from modelbook.llm_eval import judge as J

    rng = np.random.default_rng(0)
    raw = [np.log(rng.dirichlet([1, 1])) for _ in range(8)]
    first = raw
    second = [ll[::-1] for ll in raw]  # an order-averaged judge scores the swapped pair as the mirror image
    st = J.position_stats(first, second)
    assert st.first_rate == 0.5 and st.consistency == 1.0
    assert abs(st.first_rate - 0.5) - Z95 * np.sqrt(0.25 / 16) < 0
