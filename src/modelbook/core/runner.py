"""Run a lab: build its config, seed, time it, record the environment, store the result and its plots."""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import importlib.metadata
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

from modelbook.core import config as config_mod
from modelbook.core import registry
from modelbook.core.errors import ModelbookError
from modelbook.core.measure import limit_threads
from modelbook.core.result import LabResult
from modelbook.core.seed import seed_everything
from modelbook.core.store import Store

# Distributions whose versions a result records when the lab imported them.
_TRACKED = {
    "torch": "torch", "numpy": "numpy", "scipy": "scipy", "sklearn": "scikit-learn", "pandas": "pandas",
    "transformers": "transformers", "sentence_transformers": "sentence-transformers", "torch_geometric": "torch-geometric",
    "pykeen": "pykeen", "opacus": "opacus", "captum": "captum", "shap": "shap", "lime": "lime", "optuna": "optuna",
    "gymnasium": "gymnasium", "pettingzoo": "pettingzoo", "mpe2": "mpe2", "stable_baselines3": "stable-baselines3",
    "onnxruntime": "onnxruntime", "torchao": "torchao", "tenseal": "tenseal", "imblearn": "imbalanced-learn",
    "datasketch": "datasketch", "jieba": "jieba", "highway_env": "highway-env", "matplotlib": "matplotlib",
}


def _warm_lazy_imports() -> None:
    """Import, before the clock starts, what torch loads lazily on first use: the first optimizer a process builds
    imports torch._dynamo (about 1.3 CPU-s here). Without this a lab's cpu_s depended on whether it was the first lab
    in its process to build one (the test workers and `run --all` run many labs per process)."""
    if "torch" in sys.modules:
        import torch._dynamo  # noqa: F401


def run(name: str, preset: str = "quick", seed: int | None = None, overrides: tuple[str, ...] = (),
        store: Store | None = None, keep: bool = True) -> tuple[LabResult, Path | None]:
    """Run one lab. Returns its result and, when stored, the folder holding its artifacts.

    keep=False runs the lab in a temporary folder that is removed afterwards (nothing stored).
    """
    spec = registry.get(name)
    module = registry.load(spec.name)
    for attr in ("Config", "PRESETS", "run"):
        if not hasattr(module, attr):
            raise ModelbookError(f"lab module {spec.module} breaks the lab contract: it has no {attr}")
    if "threads" not in {f.name for f in dataclasses.fields(module.Config)}:
        raise ModelbookError(f"lab module {spec.module} breaks the lab contract: its Config has no threads field")
    _warm_lazy_imports()
    cfg = config_mod.apply_overrides(config_mod.preset(module, preset), overrides)
    if seed is not None:
        cfg = dataclasses.replace(cfg, seed=seed)
    config_mod.validate(cfg, module.PRESETS, spec.name)  # ranges, before any work (exit 2 naming the field)
    store = store or Store()
    if keep:
        store.check()  # a read-only or corrupt store is refused now, not after the lab has run
    workdir = store.new_run_dir()
    started = dt.datetime.now(dt.timezone.utc)
    try:
        seed_everything(cfg.seed)
        with warnings.catch_warnings(record=True) as caught:  # library warnings go into the result, not the terminal
            warnings.simplefilter("always")
            t0, c0 = time.perf_counter(), time.process_time()
            with limit_threads(cfg.threads):  # the one place a lab's thread count is applied (decisions: threads)
                result = module.run(cfg, workdir)
                threads = _torch_threads()
            duration, cpu = time.perf_counter() - t0, time.process_time() - c0
        result.lab, result.preset = spec.name, (preset if not overrides else f"{preset}+overrides")
        result.config = cfg
        result.env.update(environment(cfg.seed, duration, started, threads))
        result.env["cpu_s"] = round(cpu, 3)  # CPU seconds of this process, all threads (steadier than wall on a busy machine)
        result.env["warnings"] = _summarise(caught)
        missing = [a for a in result.artifacts if not (workdir / a).is_file()]
        if missing:
            raise ModelbookError(f"lab '{spec.name}' listed artifacts it did not write: {', '.join(missing)}")
        if not keep:
            store.discard(workdir)
            return result, None
        run_id = store.save(result, workdir)
        result.env["run_id"] = run_id
        return result, store.history(spec.name, limit=1)[0].run_dir
    except BaseException:
        store.discard(workdir)
        raise


def run_parallel(names: list[str], preset: str, seed: int | None, overrides: tuple[str, ...], workers: int):
    """Run labs `workers` at a time, each in a worker process, storing each run as run() does.

    Yields (name, result, run_dir, error) as each lab finishes (completion order): error is the one-line message
    of a lab that could not run (result and run_dir are then None). Every lab seeds itself and pins its own threads
    inside run(), so the metrics are the serial run's; only the volatile ones (times) differ. Workers are fresh
    interpreters (spawn), never forks of a process whose torch thread pools may already be running.
    """
    import concurrent.futures as cf
    import json
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=min(workers, len(names)), mp_context=context) as pool:
        futures = [pool.submit(_run_in_worker, name, preset, seed, overrides) for name in names]
        try:
            for future in cf.as_completed(futures):
                name, result_json, run_dir, error = future.result()
                result = LabResult.from_dict(json.loads(result_json)) if result_json else None
                yield name, result, Path(run_dir) if run_dir else None, error
        finally:
            for future in futures:  # an error or Ctrl-C here: labs not started yet are not started
                future.cancel()


def _run_in_worker(name: str, preset: str, seed: int | None, overrides: tuple[str, ...]):
    """run() in a worker process; the result travels back as JSON (plain data, whatever numbers a lab stored)."""
    try:
        result, run_dir = run(name, preset=preset, seed=seed, overrides=overrides)
    except ModelbookError as e:
        return name, None, None, str(e)
    return name, result.to_json(indent=None), str(run_dir), None


def environment(seed: int, duration: float, started: dt.datetime, threads: int | None = None) -> dict:
    """What a reader needs to reproduce the run: seed, threads, versions, git hash, time taken."""
    import_versions = {}
    for module, dist in _TRACKED.items():
        if module in sys.modules:
            try:
                import_versions[dist] = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                pass
    if threads is None:
        threads = _torch_threads()
    return {
        "seed": seed,
        "duration_s": round(duration, 3),
        "started_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "threads": threads if threads is not None else os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "cpu": _cpu_model(),
        "versions": import_versions,
        "git": git_hash(),
        "modelbook": importlib.metadata.version("modelbook"),
    }


def _torch_threads() -> int | None:
    """torch's intra-op thread count, when the lab imported torch."""
    return sys.modules["torch"].get_num_threads() if "torch" in sys.modules else None


def _summarise(caught, limit: int = 10) -> list[str]:
    """Distinct warnings raised during the run, one line each (category: first line of the message)."""
    seen: dict[str, None] = {}
    for w in caught:
        seen.setdefault(f"{w.category.__name__}: {str(w.message).splitlines()[0][:200]}", None)
    return list(seen)[:limit]


@functools.lru_cache(maxsize=1)
def git_hash() -> str:
    """The commit the code ran at (with '-dirty' if the work tree had changes), or 'unknown'."""
    src = Path(__file__).resolve().parents[3]
    if not (src / ".git").exists():
        return "unknown"
    try:
        head = subprocess.run(["git", "-C", str(src), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(src), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + ("-dirty" if dirty else "")


@functools.lru_cache(maxsize=1)
def _cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
