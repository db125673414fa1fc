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

# The SmolLM2 cache is expensive to build (~25 s): share the user's cache if one exists, else build it once.
_USER_CACHE = Path(os.environ.get("MODELBOOK_TEST_MODEL_CACHE", Path.home() / ".local/share/modelbook/cache/models"))
if _USER_CACHE.is_dir():
    (_HOME / "cache").mkdir(parents=True, exist_ok=True)
    (_HOME / "cache" / "models").symlink_to(_USER_CACHE, target_is_directory=True)

import pytest  # noqa: E402

UNTUNED_SEED = int(os.environ.get("MODELBOOK_TEST_SEED", "1234567"))


@pytest.fixture(scope="session")
def home() -> Path:
    return _HOME


@pytest.fixture(scope="session")
def quick_result():
    """quick_result(lab, seed=None) -> (LabResult, run folder): the lab's quick preset, run once per session."""
    from modelbook.core import runner
    from modelbook.core.store import Store

    cache: dict = {}

    def get(name: str, seed: int | None = None, again: bool = False):
        key = (name, seed, again)
        if key not in cache:
            cache[key] = runner.run(name, preset="quick", seed=seed, store=Store())
        return cache[key]

    return get


@pytest.fixture
def single_thread():
    """Run a test on one torch thread: small models are faster, and a busy machine's idle OpenMP threads
    otherwise spin (see modelbook.core.measure.torch_threads)."""
    from modelbook.core.measure import torch_threads

    with torch_threads(1):
        yield


def run_cli(monkeypatch, capsys, *args) -> tuple[int, str]:
    """Run the real `modelbook` entry point in-process with these arguments: (exit code, stderr)."""
    import sys

    from modelbook.cli import main

    monkeypatch.setattr(sys, "argv", ["modelbook", *args])
    code = 0
    try:
        main()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    return code, capsys.readouterr().err
