"""The same trained classifier in several inference runtimes, each as a function numpy (B, 784) -> (B, C) probabilities.

    fp32      eager PyTorch
    int8      dynamic int8 quantization of the Linear layers (weights int8 per tensor, activations quantized on
              the fly per batch): torch.ao.quantization.quantize_dynamic
    onnx      the model exported to ONNX and run by ONNX Runtime (CPUExecutionProvider)
    onnx-int8 that ONNX file quantized by onnxruntime.quantization.quantize_dynamic (QInt8 weights)
    compile   torch.compile (Inductor generates fused C++ kernels; the first call compiles, ~10-30 s)

Every variant is checked against fp32 on the same inputs (deploy lab): agreement of the predicted class and the
largest difference in probabilities.
"""
from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

Predict = Callable[[np.ndarray], np.ndarray]


def eager(model: nn.Module) -> Predict:
    @torch.inference_mode()
    def predict(x):
        return torch.softmax(model(torch.from_numpy(x)), -1).numpy()
    return predict


def int8_dynamic(model: nn.Module) -> nn.Module:
    """A copy of `model` with every nn.Linear replaced by a dynamically quantized int8 Linear (fbgemm/x86)."""
    import copy

    with warnings.catch_warnings():  # torch.ao.quantization is deprecated in favour of torchao; it still works in 2.13
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), {nn.Linear}, dtype=torch.qint8)


def state_dict_bytes(model: nn.Module, path: Path | None = None) -> int:
    """Size of the serialized state dict (what a checkpoint of this variant takes on disk): written to `path` and
    read back from the file system, or counted in memory when no path is given."""
    if path is None:
        buf = io.BytesIO()
        torch.save(model.state_dict(), buf)
        return buf.tell()
    torch.save(model.state_dict(), path)
    return Path(path).stat().st_size


def agreement_lower_bound(agreeing: int, n: int, confidence: float = 0.95) -> float:
    """One-sided Clopper-Pearson lower bound on the probability of agreement, from `agreeing` of `n` predictions:
    the p at which seeing `agreeing` or more would have probability 1 - confidence (the exact binomial bound)."""
    from scipy.stats import beta

    return float(beta.ppf(1 - confidence, agreeing, n - agreeing + 1)) if agreeing > 0 else 0.0


def export_onnx(model: nn.Module, path: Path, n_inputs: int = 784, exporter: str = "dynamo") -> Path:
    """Export with a dynamic batch dimension. exporter "dynamo" (torch.export, the default since torch 2.9) or
    "torchscript" (the legacy tracer: ~30× faster to export, deprecated)."""
    x = torch.zeros(2, n_inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if exporter == "dynamo":
            program = torch.onnx.export(model, (x,), dynamo=True, input_names=["x"], output_names=["logits"],
                                        dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=65536)},), verbose=False)
            program.save(str(path))
        elif exporter == "torchscript":
            torch.onnx.export(model, (x,), str(path), dynamo=False, input_names=["x"], output_names=["logits"],
                              dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
        else:
            raise ValueError(f"unknown exporter {exporter!r}")
    return Path(path)


def onnx_runtime(path: Path, threads: int | None = None) -> Predict:
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def predict(x):
        logits = session.run(None, {"x": x})[0]
        e = np.exp(logits - logits.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)
    return predict


def quantize_onnx(src: Path, dst: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)  # its advice to pre-process the model goes to the root logger, on every call
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)
    finally:
        logging.disable(previous)
    return Path(dst)


def compiled(model: nn.Module) -> Predict:
    fn = torch.compile(model, dynamic=True)

    @torch.inference_mode()
    def predict(x):
        return torch.softmax(fn(torch.from_numpy(x)), -1).numpy()
    return predict
