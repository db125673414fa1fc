"""Shared test fixtures.

Tests never touch the user's results: MODELBOOK_HOME points at a fresh folder for the session (set before
modelbook is imported). Each lab's quick preset runs once per (lab, seed) per session and is shared by the
contract test and the lab's own tests. MODELBOOK_TEST_SEED is a seed no lab was tuned on.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

_HOME = Path(tempfile.mkdtemp(prefix="modelbook-test-home-"))
os.environ["MODELBOOK_HOME"] = str(_HOME)
os.environ.setdefault("PYSTOW_HOME", str(_HOME / "pystow"))  # pykeen writes ~/.data on import otherwise
os.environ.setdefault("MPLBACKEND", "Agg")
# Two xdist workers on a 2-core machine: one OpenMP/BLAS thread each. A test that trains with torch's default
# (one thread per core) spins the idle threads against the other worker: one bite test took 65 CPU-s instead of 9.
# Labs pin Config.threads themselves; children (run --all workers, servers, torchrun) inherit this.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# The model caches (SmolLM2 fp32 ~25 s, MiniLM ONNX ~20 s to build) are shared with the user's: the user's folder is
# used (created if absent, as a first `modelbook run` would), and pytest_sessionstart fills it before any test, so no
# lab builds one inside its CPU clock (on a clean CI machine the first lab to load a model did, and failed its budget).
_USER_CACHE = Path(os.environ.get("MODELBOOK_TEST_MODEL_CACHE", Path.home() / ".local/share/modelbook/cache/models"))
_USER_CACHE.mkdir(parents=True, exist_ok=True)
(_HOME / "cache").mkdir(parents=True, exist_ok=True)
if not (_HOME / "cache" / "models").exists():
    (_HOME / "cache" / "models").symlink_to(_USER_CACHE, target_is_directory=True)

import pytest  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--full", action="store_true",
                     help="run the full tier only (tests/full: every lab's full preset, and a 10-seed sweep of the quick presets)")


def pytest_collection_modifyitems(config, items):
    """The full tier runs with --full and only then; the default run (and CI) never collects it."""
    full = config.getoption("--full")
    keep = [item for item in items if (item.get_closest_marker("full") is not None) == full]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in keep])
        items[:] = keep


def pytest_sessionstart(session):
    if hasattr(session.config, "workerinput") or session.config.getoption("--collect-only"):
        return  # the controller, once, before the workers start
    from modelbook.models.loaders import _build_smollm2_cache, _smollm2_cache
    from modelbook.retrieval.encoder import ensure_onnx

    if not (_smollm2_cache() / "model.safetensors").is_file():
        _build_smollm2_cache(_smollm2_cache())
    ensure_onnx()
    from modelbook.labs import multimodal, speech

    speech.quick_corpus()  # the espeak-ng corpora the quick presets read: synthesised once here, before any worker
    multimodal.quick_corpus()  # (and its clock) starts, then loaded from the shared model cache
    if session.config.getoption("--full"):
        from tests.full.test_full_tier import RESULTS

        RESULTS.unlink(missing_ok=True)


def pytest_terminal_summary(terminalreporter, config):
    if config.getoption("--full") and not hasattr(config, "workerinput"):
        from tests.full.test_full_tier import RESULTS, summary

        table = summary()
        RESULTS.parent.mkdir(exist_ok=True)
        (RESULTS.parent / "summary.md").write_text(table + "\n")
        terminalreporter.write_sep("=", "full tier (also in .full-tier/summary.md)")
        terminalreporter.write_line(table)

UNTUNED_SEED = int(os.environ.get("MODELBOOK_TEST_SEED", "1234567"))


@pytest.fixture(scope="session")
def home() -> Path:
    return _HOME


# Under pytest-xdist the workers share one folder of finished quick runs, so each (lab, seed) runs once per test
# session whichever worker asks first; the others wait on its lock and import the stored run into their own store.
_XDIST_RUN = os.environ.get("PYTEST_XDIST_TESTRUNUID")
_SHARED = Path(tempfile.gettempdir()) / f"modelbook-test-quick-{_XDIST_RUN}" if _XDIST_RUN else None


@pytest.fixture(scope="session")
def quick_result():
    """quick_result(lab, seed=None) -> (LabResult, run folder): the lab's quick preset, run once per session."""
    import fcntl
    import pickle
    import shutil

    from modelbook.core import paths, runner
    from modelbook.core.store import Store

    cache: dict = {}

    def run_here(name, seed):
        return runner.run(name, preset="quick", seed=seed, store=Store())

    def shared(name, seed, again):
        _SHARED.mkdir(exist_ok=True)
        stem = _SHARED / f"{name}-{seed}-{int(again)}"
        with open(stem.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # held while the lab runs: a second worker waits for its result
            done = stem.with_suffix(".pkl")
            if not done.exists():
                result, run_dir = run_here(name, seed)
                with paths.atomic_path(done) as tmp:  # pickled, not JSON: the lab's tests read result.config's fields
                    tmp.write_bytes(pickle.dumps((result, str(run_dir))))
                return result, run_dir
        result, run_dir = pickle.loads(done.read_bytes())  # our own file, written above by a sibling worker
        store = Store()
        workdir = store.new_run_dir()
        shutil.copytree(run_dir, workdir, dirs_exist_ok=True)
        store.save(result, workdir)
        return result, store.history(name, limit=1)[0].run_dir

    def get(name: str, seed: int | None = None, again: bool = False):
        key = (name, seed, again)
        if key not in cache:
            cache[key] = shared(name, seed, again) if _SHARED else run_here(name, seed)
        return cache[key]

    return get


@pytest.fixture
def single_thread():
    """Run a test on one torch thread: small models are faster, and a busy machine's idle OpenMP threads
    otherwise spin (see modelbook.core.measure.torch_threads)."""
    from modelbook.core.measure import torch_threads

    with torch_threads(1):
        yield


def pinned(module: str):
    """Import a pinned dependency that a cross-check needs. Missing means a broken install, never a skip: the test
    fails with the command that repairs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        pytest.fail(f"{module} is a pinned dependency and cannot be imported ({e}); repair the install: ./test.sh "
                    "(or scripts/install.sh --test)", pytrace=False)


def run_cli(monkeypatch, capsys, *args) -> tuple[int, str]:
    """Run the real `modelbook` entry point in-process with these arguments: (exit code, stderr)."""
    code, _, err = run_cli_captured(monkeypatch, capsys, *args)
    return code, err


def run_cli_captured(monkeypatch, capsys, *args) -> tuple[int, str, str]:
    """Run the real `modelbook` entry point in-process with these arguments: (exit code, stdout, stderr)."""
    import sys

    from modelbook.cli import main

    monkeypatch.setattr(sys, "argv", ["modelbook", *args])
    code = 0
    try:
        main()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err
