"""The alignment loops, each written out: SFT, the reward model, preference pairs, DPO, GRPO, held-out accuracy.

Every loop takes the model(s), the data and an explicit torch.Generator, and returns its curves. Models are any
causal LM whose forward maps token ids (B, T) to logits (B, T, V) (modelbook.nn.gpt.GPT here; a transformers
model wrapped to return .logits works the same way).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from modelbook.alignment import tasks
from modelbook.alignment.losses import bradley_terry_loss, dpo_loss, group_advantages, grpo_loss, sft_loss
from modelbook.alignment.policy import generate, sequence_logps, token_logps
from modelbook.nn.gpt import GPT, GPTConfig


def tiny_gpt(d_model: int, n_layer: int, max_new: int) -> GPT:
    return GPT(GPTConfig(vocab_size=len(tasks.VOCAB), block_size=tasks.PROMPT_LEN + max_new, n_layer=n_layer,
                         n_head=4, d_model=d_model, attention="sdpa"))


def _adam(model: nn.Module, lr: float) -> torch.optim.Optimizer:
    return torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.0)


@torch.no_grad()
def verified(model, split: tasks.Split, max_new: int, lengths: bool = False):
    """1/0 per prompt: does the greedy answer pass the strict verifier? With lengths, also the mean answer length
    in tokens."""
    ids, mask = generate(model, split.prompts, max_new, tasks.EOS, tasks.PAD, greedy=True)
    ok = np.array([tasks.verify(a, b, row) for (a, b), row in zip(split.pairs.tolist(), ids)], dtype=float)
    return (ok, float(mask.sum(1).mean())) if lengths else ok


@torch.no_grad()
def sampled_accuracy(model, split: tasks.Split, samples: int, max_new: int, gen: torch.Generator,
                     temperature: float = 1.0) -> np.ndarray:
    """Per prompt, the share of `samples` completions (at `temperature`) that pass the strict verifier."""
    ids, _ = generate(model, split.prompts.repeat_interleave(samples, 0), max_new, tasks.EOS, tasks.PAD, temperature, gen)
    ok = [tasks.verify(a, b, row) for (a, b), row in zip(split.pairs.repeat_interleave(samples, 0).tolist(), ids)]
    return np.array(ok, dtype=float).reshape(len(split.pairs), samples).mean(1)


def sft(model, split: tasks.Split, steps: int, batch: int, lr: float, max_new: int, gen: torch.Generator,
        verbose_fraction: float = 0.0) -> list[float]:
    """Supervised fine-tuning on the split's answers (prompt tokens are not trained on); a `verbose_fraction` of
    the demonstrations are the padded form (tasks.verbose_text)."""
    verbose = torch.rand(len(split.pairs), generator=gen) < verbose_fraction
    comps, mask = tasks.demonstrations(split, max_new, verbose)
    opt, losses = _adam(model, lr), []
    model.train()
    for _ in range(steps):
        i = torch.randint(0, len(comps), (batch,), generator=gen)
        loss = sft_loss(token_logps(model, split.prompts[i], comps[i]), mask[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@torch.no_grad()
def preference_pairs(policy, split: tasks.Split, samples: int, max_new: int, temperature: float, gen: torch.Generator):
    """Pairs labelled by the verifier, on the policy's own samples: for each prompt with a wrong sample, chosen =
    a correct sample (or the reference answer if none was sampled), rejected = a wrong sample.
    Returns a dict of tensors: pairs, prompts, chosen, chosen_mask, rejected, rejected_mask."""
    n = len(split.pairs)
    ids, mask = generate(policy, split.prompts.repeat_interleave(samples, 0), max_new, tasks.EOS, tasks.PAD,
                         temperature, gen)
    ok = torch.tensor([tasks.verify(a, b, row) for (a, b), row in
                       zip(split.pairs.repeat_interleave(samples, 0).tolist(), ids)]).view(n, samples)
    demo, demo_mask = tasks.demonstrations(split, max_new)
    ids, mask = ids.view(n, samples, -1), mask.view(n, samples, -1)
    keep = (~ok).any(1).nonzero().squeeze(1)
    wrong = (~ok[keep]).float().argmax(1)
    right = ok[keep].float().argmax(1)
    has_right = ok[keep].any(1).view(-1, 1)
    chosen = torch.where(has_right, ids[keep, right], demo[keep])
    chosen_mask = torch.where(has_right, mask[keep, right], demo_mask[keep])
    return {"pairs": split.pairs[keep], "prompts": split.prompts[keep], "chosen": chosen, "chosen_mask": chosen_mask,
            "rejected": ids[keep, wrong], "rejected_mask": mask[keep, wrong]}


class RewardModel(nn.Module):
    """A scalar score for (prompt, completion): a GPT body whose head reads one number at the last real token."""

    def __init__(self, body: GPT):
        super().__init__()
        self.body = body
        body.lm_head = nn.Linear(body.cfg.d_model, 1)

    def forward(self, prompts, completions, mask) -> torch.Tensor:
        out = self.body(torch.cat([prompts, completions], 1)).squeeze(-1)          # (B, T)
        last = prompts.shape[1] + mask.sum(1).long() - 1
        return out.gather(1, last.unsqueeze(1)).squeeze(1)


def train_reward_model(rm: RewardModel, data: dict, steps: int, batch: int, lr: float, gen: torch.Generator) -> list[float]:
    opt, losses = _adam(rm, lr), []
    rm.train()
    for _ in range(steps):
        i = torch.randint(0, len(data["prompts"]), (batch,), generator=gen)
        p = data["prompts"][i]
        loss = bradley_terry_loss(rm(p, data["chosen"][i], data["chosen_mask"][i]),
                                  rm(p, data["rejected"][i], data["rejected_mask"][i]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def dpo(policy, ref, data: dict, steps: int, batch: int, lr: float, beta: float, gen: torch.Generator,
        sft_weight: float = 0.0) -> dict:
    """Direct preference optimisation against a frozen reference; returns the loss and reward-margin curves.
    sft_weight > 0 adds that much of the chosen answers' token NLL (RPO, Pang et al. 2024; trl's loss_type
    ["sigmoid", "sft"]): plain DPO can lower the chosen answers' likelihood along with the rejected ones'."""
    with torch.no_grad():
        ref_c = sequence_logps(ref, data["prompts"], data["chosen"], data["chosen_mask"])
        ref_r = sequence_logps(ref, data["prompts"], data["rejected"], data["rejected_mask"])
    opt, curves = _adam(policy, lr), {"loss": [], "margin": []}
    policy.train()
    for _ in range(steps):
        i = torch.randint(0, len(data["prompts"]), (batch,), generator=gen)
        p = data["prompts"][i]
        chosen_tok = token_logps(policy, p, data["chosen"][i])
        loss, rc, rr = dpo_loss((chosen_tok * data["chosen_mask"][i]).sum(1),
                                sequence_logps(policy, p, data["rejected"][i], data["rejected_mask"][i]),
                                ref_c[i], ref_r[i], beta)
        if sft_weight:
            loss = loss + sft_weight * sft_loss(chosen_tok, data["chosen_mask"][i])
        opt.zero_grad()
        loss.backward()
        opt.step()
        curves["loss"].append(loss.item())
        curves["margin"].append((rc - rr).mean().item())
    return curves


def grpo(policy, ref, split: tasks.Split, reward: Callable, steps: int, prompts_per_step: int, group: int,
         max_new: int, temperature: float, lr: float, clip_eps: float, kl_coef: float, gen: torch.Generator,
         iterations: int = 1) -> dict:
    """Group relative policy optimisation (Shao et al. 2024): sample `group` completions per prompt, score them
    with reward(pairs (B, 2), ids (B, T)) -> (B,), normalise within the group, take `iterations` clipped steps.
    Returns per-step curves: mean reward, mean k3 KL to the reference, mean completion length."""
    opt = _adam(policy, lr)
    curves = {"reward": [], "kl": [], "length": []}
    for _ in range(steps):
        i = torch.randint(0, len(split.pairs), (prompts_per_step,), generator=gen).repeat_interleave(group)
        prompts, pairs = split.prompts[i], split.pairs[i]
        policy.eval()
        ids, mask = generate(policy, prompts, max_new, tasks.EOS, tasks.PAD, temperature, gen)
        r = reward(pairs, ids)
        adv = group_advantages(r.view(prompts_per_step, group)).view(-1)
        with torch.no_grad():                   # one step per batch: π_old is the policy itself (its detached logps)
            old = token_logps(policy, prompts, ids) if iterations > 1 else None
            ref_lp = token_logps(ref, prompts, ids)
        policy.train()
        for _ in range(iterations):
            logp = token_logps(policy, prompts, ids)
            loss, kl = grpo_loss(logp, logp.detach() if old is None else old, ref_lp, adv, mask, clip_eps, kl_coef)
            opt.zero_grad()
            loss.backward()
            opt.step()
        curves["reward"].append(r.mean().item())
        curves["kl"].append(kl.item())
        curves["length"].append(mask.sum(1).mean().item())
    policy.eval()
    return curves


def strict_reward(pairs, ids) -> torch.Tensor:
    """The verifier as a reward: 1 for a correct, well-formatted answer, else 0."""
    return torch.tensor([float(tasks.verify(a, b, row)) for (a, b), row in zip(pairs.tolist(), ids)])


def lenient_reward(length_bonus: float) -> Callable:
    """The flawed reward (tasks.lenient): right leading digits, no format check, a bonus per character."""
    def reward(pairs, ids):
        return torch.tensor([tasks.lenient(a, b, row, length_bonus) for (a, b), row in zip(pairs.tolist(), ids)])
    return reward
