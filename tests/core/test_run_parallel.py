"""`modelbook run --all --workers N`: labs in worker processes give the serial run's metrics, print in the table's
order, and store every run."""
import json
import math

import pytest

from tests.conftest import run_cli_captured as modelbook

# Two of the cheapest quick presets (about 2 CPU-s each): the claim is about the runner, not the labs.
LABS = ("privacy", "monitoring")


@pytest.fixture
def two_labs(monkeypatch):
    from modelbook.core import registry

    specs = [registry.get(name) for name in LABS]
    monkeypatch.setattr(registry, "all_labs", lambda: specs)  # --all means these two


def test_workers_give_the_serial_metrics_in_table_order(two_labs, monkeypatch, capsys, quick_result):
    from modelbook.core.store import Store

    serial = {name: quick_result(name)[0] for name in LABS}  # the contract's serial runs of the same preset and seed
    before = {name: len(Store().history(name, limit=100)) for name in LABS}
    code, out, _ = modelbook(monkeypatch, capsys, "run", "--all", "--workers", "2", "--json")
    assert code == 0
    parallel = json.loads(out)
    assert [r["lab"] for r in parallel] == list(LABS)  # the table's order, whichever finished first
    for name, got in zip(LABS, parallel):
        want = {m.name: m.value for m in serial[name].metrics if not m.volatile}
        have = {m["name"]: m["value"] for m in got["metrics"] if not m["volatile"]}
        assert have.keys() == want.keys()
        differ = {k: (have[k], want[k]) for k in want if not math.isclose(have[k], want[k], rel_tol=1e-9, abs_tol=1e-12)}
        assert not differ, differ
        assert len(Store().history(name, limit=100)) == before[name] + 1  # the worker stored its run


def test_a_lab_that_cannot_run_is_one_error_line_and_the_exit_code_says_so(two_labs, monkeypatch, capsys):
    code, out, err = modelbook(monkeypatch, capsys, "run", "--all", "--workers", "2", "--set", "no_such_field=1")
    assert code == 1
    assert all(f"error: {name}:" in out and "no_such_field" in out for name in LABS), out
    assert "Traceback" not in out + err
