"""Alignment: SFT, a Bradley–Terry reward model, DPO and GRPO on a task a program can check (topic 45).

What this lab shows
  1. A verifiable task: two-digit addition ("07+23=" → "30."), judged by a program that checks the value AND the
     format (digits, then "."; nothing else). No human judge anywhere; accuracy is measured on held-out operand
     pairs the model never trained on, by greedy decoding.
  2. SFT from a randomly initialised small GPT (modelbook.nn.gpt) on demonstrations; three in ten carry a
     verbose habit ("30+0.": right value, wrong format), as real demonstration data carries habits.
  3. Preference pairs from the SFT model's own samples, labelled by the verifier (chosen = correct, rejected =
     wrong), and a Bradley–Terry reward model trained on them; its agreement with the verifier on held-out pairs.
  4. DPO from scratch on the same pairs, with a LoRA adapter (modelbook.nn.lora) over the frozen SFT weights and
     the SFT model as reference; the loss equals trl's DPOTrainer on the same log-probabilities (unit test, and a
     check in the full preset). Plain DPO lowered held-out accuracy in development runs, as it can lower the chosen answers'
     likelihood too; the lab adds the chosen answers' NLL (RPO; trl's loss_type ["sigmoid", "sft"]).
  5. GRPO from scratch (Shao et al. 2024): groups of samples per prompt, group-normalised advantages, the clipped
     objective and the k3 KL to the reference; reward = the verifier. The reward curve and the KL curve.
  6. Reward hacking: the same GRPO with a flawed reward (a lenient grader that checks only the leading digits and
     pays per character) amplifies the verbose habit: the proxy reward and the length rise while verified
     accuracy falls. The fixed reward (the strict verifier) is the run of step 5.

Differences from the references
  - The policy is a ~60k-parameter GPT trained by the lab, not an instruction-tuned LLM; SmolLM2-135M with LoRA
    was not run within the full preset's ten minutes on this CPU (see the notes). The algorithms are the papers'.
  - GRPO takes one gradient step per batch of samples (μ = 1, as trl's default), so the ratio is 1 at the step and
    clipping never binds; the KL term uses the k3 estimator as DeepSeekMath does.

Building blocks: modelbook/alignment/tasks.py (task, verifier, flawed grader), policy.py (sampling, log-probs),
                 losses.py (SFT, Bradley–Terry, DPO, GRPO), train.py (the loops), reference.py (trl's DPO loss)
Cross-checks:    tests/alignment/test_losses.py (DPO = trl 1.16 DPOTrainer._compute_loss; group advantages; k3 ≥ 0
                 and its mean = the exact KL), tests/labs/test_alignment.py (outcomes and bite tests)
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from modelbook.alignment import tasks
from modelbook.alignment import train as T
from modelbook.alignment.policy import token_logps
from modelbook.core import plots, progress
from modelbook.core.result import LabResult
from modelbook.evaluation.uncertainty import paired_lower_bound
from modelbook.nn.lora import count_parameters, inject_lora

OUYANG = "Ouyang et al. 2022, Training language models to follow instructions with human feedback (InstructGPT), eq. 1"
RAFAILOV = "Rafailov et al. 2023, Direct Preference Optimization, eq. 7"
SHAO = "Shao et al. 2024, DeepSeekMath, §4.1 (GRPO)"
GAO = "Gao et al. 2023, Scaling Laws for Reward Model Overoptimization"
LORA_TARGETS = ("qkv", "proj", "fc1", "fc2")


@dataclass(frozen=True)
class Config:
    max_operand: int = 30
    """operands are 0 .. max_operand − 1 (sums up to two digits)"""
    heldout: int = 200
    """operand pairs never trained on; every accuracy is measured on them"""
    max_new: int = 6
    """tokens a completion may have"""
    d_model: int = 48
    n_layer: int = 2
    sft_steps: int = 180
    sft_batch: int = 64
    sft_lr: float = 4e-3
    verbose_fraction: float = 0.3
    """share of demonstrations written in the padded form ("30+0.")"""
    pair_prompts: int = 300
    """training prompts sampled for preference pairs"""
    pair_samples: int = 4
    """samples per prompt (temperature 1) from the SFT model"""
    rm_steps: int = 50
    rm_lr: float = 2e-3
    dpo_steps: int = 30
    dpo_lr: float = 1e-3
    dpo_beta: float = 0.1
    dpo_sft_weight: float = 1.0
    """weight of the chosen answers' NLL beside the DPO loss (0 = plain DPO)"""
    lora_rank: int = 8
    """rank of the LoRA adapters of DPO and GRPO (0 = fine-tune every weight)"""
    grpo_steps: int = 40
    hack_steps: int = 12
    """GRPO steps under the flawed reward (the hack shows sooner than the gain)"""
    eval_samples: int = 4
    """samples per held-out prompt (temperature 1) for the sampled accuracy GRPO is checked on"""
    grpo_prompts: int = 16
    grpo_group: int = 8
    grpo_lr: float = 2e-3
    grpo_temperature: float = 1.0
    clip_eps: float = 0.2
    kl_coef: float = 0.04
    length_bonus: float = 1.0
    """the flawed reward's pay per generated character"""
    trl_check: bool = False
    """hold the DPO loss to trl's on the lab's own log-probabilities (imports trl: seconds)"""
    seed: int = 0
    threads: int = 1


