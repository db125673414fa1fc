"""Lab `speech`: measured outcomes beyond the contract (quick preset), bite tests, bad input."""
import pytest
import torch

from modelbook.core.result import LabResult


def test_quick_outcomes(quick_result):
    result, run_dir = quick_result("speech")
    v = result.value
    assert v("e2e/wer_unseen") < 0.6 and v("zh/cer_unseen") < 0.6
    assert v("speaker/eer") < 0.4
    assert v("vad/silero_frame_f1") > 0.8
    assert v("lm/digit_entropy_bits") > 3.1  # digit strings have no grammar for the LM to use
    for name in ("wer_by_snr.png", "verification.png"):
        assert (run_dir / name).stat().st_size > 0


def test_bite_a_ctc_loss_without_skip_transitions_fails_its_check(monkeypatch):
    """A CTC loss off by 0.1% and an edit distance that counts at most one error per utterance: both checks fail."""
    from modelbook.labs import speech as lab
    from modelbook.speech import ctc, metrics

    real = ctc.ctc_loss

    def broken(log_probs, targets, il, tl, **kw):
        return real(log_probs, targets, il, tl, **kw) * 1.001
    monkeypatch.setattr(ctc, "ctc_loss", broken)
    monkeypatch.setattr(metrics, "edit_distance", lambda r, h: int(len(r) > 0 and len(h) > 0))  # at most one error
    cfg = lab.PRESETS["quick"]
    from modelbook.speech import corpus as corpus_mod
    from modelbook.speech.recognizer import featurize
    data = corpus_mod.build(corpus_mod.preset("small", kinds=("digit",), voices_per_language=6, n_per_voice=2,
                                              languages=("en",)))
    feats = [featurize(data.audio(i)) for i in range(len(data))]
    held = lab._held_out(data)
    result = LabResult("speech", cfg)
    lab._end_to_end(result, lab.Config(epochs=1, channels=8, max_wer=1.0), data, feats, held, _tmp())
    failed = " ".join(c.name for c in result.failed_checks)
    assert "CTC loss" in failed and "WER from scratch vs jiwer" in failed


def _tmp():
    import tempfile
    from pathlib import Path
    return Path(tempfile.mkdtemp())


def test_bad_input_is_one_line():
    from modelbook.core.errors import ModelbookError
    from modelbook.speech import corpus as corpus_mod
    from modelbook.speech.recognizer import Recognizer

    with pytest.raises(ModelbookError):
        corpus_mod.preset("huge")
    with pytest.raises(ModelbookError, match="cannot load"):
        Recognizer.load(_tmp() / "missing.pt")
    assert torch.__version__
