"""What the server runs: a verified registry artifact turned into a model ready for requests.

    servable = build_servable(registry.load(name, version, verifier))
    servable.predict(x)   # classifier: (B, 784) float32 -> (B, C) probabilities
    servable.embed(texts) # embedder: list[str] -> (B, 384) unit vectors

A servable is immutable once built; a hot swap replaces the whole object (slots.py), so a request that took a
reference to it finishes on it even if a new version is activated meanwhile.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from modelbook.serving.classifier import KIND as CLASSIFIER_KIND
from modelbook.serving.classifier import make_mlp
from modelbook.serving.registry import Artifact, ArtifactError

EMBEDDER_KIND = "minilm"


@dataclass(frozen=True)
class ClassifierServable:
    name: str
    version: int
    model: nn.Module
    classes: tuple[str, ...]
    kind: str = CLASSIFIER_KIND
    n_inputs: int = 784

    @torch.inference_mode()
    def predict(self, x: np.ndarray) -> np.ndarray:
        return torch.softmax(self.model(torch.as_tensor(x, dtype=torch.float32)), dim=-1).numpy()


@dataclass(frozen=True)
class EmbedderServable:
    name: str
    version: int
    model: nn.Module
    tokenizer: object = field(repr=False)
    kind: str = EMBEDDER_KIND
    max_length: int = 256

    @torch.inference_mode()
    def embed(self, texts: list[str]) -> np.ndarray:
        """Mean of the token states over the attention mask, L2-normalised (sentence-transformers' pooling)."""
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        states = self.model(**batch).last_hidden_state  # (B, T, 384)
        mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)  # (B, T, 1)
        pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def build_servable(artifact: Artifact):
    """A servable from a verified artifact; an ArtifactError if the weights do not fit the declared architecture."""
    try:
        if artifact.kind == CLASSIFIER_KIND:
            cfg = artifact.config
            model = make_mlp(tuple(cfg["hidden"]), cfg["n_inputs"], len(cfg["classes"]))
            model.load_state_dict(artifact.tensors, strict=True)
            servable = ClassifierServable(artifact.name, artifact.version, model.eval(), tuple(cfg["classes"]), n_inputs=cfg["n_inputs"])
            servable.predict(np.zeros((1, cfg["n_inputs"]), np.float32))  # warm up before it takes traffic
            return servable
        if artifact.kind == EMBEDDER_KIND:
            return _build_embedder(artifact)
    except (RuntimeError, KeyError, TypeError, ValueError) as e:
        raise ArtifactError(f"{artifact.name} v{artifact.version}: weights do not fit the declared architecture "
                            f"({type(e).__name__}: {str(e).splitlines()[0][:200]})") from None
    raise ArtifactError(f"{artifact.name} v{artifact.version}: unknown model kind {artifact.kind!r}")


def _build_embedder(artifact: Artifact) -> EmbedderServable:
    """BERT of all-MiniLM-L6-v2: architecture and tokenizer from the installed package, weights from the artifact."""
    from transformers import AutoConfig, AutoTokenizer, BertModel

    from modelbook.models import minilm_path

    path = str(minilm_path())
    model = BertModel(AutoConfig.from_pretrained(path), add_pooling_layer=False)  # nosec B615 # local package folder
    tensors = {k: v for k, v in artifact.tensors.items() if k != "embeddings.position_ids" and not k.startswith("pooler.")}
    model.load_state_dict(tensors, strict=True)
    tokenizer = AutoTokenizer.from_pretrained(path)  # nosec B615 # local package folder, never the hub
    servable = EmbedderServable(artifact.name, artifact.version, model.eval(), tokenizer)
    servable.embed(["warm up"])
    return servable


def minilm_tensors() -> dict:
    """The packaged all-MiniLM-L6-v2 weights (to publish them into the registry as a signed version)."""
    from safetensors.torch import load_file

    from modelbook.models import minilm_path

    return load_file(str(minilm_path() / "model.safetensors"))
