"""One study, several worker processes: Optuna's RDB storage as the meeting point.

Each worker is an ordinary process (`python -m modelbook.automl.worker`) that opens the study by name in the
same database and runs its share of trials; the database hands out trial numbers in a transaction, so trials
from different workers interleave, and none is lost or numbered twice. The default database is a SQLite file
under $MODELBOOK_HOME (fine for processes on one machine); a PostgreSQL URL
(postgresql+psycopg://user:password@host:5432/db) is how workers on several machines share one study: start the
same worker command on each machine with that URL.

    default_storage()                          sqlite:///$MODELBOOK_HOME/automl/studies.db
    storage(url)                               an optuna RDBStorage (SQLite: waits on a locked file, no error)
    run_workers(url, study, n_workers, trials, seed)   start the workers, wait for them (raises on a failure);
                                               start_workers / wait_workers: the same in two halves
    summarize(url, study)                      trial count, distinct numbers, per-worker counts, interleaving
"""
from __future__ import annotations

import subprocess
import sys
import time

from modelbook.core import paths
from modelbook.core.procs import child_env


def default_storage() -> str:
    folder = paths.home() / "automl"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'studies.db'}"


SCHEMES = ("sqlite:///", "postgresql://", "postgresql+psycopg://", "postgresql+psycopg2://", "mysql")


def check_url(url: str) -> str:
    """The URL, or a ValueError saying what a storage URL looks like."""
    if not url.startswith(SCHEMES):
        raise ValueError(f"storage {url!r} is not a database URL: use sqlite:///path/to/studies.db or "
                         f"postgresql+psycopg://user:password@host:5432/database")
    return url


def storage(url: str):
    import optuna

    check_url(url)
    kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)


def worker_command(url: str, study: str, trials: int, worker: int, n_workers: int, seed: int) -> list[str]:
    return [sys.executable, "-m", "modelbook.automl.worker", "--storage", url, "--study", study,
            "--trials", str(trials), "--worker", str(worker), "--workers", str(n_workers), "--seed", str(seed)]


def start_workers(url: str, study: str, n_workers: int, trials: int, seed: int) -> list[subprocess.Popen]:
    """Create the study and start `n_workers` worker processes on it (they wait for each other, then search)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.create_study(study_name=study, storage=storage(url), direction="minimize", load_if_exists=True)
    return [subprocess.Popen(worker_command(url, study, trials, w, n_workers, seed), env=child_env(1),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for w in range(n_workers)]


def wait_workers(procs: list[subprocess.Popen], timeout_s: float = 300) -> None:
    """Wait for every worker; raise with the first line of each failure's last error (killing the rest)."""
    t0 = time.perf_counter()
    errors = []
    try:
        for w, p in enumerate(procs):
            _, err = p.communicate(timeout=max(1.0, timeout_s - (time.perf_counter() - t0)))
            if p.returncode != 0:
                last = err.strip().splitlines()[-1] if err.strip() else ""
                errors.append(f"worker {w} exited {p.returncode}: {last}")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    if errors:
        raise RuntimeError("; ".join(errors))


def run_workers(url: str, study: str, n_workers: int, trials: int, seed: int, timeout_s: float = 300) -> float:
    """start_workers + wait_workers; returns the wall seconds they took."""
    t0 = time.perf_counter()
    wait_workers(start_workers(url, study, n_workers, trials, seed), timeout_s)
    return time.perf_counter() - t0


def summarize(url: str, study: str) -> dict:
    import optuna

    trials = optuna.load_study(study_name=study, storage=storage(url)).get_trials(deepcopy=False)
    trials = sorted(trials, key=lambda t: t.number)
    owner = [t.user_attrs.get("worker") for t in trials]
    per_worker: dict[int, int] = {}
    for w in owner:
        per_worker[w] = per_worker.get(w, 0) + 1
    switches = sum(a != b for a, b in zip(owner, owner[1:]))
    spans = {w: (min(t.datetime_start for t in trials if t.user_attrs.get("worker") == w),
                 max(t.datetime_complete for t in trials if t.user_attrs.get("worker") == w)) for w in per_worker}
    starts, ends = [s for s, _ in spans.values()], [e for _, e in spans.values()]
    overlap_s = (min(ends) - max(starts)).total_seconds() if spans else 0.0
    return {"n_trials": len(trials), "n_complete": sum(t.state.name == "COMPLETE" for t in trials),
            "distinct_numbers": len({t.number for t in trials}), "distinct_ids": len({t._trial_id for t in trials}),
            "numbers_contiguous": [t.number for t in trials] == list(range(len(trials))),
            "per_worker": per_worker, "switches": switches, "overlap_s": overlap_s,
            "best": min((t.value for t in trials if t.value is not None), default=float("nan"))}
