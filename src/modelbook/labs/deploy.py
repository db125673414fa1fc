"""Deploy: the served classifier in fp32, int8, ONNX Runtime and torch.compile; dynamic batching; hot swap under load (topic 10).

What this lab shows
  1. One Fashion-MNIST classifier (an MLP trained with the shared `fit` loop) in several runtimes, side by side in
     one run: eager fp32, dynamic int8 (torch.ao quantize_dynamic), ONNX Runtime fp32 and int8, and (full preset)
     torch.compile. For each: latency p50/p99 at batch 1, throughput at a large batch, size on disk, test
     accuracy, agreement with fp32. int8 keeps the predictions (agreement ≥ 99%, as a 95% lower bound over all
     10,000 test images) with Linear weights 4× smaller (saved files); ONNX Runtime computes the same function to
     float rounding.
  2. Dynamic batching: concurrent single-image requests gathered into one forward pass (serving/batching.py)
     give the same outputs as one-by-one inference, and the throughput of both is measured.
  3. Versioned, signed models and an explicit hot swap under load: the model server (serving/app.py) runs on
     127.0.0.1 while 8 clients send requests and the model is activated through its successive versions; no
     request fails, no client ever sees the version go backwards, and the server's own Prometheus counters agree
     with the clients. A version that fails to load (altered weights, or weights that do not fit) is refused with
     409 and the old version keeps serving.

Differences from the references
  - A small MLP on 2 shared CPU cores, not BERT or ResNet on a server: latencies are tens of microseconds, so
    per-call overhead (Python, the runtime's dispatch) weighs more than the matrix multiplies; speedups are
    reported (volatile), never asserted. The PyTorch tutorial's BERT figures are set beside as ratios only.
  - int8 comes from torch.ao.quantization.quantize_dynamic (deprecated in favour of torchao but still the
    fastest int8 path for nn.Linear on x86 in torch 2.13, see DEPENDENCIES.md).
  - quick: ONNX via the legacy TorchScript exporter (0.1 s instead of ~3 s), no torch.compile (its first call takes
    10-30 s), a 3-second load test with 3 swaps on an in-process server. full: the dynamo exporter, torch.compile,
    and the 60-second load test with 10 swaps against the server in a separate process.

Building blocks: modelbook/serving/{classifier,variants,registry,signing,slots,batching,app,loadtest,server,metrics}.py
Cross-checks:    tests/serving/ (registry, signing, auth, audit, app limits, hot swap, batching, schemathesis, kill -9,
                 the Prometheus counter read back),
                 tests/labs/test_deploy.py, tests/test_dockerfile.py
"""
from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from modelbook.core import plots, progress
from modelbook.core.measure import latency_percentiles, median_time
from modelbook.core.result import LabResult
from modelbook.core.seed import rng as make_rng
from modelbook.serving import variants as V
from modelbook.serving.classifier import (
    KIND,
    eval_accuracy,
    fashion_arrays,
    fashion_test_images,
    mlp_config,
    train_classifier,
)

TUTORIAL = ("PyTorch dynamic quantization tutorial (BERT on MRPC: F1 0.902 int8 vs 0.9019 fp32; "
            "Linear weights int8 = 1/4 of fp32)")
ORT = "onnxruntime 1.32 CPUExecutionProvider vs torch 2.13 eager on the same weights"
SWAP = "TOPICS.md T10 requirement (zero failed requests under hot swap); serving/slots.py atomic reference swap"
# untimed calls before timing (runtime caches, allocator): many single-image calls, or a couple of large batches
LATENCY_WARMUP, THROUGHPUT_WARMUP = 20, 2
BROKEN_VERSIONS = (1001, 1002)  # far above the real versions: the altered one, and the one that does not fit
BODY_DECIMALS = 4  # pixels in the request body rounded to 4 decimals: a short JSON body
AGREEMENT_CONFIDENCE = 0.95  # one-sided confidence of the lower bound on int8's top-1 agreement with fp32
HTTP_TIMEOUT_S = 60  # the lab's own requests: generous, a loaded machine may take seconds to load a version


