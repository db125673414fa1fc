"""SmolLM2-135M greedy decoding speed: fp32, bf16, library int8/int4 kernels, ONNX Runtime, and ours, vs the roofline.

    modelbook bench decode [--quick]

Every variant decodes the same prompt (32 tokens of held-out Shakespeare; 4 in the quick form) greedily with a KV
cache, in this one process; the variants are built first and then timed interleaved (fp32, bf16, ..., fp32, bf16,
...), and each repeat gives every variant's time per new token (after the prompt is prefilled) as a ratio to fp32's
in the same repeat (< 1: faster than fp32). The roofline: decoding one token reads every weight once, so tokens/s ≤
memory bandwidth / bytes of weights read per token; the bandwidth is measured here (a 256 MiB tensor sum). "same
tokens" counts how many of the greedy tokens equal fp32's (quantization may flip a near-tie).

Variants: fp32 and bf16 (Hugging Face eager); torch.ao quantize_dynamic int8 (fbgemm W8A8 kernels);
torchao Int8DynamicActivationInt8Weight eager, and on our explicit-cache decode step eager and under
torch.compile (dynamic shapes: one graph for every cache length; compiling takes minutes on 2 cores the first
time, less once inductor's on-disk cache is warm); torchao IntxWeightOnly int4 (group 32);
ONNX Runtime fp32 and int8 (quantize_dynamic) on our explicit-cache export (modelbook.compression.export);
ours: int8 W8A8 with torch._int_mm, int8 weight-only and int4 group-32 (dequantize then matmul).
The quick form decodes 6 tokens with fp32 (HF and our step), torch.ao int8 and our int8 W8A8 only: no torchao,
no torch.compile, no ONNX export.
"""
from __future__ import annotations

import copy
import io
import os
import tempfile
import time
import warnings

os.environ.setdefault("TORCHAO_FORCE_SKIP_LOADING_SO_FILES", "1")

import torch  # noqa: E402
from torch import nn  # noqa: E402

from modelbook.bench.harness import Bench  # noqa: E402
from modelbook.compression.export import LlamaDecodeStep  # noqa: E402
from modelbook.compression.llm import memory_bandwidth_gbs  # noqa: E402
from modelbook.compression.qlinear import QuantizedEmbedding, model_bytes, quantize_linears  # noqa: E402

TITLE = "SmolLM2 decode variants vs fp32 and the roofline"
QUICK = dict(prompt=4, tokens=6, repeats=3, full_set=False, compile=False, onnx=False)
FULL = dict(prompt=32, tokens=32, repeats=3, full_set=True, compile=True, onnx=True)
THREADS = 1  # every variant on one thread (ONNX Runtime too): two threads on a shared 2-core machine thrash


@torch.no_grad()
def greedy_hf(model, prompt, n):
    from transformers import DynamicCache

    cache = DynamicCache()
    out = model(prompt, past_key_values=cache, use_cache=True)
    token = out.logits[:, -1:].argmax(-1)
    tokens = [int(token)]
    t0 = time.perf_counter()
    for _ in range(n - 1):
        out = model(token, past_key_values=cache, use_cache=True)
        token = out.logits[:, -1:].argmax(-1)
        tokens.append(int(token))
    return tokens, (n - 1) / (time.perf_counter() - t0)


@torch.no_grad()
def greedy_step(prefill, decode, prompt, n):
    """Greedy decoding with a LlamaDecodeStep: `prefill` runs the prompt (eager: compiling it too would double
    the compile time for one call), `decode` each new token."""
    k, v = prefill.empty_cache()
    logits, k, v = prefill(prompt, k, v)
    token = logits[:, -1:].argmax(-1)
    tokens = [int(token)]
    t0 = time.perf_counter()
    for _ in range(n - 1):
        logits, k, v = decode(token, k, v)
        token = logits[:, -1:].argmax(-1)
        tokens.append(int(token))
    return tokens, (n - 1) / (time.perf_counter() - t0)


