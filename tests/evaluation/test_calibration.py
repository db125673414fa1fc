"""Top-label events for multi-class calibration, against a row-by-row computation."""
import numpy as np

from modelbook.evaluation.calibration import expected_calibration_error, top_label_ece, top_label_events


def test_top_label_events_match_a_row_by_row_computation():
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(5), size=200)
    y = rng.integers(0, 5, 200)
    correct, conf = top_label_events(y, proba)
    rows = [(max(range(5), key=lambda c: p[c]), max(p)) for p in proba.tolist()]
    assert correct.tolist() == [float(top == label) for (top, _), label in zip(rows, y.tolist())]
    assert conf.tolist() == [c for _, c in rows]
    assert 0 < correct.sum() < len(y)
    assert top_label_ece(y, proba, 10) == expected_calibration_error(correct, conf, 10)
