"""The objectives of alignment, each a few lines.

SFT          −mean log π(y_t | x, y_<t) over the demonstration's tokens
Bradley–Terry  P(chosen ≻ rejected) = σ(r_c − r_r); loss −log σ(r_c − r_r)  (Ouyang et al. 2022, eq. 1)
DPO          −log σ(β[(log π(y_c) − log π_ref(y_c)) − (log π(y_r) − log π_ref(y_r))])  (Rafailov et al. 2023, eq. 7);
             log-probabilities summed over the completion's tokens, as trl's DPOTrainer (loss_type "sigmoid") does.
             tests/alignment/test_losses.py holds it equal to trl 1.16's DPOTrainer._compute_loss.
GRPO         per group of G samples of one prompt, A_i = (r_i − mean r) / (std r + ε) (Shao et al. 2024, §4.1.2);
             per token −min(ρ A, clip(ρ, 1−ε, 1+ε) A) + β_KL · k3, where ρ = π/π_old and
             k3 = π_ref/π − log(π_ref/π) − 1 ≥ 0, an unbiased estimate of KL(π ‖ π_ref) (Schulman 2020);
             the token terms averaged over each sequence, then over sequences, as in the paper's eq. 3.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def sft_loss(logps: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Token-level negative log-likelihood of the demonstrations (logps, mask: (B, T))."""
    return -(logps * mask).sum() / mask.sum()


def bradley_terry_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> torch.Tensor:
    return -F.logsigmoid(r_chosen - r_rejected).mean()


def dpo_loss(pi_chosen, pi_rejected, ref_chosen, ref_rejected, beta: float):
    """(loss, implicit reward of chosen, of rejected): the rewards are β·log(π/π_ref) per sequence."""
    chosen = pi_chosen - ref_chosen
    rejected = pi_rejected - ref_rejected
    loss = -F.logsigmoid(beta * (chosen - rejected)).mean()
    return loss, beta * chosen.detach(), beta * rejected.detach()


def group_advantages(rewards: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """rewards (P, G): each prompt's G samples scored against their own group's mean and standard deviation."""
    mean = rewards.mean(1, keepdim=True)
    std = rewards.std(1, keepdim=True)                                  # unbiased, as torch and trl compute it
    return (rewards - mean) / (std + eps)


def k3_kl(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Per-token k3 estimate of KL(π ‖ π_ref) on tokens sampled from π."""
    d = ref_logp - logp
    return torch.exp(d) - d - 1


def grpo_loss(logp, old_logp, ref_logp, advantages, mask, clip_eps: float, kl_coef: float):
    """(loss, mean KL per token). logp/old_logp/ref_logp/mask: (B, T) per token; advantages: (B,)."""
    ratio = torch.exp(logp - old_logp)
    adv = advantages.unsqueeze(1)
    surrogate = torch.minimum(ratio * adv, torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * adv)
    kl = k3_kl(logp, ref_logp)
    per_token = -(surrogate - kl_coef * kl)
    per_seq = (per_token * mask).sum(1) / mask.sum(1).clamp(min=1)
    return per_seq.mean(), ((kl * mask).sum() / mask.sum()).detach()
