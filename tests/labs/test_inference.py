"""Lab `inference`: measured outcomes beyond the contract, and faults that the lab's checks catch."""
import dataclasses

import pytest

from modelbook.core.result import LabResult


@pytest.fixture(autouse=True)
def one_thread():
    from modelbook.core.measure import limit_threads

    with limit_threads(1):
        yield


def test_inference_lab_outcomes(quick_result):
    result, run_dir = quick_result("inference")
    v = result.value
    assert result.passed
    # exactness everywhere; the work changes: continuous batching needs fewer steps and wastes less KV memory
    assert v("batch/continuous/steps") < v("batch/static/steps")
    assert v("batch/continuous/useful_slot_fraction") > v("batch/static/useful_slot_fraction")
    assert v("batch/continuous/peak_reserved_slots") < v("batch/static/peak_reserved_slots")
    assert v("batch/continuous/kv_waste") < v("batch/static/kv_waste")
    assert v("prefix/prefill_tokens_saved") > 0
    assert 1 <= v("spec/lookup/tokens_per_target_pass") and 1 <= v("spec/layers/tokens_per_target_pass")
    assert v("kv/int8/bytes_per_token") < 0.6 * v("kv/fp16/bytes_per_token")
    assert abs(v("kv/int8/ppl_increase")) < abs(v("kv/int4/ppl_increase")) + 1e-3
    for name in ("speculative.png", "batching.png"):
        assert (run_dir / name).is_file()


def _cfg():
    from modelbook.labs import inference

    return dataclasses.replace(inference.PRESETS["quick"], stat_samples=2000)


def test_statistical_check_fails_when_every_draft_is_accepted(monkeypatch):
    """The fault: a rule that keeps every draft (r < 1 always). It then samples from the draft, not the target."""
    from modelbook.labs import inference

    def always(p, q, drafts, rng):
        return len(drafts), int(rng.choice(p.shape[1], p=p[len(drafts)]))

    result = LabResult("inference", _cfg())
    inference._statistical(result, _cfg())
    assert result.checks[-1].passed
    monkeypatch.setattr(inference, "accept_sampled", always)
    broken = LabResult("inference", _cfg())
    inference._statistical(broken, _cfg())
    assert not broken.checks[-1].passed and broken.value("spec_sampling/chi2_p") < 1e-3


def test_speculative_check_fails_when_greedy_verification_keeps_one_unchecked_draft(monkeypatch, tmp_path):
    """The fault: the first draft token is kept without comparing it with the target's argmax."""
    from modelbook.inference import speculative
    from modelbook.labs import inference

    real = speculative.accept_greedy

    def sloppy(logits, drafts):
        n, nxt = real(logits, drafts)
        if n == 0 and drafts:
            return 1, int(logits[1].argmax())
        return n, nxt

    monkeypatch.setattr(speculative, "accept_greedy", sloppy)
    cfg = dataclasses.replace(_cfg(), spec_prompts=1)
    model, prompts, _, _, eos = inference._setup(cfg)
    result = LabResult("inference", cfg)
    inference._speculative(result, cfg, model, inference.PackedLlama(model), prompts, eos, tmp_path)
    spec = [c for c in result.checks if c.name.startswith("speculative greedy")]
    assert spec and not all(c.passed for c in spec)
