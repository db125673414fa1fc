"""μP for the small GPT of modelbook.nn.gpt: width-dependent init, multipliers and per-layer Adam step sizes.

Under the standard parameterisation (SP) a wider model trained with Adam at the same learning rate moves its
activations further per step: a hidden weight W (fan_in × fan_out) gets an update of size ≈ η in every entry,
and W's output sums fan_in such entries, so its change grows like η · width. The best learning rate therefore
shrinks as the model widens, and a rate tuned on a small model is wrong for the large one. The Maximal Update
Parameterisation (Yang et al. 2022, "Tensor Programs V: Tuning Large Neural Networks via Zero-Shot
Hyperparameter Transfer", Table 3 for Adam and its multiplier form, Table 8) rescales each kind of weight so
that every layer's activations change by Θ(1) per coordinate whatever the width. With m = width / base_width:

    weight kind                            init variance          Adam step size      multiplier
    input (tok_emb, pos_emb), biases, LN   unchanged (1 / const)  η                   1
    hidden matrices (qkv, proj, fc1, fc2)  1 / fan_in (as SP)     η / m               1
    readout (lm_head)                      1 / base fan_in        η                   1 / m   (logits = lm_head(x) / m)
    attention logits                       —                      —                   q·k / d_head, not / √d_head

The readout multiplier with an unchanged step size is Table 3's readout (init variance 1/fan_in², step 1/fan_in)
written the way the `mup` package writes it. The attention scale is √d_base_head / d_head, so at m = 1 every
rule above reduces to SP: the μP model of base width *is* the SP model, weight for weight, and a learning
rate tuned there transfers to every width.

    MuGPT(cfg, base_width, mup=True)   nn.gpt.GPT with the multipliers above (mup=False gives SP, same class)
    param_groups(model, lr)            Adam parameter groups carrying each weight's step size
    lr_multipliers(model)              {parameter name: step-size multiplier} (1 for SP)

Cross-checks: tests/scaling/test_mup.py (the coordinate check of Yang et al. 2022 Fig. 5: after a few Adam steps
the per-coordinate size of the logits and of the residual stream grows with width under SP and stays flat under
μP; at base width MuGPT equals nn.gpt.GPT exactly).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from modelbook.nn.gpt import GPT, Block, GPTConfig

HIDDEN = ("qkv.weight", "proj.weight", "fc1.weight", "fc2.weight")   # the matrices with fan_in and fan_out ∝ width


class MuBlock(Block):
    """nn.gpt.Block with the attention logits scaled by `attn_scale` (1/√d_head under SP, √d_base / d_head
    under μP), on either of nn.gpt's attention paths (the written-out one also runs under torch.func.vmap)."""

    def __init__(self, cfg: GPTConfig, attn_scale: float):
        super().__init__(cfg)
        self.attn_scale = attn_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, d = x.shape
        h = self.n_head
        q, k, v = self.qkv(self.ln1(x)).view(B, T, 3, h, d // h).permute(2, 0, 3, 1, 4)   # 3 × (B, h, T, d/h)
        if self.attention == "sdpa":
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=self.attn_scale)     # (B, h, T, d/h)
        else:
            scores = (q @ k.transpose(-2, -1)) * self.attn_scale                            # (B, h, T, T)
            scores = scores.masked_fill(self.blocked[:T, :T], float("-inf"))
            y = scores.softmax(dim=-1) @ v
        x = x + self.proj(y.transpose(1, 2).reshape(B, T, d))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class MuGPT(GPT):
    """The GPT of nn.gpt under μP (mup=True) or SP (mup=False), at width cfg.d_model relative to base_width.

    The number of heads is held fixed as the width grows, so the head dimension grows with it (μP's 1/d
    attention matters only then)."""

    def __init__(self, cfg: GPTConfig, base_width: int, mup: bool = True):
        super().__init__(cfg)
        if cfg.d_model % cfg.n_head or base_width % cfg.n_head:
            raise ValueError(f"width {cfg.d_model} and base width {base_width} must be multiples of n_head={cfg.n_head}")
        self.mup, self.base_width = mup, base_width
        self.width_mult = cfg.d_model / base_width if mup else 1.0
        d_head, base_head = cfg.d_model // cfg.n_head, base_width // cfg.n_head
        attn_scale = math.sqrt(base_head) / d_head if mup else 1.0 / math.sqrt(d_head)
        blocks = [MuBlock(cfg, attn_scale) for _ in range(cfg.n_layer)]
        for new, old in zip(blocks, self.blocks):
            new.load_state_dict(old.state_dict())     # keep the draws of GPT's own init (same RNG use as SP)
        self.blocks = torch.nn.ModuleList(blocks)
        if mup:
            # readout init variance 1/(3·base fan_in) instead of 1/(3·fan_in): PyTorch's uniform bound, at base width
            with torch.no_grad():
                self.lm_head.weight.mul_(math.sqrt(cfg.d_model / base_width))

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
        T = idx.shape[1]
        x = self.tok_emb(idx) + self.pos_emb(torch.arange(T, device=idx.device))
        for block in self.blocks:
            x = block(x)
        logits = self.lm_head(self.ln_f(x)) / self.width_mult                          # μP: readout multiplier 1/m
        if targets is None:
            return logits
        return F.cross_entropy(logits.flatten(0, 1), targets.flatten())


def lr_multipliers(model: MuGPT) -> dict[str, float]:
    """Each parameter's Adam step-size multiplier: 1/m for hidden matrices under μP, 1 for everything else."""
    return {name: (1.0 / model.width_mult if name.endswith(HIDDEN) else 1.0) for name, _ in model.named_parameters()}


def param_groups(model: MuGPT, lr: float) -> list[dict]:
    """Parameter groups for torch.optim.Adam: one group per step size."""
    mults = lr_multipliers(model)
    groups: dict[float, list] = {}
    for name, p in model.named_parameters():
        groups.setdefault(mults[name], []).append(p)
    return [{"params": ps, "lr": lr * mult} for mult, ps in sorted(groups.items())]


def coordinate_check(model: MuGPT, x: torch.Tensor, y: torch.Tensor, lr: float, steps: int) -> dict[str, list[float]]:
    """The coordinate check of Yang et al. 2022 (§ "Coordinate check", Fig. 5): train `model` for `steps` Adam
    steps (its own step sizes, param_groups) on the batch (x, y), and after each step record how far the
    activations on x have moved from their values at initialisation, as the mean |Δ| per coordinate:
    'residual' (the output of the last block, d numbers per token) and 'logits' (V per token). Under μP these
    stay flat as the width grows; under SP they grow with it."""
    def activations() -> dict[str, torch.Tensor]:
        seen = {}
        hook = model.blocks[-1].register_forward_hook(lambda _m, _i, out: seen.__setitem__("residual", out.detach()))
        try:
            with torch.no_grad():
                seen["logits"] = model(x)
        finally:
            hook.remove()
        return seen

    start = activations()
    opt = torch.optim.Adam(param_groups(model, lr))
    sizes: dict[str, list[float]] = {name: [] for name in start}
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        model(x, y).backward()
        opt.step()
        now = activations()
        for name in sizes:
            sizes[name].append(float((now[name] - start[name]).abs().mean()))
    return sizes
