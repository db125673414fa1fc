"""Issue 17 (hardening), the command line's part: edges that must be one line with exit 2, a report that keeps
the files a user added, and a bounded fuzz pass over every command and every config field's type."""
import os
import random
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import run_cli


def modelbook(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "modelbook", *args], capture_output=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def _one_line(proc, code):
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == code, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("args,fragment", [
    (["serve", "--port", "99999"], "99999"),
    (["serve", "--port", "0"], "--port"),
    (["serve", "--threads", "0"], "--threads"),
    (["results", "--limit", "-5"], "--limit"),
    (["results", "--limit", "0"], "--limit"),
    (["ask", b"\xff".decode("utf-8", "surrogateescape")], "UTF-8"),
    (["report", "--out", "/proc/x"], "/proc/x"),
])
def test_cli_edges_are_one_line_with_exit_2(home, args, fragment):
    err = _one_line(modelbook(*args), 2)
    assert fragment in err


def test_serve_on_a_port_in_use_is_one_line_with_exit_2(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        started = time.monotonic()
        err = _one_line(modelbook("serve", "--home", str(tmp_path), "--port", str(port)), 2)
    assert "already in use" in err and str(port) in err
    assert time.monotonic() - started < 60  # refused before the first-start training


def test_report_keeps_files_a_user_added(tmp_path, capsys):
    from modelbook.report.build import MARKER, build_site

    out = tmp_path / "site"
    build_site(out)
    (out / "notes.txt").write_text("mine")
    (out / "extra").mkdir()
    (out / "extra" / "a.css").write_text("mine too")
    (out / "index.html").write_text("edited")  # ours: replaced
    said = []
    build_site(out, say=said.append)
    assert (out / "notes.txt").read_text() == "mine" and (out / "extra" / "a.css").read_text() == "mine too"
    assert (out / "index.html").read_text() != "edited" and (out / MARKER).is_file()
    assert said and "notes.txt" in said[0] and "extra/a.css" in said[0]
    assert not list(tmp_path.glob(".old-*")) and not list(tmp_path.glob(".tmp-*"))


def test_report_from_an_older_marker_keeps_foreign_files(tmp_path):
    from modelbook.report.build import MARKER, build_site

    out = tmp_path / "site"
    build_site(out)
    (out / MARKER).write_text("built by `modelbook report`; this folder is replaced by the next build\n")  # the old format
    (out / "todo.md").write_text("mine")
    build_site(out)
    assert (out / "todo.md").read_text() == "mine"


def _fuzz_values(rnd, tp) -> list[str]:
    import typing

    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is bool:
        return ["yes", "maybe", "2"]
    if tp is int:
        return [str(rnd.randint(-10**6, 0)), str(10**22), "1.5", "", "0x10"]
    if tp is float:
        return ["nan", "-inf", str(-rnd.random()), "1e400", "abc"]
    if tp is str:
        return ["\x00", "a" * 5000]
    if origin is typing.Literal:
        return ["not-a-choice"]
    if origin is tuple:
        inner = args[0] if args else int
        return [",".join(_fuzz_values(rnd, inner)[:2]), ",,,", "-1"]
    return ["none", "{}", "1"]


def _cases():
    """A few dozen invocations: every command with bad options, and random bad --set values of every field type."""
    import dataclasses
    import typing

    from modelbook.core import registry

    rnd = random.Random(17)
    cases = [["list", "--lang", "xx"], ["show", "999"], ["show", "no-such-lab"], ["run", "--all", "metrics"],
             ["results", "--run", "-1"], ["results", "--run", "abc"], ["results", "nolab"], ["ask", ""],
             ["ask", "-k", "0", "q"], ["quiz", "--limit", "-1"], ["quiz", "stats", "--topics", "0-99"],
             ["quiz", "export", "--anki", "/proc/x.apkg"], ["report", "--out", "/dev/null"], ["serve", "--models", ","],
             ["serve", "--port", "-1"], ["chat", "--context", "1"], ["run", "metrics", "--preset", ""],
             ["run", "metrics", "--set", "=1"], ["run", "metrics", "--seed", "-3"]]
    by_type: dict[str, tuple[str, str, object]] = {}
    numeric = []
    for spec in registry.all_labs():
        module = registry.load(spec.name)
        hints = typing.get_type_hints(module.Config)
        for f in dataclasses.fields(module.Config):
            by_type.setdefault(str(hints[f.name]), (spec.name, f.name, hints[f.name]))
            if hints[f.name] in (int, float):
                numeric.append((spec.name, f.name))
    for lab, field, tp in by_type.values():  # every field type, with random bad values
        values = _fuzz_values(rnd, tp)
        for value in rnd.sample(values, min(2, len(values))):
            cases.append(["run", lab, "--set", f"{field}={value}"])
    for lab, field in rnd.sample(numeric, 15):  # out-of-range values of random numeric fields of every kind of lab
        cases.append(["run", lab, "--set", f"{field}={rnd.choice(['-1', '-0.5', '1e30', 'nan'])}"])
    return cases


@pytest.mark.timeout(300)
def test_fuzz_every_command_exits_0_1_or_2_with_one_line(monkeypatch, capsys, tmp_path):
    """In-process (fast): each lab is replaced by a stub, which must never start with a number out of range (a
    free-text value, which no rule can judge, may reach it)."""
    import dataclasses
    import math
    import numbers

    from modelbook.core import registry
    from modelbook.core.result import LabResult

    def stub(cfg, out):
        for f in dataclasses.fields(cfg):
            v = getattr(cfg, f.name)
            for x in v if isinstance(v, tuple) else (v,):
                if isinstance(x, numbers.Real) and not isinstance(x, bool):
                    assert math.isfinite(x) and x >= 0, f"a lab started with {f.name}={v}"
        r = LabResult("stub", cfg)
        r.check("stub", 1.0, reference=1.0, tolerance=0.0, source="test")
        return r

    monkeypatch.setenv("MODELBOOK_HOME", str(tmp_path))
    for spec in registry.all_labs():
        monkeypatch.setattr(registry.load(spec.name), "run", stub)
    cases = _cases()
    assert len(cases) >= 30
    started = time.monotonic()
    for args in cases:
        code, err = run_cli(monkeypatch, capsys, *args)
        assert code in (0, 1, 2), (args, code, err)
        if code:
            assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, (args, err)
    assert time.monotonic() - started < 60
