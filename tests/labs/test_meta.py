"""Lab `meta`: measured outcomes beyond the contract (quick preset), bite tests, bad input."""
import dataclasses

import pytest
import torch

from modelbook.core import config as config_mod
from modelbook.core.errors import ModelbookError
from modelbook.core.result import LabResult


def test_maml_beats_pretraining_and_protonets_far_above_chance(quick_result):
    result, run_dir = quick_result("meta")
    v = result.value
    # MAML beats pretraining on all tasks after one step: paired over the held-out tasks, lower 95% bound above 0
    assert v("sine/pretrained_minus_maml_mse_1_step") - v("sine/pretrained_minus_maml_mse_1_step_ci95") > 0
    # both MAML variants and Reptile adapt; pretraining + fine-tuning stays worst after one step
    assert v("sine/pretrained/mse_1_steps") > max(v(f"sine/{m}/mse_1_steps") for m in ("maml", "fomaml", "reptile"))
    # prototypical networks on characters never seen in training: far above 20% chance
    assert v("glyphs/protonet/acc_1shot") - v("glyphs/protonet/acc_1shot_ci95") > 0.4
    assert v("glyphs/protonet/acc_5shot") > v("glyphs/protonet/acc_1shot")
    assert v("glyphs/train_characters") + v("glyphs/test_characters") == result.config.glyph_chars
    for name in ("sinusoid.png", "glyphs.png", "few_shot.png"):
        assert (run_dir / name).stat().st_size > 0


def test_second_order_gradient_cross_check(quick_result):
    result, _ = quick_result("meta")
    v = result.value
    assert v("grad_check/max_rel_diff_func_vs_autograd") < 1e-12
    assert v("grad_check/max_rel_diff_so_minus_fo_vs_hessian_term") < 1e-12
    assert v("grad_check/rel_diff_directional_vs_finite_diff") < 1e-6
    # first order misses the Hessian term: far from the finite difference
    assert v("grad_check/rel_diff_first_order_directional_vs_finite_diff") > 1e-4


def _cfg():
    from modelbook.labs.meta import PRESETS
    return PRESETS["quick"]


def test_bite_gradient_checks_fail_with_a_broken_second_order(monkeypatch):
    """Feed faults: second order silently first order; a Hessian term with the wrong sign."""
    from modelbook.labs import meta as lab
    from modelbook.meta import maml

    real = maml.maml_meta_gradient
    monkeypatch.setattr(maml, "maml_meta_gradient", lambda *a, order=2, **k: real(*a, order=1, **k))
    result = LabResult("meta", _cfg())
    lab._gradient_cross_check(result, _cfg())
    failed = {c.name.split(":")[0] for c in result.failed_checks}
    assert any("torch.func vs torch.autograd" in c.name for c in result.failed_checks), failed
    assert any("finite difference" in c.name for c in result.failed_checks), failed

    monkeypatch.setattr(maml, "maml_meta_gradient", real)
    real_h = maml.hessian_term
    monkeypatch.setattr(maml, "hessian_term", lambda *a, **k: {n: -g for n, g in real_h(*a, **k).items()})
    result = LabResult("meta", _cfg())
    lab._gradient_cross_check(result, _cfg())
    assert [c.name for c in result.failed_checks] == [c.name for c in result.checks if "Hessian" in c.name]


def test_bite_scrambled_prototypes_fail_the_chance_check(monkeypatch, tmp_path):
    """A broken component: prototypes handed out in a random class order each episode; accuracy falls to chance
    and the check fails."""
    from modelbook.labs import meta as lab
    from modelbook.meta import protonet

    real = protonet.prototypes
    monkeypatch.setattr(protonet, "prototypes", lambda z, y, n: real(z, y, n)[..., torch.randperm(n), :])
    cfg = dataclasses.replace(_cfg(), proto_iters=30, glyph_chars=100, eval_episodes=40)
    result = LabResult("meta", cfg)
    lab._glyphs(result, cfg, tmp_path)
    assert result.value("glyphs/protonet/acc_1shot") < 0.3
    assert any("1-shot on unseen characters" in c.name for c in result.failed_checks)


@pytest.mark.parametrize("override, message", [("glyph_chars=5000", "glyph_chars"), ("glyph_size=4", "glyph_size"),
                                               ("sine_iters=-1", "sine_iters")])
def test_bad_config_is_a_one_line_error(override, message):
    from modelbook.labs import meta as lab

    with pytest.raises(ModelbookError, match=message):
        cfg = config_mod.apply_overrides(lab.PRESETS["quick"], (override,))
        config_mod.validate(cfg, lab.PRESETS, "meta")


def test_too_few_drawings_for_the_queries_is_refused(tmp_path):
    from modelbook.labs import meta as lab

    with pytest.raises(ModelbookError, match="glyph_examples"):
        lab.run(dataclasses.replace(lab.PRESETS["quick"], glyph_examples=8, n_query=5), tmp_path)
