"""`modelbook bench [NAME] [--quick]`: side-by-side benchmarks, each reported as ratios measured in one run.

Every benchmark module has `TITLE` and `run(quick: bool) -> LabResult` (built with bench.harness.Bench): ours
against a library at equal work, interleaved repeats, median ratios with their spread, and where there is a size
axis the fitted exponent of time against size. `run_bench` times it, records machine info and the git hash
(core.runner.environment) and stores it in the results store like a lab run, under the name "bench-<name>", so
`modelbook results` lists it and `modelbook results --run ID` shows it in full.

Like the lab table, the index below is static: `modelbook list`/`--help` never import a benchmark (nor torch).
"""
from __future__ import annotations

import datetime as dt
import importlib
import time
import warnings
from dataclasses import dataclass

from modelbook.core.errors import ModelbookError

PREFIX = "bench-"


@dataclass(frozen=True)
class BenchSpec:
    name: str
    title: str

    @property
    def module(self) -> str:
        return "modelbook.bench." + self.name.replace("-", "_")


BENCHES = (
    BenchSpec("attention", "naive vs tiled online-softmax attention (ours) vs torch SDPA: time, memory, exponents in T"),
    BenchSpec("gnn", "GCN and GAT layers (ours) vs PyG's GCNConv/GATConv on the same graph: time, exponent in nodes"),
    BenchSpec("dp-sgd", "DP-SGD step (ours, torch.func) vs Opacus's GradSampleModule + DPOptimizer: time, exponent in batch"),
    BenchSpec("bm25", "BM25 query latency (ours, inverted index) vs rank_bm25, against index size (ask's keyword half)"),
    BenchSpec("rl", "PPO and DQN (ours) vs Stable-Baselines3 at equal env steps on CartPole-v1 (full: steps to solve)"),
    BenchSpec("mf", "biased MF: one SGD epoch (ours, numpy minibatches) vs scikit-surprise SVD, exponent in ratings; RMSE at 20 epochs"),
    BenchSpec("kge", "KGE: seconds to the same test MRR, DistMult on Nations, ours (1-N) vs PyKEEN LCWA, same evaluator"),
    BenchSpec("server", "the model server (child process, auth, metrics): throughput and p50/p99 latency vs concurrent clients"),
    BenchSpec("ask", "modelbook ask latency: hybrid (MiniLM ONNX + BM25 + RRF) vs BM25 alone, handbook index grown up to 64-fold"),
    BenchSpec("decode", "SmolLM2-135M greedy decode: fp32, bf16, int8/int4 (library and ours), ONNX Runtime, vs the roofline"),
    BenchSpec("batching", "SmolLM2-135M: continuous batching + paged KV (ours) vs static batching: tokens/s, KV reserved, exponent in requests"),
    BenchSpec("speculative", "SmolLM2-135M: speculative decoding (prompt lookup, early-layer draft) vs plain greedy: speed-up, acceptance"),
)


def names() -> list[str]:
    return [b.name for b in BENCHES]


def get(name: str) -> BenchSpec:
    """The benchmark called `name` (with or without the "bench-" prefix); a one-line error naming the known ones."""
    key = name.strip().lower().replace("_", "-")
    key = key[len(PREFIX):] if key.startswith(PREFIX) else key
    for b in BENCHES:
        if b.name == key:
            return b
    raise ModelbookError(f"unknown benchmark '{name}'; known: {', '.join(names())}")


def is_bench(lab: str) -> bool:
    """True for the name a benchmark's runs are stored under ("bench-attention", ...)."""
    return lab.startswith(PREFIX) and lab[len(PREFIX):] in names()


def _default_threads() -> int:
    import os

    return min(2, os.cpu_count() or 1)


def run_bench(name: str, quick: bool = False, store=None, keep: bool = True):
    """Run one benchmark; store it (unless keep=False). Returns (result, run id or None)."""
    from modelbook.core.measure import limit_threads
    from modelbook.core.runner import _summarise, _torch_threads, environment
    from modelbook.core.store import Store

    spec = get(name)
    store = store or Store()
    if keep:
        store.check()
    try:
        module = importlib.import_module(spec.module)
    except ModuleNotFoundError as e:
        missing = (e.name or "").split(".")[0]
        if missing and missing != "modelbook":
            raise ModelbookError(f"benchmark '{spec.name}' needs the package '{missing}', which is not installed: "
                                 f"re-run ./setup.sh (or `pip install {missing}`)") from e
        raise
    started = dt.datetime.now(dt.timezone.utc)
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:  # library warnings go into the record, not the terminal
        warnings.simplefilter("always")
        with limit_threads(getattr(module, "THREADS", None) or _default_threads()):
            result = module.run(quick)
            threads = _torch_threads()
    duration = time.perf_counter() - t0
    result.lab, result.preset = PREFIX + spec.name, "quick" if quick else "full"
    result.env.update(environment(None, duration, started, threads))
    result.env["warnings"] = _summarise(caught)
    if not keep:
        return result, None
    workdir = store.new_run_dir()
    try:
        run_id = store.save(result, workdir)
    except BaseException:
        store.discard(workdir)
        raise
    result.env["run_id"] = run_id
    return result, run_id