def greedy_ort(session, prompt, n, n_layers, n_kv, head_dim):
    import numpy as np

    k = v = np.zeros((n_layers, 1, n_kv, 0, head_dim), np.float32)
    logits, k, v = session.run(None, {"ids": prompt.numpy(), "past_k": k, "past_v": v})
    token = int(logits[0, -1].argmax())
    tokens = [token]
    t0 = time.perf_counter()
    for _ in range(n - 1):
        logits, k, v = session.run(None, {"ids": np.array([[token]], np.int64), "past_k": k, "past_v": v})
        token = int(logits[0, -1].argmax())
        tokens.append(token)
    return tokens, (n - 1) / (time.perf_counter() - t0)


def serialized_bytes(model: nn.Module) -> int:
    """Size of torch.save(state_dict) (the BERT tutorial's measure; it sees packed and subclass tensors)."""
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getbuffer().nbytes


def run(quick: bool):
    p = QUICK if quick else FULL
    b = Bench("decode", quick, p)
    warnings.simplefilter("ignore")
    from modelbook.data import shakespeare_heldout
    from modelbook.models import load_smollm2

    base, tok = load_smollm2()
    prompt = tok(shakespeare_heldout(40_000), return_tensors="pt")["input_ids"][:, :p["prompt"]]
    emb_bytes = base.model.embed_tokens.weight.numel() * 4
    bw = memory_bandwidth_gbs()
    variants: dict[str, tuple] = {}  # name -> (run(n) -> (tokens, tok/s), weight bytes read per token, note)

    def add(name, run_fn, per_token_bytes, note=""):
        variants[name] = (run_fn, per_token_bytes, note)

    def hf(model):
        return lambda n: greedy_hf(model, prompt, n)

    add("fp32 (HF eager)", hf(base), model_bytes(base))
    fp32_step = LlamaDecodeStep(base).eval()
    add("fp32 (eager, our step)", lambda n: greedy_step(fp32_step, fp32_step, prompt, n), model_bytes(base),
        "explicit KV-cache tensors")
    if p["full_set"]:
        bf16 = copy.deepcopy(base).to(torch.bfloat16)
        add("bf16 (HF eager)", hf(bf16), model_bytes(bf16))

    ao = torch.ao.quantization.quantize_dynamic(copy.deepcopy(base), {nn.Linear}, dtype=torch.qint8)
    add("torch.ao quantize_dynamic int8", hf(ao), serialized_bytes(ao) - emb_bytes, "fbgemm W8A8; embedding stays fp32")

    if p["full_set"]:
        from torchao.quantization import Int8DynamicActivationInt8WeightConfig, IntxWeightOnlyConfig, quantize_
        from torchao.quantization.granularity import PerGroup

        tao = copy.deepcopy(base)
        quantize_(tao, Int8DynamicActivationInt8WeightConfig())
        tao_bytes = serialized_bytes(tao) - emb_bytes
        add("torchao int8 dyn (eager)", hf(tao), tao_bytes)
        if p["compile"]:
            # Compile our explicit-cache decode step (modelbook.compression.export), not Hugging Face's forward: its
            # Python cache object breaks the graph and re-specialises as it grows. Eager on the same step too, so
            # the compiler's gain is measured on one harness.
            step = LlamaDecodeStep(tao).eval()
            add("torchao int8 dyn (eager, our step)", lambda n: greedy_step(step, step, prompt, n), tao_bytes,
                "explicit KV-cache tensors")
            compiled = torch.compile(step, dynamic=True)  # one graph for every cache length
            t0 = time.perf_counter()
            greedy_step(step, compiled, prompt, 3)
            add("torchao int8 dyn + torch.compile", lambda n: greedy_step(step, compiled, prompt, n), tao_bytes,
                f"compiling took {time.perf_counter() - t0:.0f} s")
        t4 = copy.deepcopy(base)
        quantize_(t4, IntxWeightOnlyConfig(weight_dtype=torch.int4, granularity=PerGroup(32)))
        add("torchao int4 weight-only g32", hf(t4), serialized_bytes(t4) - emb_bytes, "Int4WeightOnlyConfig has no CPU kernel")

    names = [n for n, m in base.named_modules() if isinstance(m, nn.Linear)]
    ours = (("ours int8 W8A8 (_int_mm)", "int8-dynamic", "int8-dynamic"), ("ours int8 weight-only", "int8", "int8"),
            ("ours int4 g32", "int4", "int8"))
    for label, scheme, head in ours if p["full_set"] else ours[:1]:
        model = copy.deepcopy(base)
        quantize_linears(model, {n: (head if n == "lm_head" else scheme) for n in names})
        untied = 0 if isinstance(model.model.embed_tokens, QuantizedEmbedding) else emb_bytes  # tied: read once
        add(label, hf(model), model_bytes(model) - untied, "dequantize, then fp32 matmul" if scheme != "int8-dynamic" else "")

    if p["onnx"]:
        _onnx(base, prompt, add, emb_bytes)

    # Timed, interleaved: every repeat runs every variant once; seconds per new token, and its greedy tokens.
    n = p["tokens"]
    for run_fn, _, _ in variants.values():
        run_fn(1 if quick else 2)  # warm-up (1: the prompt only)
    spt: dict[str, list[float]] = {name: [] for name in variants}
    tokens: dict[str, list[int]] = {}
    for _ in range(p["repeats"]):
        for name, (run_fn, _, _) in variants.items():
            tokens[name], tps = run_fn(n)
            spt[name].append(1.0 / tps)
    ref = "fp32 (HF eager)"
    fp32_tps = 1.0 / sorted(spt[ref])[len(spt[ref]) // 2]
    b.value("fp32 tokens/s", fp32_tps, "tok/s")
    b.value("memory read bandwidth", bw["read"], "GB/s")
    for name, (_, nbytes, note) in variants.items():
        if name != ref:
            b.ratio(f"{name} / fp32 (HF)", f"{n} tokens", spt[name], spt[ref])
        tps = 1.0 / sorted(spt[name])[len(spt[name]) // 2]
        roof = bw["read"] * 1e9 / nbytes
        b.value(f"{name}: tokens/s", tps, "tok/s")
        b.value(f"{name}: share of roofline", tps / roof, "fraction")
        b.value(f"{name}: same greedy tokens as fp32", sum(a == c for a, c in zip(tokens[name], tokens[ref])) / n,
                "fraction", volatile=False)
        if note:
            b.note(f"{name}: {note}")
    step_same = sum(a == c for a, c in zip(tokens["fp32 (eager, our step)"], tokens[ref]))
    b.within("greedy tokens of our fp32 decode step equal Hugging Face's", step_same, n, n,
             "transformers LlamaForCausalLM with DynamicCache (same weights, fp32)")
    b.note(f"SmolLM2-135M, {n} new tokens after a {p['prompt']}-token prompt, median of {p['repeats']} interleaved repeats; "
           f"roofline = measured read bandwidth ({bw['read']:.1f} GB/s) / weight bytes read per token (an upper "
           "bound). W8A8 variants (activations quantized too) usually part from fp32's greedy tokens within a few "
           "tokens, consistent with the large activation outliers of LLMs (Dettmers et al. 2022, LLM.int8()).")
    return b.result


def _onnx(base, prompt, add, emb_bytes):
    import onnxruntime as ort

    from modelbook.compression.export import export_onnx
    from modelbook.serving.variants import quantize_onnx

    cfg = base.config
    dims = (cfg.num_hidden_layers, cfg.num_key_value_heads, cfg.hidden_size // cfg.num_attention_heads)
    with tempfile.TemporaryDirectory() as tmp:
        fp32_path, int8_path = os.path.join(tmp, "step.onnx"), os.path.join(tmp, "step.int8.onnx")
        t0 = time.perf_counter()
        export_onnx(LlamaDecodeStep(base).eval(), fp32_path)
        t1 = time.perf_counter()
        quantize_onnx(fp32_path, int8_path)
        t2 = time.perf_counter()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = torch.get_num_threads()
        for label, path, note in (("ONNX Runtime fp32", fp32_path, f"export {t1 - t0:.0f} s"),
                                  ("ONNX Runtime int8 (dynamic)", int8_path, f"quantize {t2 - t1:.0f} s")):
            session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
            add(label, lambda n, s=session: greedy_ort(s, prompt, n, *dims), onnx_bytes_per_token(path), note)


def onnx_bytes_per_token(path) -> int:
    """Bytes of the graph's weights (initializers) read per token: all of them except tables consumed only
    by Gather (the embedding lookup reads one row)."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(path).graph
    consumers: dict[str, set[str]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, set()).add(node.op_type)
    return sum(numpy_helper.to_array(t).nbytes for t in graph.initializer if consumers.get(t.name, {"?"}) != {"Gather"})