@dataclass(frozen=True)
class Config:
    n_train: int = 60_000
    """Fashion-MNIST training images"""
    n_test: int = 10_000
    """test images (accuracy, agreement)"""
    agreement_images: int = 10_000
    """first test images on which the int8 runtimes' top-1 is compared with fp32's (labels unused; all 10,000)"""
    hidden: tuple[int, ...] = (256, 128)
    """hidden widths of the served MLP"""
    n_epochs: int = 5
    """training epochs of version 1"""
    n_calls: int = 2000
    """timed calls at batch 1 per variant (latency percentiles)"""
    throughput_batch: int = 256
    """batch size of the throughput measurement"""
    n_throughput: int = 50
    """timed batches per variant"""
    onnx_exporter: str = "dynamo"
    """'dynamo' (torch.export, the default) or 'torchscript' (legacy, fast to export)"""
    compile: bool = True
    """include torch.compile (first call 10-30 s)"""
    batching_clients: int = 32
    """concurrent single-image requests for the dynamic-batching measurement"""
    batching_rounds: int = 30
    """requests each of them sends"""
    load_seconds: float = 60.0
    """duration of the load-and-swap test"""
    load_clients: int = 8
    """concurrent clients of the load test"""
    n_swaps: int = 10
    """hot swaps during the load test (versions 2 .. n_swaps + 1)"""
    finetune_steps: int = 30
    """Adam steps that turn version k into version k + 1 (a periodic retrain)"""
    finetune_lr: float = 2e-4
    """Adam learning rate of the retrain (small: a version drifts from the one before, it does not jump)"""
    finetune_batch: int = 128
    """images per retrain step"""
    max_batch: int = 64
    """most rows the dynamic batcher puts in one forward pass"""
    max_wait_s: float = 0.002
    """longest the batcher holds the first request of a batch while it waits for more"""
    server_process: bool = True
    """run the server in its own process (as in production) rather than in a thread of this one"""
    threads: int = 1
    """intra-op threads for PyTorch and ONNX Runtime (and the server process)"""
    seed: int = 0


PRESETS = {
    "quick": Config(n_train=6000, n_test=2000, n_epochs=2, n_calls=200, n_throughput=10, onnx_exporter="torchscript",
                    compile=False, batching_clients=16, batching_rounds=8, load_seconds=3.0, n_swaps=3, finetune_steps=5,
                    server_process=False),
    "full": Config(),
}


def run(cfg: Config, out: Path) -> LabResult:
    result = LabResult("deploy", cfg)
    rng = make_rng(cfg.seed)
    xtr, ytr, xte, yte = fashion_arrays(cfg.n_train, cfg.n_test, rng)
    model = train_classifier(xtr, ytr, cfg.hidden, n_epochs=cfg.n_epochs, seed=cfg.seed)
    result.metric("model/test_accuracy", eval_accuracy(model, xte, yte))
    _variants(result, cfg, model, xte, yte, out)
    folder = out / "serve"
    versions = _publish_versions(result, cfg, model, xtr, ytr, xte, yte, folder)
    _batching(result, cfg, folder, xte)
    _serve_and_swap(result, cfg, folder, xte, versions)
    return result


