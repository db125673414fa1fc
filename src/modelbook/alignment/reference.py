"""trl's DPO loss on given log-probabilities, for the cross-check (tests/alignment/test_losses.py, full preset).

trl 1.16 computes the DPO loss inside DPOTrainer._compute_loss, from a model's per-token log-probabilities; there is
no stand-alone loss function. We call that method unchanged on a stand-in trainer (its attributes set as a
DPOConfig(loss_type="sigmoid", precompute_ref_log_probs=True) run sets them) and a stand-in model whose output
holds our per-token log-probabilities, so the loss is trl's own arithmetic on our numbers.
Importing trl takes several seconds: only the tests and the full preset call this.
"""
from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

import torch

from modelbook.core.errors import missing_package


class _Accelerator:
    device = torch.device("cpu")

    @staticmethod
    def gather_for_metrics(x):
        return x

    gather = gather_for_metrics


class _Model:
    """Returns the given per-token log-probabilities the way trl's fused LM head does."""

    training = True

    def __init__(self, per_token: torch.Tensor):
        self.per_token = per_token

    def __call__(self, **kwargs):
        z = torch.zeros_like(self.per_token)
        return SimpleNamespace(log_probs=self.per_token, entropy=z, mean_logits=z, is_top1=z.bool())


def trl_dpo_loss(chosen_tok, rejected_tok, chosen_mask, rejected_mask, ref_chosen, ref_rejected, beta: float) -> float:
    """trl.DPOTrainer._compute_loss (loss_type "sigmoid") on per-token log-probs (B, T) of the chosen and rejected
    completions (zero where masked) and the reference's summed log-probs (B,)."""
    try:
        from trl.trainer.dpo_trainer import DPOTrainer
    except ImportError as e:
        raise missing_package("trl") from e
    B, T = chosen_tok.shape
    per_token = torch.cat([chosen_tok * chosen_mask, rejected_tok * rejected_mask])       # batch is [chosen, rejected]
    completion = torch.cat([torch.zeros(2 * B, 1), torch.cat([chosen_mask, rejected_mask])], 1)  # a 1-token prompt
    trainer = SimpleNamespace(
        model=_Model(per_token), accelerator=_Accelerator(), aux_loss_enabled=False, ld_alpha=None,
        precompute_ref_logps=True, f_divergence_type="reverse_kl", loss_types=["sigmoid"], loss_weights=[1.0],
        beta=beta, use_weighting=False, _metrics={"train": defaultdict(list)}, _total_train_tokens=0, _tp_size=1)
    inputs = {"input_ids": torch.zeros(2 * B, T + 1, dtype=torch.long), "attention_mask": torch.ones(2 * B, T + 1),
              "completion_mask": completion, "ref_chosen_logps": ref_chosen, "ref_rejected_logps": ref_rejected}
    return float(DPOTrainer._compute_loss(trainer, trainer.model, inputs, False))