PRESETS = {
    "quick": Config(sft_steps=100, pair_prompts=200, rm_steps=30, dpo_steps=20),
    "full": Config(max_operand=40, heldout=300, sft_steps=300, pair_prompts=400, rm_steps=80, dpo_steps=50,
                   grpo_steps=60, hack_steps=20, eval_samples=8, trl_check=True),
}


def run(cfg: Config, out: Path) -> LabResult:
    result = LabResult("alignment", cfg)
    gen = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    train, held = tasks.splits(cfg.max_operand, cfg.heldout, gen)
    model = T.tiny_gpt(cfg.d_model, cfg.n_layer, cfg.max_new).eval()
    acc = {"base": T.verified(model, held, cfg.max_new)}
    with progress.status("SFT on demonstrations"):
        sft_curve = T.sft(model, train, cfg.sft_steps, cfg.sft_batch, cfg.sft_lr, cfg.max_new, gen, cfg.verbose_fraction)
    model.eval()
    acc["sft"], sft_length = T.verified(model, held, cfg.max_new, lengths=True)
    ref = copy.deepcopy(model).requires_grad_(False)
    _gain(result, "sft", acc["sft"], acc["base"])
    result.check("SFT: held-out verified accuracy gain over the untrained model, one-sided 95% lower bound",
                 paired_lower_bound(acc["sft"] - acc["base"]), reference=0.0, tolerance=0.0, kind="at_least",
                 source="the program verifier on the same held-out prompts, untrained model as the baseline")

    sub = tasks.Split(train.pairs[:cfg.pair_prompts], train.prompts[:cfg.pair_prompts])
    pairs = T.preference_pairs(model, sub, cfg.pair_samples, cfg.max_new, 1.0, gen)
    held_pairs = T.preference_pairs(model, held, cfg.pair_samples, cfg.max_new, 1.0, gen)
    result.metric("pairs/train", len(pairs["prompts"]))
    result.metric("pairs/heldout", len(held_pairs["prompts"]))
    _reward_model(result, cfg, pairs, held_pairs, gen)
    dpo_policy, dpo_curves = _dpo(result, cfg, model, ref, pairs, held_pairs, gen)
    acc["dpo"] = T.verified(dpo_policy, held, cfg.max_new)
    _gain(result, "dpo", acc["dpo"], acc["sft"])

    curves = {}
    sampled = {"sft": T.sampled_accuracy(model, held, cfg.eval_samples, cfg.max_new, gen)}
    for name, reward, steps in (("grpo", T.strict_reward, cfg.grpo_steps),
                                ("hacked", T.lenient_reward(cfg.length_bonus), cfg.hack_steps)):
        policy = _adapted(model, cfg)
        with progress.status(f"GRPO ({'verifier reward' if name == 'grpo' else 'flawed reward'})"):
            curves[name] = T.grpo(policy, ref, train, reward, steps, cfg.grpo_prompts, cfg.grpo_group,
                                  cfg.max_new, cfg.grpo_temperature, cfg.grpo_lr, cfg.clip_eps, cfg.kl_coef, gen)
        acc[name], length = T.verified(policy, held, cfg.max_new, lengths=True)
        sampled[name] = T.sampled_accuracy(policy, held, cfg.eval_samples, cfg.max_new, gen)
        result.metric(f"{name}/heldout_sampled_accuracy", float(sampled[name].mean()))
        result.metric(f"{name}/heldout_length", length, "tokens")
        result.metric(f"{name}/reward_first5", float(np.mean(curves[name]["reward"][:5])))
        result.metric(f"{name}/reward_last5", float(np.mean(curves[name]["reward"][-5:])))
        result.metric(f"{name}/kl_last5", float(np.mean(curves[name]["kl"][-5:])), "nats/token")
        _gain(result, name, acc[name], acc["sft"])
    result.metric("sft/heldout_length", sft_length, "tokens")
    result.metric("sft/heldout_sampled_accuracy", float(sampled["sft"].mean()))
    result.metric("grpo/sampled_gain_lower95", paired_lower_bound(sampled["grpo"] - sampled["sft"]))
    result.check("GRPO (verifier reward): held-out verified accuracy of samples (T = 1) gain over SFT, one-sided 95% lower bound",
                 result.value("grpo/sampled_gain_lower95"), reference=0.0, tolerance=0.0, kind="at_least",
                 source=SHAO + "; the program verifier on the same held-out prompts, SFT model as the baseline")
    result.check("reward hacking: verified accuracy, verifier-reward GRPO minus flawed-reward GRPO, one-sided 95% lower bound",
                 paired_lower_bound(acc["grpo"] - acc["hacked"]), reference=0.0, tolerance=0.0, kind="at_least",
                 source=GAO + "; the program verifier on the same held-out prompts, same GRPO settings and start")
    result.note(f"Reward hacking: under the flawed reward the training reward went {result.value('hacked/reward_first5'):.2f} → "
                f"{result.value('hacked/reward_last5'):.2f} and the held-out answers grew to "
                f"{result.value('hacked/heldout_length'):.2f} tokens (SFT {result.value('sft/heldout_length'):.2f}), while verified "
                f"accuracy went {acc['sft'].mean():.1%} → {acc['hacked'].mean():.1%}. With the strict verifier as reward: "
                f"{acc['sft'].mean():.1%} → {acc['grpo'].mean():.1%}, KL to the reference "
                f"{result.value('grpo/kl_last5'):.3f} nats/token at the end.")
    result.note("SmolLM2-135M-Instruct with LoRA is not run: sampling groups for GRPO and scoring pairs with a 135M model "
                "on this 2-core CPU does not fit the full preset's ten minutes beside SFT, the reward model and DPO.")
    _plot(out, result, acc, sft_curve, dpo_curves, curves)
    return result


