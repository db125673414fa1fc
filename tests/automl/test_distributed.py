"""A study shared by two worker processes: SQLite (the default), and a real PostgreSQL server started here.

The PostgreSQL test initdb's a cluster in a temp folder, serves it on a unix socket only (listen_addresses = ''),
runs the two workers against it and removes it after, also on failure (automl/pg.py). initdb refuses root: as
root the server runs as the `postgres` system user. Skipped, with the reason, where no server can be started.
"""
import glob
import uuid

import pytest

from modelbook.automl import distributed, pg

TRIALS = 5


def _check(url):
    study = f"test-{uuid.uuid4().hex[:8]}"
    distributed.run_workers(url, study, n_workers=2, trials=TRIALS, seed=3, timeout_s=240)
    s = distributed.summarize(url, study)
    assert s["n_trials"] == s["n_complete"] == 2 * TRIALS           # none lost
    assert s["distinct_numbers"] == s["distinct_ids"] == 2 * TRIALS  # none numbered twice
    assert s["numbers_contiguous"]
    assert s["per_worker"] == {0: TRIALS, 1: TRIALS}                # both workers contributed their share
    assert s["overlap_s"] > 0                                       # side by side (the barrier), not one after the other
    return s


@pytest.mark.full  # the lab's quick preset runs the same two-worker SQLite study on every run
def test_two_workers_share_a_sqlite_study(tmp_path):
    _check(f"sqlite:///{tmp_path / 'studies.db'}")


def test_default_storage_is_sqlite_under_modelbook_home(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELBOOK_HOME", str(tmp_path))
    assert distributed.default_storage() == f"sqlite:///{tmp_path / 'automl' / 'studies.db'}"


def test_two_workers_share_a_postgresql_study():
    # No skip: scripts/install.sh --test (what ./test.sh and CI run) installs Debian's postgresql, so a missing server
    # is a broken set-up that this test must report, not hide.
    why = pg.unavailable()
    assert why is None, why
    before = set(glob.glob("/tmp/mb-pg-*"))
    with pg.temporary_postgres() as url:
        assert url.startswith("postgresql+psycopg://")
        _check(url)
    assert set(glob.glob("/tmp/mb-pg-*")) == before  # the server's folder is gone


def test_postgres_is_removed_when_the_block_fails():
    why = pg.unavailable()
    assert why is None, why
    import psycopg

    before = set(glob.glob("/tmp/mb-pg-*"))
    with pytest.raises(RuntimeError, match="boom"):
        with pg.temporary_postgres() as url:
            conninfo = url.replace("postgresql+psycopg://", "postgresql://")
            raise RuntimeError("boom")
    assert set(glob.glob("/tmp/mb-pg-*")) == before
    with pytest.raises(psycopg.OperationalError):  # the server is stopped
        psycopg.connect(conninfo, connect_timeout=2)


@pytest.mark.full
def test_worker_failure_is_reported(tmp_path):
    import subprocess

    url = f"sqlite:///{tmp_path / 'x.db'}"
    distributed.storage(url)  # an empty database: the study the worker asks for does not exist
    proc = subprocess.Popen(distributed.worker_command(url, "missing", 1, 0, 1, 0), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    with pytest.raises(RuntimeError, match="worker 0 exited 1"):
        distributed.wait_workers([proc], timeout_s=60)
