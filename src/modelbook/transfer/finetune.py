"""Fine-tuning a pretrained encoder vs probing its frozen features vs training the same network from scratch.

    classifier = TextClassifier(encoder, k)        MiniLM (modelbook.nn.bert): mean-pooled last hidden states -> head
    classifier = ImageClassifier(net, k, size)     EfficientNet-Lite0: 28x28 grey -> size x size RGB, pooled -> head
    init_head_from_probe(classifier.head, f, W, b) a probe's weights (fit on standardised features) as the head:
                                                   fine-tuning then starts where the probe ended (LP-FT, Kumar 2022)
    train_steps(classifier, inputs, y, steps, ...) AdamW for a fixed number of minibatch steps: equal steps make
                                                   full fine-tuning, LoRA and from-scratch comparable

The frozen-feature probe itself is modelbook.vision.features.linear_probe (L-BFGS softmax regression).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from modelbook.vision.features import IMAGENET_MEAN, IMAGENET_STD


class TextClassifier(nn.Module):
    """encoder(ids, mask) -> (B, T, D) hidden states; mean over real tokens -> linear head."""

    def __init__(self, encoder: nn.Module, n_classes: int, d_model: int = 384):
        super().__init__()
        self.encoder, self.head = encoder, nn.Linear(d_model, n_classes)

    def features(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.encoder(ids, mask)
        m = mask.unsqueeze(-1).to(h.dtype)
        return (h * m).sum(1) / m.sum(1)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(ids, mask))


class ImageClassifier(nn.Module):
    """EfficientNet-Lite0 body (extract_features) on grey 28x28 images upsampled to `size`, pooled -> linear head.

    freeze_bn keeps every BatchNorm in eval mode while training (its pretrained statistics, not those of 32-image
    batches): the usual way to fine-tune with small batches. A network trained from scratch needs batch statistics
    instead; bn_momentum then sets how fast its running statistics follow them (the TF port's 0.01 would need
    hundreds of steps before eval-mode outputs mean anything)."""

    def __init__(self, net: nn.Module, n_classes: int, size: int = 32, d_features: int = 1280,
                 freeze_bn: bool = False, bn_momentum: float | None = None):
        super().__init__()
        self.net, self.size, self.head = net, size, nn.Linear(d_features, n_classes)
        self.freeze_bn = freeze_bn
        if bn_momentum is not None:
            for m in self.net.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.momentum = bn_momentum
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        x = ((x.expand(-1, 3, -1, -1) - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
        return self.net.extract_features(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def train(self, mode: bool = True):
        super().train(mode)
        if mode and self.freeze_bn:
            for m in self.net.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self


def efficientnet_scratch() -> nn.Module:
    """EfficientNet-Lite0 with the same architecture as the pretrained one, randomly initialised."""
    from efficientnet_lite_pytorch import EfficientNet

    return EfficientNet.from_name("efficientnet-lite0").to(memory_format=torch.channels_last)


@torch.no_grad()
def init_head_from_probe(head: nn.Linear, f_train: torch.Tensor, weights: tuple[torch.Tensor, torch.Tensor]) -> None:
    """Set head(f) = ((f − μ)/σ)·W + b, the probe's logits (linear_probe standardises with the training mean μ and
    std σ + 1e-6): weight = (W/σ)ᵀ, bias = b − (μ/σ)·W."""
    W, b = (t.float() for t in weights)
    mean, std = f_train.mean(0), f_train.std(0) + 1e-6
    head.weight.copy_((W / std.unsqueeze(1)).t())
    head.bias.copy_(b - (mean / std) @ W)


def train_steps(model: nn.Module, inputs: tuple[torch.Tensor, ...], y: torch.Tensor, steps: int, batch_size: int,
                param_groups: list[dict], generator: torch.Generator) -> list[float]:
    """`steps` AdamW steps (no weight decay) on cross-entropy, minibatches from a fresh permutation each epoch.
    Only the parameters in `param_groups` move. Returns the training losses; leaves the model in eval mode."""
    opt = torch.optim.AdamW(param_groups, weight_decay=0.0)
    model.train()
    losses, order, pos = [], torch.randperm(len(y), generator=generator), 0
    for _ in range(steps):
        if pos + batch_size > len(y):
            order, pos = torch.randperm(len(y), generator=generator), 0
        idx = order[pos:pos + batch_size]
        pos += batch_size
        loss = F.cross_entropy(model(*(t[idx] for t in inputs)), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    model.eval()
    model.last_optimizer = [opt]  # kept for measuring the optimizer state (a list: not registered as a module)
    return losses


@torch.no_grad()
def predict(model: nn.Module, inputs: tuple[torch.Tensor, ...], batch_size: int = 256) -> torch.Tensor:
    """Class predictions for every row of inputs, in batches."""
    model.eval()
    n = len(inputs[0])
    return torch.cat([model(*(t[i:i + batch_size] for t in inputs)).argmax(-1) for i in range(0, n, batch_size)])


@torch.no_grad()
def features(model: nn.Module, inputs: tuple[torch.Tensor, ...], batch_size: int = 256) -> torch.Tensor:
    """model.features for every row of inputs, in batches (frozen: no gradients)."""
    model.eval()
    n = len(inputs[0])
    return torch.cat([model.features(*(t[i:i + batch_size] for t in inputs)) for i in range(0, n, batch_size)])


def build_text_model(method: str, encoder: nn.Module, k: int, *, f_train: torch.Tensor, probe_weights, lora_targets,
                     lora_r: int, lora_alpha: float, lr_scratch: float, lr_full: float, lr_lora: float,
                     lr_head: float) -> tuple[TextClassifier, list[dict]]:
    """A classifier for one transfer method and its optimiser's parameter groups.

    "scratch": a freshly initialised encoder and a zero head; the others start from a copy of the pretrained
    encoder with the head set from the linear probe (LP-FT). "full fine-tune" trains every weight; "LoRA" and
    "QLoRA" (LoRA over an int4 base) train only the adapters in `lora_targets` and the head."""
    import copy

    from modelbook.nn.bert import BertEncoder
    from modelbook.nn.lora import inject_lora

    if method == "scratch":
        model = TextClassifier(BertEncoder(), k)
        nn.init.zeros_(model.head.weight), nn.init.zeros_(model.head.bias)
        return model, [{"params": list(model.parameters()), "lr": lr_scratch}]
    model = TextClassifier(copy.deepcopy(encoder), k)
    init_head_from_probe(model.head, f_train, probe_weights)
    if method == "full fine-tune":
        return model, [{"params": list(model.encoder.parameters()), "lr": lr_full},
                       {"params": list(model.head.parameters()), "lr": lr_head}]
    if method not in ("LoRA", "QLoRA"):
        raise ValueError(f"unknown transfer method {method!r}")
    inject_lora(model.encoder, lora_targets, r=lora_r, alpha=lora_alpha, quantize="int4" if method == "QLoRA" else None)
    return model, [{"params": [p for p in model.encoder.parameters() if p.requires_grad], "lr": lr_lora},
                   {"params": list(model.head.parameters()), "lr": lr_head}]