def _gain(result: LabResult, name: str, after: np.ndarray, before: np.ndarray) -> None:
    result.metric(f"{name}/heldout_accuracy", float(after.mean()))
    result.metric(f"{name}/gain", float((after - before).mean()))
    result.metric(f"{name}/gain_lower95", paired_lower_bound(after - before))


def _adapted(model, cfg: Config):
    """A trainable copy of the SFT model: LoRA adapters over frozen weights, or every weight (lora_rank = 0)."""
    policy = copy.deepcopy(model)
    if cfg.lora_rank:
        inject_lora(policy, LORA_TARGETS, r=cfg.lora_rank, alpha=2 * cfg.lora_rank)
    return policy


def _reward_model(result: LabResult, cfg: Config, pairs, held_pairs, gen) -> None:
    rm = T.RewardModel(T.tiny_gpt(cfg.d_model, cfg.n_layer, cfg.max_new))
    with progress.status("Bradley–Terry reward model"):
        T.train_reward_model(rm, pairs, cfg.rm_steps, cfg.sft_batch, cfg.rm_lr, gen)
    rm.eval()
    with torch.no_grad():
        p = held_pairs["prompts"]
        agree = (rm(p, held_pairs["chosen"], held_pairs["chosen_mask"])
                 > rm(p, held_pairs["rejected"], held_pairs["rejected_mask"])).float().numpy()
    result.metric("rm/heldout_pair_accuracy", float(agree.mean()))
    result.check("reward model: agreement with the verifier on held-out pairs, one-sided 95% lower bound",
                 paired_lower_bound(agree), reference=0.5, tolerance=0.0, kind="at_least",
                 source=OUYANG + "; chance = 0.5, labels from the program verifier on prompts the model never saw")


