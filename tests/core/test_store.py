import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from modelbook.core.errors import ModelbookError
from modelbook.core.result import LabResult
from modelbook.core.store import Store


def _result(lab="demo", passed=True):
    r = LabResult(lab)
    r.metric("m", 1.0)
    r.check("c", 1.0 if passed else 0.0, reference=1.0, tolerance=0.0, source="src")
    r.env.update(seed=0, duration_s=0.1, started_at="2026-11-29T00:00:00Z", git="abc")
    return r


def test_save_moves_the_folder_into_place_and_records_the_run(tmp_path):
    store = Store(tmp_path)
    tmp = store.new_run_dir()
    (tmp / "plot.png").write_bytes(b"png")
    run_id = store.save(_result(), tmp)
    row = store.history("demo")[0]
    assert row.id == run_id and row.passed and (row.run_dir / "plot.png").read_bytes() == b"png"
    assert not tmp.exists()
    assert store.result(run_id).value("m") == 1.0
    assert set(store.latest()) == {"demo"}


def test_latest_full_run_is_kept_apart_from_later_quick_runs(tmp_path):
    store = Store(tmp_path)
    ids = {}
    for preset, passed in (("full", False), ("quick", True), ("quick+overrides", True)):
        r = _result(passed=passed)
        r.preset = preset
        ids[preset] = store.save(r, store.new_run_dir())
    assert store.latest()["demo"].id == ids["quick+overrides"]
    assert store.latest("quick")["demo"].id == ids["quick"] and store.latest("quick")["demo"].passed
    assert store.latest("full")["demo"].id == ids["full"] and not store.latest("full")["demo"].passed
    assert store.latest("huge") == {}


def test_missing_database_reads_as_empty_without_creating_it(tmp_path):
    store = Store(tmp_path)
    assert store.history() == [] and store.latest() == {}
    assert not store.db_path.exists()


def test_corrupt_file_is_an_error_and_is_not_overwritten(tmp_path):
    store = Store(tmp_path)
    store.db_path.write_bytes(b"this is not a database at all" * 10)
    before = store.db_path.read_bytes()
    with pytest.raises(ModelbookError, match="not a SQLite database"):
        store.conn
    assert store.db_path.read_bytes() == before


def test_damaged_sqlite_file_is_an_error(tmp_path):
    store = Store(tmp_path)
    store.save(_result(), store.new_run_dir())
    store.close()
    data = bytearray(store.db_path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # wreck the first page after the header
    store.db_path.write_bytes(bytes(data))
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"results.sqlite3{suffix}").unlink(missing_ok=True)
    before = store.db_path.read_bytes()
    with pytest.raises(ModelbookError, match="corrupt|integrity"):
        Store(tmp_path).conn
    assert store.db_path.read_bytes() == before


def test_foreign_sqlite_database_is_refused(tmp_path):
    path = tmp_path / "results.sqlite3"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE invoices (id INTEGER, amount REAL)")
    con.execute("INSERT INTO invoices VALUES (1, 9.5)")
    con.commit()
    con.close()
    with pytest.raises(ModelbookError, match="another application"):
        Store(tmp_path).conn
    con = sqlite3.connect(path)
    assert con.execute("SELECT amount FROM invoices").fetchone() == (9.5,)


def test_a_failing_lab_leaves_no_row_and_no_folder(tmp_path, monkeypatch):
    from modelbook.core import runner

    class Boom(Exception):
        pass

    import modelbook.labs.metrics as lab

    def explode(cfg, out):
        (out / "half.png").write_bytes(b"x")
        raise Boom("lab crashed")

    monkeypatch.setattr(lab, "run", explode)
    store = Store(tmp_path)
    with pytest.raises(Boom):
        runner.run("metrics", store=store)
    assert store.history() == []
    assert list(store.runs_dir.iterdir()) == []


WRITER = textwrap.dedent("""
    import sys
    from modelbook.core.result import LabResult
    from modelbook.core.store import Store
    store = Store(sys.argv[1])
    i = 0
    while True:
        tmp = store.new_run_dir()
        (tmp / "plot.png").write_bytes(b"x" * 200_000)
        r = LabResult("demo"); r.metric("i", i); r.check("c", 1, reference=1, tolerance=0, source="s")
        r.env.update(seed=i, duration_s=0.0, started_at="2026-11-29T00:00:00Z")
        store.save(r, tmp)
        i += 1
        print(i, flush=True)
""")


def test_kill_9_during_writes_never_corrupts_the_store(tmp_path):
    """Kill a writer at random moments, many times: the database stays consistent, every recorded run has
    its complete folder, and killed runs' temp folders are swept by the next writer."""
    import random

    rnd = random.Random(0)
    acknowledged = 0
    for trial in range(12):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
        proc.stdout.readline()  # at least one save done in this trial (imports take the first moments)
        time.sleep(rnd.uniform(0.0, 0.3))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        store = Store(tmp_path)
        rows = store.history(limit=10**6)
        assert len(rows) > acknowledged
        acknowledged = len(rows)
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for row in rows:
            assert (row.run_dir / "plot.png").stat().st_size == 200_000
        store.new_run_dir()  # sweeps the killed writer's temp folder
        assert [p for p in store.runs_dir.glob(".tmp-*") if str(proc.pid) in p.name] == []
        store.close()


def test_a_second_store_in_one_process_keeps_the_first_ones_locks(tmp_path):
    """Opening another connection must not drop the locks of the connections already open in this process
    (POSIX locks die with any close() of the file): otherwise a writer in another process thinks it is the
    last connection, deletes the WAL from under them, and they later read a "malformed" database."""
    first = Store(tmp_path)
    first.save(_result(), first.new_run_dir())
    assert first.latest()
    second = Store(tmp_path)
    assert second.latest()
    code = ("import sys; from modelbook.core.store import Store; from modelbook.core.result import LabResult\n"
            "s = Store(sys.argv[1]); r = LabResult('other'); r.metric('x', 1); r.check('c', 1, reference=1, tolerance=0, source='s')\n"
            "r.env.update(seed=0, duration_s=0.0, started_at='2026-11-29T00:00:00Z'); s.save(r, s.new_run_dir()); s.close()")
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert (tmp_path / "results.sqlite3-wal").exists()  # the writer saw our shared lock: it was not the last
    assert set(first.latest()) == set(second.latest()) == set(Store(tmp_path).latest()) == {"demo", "other"}


def test_run_finds_one_row_with_its_folder(tmp_path):
    store = Store(tmp_path)
    assert store.run(1) is None  # no database yet, and none is created
    assert not store.db_path.exists()
    first = store.save(_result("demo"), store.new_run_dir())
    second = store.save(_result("other"), store.new_run_dir())
    for run_id in (first, second):
        row = store.run(run_id)
        assert row == next(r for r in store.history(limit=10**9) if r.id == run_id)  # the old full-history search
        assert row.run_dir.is_dir()
    assert store.run(second + 1) is None


def test_latest_value_lookup_reads_each_labs_latest_run(tmp_path):
    store = Store(tmp_path)
    lookup = store.latest_value_lookup()
    assert lookup("demo", "m") is None  # not run yet
    store.save(_result("demo"), store.new_run_dir())
    newer = LabResult("demo")
    newer.metric("m", 2.5)
    newer.check("c", 1.0, reference=1.0, tolerance=0.0, source="src")
    store.save(newer, store.new_run_dir())
    lookup = store.latest_value_lookup()
    assert lookup("demo", "m") == 2.5  # the latest of two runs
    assert lookup("demo", "not measured") is None
    assert lookup("other", "m") is None
