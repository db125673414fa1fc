"""Lab `rag-tools`: measured outcomes beyond the contract, and faults that the lab's checks catch.

The bite tests run the lab's reading stage with a program in place of SmolLM2 (it answers with whichever
option its context states), so they need no model and show that the checks judge the retrieval and the
abstention rule, not the reader."""
import random

import pytest

from modelbook.core.result import LabResult
from modelbook.labs import rag_tools
from modelbook.rag import facts as F


def test_rag_tools_lab_outcomes(quick_result):
    result, run_dir = quick_result("rag-tools")
    v = result.value
    assert result.passed
    assert v("tools/constrained_parse_rate") == 1.0 and v("tools/constrained_calls") >= 2
    assert v("reading/accuracy_with_context") > v("reading/accuracy_closed_book")
    assert v("hallucination/rate_with_rule") <= v("hallucination/rate_without_rule")
    assert v("tools/calculator_accuracy") > v("tools/direct_accuracy")
    assert 0 < v("chunking/fixed/bm25_recall_at_1") <= v("chunking/fixed/bm25_recall_at_3") <= 1
    for name in ("chunking_recall.png", "transcripts.txt"):
        assert (run_dir / name).is_file()


class ContextCopier:
    """A reader that is a program: the first option its context states, else "unknown"."""

    def read(self, question, options, context, lead=""):
        if context:
            for o in options:
                if o != F.UNKNOWN and o in context:
                    return o
        return F.UNKNOWN


class SecondBest:
    """A broken retriever: always the runner-up document."""

    def __init__(self, index):
        self.index = index

    def search(self, text, k=1, method="bm25"):
        return self.index.search(text, k=k + 1, method=method)[1:]


def _reading(monkeypatch=None, broken_index=False):
    cfg = rag_tools.PRESETS["full"]
    towns = F.make_towns(cfg.n_towns + cfg.n_absent, 5)
    known = towns[:cfg.n_towns]
    if broken_index:
        real = rag_tools._kb_index
        monkeypatch.setattr(rag_tools, "_kb_index", lambda k: SecondBest(real(k)))
    result = LabResult("rag-tools", cfg)
    rag_tools._reading(result, cfg, ContextCopier(), towns, known, random.Random(3), [])
    return {c.name.split(" (")[0].split(":")[0]: c for c in result.checks}, result


def test_reading_checks_pass_with_a_faithful_reader():
    checks, result = _reading()
    assert all(c.passed for c in checks.values())
    assert result.value("hallucination/rate_without_rule") > 0.5  # the copier answers from the wrong town's text


def test_rag_gain_check_fails_when_retrieval_returns_the_wrong_document(monkeypatch):
    checks, _ = _reading(monkeypatch, broken_index=True)
    gain = next(c for n, c in checks.items() if n.startswith("retrieved context raises"))
    assert not gain.passed


def test_abstention_check_fails_with_a_threshold_fitted_on_swapped_labels(monkeypatch):
    from modelbook.rag import abstain

    fit = abstain.fit_threshold
    monkeypatch.setattr(abstain, "fit_threshold", lambda yes, no: fit(no, yes))
    checks, _ = _reading()
    rule = next(c for n, c in checks.items() if n.startswith("a retrieval-score abstention rule"))
    assert not rule.passed


@pytest.mark.parametrize("field,value", [("n_read", "0"), ("chunk_size", "5"), ("n_towns", "1")])
def test_bad_config_is_refused(field, value):
    from modelbook.core.config import apply_overrides, validate
    from modelbook.core.errors import ModelbookError

    with pytest.raises(ModelbookError, match=field):
        validate(apply_overrides(rag_tools.PRESETS["quick"], (f"{field}={value}",)), rag_tools.PRESETS, "rag-tools")


def test_unknown_strategy_is_one_line_error(tmp_path):
    import dataclasses

    from modelbook.core.errors import ModelbookError

    with pytest.raises(ModelbookError, match="chunking strategies"):
        rag_tools.run(dataclasses.replace(rag_tools.PRESETS["quick"], strategies=("paragraphs",)), tmp_path)