# -- 1. runtimes side by side ------------------------------------------------------------------------
def _variants(result: LabResult, cfg: Config, model, xte, yte, out: Path) -> None:
    fp32 = V.eager(model)
    int8_model = V.int8_dynamic(model)
    onnx_path = V.export_onnx(model, out / "classifier.onnx", exporter=cfg.onnx_exporter)
    runtimes = {"fp32": fp32, "int8": V.eager(int8_model), "onnx": V.onnx_runtime(onnx_path, cfg.threads),
                "onnx-int8": V.onnx_runtime(V.quantize_onnx(onnx_path, out / "classifier-int8.onnx"), cfg.threads)}
    if cfg.compile:
        with progress.status("torch.compile (first call compiles)"):
            runtimes["compile"] = V.compiled(model)
            runtimes["compile"](xte[:1])
            runtimes["compile"](xte[:cfg.throughput_batch])
    sizes = {"fp32": V.state_dict_bytes(model, out / "classifier-fp32.pt"), "int8": V.state_dict_bytes(int8_model, out / "classifier-int8.pt"),
             "onnx": onnx_path.stat().st_size, "onnx-int8": (out / "classifier-int8.onnx").stat().st_size}
    ref = fp32(xte)
    x_agree = fashion_test_images(cfg.agreement_images)
    ref_agree = fp32(x_agree).argmax(1)
    x1, xb = xte[:1], xte[:cfg.throughput_batch]
    table = {}
    for name, fn in progress.track(runtimes.items(), "timing runtimes"):
        probs = fn(xte)
        acc = result.metric(f"{name}/test_accuracy", float((probs.argmax(1) == yte).mean()))
        result.metric(f"{name}/agreement_with_fp32", float((probs.argmax(1) == ref.argmax(1)).mean()))
        diff = result.metric(f"{name}/max_prob_diff_vs_fp32", float(np.abs(probs - ref).max()))
        p50, p99 = latency_percentiles(lambda: fn(x1), cfg.n_calls, warmup=LATENCY_WARMUP)
        t = median_time(lambda: fn(xb), repeats=cfg.n_throughput, warmup=THROUGHPUT_WARMUP)
        table[name] = (result.metric(f"{name}/latency_p50_ms", p50 * 1000, "ms", volatile=True),
                       result.metric(f"{name}/latency_p99_ms", p99 * 1000, "ms", volatile=True),
                       result.metric(f"{name}/throughput", len(xb) / t, "samples/s", volatile=True))
        if name in sizes:
            result.metric(f"{name}/size_bytes", sizes[name], "B", volatile=name.startswith("onnx"))
        if name != "fp32":
            result.metric(f"{name}/speedup_batch1_p50", table["fp32"][0] / table[name][0], volatile=True)
        if name in ("int8", "onnx-int8"):
            agreeing = int((fn(x_agree).argmax(1) == ref_agree).sum())
            result.metric(f"{name}/agreement_with_fp32_all_test_images", agreeing / len(x_agree))
            bound = result.metric(f"{name}/agreement_with_fp32_lower_bound", V.agreement_lower_bound(agreeing, len(x_agree), AGREEMENT_CONFIDENCE))
            result.check(f"{name}: top-1 agreement with fp32 on {len(x_agree):,} test images, one-sided "
                         f"{AGREEMENT_CONFIDENCE:.0%} lower bound", bound, reference=0.99, tolerance=0.0,
                         source=TUTORIAL + "; exact binomial bound (Clopper & Pearson 1934)", kind="at_least",
                         note=f"{len(x_agree) - agreeing} of {len(x_agree):,} predictions differ")
            result.check(f"{name}: test accuracy drop vs fp32", result.value("fp32/test_accuracy") - acc, reference=0.0, tolerance=0.01, source=TUTORIAL, kind="at_most")
        else:
            result.check(f"{name}: max |Δ probability| vs fp32", diff, reference=0.0, tolerance=1e-5,
                         source=ORT if name.startswith("onnx") else "torch 2.13 torch.compile (Inductor) vs eager", kind="at_most")
    result.check("int8 / fp32 size of the saved state dict files (Linear weights 4× smaller)", sizes["fp32"] / sizes["int8"],
                 reference=3.5, tolerance=0.0, source=TUTORIAL + "; torch.save files on disk", kind="at_least")
    result.note("Latency p50/p99 at batch 1 (ms) and throughput at batch "
                f"{cfg.throughput_batch} (samples/s): " + "; ".join(f"{n} {a:.3f}/{b:.3f} ms, {c:,.0f}/s" for n, (a, b, c) in table.items()))
    fig, axes = plots.figure(1, 2, size=(10, 3.6))
    names = list(table)
    axes[0].bar([n + "\np50" for n in names], [table[n][0] for n in names], color="tab:blue")
    axes[0].bar([n + "\np99" for n in names], [table[n][1] for n in names], color="tab:orange")
    axes[0].set(ylabel="ms per call, batch 1", title="Latency")
    axes[0].tick_params(axis="x", labelsize=7)
    axes[1].bar(names, [table[n][2] for n in names])
    axes[1].set(ylabel=f"samples/s, batch {cfg.throughput_batch}", title="Throughput")
    result.artifact(plots.save(fig, out / "runtimes.png"))


