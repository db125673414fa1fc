"""Lab `alignment`: measured outcomes beyond the contract, and faults that the lab's checks catch."""
import dataclasses

import numpy as np
import pytest
import torch

from modelbook.evaluation.uncertainty import paired_lower_bound


@pytest.fixture(autouse=True)
def one_thread():
    from modelbook.core.measure import limit_threads

    with limit_threads(1):
        yield


def test_alignment_lab_outcomes(quick_result):
    result, run_dir = quick_result("alignment")
    v = result.value
    assert result.passed
    # every step measured on held-out prompts; GRPO with the verifier raises the verified accuracy of samples
    assert v("grpo/heldout_sampled_accuracy") > v("sft/heldout_sampled_accuracy")
    assert v("sft/heldout_accuracy") > 0.1
    # the flawed reward is hacked: its training reward rises, answers grow, verified accuracy collapses
    assert v("hacked/reward_last5") > v("hacked/reward_first5")
    assert v("hacked/heldout_length") > v("sft/heldout_length") + 1
    assert v("hacked/heldout_accuracy") < v("sft/heldout_accuracy") / 2
    assert 0 < v("lora/trainable_share") < 0.5
    assert (run_dir / "alignment.png").is_file()


def test_reward_model_check_fails_when_the_labels_are_flipped():
    """The fault: a Bradley–Terry reward model trained with chosen and rejected swapped. The lab's own check
    (_reward_model) passes on the verifier's labels and fails on the flipped ones. Pairs come from the untrained
    model (chosen = the demonstration, rejected = its wrong sample), so no SFT is needed; 15 reward-model steps."""
    from modelbook.alignment import tasks
    from modelbook.alignment import train as T
    from modelbook.core.result import LabResult
    from modelbook.labs.alignment import PRESETS, _reward_model

    cfg = dataclasses.replace(PRESETS["quick"], rm_steps=15)
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    train, held = tasks.splits(cfg.max_operand, cfg.heldout, gen)
    model = T.tiny_gpt(cfg.d_model, cfg.n_layer, cfg.max_new).eval()
    sub = tasks.Split(train.pairs[:100], train.prompts[:100])
    pairs = T.preference_pairs(model, sub, 1, cfg.max_new, 1.0, gen)
    held_pairs = T.preference_pairs(model, held, 1, cfg.max_new, 1.0, gen)
    flipped = {**pairs, "chosen": pairs["rejected"], "chosen_mask": pairs["rejected_mask"],
               "rejected": pairs["chosen"], "rejected_mask": pairs["chosen_mask"]}
    for data, passes in ((pairs, True), (flipped, False)):
        result = LabResult("alignment", cfg)
        _reward_model(result, cfg, data, held_pairs, gen)
        assert result.checks[0].passed is passes


@pytest.mark.full
def test_grpo_check_fails_when_the_reward_is_shuffled(quick_result):
    """The fault: GRPO whose rewards are permuted across samples (credit assigned to the wrong completions).
    The sampled accuracy gain's lower bound falls below zero. Trains SFT and GRPO again (tens of seconds):
    ./test.sh --full only."""
    from modelbook.alignment import tasks
    from modelbook.alignment import train as T
    from modelbook.labs.alignment import _adapted

    result, _ = quick_result("alignment")
    cfg = result.config
    gen = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    train, held = tasks.splits(cfg.max_operand, cfg.heldout, gen)
    model = T.tiny_gpt(cfg.d_model, cfg.n_layer, cfg.max_new)
    T.sft(model, train, cfg.sft_steps, cfg.sft_batch, cfg.sft_lr, cfg.max_new, gen, cfg.verbose_fraction)
    model.eval()
    ref = _adapted(model, cfg.__class__(lora_rank=0)).requires_grad_(False)
    shuffle = torch.Generator().manual_seed(99)

    def shuffled(pairs, ids):
        r = T.strict_reward(pairs, ids)
        return r[torch.randperm(len(r), generator=shuffle)]

    before = T.sampled_accuracy(model, held, cfg.eval_samples, cfg.max_new, gen)
    policy = _adapted(model, cfg)
    T.grpo(policy, ref, train, shuffled, cfg.grpo_steps, cfg.grpo_prompts, cfg.grpo_group, cfg.max_new,
           cfg.grpo_temperature, cfg.grpo_lr, cfg.clip_eps, cfg.kl_coef, gen)
    after = T.sampled_accuracy(policy, held, cfg.eval_samples, cfg.max_new, gen)
    assert paired_lower_bound(after - before) < 0 < result.value("grpo/sampled_gain_lower95")
    assert np.mean(after) < result.value("grpo/heldout_sampled_accuracy")
