"""Issue 17 (hardening), the core's part: config ranges checked before any work, the store checked before a lab
runs, damaged rows skipped with a warning, and a kill between recording a run and moving its folder recovered."""
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from modelbook.core import config
from modelbook.core.errors import ModelbookError
from modelbook.core.result import LabResult
from modelbook.core.store import CorruptRun, Store
from tests.conftest import run_cli


def _labs():
    from modelbook.core import registry

    return [s.name for s in registry.all_labs()]


@pytest.mark.parametrize("lab", _labs())
def test_every_preset_of_every_lab_is_in_range(lab):
    from modelbook.core import registry

    module = registry.load(lab)
    for name, cfg in module.PRESETS.items():
        config.validate(cfg, module.PRESETS, lab)


@pytest.mark.parametrize("lab,args,field", [
    ("attention", ["--set", "lengths=-256"], "lengths"),
    ("attention", ["--set", "repeats=0"], "repeats"),
    ("attention", ["--set", "d_head=100000000000000000000"], "d_head"),
    ("metrics", ["--set", "n_train=-5"], "n_train"),
    ("metrics", ["--set", "n_bins=0"], "n_bins"),
    ("metrics", ["--seed", "1234567890123456789012"], "seed"),
    ("metrics", ["--set", "seed=-1"], "seed"),
    ("metrics", ["--set", "threads=0"], "threads"),
    ("metrics", ["--set", "lr_C=nan"], "lr_C"),
    ("overfitting", ["--set", "dropout=1.5"], "dropout"),
    ("hyperparams", ["--set", "lrs=0.1,-1"], "lrs"),
])
def test_out_of_range_values_are_refused_before_any_work(monkeypatch, capsys, tmp_path, lab, args, field):
    from modelbook.core import registry

    module = registry.load(lab)
    monkeypatch.setattr(module, "run", lambda cfg, out: pytest.fail("the lab ran"))
    monkeypatch.setenv("MODELBOOK_HOME", str(tmp_path))
    code, err = run_cli(monkeypatch, capsys, "run", lab, *args)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"config field {field}=" in err and "allowed" in err
    assert not (tmp_path / "runs").exists() and not (tmp_path / "results.sqlite3").exists()


def test_declared_ranges_override_the_inferred_ones():
    from dataclasses import dataclass
    from typing import ClassVar

    @dataclass(frozen=True)
    class Cfg:
        RANGES: ClassVar[dict] = {"offset": (-10, 10)}
        offset: int = -3
        n_items: int = 5
        p_drop: float = 0.1
        seed: int = 0

    config.validate(Cfg())
    with pytest.raises(ModelbookError, match=r"offset=11 .*from -10 to 10"):
        config.validate(Cfg(offset=11))
    with pytest.raises(ModelbookError, match=r"p_drop=2.0 .*from 0 to 1"):
        config.validate(Cfg(p_drop=2.0))
    assert config.range_rule(Cfg, "n_items", {"quick": Cfg(n_items=0)}).lo == 0  # a preset's 0 means "all"


def _fake_lab(monkeypatch, calls):
    import modelbook.labs.metrics as lab

    def run(cfg, out):
        calls.append(cfg)
        r = LabResult("metrics", cfg)
        r.check("c", 1.0, reference=1.0, tolerance=0.0, source="s")
        return r

    monkeypatch.setattr(lab, "run", run)


def test_a_corrupt_store_is_refused_before_the_lab_runs(monkeypatch, capsys, tmp_path):
    calls = []
    _fake_lab(monkeypatch, calls)
    monkeypatch.setenv("MODELBOOK_HOME", str(tmp_path))
    (tmp_path / "results.sqlite3").write_bytes(b"not a database " * 100)
    code, err = run_cli(monkeypatch, capsys, "run", "metrics")
    assert code == 2 and calls == [] and "results database" in err and len(err.strip().splitlines()) == 1


READ_ONLY = textwrap.dedent("""
    import os, sys
    import modelbook.labs.metrics as lab
    import modelbook.views, modelbook.core.runner, modelbook.core.progress, rich.console, rich.table  # noqa
    from modelbook.cli import main
    if os.geteuid() == 0:  # root ignores file permissions: drop to nobody (after the imports: the interpreter's
        os.setgid(65534); os.setuid(65534)  # files may not be readable by nobody)
    def run(cfg, out):
        print("THE LAB RAN", flush=True)
        raise SystemExit(9)
    lab.run = run
    sys.argv = ["modelbook", "run", "metrics"]
    main()
""")


def test_a_read_only_store_is_refused_before_the_lab_runs():
    """A results database the user cannot write (as root, the child drops to nobody: root ignores permissions)."""
    import shutil
    import tempfile
    from pathlib import Path

    outer = Path(tempfile.mkdtemp(prefix="mbk-ro-"))  # pytest's tmp_path is private to root
    try:
        _refused_when_read_only(outer)
    finally:
        shutil.rmtree(outer)


def _refused_when_read_only(outer):
    os.chmod(outer, 0o755)
    home = outer / "home"
    home.mkdir()
    store = Store(home)
    store.save(_result(), store.new_run_dir())
    store.close()
    os.chmod(home, 0o777)
    for p in home.iterdir():
        os.chmod(p, 0o555 if p.is_dir() else 0o444)
    proc = subprocess.run([sys.executable, "-c", READ_ONLY], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "MODELBOOK_HOME": str(home), "HOME": str(home)}, cwd=str(home))
    assert "THE LAB RAN" not in proc.stdout and proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and ("cannot be written" in lines[0] or "not writable" in lines[0]), proc.stderr


