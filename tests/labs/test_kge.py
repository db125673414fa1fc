"""Lab `kge`: measured outcomes beyond the contract (quick preset: Nations)."""
from modelbook.labs.kge import CONVE_ROWS


def test_kge_lab_outcomes(quick_result):
    result, _ = quick_result("kge")
    v = result.value
    assert v("evaluator/max_rank_diff_vs_definition") <= 1e-9
    # TransE and RotatE reach the published Nations ballpark on Hits@10 (ConvE README row: 1.00)
    published_h10 = CONVE_ROWS["nations"][2]
    for model in ("transe", "rotate"):
        assert v(f"nations/{model}/hits@10") >= published_h10 - 0.05
    # ... and every model ranks far better than a constant scorer; RotatE above TransE (symmetric relations)
    for model in ("transe", "rotate", "distmult", "complex"):
        assert v(f"nations/{model}/mrr") >= v("nations/constant_scores/mrr") + 0.15
    assert v("nations/rotate/mrr") > v("nations/transe/mrr")
    # Nations is mostly inverse pairs (ConvE README: >95%): the lookup rule alone scores like a trained model
    assert v("nations/inverse_share_of_test") > 0.9
    assert v("nations/inverse_rule/mrr") > v("nations/transe/mrr")