def _dpo(result: LabResult, cfg: Config, model, ref, pairs, held_pairs, gen):
    policy = _adapted(model, cfg)
    trainable, total = count_parameters(policy)
    result.metric("lora/trainable_share", trainable / total)
    with progress.status("DPO"):
        curves = T.dpo(policy, ref, pairs, cfg.dpo_steps, cfg.sft_batch, cfg.dpo_lr, cfg.dpo_beta, gen, cfg.dpo_sft_weight)
    policy.eval()
    with torch.no_grad():
        logps = {k: token_logps(m, held_pairs["prompts"], held_pairs[k]) * held_pairs[f"{k}_mask"]
                 for m, k in ((policy, "chosen"), (policy, "rejected"))}
        refs = {k: (token_logps(ref, held_pairs["prompts"], held_pairs[k]) * held_pairs[f"{k}_mask"]).sum(1)
                for k in ("chosen", "rejected")}
    margin = cfg.dpo_beta * ((logps["chosen"].sum(1) - refs["chosen"]) - (logps["rejected"].sum(1) - refs["rejected"]))
    agree = (margin > 0).float().numpy()
    result.metric("dpo/heldout_reward_accuracy", float(agree.mean()))
    result.check("DPO: implicit reward β·log(π/π_ref) ranks held-out pairs as the verifier does, one-sided 95% lower bound",
                 paired_lower_bound(agree), reference=0.5, tolerance=0.0, kind="at_least",
                 source=RAFAILOV + "; chance = 0.5, labels from the program verifier")
    if cfg.trl_check:
        from modelbook.alignment.losses import dpo_loss
        from modelbook.alignment.reference import trl_dpo_loss

        ours = dpo_loss(logps["chosen"].sum(1), logps["rejected"].sum(1), refs["chosen"], refs["rejected"], cfg.dpo_beta)[0]
        theirs = trl_dpo_loss(logps["chosen"], logps["rejected"], held_pairs["chosen_mask"], held_pairs["rejected_mask"],
                              refs["chosen"], refs["rejected"], cfg.dpo_beta)
        result.check("DPO loss on the held-out pairs' log-probabilities: ours vs trl", float(ours), reference=theirs,
                     tolerance=1e-6, relative=True, source="trl 1.16 DPOTrainer._compute_loss (loss_type 'sigmoid')")
    return policy, curves


def _plot(out: Path, result: LabResult, acc, sft_curve, dpo_curves, curves) -> None:
    fig, ax = plots.figure(1, 3, size=(13, 3.8))
    names = ["base", "sft", "dpo", "grpo", "hacked"]
    ax[0].bar(names, [acc[n].mean() for n in names], color=["C7", "C0", "C1", "C2", "C3"])
    ax[0].set(ylabel="held-out verified accuracy", title="before and after each step")
    for name, color in (("grpo", "C2"), ("hacked", "C3")):
        ax[1].plot(curves[name]["reward"], color=color, label=f"{name}: reward")
        ax[1].plot(curves[name]["length"], color=color, ls=":", label=f"{name}: length")
    ax[1].set(xlabel="GRPO step", title="training reward and completion length")
    ax[1].legend(fontsize=7)
    for name, color in (("grpo", "C2"), ("hacked", "C3")):
        ax[2].plot(curves[name]["kl"], color=color, label=name)
    ax[2].set(xlabel="GRPO step", ylabel="k3 KL to reference (nats/token)", title="KL to the SFT reference")
    ax[2].legend(fontsize=7)
    result.artifact(plots.save(fig, out / "alignment.png"))