# -- versions: v1 trained, each next one a short retrain of the one before --------------------------
def _publish_versions(result, cfg, model, xtr, ytr, xte, yte, folder: Path) -> list[int]:
    from modelbook.serving.registry import ModelRegistry
    from modelbook.serving.server import ensure_keys
    from modelbook.serving.signing import load_signer

    ensure_keys(folder)
    registry, signer = ModelRegistry(folder / "registry"), load_signer(folder / "keys" / "signing.key")
    g = torch.Generator().manual_seed(cfg.seed + 1)  # + 1: the retrain batches, apart from version 1's shuffles (cfg.seed)
    current = copy.deepcopy(model)
    opt = torch.optim.Adam(current.parameters(), lr=cfg.finetune_lr)
    x, y = torch.from_numpy(xtr), torch.from_numpy(ytr)
    for version in range(1, cfg.n_swaps + 2):
        if version > 1:
            for _ in range(cfg.finetune_steps):
                idx = torch.randint(0, len(x), (cfg.finetune_batch,), generator=g)
                opt.zero_grad()
                torch.nn.functional.cross_entropy(current(x[idx]), y[idx]).backward()
                opt.step()
        acc = eval_accuracy(current.eval(), xte, yte)
        registry.publish("fashion", version, KIND, current.state_dict(), mlp_config(cfg.hidden), signer,
                         metadata={"test_accuracy": round(acc, 4)})
        result.metric(f"versions/v{version}_test_accuracy", acc)
    registry.set_active("fashion", 1)
    return list(range(1, cfg.n_swaps + 2))


# -- 2. dynamic batching -----------------------------------------------------------------------------
def _batching(result: LabResult, cfg: Config, folder: Path, xte) -> None:
    from modelbook.serving.batching import DynamicBatcher
    from modelbook.serving.registry import ModelRegistry
    from modelbook.serving.signing import load_verifier
    from modelbook.serving.slots import ModelSlot

    slot = ModelSlot("fashion", ModelRegistry(folder / "registry"), load_verifier(folder / "keys" / "signing.pub"))
    slot.activate(1)
    servable = slot.get()
    n = cfg.batching_clients * cfg.batching_rounds
    rows = [xte[i % len(xte)][None] for i in range(n)]
    solo = np.concatenate([servable.predict(r) for r in rows])

    async def measure(batched: bool):
        import time

        import anyio

        batcher = DynamicBatcher(slot, max_batch=cfg.max_batch, max_wait_s=cfg.max_wait_s, on_batch=sizes.append) if batched else None
        if batcher:
            batcher.start()
        outs: dict[int, np.ndarray] = {}

        async def client(c):
            for k in range(cfg.batching_rounds):
                i = c * cfg.batching_rounds + k
                if batcher:
                    outs[i] = (await batcher.submit(rows[i]))[1]
                else:
                    outs[i] = await anyio.to_thread.run_sync(servable.predict, rows[i])

        t0 = time.perf_counter()
        await asyncio.gather(*(client(c) for c in range(cfg.batching_clients)))
        elapsed = time.perf_counter() - t0
        if batcher:
            await batcher.stop()
        return n / elapsed, np.concatenate([outs[i] for i in range(n)])

    sizes: list[int] = []
    plain_rps, plain_out = asyncio.run(measure(False))
    batched_rps, batched_out = asyncio.run(measure(True))
    result.metric("batching/unbatched_requests_per_s", plain_rps, "req/s", volatile=True)
    result.metric("batching/batched_requests_per_s", batched_rps, "req/s", volatile=True)
    gain = result.metric("batching/gain", batched_rps / plain_rps, volatile=True)
    result.metric("batching/mean_rows_per_forward", float(np.mean(sizes)), volatile=True)
    diff = max(float(np.abs(batched_out - solo).max()), float(np.abs(plain_out - solo).max()))
    result.check("dynamic batching: each request's output = its output computed alone (max |Δ|)", diff, reference=0.0, tolerance=1e-5,
                 source="torch 2.13 eager forward, one request at a time (rows of a batch are independent)", kind="at_most")
    result.note(f"Dynamic batching, {cfg.batching_clients} concurrent clients × {cfg.batching_rounds} single-image requests: "
                f"{plain_rps:,.0f} req/s one forward each vs {batched_rps:,.0f} req/s batched (×{gain:.2f}, "
                f"{np.mean(sizes):.1f} rows per forward on average).")


