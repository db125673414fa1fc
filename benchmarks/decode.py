"""SmolLM2-135M greedy decoding speed: fp32, bf16, library int8/int4 kernels, ONNX Runtime, and ours, vs the roofline.

    .venv/bin/python benchmarks/decode.py [--tokens 32] [--no-compile] [--no-onnx] [--threads N]

Every variant decodes the same prompt (32 tokens of held-out Shakespeare) greedily with a KV cache, in this one
process; tokens/s counts the new tokens after the prompt is prefilled (median of --repeats runs). The roofline:
decoding one token reads every weight once, so tokens/s ≤ memory bandwidth / bytes of weights read per token;
the bandwidth is measured here (a 256 MiB tensor copy and sum). "same tokens" counts how many of the greedy
tokens equal fp32's (quantization may flip a near-tie).

Variants: fp32 and bf16 (Hugging Face eager); torch.ao quantize_dynamic int8 (fbgemm W8A8 kernels);
torchao Int8DynamicActivationInt8Weight eager, and on our explicit-cache decode step eager and under
torch.compile (dynamic shapes: one graph for every cache length; compiling takes minutes on 2 cores the first
time, less once inductor's on-disk cache is warm); torchao IntxWeightOnly int4 (group 32);
ONNX Runtime fp32 and int8 (quantize_dynamic) on our explicit-cache export (modelbook.compression.export);
ours: int8 W8A8 with torch._int_mm, int8 weight-only and int4 group-32 (dequantize then matmul).
"""
from __future__ import annotations

import argparse
import copy
import io
import os
import statistics
import tempfile
import time
import warnings

os.environ.setdefault("TORCHAO_FORCE_SKIP_LOADING_SO_FILES", "1")

import torch  # noqa: E402
from torch import nn  # noqa: E402

