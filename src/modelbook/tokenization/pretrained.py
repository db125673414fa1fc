"""SmolLM2-135M's tokenizer as a plain `tokenizers.Tokenizer`, without loading the model or importing transformers.

The SmolLM2 cache (modelbook.models.loaders, built once from the packaged GGUF file) holds the tokenizer as
tokenizer.json: a byte-level BPE with 49,152 ids (48,900 merges, the ByteLevel pre-tokenizer and decoder).
Reading that file takes a fraction of a second; transformers' import alone costs ~3.5 CPU-s.
"""
from __future__ import annotations

from modelbook.core.errors import ModelbookError


def smollm2_tokenizer():
    from tokenizers import Tokenizer

    from modelbook.models import loaders

    path = loaders._smollm2_cache() / "tokenizer.json"
    if not path.is_file():
        loaders.load_smollm2()  # builds the cache (model and tokenizer) once, ~25 s
    try:
        return Tokenizer.from_file(str(path))
    except Exception as e:  # a damaged cache file
        raise ModelbookError(f"the SmolLM2 tokenizer at {path} is unreadable ({e}); delete {path.parent} to rebuild it") from e