# -- 3. hot swap under load --------------------------------------------------------------------------
def _serve_and_swap(result: LabResult, cfg: Config, folder: Path, xte, versions: list[int]) -> None:
    import httpx

    from modelbook.serving.app import create_app
    from modelbook.serving.auth import TokenStore
    from modelbook.serving.loadtest import load_and_swap
    from modelbook.serving.metrics import counter_total
    from modelbook.serving.server import ServerProcess, ThreadServer, settings_for

    _publish_broken(cfg, folder)
    settings = settings_for(folder, models=("fashion",))
    tokens = TokenStore(settings.tokens)
    predict_token, admin_token = tokens.create(["predict"]), tokens.create(["predict", "admin"])
    body = {"inputs": [xte[0].round(BODY_DECIMALS).tolist()]}
    server = ServerProcess(settings, threads=cfg.threads) if cfg.server_process else ThreadServer(create_app(settings))
    with progress.status(f"load test: {cfg.load_clients} clients, {cfg.load_seconds:g} s, {cfg.n_swaps} swaps"), server as url:
        admin = {"Authorization": f"Bearer {admin_token}"}
        refused = [httpx.post(f"{url}/admin/models/fashion/versions/{v}:activate", headers=admin, timeout=HTTP_TIMEOUT_S) for v in BROKEN_VERSIONS]
        still = httpx.post(f"{url}/v1/models/fashion/predict", json=body, headers={"Authorization": f"Bearer {predict_token}"}, timeout=HTTP_TIMEOUT_S)
        report = asyncio.run(load_and_swap(url, predict_token, admin_token, "fashion", body, versions[1:],
                                           cfg.load_seconds, cfg.load_clients))
        metrics_text = httpx.get(f"{url}/metrics", timeout=HTTP_TIMEOUT_S).text
    result.check("activating an altered version: 409, refused", refused[0].status_code, reference=409, tolerance=0, source=SWAP)
    result.check("activating weights that do not fit the architecture: 409, refused", refused[1].status_code, reference=409, tolerance=0, source=SWAP)
    result.check("after both refusals the old version still answers", still.json().get("version", -1) if still.status_code == 200 else -1,
                 reference=1, tolerance=0, source=SWAP)
    result.metric("load/requests", report.n_requests, volatile=True)
    result.metric("load/throughput", report.throughput_rps, "req/s", volatile=True)
    result.metric("load/latency_p50_ms", report.percentile_ms(50), "ms", volatile=True)
    result.metric("load/latency_p99_ms", report.percentile_ms(99), "ms", volatile=True)
    result.metric("load/swap_ms_max", max(s["ms"] for s in report.swaps), "ms", volatile=True)
    result.check("load test: failed requests", result.metric("load/failed", report.n_failed), reference=0, tolerance=0, source=SWAP, kind="at_most",
                 note=str(report.failures) if report.failures else "")
    result.check("load test: answers whose version went backwards for their client", result.metric("load/backwards", report.backwards),
                 reference=0, tolerance=0, source=SWAP, kind="at_most")
    result.check("load test: successful hot swaps", result.metric("load/swaps_ok", report.n_swaps_ok), reference=cfg.n_swaps, tolerance=0, source=SWAP)
    result.check("after the last swap the last version answers", report.last_version or -1, reference=versions[-1], tolerance=0, source=SWAP)
    served = counter_total(metrics_text, "modelbook_http_requests", status="200", route="/v1/models/{name}/predict")
    # + 2: the predict request after the refusals (`still`) and load_and_swap's closing one (report.last_version)
    result.check("server's Prometheus count of 200 predict answers = the clients' count", served,
                 reference=report.n_requests - report.n_failed + 2, tolerance=0, source="prometheus_client 0.26 text format, parsed with its parser")
    result.note(f"Load and swap: {report.summary()}.")


def _publish_broken(cfg: Config, folder: Path) -> None:
    """BROKEN_VERSIONS: the first signed, then its weights altered; the second signed, but weights of another
    shape than its manifest declares (a (64,) hidden layer under the config of cfg.hidden)."""
    from modelbook.serving.classifier import make_mlp
    from modelbook.serving.registry import WEIGHTS, ModelRegistry
    from modelbook.serving.signing import load_signer

    registry, signer = ModelRegistry(folder / "registry"), load_signer(folder / "keys" / "signing.key")
    altered, misshapen = BROKEN_VERSIONS
    path = registry.publish("fashion", altered, KIND, make_mlp(cfg.hidden).state_dict(), mlp_config(cfg.hidden), signer)
    data = bytearray((path / WEIGHTS).read_bytes())
    data[-1] ^= 0xFF
    (path / WEIGHTS).write_bytes(bytes(data))
    registry.publish("fashion", misshapen, KIND, make_mlp((64,)).state_dict(), mlp_config(cfg.hidden), signer)