def _result(lab="demo", value=1.0):
    r = LabResult(lab)
    r.metric("m", value)
    r.check("c", 1.0, reference=1.0, tolerance=0.0, source="src")
    r.env.update(seed=0, duration_s=0.1, started_at="2026-11-29T00:00:00Z", git="abc")
    return r


@pytest.mark.parametrize("damage", [
    "UPDATE runs SET result_json = CAST(X'7B22FFFE' AS TEXT) WHERE id = 2",   # not UTF-8
    "UPDATE runs SET result_json = '{not json' WHERE id = 2",
    "UPDATE runs SET lab = CAST(X'FF' AS TEXT) WHERE id = 2",
    "UPDATE runs SET duration_s = 'soon', result_json = '[]' WHERE id = 2",
])
def test_a_damaged_row_is_skipped_with_a_warning_naming_it(tmp_path, damage):
    store = Store(tmp_path)
    for lab in ("demo", "other", "demo"):
        store.save(_result(lab), store.new_run_dir())
    store.close()
    con = sqlite3.connect(tmp_path / "results.sqlite3")
    con.execute(damage)
    con.commit()
    con.close()
    store, warnings = Store(tmp_path), []
    store.warn = warnings.append
    rows = store.history(limit=10)
    assert {r.id for r in rows} >= {1, 3}
    assert store.latest()["demo"].id == 3
    lookup = store.latest_value_lookup()
    assert lookup("demo", "m") == 1.0
    assert lookup("other", "m") is None  # its only run is damaged
    assert warnings and all("run 2 " in w for w in warnings) and len(warnings) == 1  # one warning per run
    with pytest.raises(CorruptRun, match="run 2 "):  # asked for by id: an error naming it
        store.run(2)
        store.result(2)


def test_cli_keeps_working_with_a_damaged_row(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("MODELBOOK_HOME", str(tmp_path))
    store = Store(tmp_path)
    store.save(_result("metrics"), store.new_run_dir())
    store.save(_result("attention"), store.new_run_dir())
    store.close()
    con = sqlite3.connect(tmp_path / "results.sqlite3")
    con.execute("UPDATE runs SET result_json = CAST(X'7B22FFFE' AS TEXT) WHERE id = 2")
    con.commit()
    con.close()
    code, err = run_cli(monkeypatch, capsys, "show", "33")  # topic 33 is backed by the attention lab
    assert code == 0 and "run 2 " in err and "Traceback" not in err
    code, err = run_cli(monkeypatch, capsys, "results")
    assert code == 0
    code, err = run_cli(monkeypatch, capsys, "results", "--run", "2")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "run 2 " in err
    code, err = run_cli(monkeypatch, capsys, "report", "--out", str(tmp_path / "site"))
    assert code == 0 and "run 2 " in err and (tmp_path / "site" / "index.html").is_file()


KILLED = textwrap.dedent("""
    import sys, time, pathlib
    from modelbook.core import sqlite
    from modelbook.core.result import LabResult
    from modelbook.core.store import Store
    where = sys.argv[2]
    if where == "insert":
        real = sqlite.transaction.__enter__
        def pause(self):
            print("at insert", flush=True); time.sleep(60); return real(self)
        sqlite.transaction.__enter__ = pause
    else:
        real_rename = pathlib.Path.rename
        def pause(self, target):
            print("at rename", flush=True); time.sleep(60); return real_rename(self, target)
        pathlib.Path.rename = pause
    store = Store(sys.argv[1])
    tmp = store.new_run_dir()
    (tmp / "plot.png").write_bytes(b"x" * 1000)
    r = LabResult("demo"); r.metric("m", 1); r.check("c", 1, reference=1, tolerance=0, source="s")
    r.env.update(seed=0, duration_s=0.0, started_at="2026-11-29T00:00:00Z")
    store.save(r, tmp)
""")


@pytest.mark.parametrize("where", ["insert", "rename"])
def test_a_kill_between_recording_and_moving_is_recovered(tmp_path, where):
    """A real process killed (SIGKILL) at the insert or at the rename: the next Store leaves no orphan folder,
    and every row has its complete folder."""
    store = Store(tmp_path)
    store.save(_result(), store.new_run_dir())  # one earlier run, which must survive
    store.close()
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(tmp_path), where], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == f"at {where}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = Store(tmp_path)
    rows = store.history(limit=100)
    folders = sorted(p.name for p in store.runs_dir.iterdir())
    assert sorted(r.run_dir.name for r in rows) == folders  # no orphan, no row without its folder
    assert all((r.run_dir / "plot.png").is_file() for r in rows[:-1])
    assert len(rows) == (1 if where == "insert" else 2)


def test_folders_without_a_row_are_never_removed(tmp_path):
    """Run folders of a database moved aside (what the corrupt-database error tells users to do), or a user's own."""
    store = Store(tmp_path)
    store.save(_result(), store.new_run_dir())
    store.close()
    (tmp_path / "results.sqlite3").rename(tmp_path / "results.sqlite3.bad")
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"results.sqlite3{suffix}").unlink(missing_ok=True)
    before = sorted(p.name for p in (tmp_path / "runs").iterdir())
    store = Store(tmp_path)
    store.save(_result(), store.new_run_dir())
    assert set(before) < {p.name for p in store.runs_dir.iterdir()}