from modelbook.compression.export import LlamaDecodeStep  # noqa: E402
from modelbook.compression.llm import memory_bandwidth_gbs  # noqa: E402
from modelbook.compression.qlinear import QuantizedEmbedding, model_bytes, quantize_linears  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-compile", action="store_true",
                        help="skip torchao + torch.compile (compiling took ~3 min on 2 cores, cold cache)")
    parser.add_argument("--no-onnx", action="store_true", help="skip the ONNX Runtime variants (export takes a while)")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    from modelbook.data import shakespeare_heldout
    from modelbook.models import load_smollm2

    base, tok = load_smollm2()
    prompt = tok(shakespeare_heldout(40_000), return_tensors="pt")["input_ids"][:, :32]
    emb_bytes = base.model.embed_tokens.weight.numel() * 4
    bw = memory_bandwidth_gbs()
    print(f"SmolLM2-135M, torch {torch.__version__}, {torch.get_num_threads()} threads, {args.tokens} new tokens, "
          f"median of {args.repeats}; memory bandwidth: copy {bw['copy']:.1f} GB/s, read {bw['read']:.1f} GB/s\n")
    rows, ref_tokens = [], None

    def record(name, run, per_token_bytes, note=""):
        nonlocal ref_tokens
        speeds, tokens = [], None
        run(2)  # warm-up
        for _ in range(args.repeats):
            tokens, tps = run(args.tokens)
            speeds.append(tps)
        ref_tokens = ref_tokens or tokens
        same = sum(a == b for a, b in zip(tokens, ref_tokens))
        rows.append((name, per_token_bytes, statistics.median(speeds), same, note))
        print(f"  measured {name}: {statistics.median(speeds):.1f} tok/s", flush=True)

    def hf(model):
        return lambda n: greedy_hf(model, prompt, n)

    record("fp32 (HF eager)", hf(base), model_bytes(base))
    fp32_step = LlamaDecodeStep(base).eval()
    record("fp32 (eager, our step)", lambda n: greedy_step(fp32_step, fp32_step, prompt, n), model_bytes(base),
           "explicit KV-cache tensors")
    fp32_step = None  # free it before the next copy of the model
    bf16 = copy.deepcopy(base).to(torch.bfloat16)
    record("bf16 (HF eager)", hf(bf16), model_bytes(bf16))
    del bf16

    ao = torch.ao.quantization.quantize_dynamic(copy.deepcopy(base), {nn.Linear}, dtype=torch.qint8)
    record("torch.ao quantize_dynamic int8", hf(ao), serialized_bytes(ao) - emb_bytes, "fbgemm W8A8; embedding stays fp32")
    del ao

    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, IntxWeightOnlyConfig, quantize_
    from torchao.quantization.granularity import PerGroup

    tao = copy.deepcopy(base)
    quantize_(tao, Int8DynamicActivationInt8WeightConfig())
    tao_bytes = serialized_bytes(tao) - emb_bytes
    record("torchao int8 dyn (eager)", hf(tao), tao_bytes)
    if not args.no_compile:
        # Compile our explicit-cache decode step (modelbook.compression.export), not Hugging Face's forward: its
        # Python cache object breaks the graph and re-specialises as it grows. Eager on the same step first, so
        # the compiler's gain is measured on one harness.
        step = LlamaDecodeStep(tao).eval()
        record("torchao int8 dyn (eager, our step)", lambda n: greedy_step(step, step, prompt, n), tao_bytes,
               "explicit KV-cache tensors")
        compiled = torch.compile(step, dynamic=True)  # one graph for every cache length
        t0 = time.perf_counter()
        greedy_step(step, compiled, prompt, 3)
        record("torchao int8 dyn + torch.compile", lambda n: greedy_step(step, compiled, prompt, n), tao_bytes,
               f"compiling took {time.perf_counter() - t0:.0f} s")
        del step, compiled
    del tao
    t4 = copy.deepcopy(base)
    quantize_(t4, IntxWeightOnlyConfig(weight_dtype=torch.int4, granularity=PerGroup(32)))
    record("torchao int4 weight-only g32", hf(t4), serialized_bytes(t4) - emb_bytes, "Int4WeightOnlyConfig has no CPU kernel")
    del t4

    names = [n for n, m in base.named_modules() if isinstance(m, nn.Linear)]
    for label, scheme, head in (("ours int8 W8A8 (_int_mm)", "int8-dynamic", "int8-dynamic"),
                                ("ours int8 weight-only", "int8", "int8"), ("ours int4 g32", "int4", "int8")):
        model = copy.deepcopy(base)
        quantize_linears(model, {n: (head if n == "lm_head" else scheme) for n in names})
        untied = 0 if isinstance(model.model.embed_tokens, QuantizedEmbedding) else emb_bytes  # tied: read once
        record(label, hf(model), model_bytes(model) - untied, "dequantize, then fp32 matmul" if scheme != "int8-dynamic" else "")
        del model

    if not args.no_onnx:
        _onnx(base, prompt, record, emb_bytes)

    fp32_tps = rows[0][2]
    header = (f"{'variant':<32} {'MB/token':>9} {'tok/s':>7} {'x fp32':>7} {'roofline':>9} {'% roof':>7} "
              f"{'same tokens':>12}  note")
    print("\n" + header + "\n" + "-" * len(header))
    for name, nbytes, tps, same, note in rows:
        roof = bw["read"] * 1e9 / nbytes
        print(f"{name:<32} {nbytes / 1e6:>9.0f} {tps:>7.1f} {tps / fp32_tps:>7.2f} {roof:>9.1f} {100 * tps / roof:>6.0f}% "
              f"{same:>5}/{args.tokens:<6}  {note}")
    print("\nroofline = measured read bandwidth / weight bytes read per token (an upper bound; the KV cache and "
          "activations add a little).\nsame tokens: weight-only variants keep fp32's greedy tokens; the W8A8 variants "
          "(activations quantized to int8 too) usually part from them within a few tokens, consistent with the "
          "large activation outliers of LLMs (Dettmers et al. 2022, LLM.int8()).")


def _onnx(base, prompt, record, emb_bytes):
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
            record(label, lambda n, s=session: greedy_ort(s, prompt, n, *dims), onnx_bytes_per_token(path), note)
            del session


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


if __name__ == "__main__":
    main()
