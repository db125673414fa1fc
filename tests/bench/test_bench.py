"""`modelbook bench`: the harness's arithmetic, the one-line error for an unknown name, and the quick form of each
benchmark measured, stored and read back (ratios are timings and never asserted; what is asserted can fail:
exponents of deterministic memory, equality with the library, the stored record)."""
import json
import math
import subprocess
import sys

import pytest

from modelbook.bench import harness
from tests.conftest import run_cli_captured


def test_slope_spread_and_paired_ratios():
    sizes = [100, 200, 400, 800]
    assert harness.loglog_slope(sizes, [3e-6 * n**2 for n in sizes]) == pytest.approx(2.0)
    assert harness.loglog_slope(sizes, [5.0 + 0 * n for n in sizes]) == pytest.approx(0.0)
    with pytest.raises(ValueError):
        harness.loglog_slope([1, 2], [1, 2])
    s = harness.spread([5.0, 1.0, 3.0, 2.0, 4.0])
    assert (s["median"], s["q25"], s["q75"], s["min"], s["max"]) == (3.0, 2.0, 4.0, 1.0, 5.0)
    assert harness.paired_ratios([2.0, 9.0], [1.0, 3.0]) == [2.0, 3.0]


def test_bench_record_and_its_table():
    b = harness.Bench("x", True, {"n": 1})
    b.ratio("ours/lib", "N=10", [2.0, 4.0, 3.0], [1.0, 2.0, 1.0])
    b.exponent("ours vs N", [1, 2, 4], [1.0, 2.0, 4.0])
    rows = harness.table_rows(b.result)
    assert rows[0][:3] == ("ours/lib", "N=10", "2") and rows[0][4] == "2–3"
    assert rows[1] == ("exponent ours vs N", "", "1.00", "", "")
    assert b.result.lab == "bench-x" and b.result.preset == "quick"


def test_unknown_benchmark_is_one_line_naming_the_known_ones(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("MODELBOOK_HOME", str(tmp_path))
    code, out, err = run_cli_captured(monkeypatch, capsys, "bench", "nope", "--quick")
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0 and "unknown benchmark 'nope'" in err
    for name in ("attention", "gnn", "dp-sgd", "bm25", "rl", "mf", "kge", "server", "ask", "decode", "batching",
                 "speculative"):
        assert name in err


def test_bench_index_imports_no_torch():
    code = "import sys, modelbook.bench, modelbook.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_attention_quick_is_stored_and_read_back_by_results(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("MODELBOOK_HOME", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")
    code, out, err = run_cli_captured(monkeypatch, capsys, "bench", "attention", "--quick")
    assert code == 0, err
    assert "naive/sdpa" in out and "exponent memory naive vs T" in out
    from modelbook.core.store import Store

    store = Store(tmp_path)
    (row,) = store.history()
    assert row.lab == "bench-attention" and row.preset == "quick" and row.git
    result = store.result(row.id)
    assert result.env["cpu"] and result.env["threads"] == 1 and "torch" in result.env["versions"]
    # deterministic (tensor memory for given shapes): the score matrix makes naive quadratic, tiles keep ours ≤ linear
    assert 1.7 <= result.value("exponent memory naive vs T") <= 2.2
    assert 0.3 <= result.value("exponent memory tiled vs T") <= 1.1
    ratios = [m for m in result.metrics if m.unit == harness.RATIO]
    assert len(ratios) == 3 * 3 * 5 and all(m.value > 0 and math.isfinite(m.value) for m in ratios)
    assert result.passed
    code, out, _ = run_cli_captured(monkeypatch, capsys, "results")
    assert code == 0 and "bench-attention" in out
    code, out, _ = run_cli_captured(monkeypatch, capsys, "results", "bench-attention", "--json")
    assert code == 0 and [r["lab"] for r in json.loads(out)] == ["bench-attention"]
    code, out, _ = run_cli_captured(monkeypatch, capsys, "results", "attention", "--json")  # the lab's name: its runs
    assert code == 0 and json.loads(out) == []
    code, out, _ = run_cli_captured(monkeypatch, capsys, "results", "--run", str(row.id))
    assert code == 0 and "tiled_fast/sdpa" in out and "exponent time naive vs T" in out


def _quick(name):
    from modelbook.bench import run_bench

    result, run_id = run_bench(name, quick=True, keep=False)
    assert run_id is None
    return result


def test_gnn_quick_layers_equal_pyg_and_grow_with_the_graph():
    result = _quick("gnn")
    assert result.checks[0].passed, result.checks[0]          # ours == PyG on the same parameters
    for k in ("gcn ours", "gcn pyg", "gat ours", "gat pyg"):
        assert 0.2 < result.value(f"exponent {k} vs N") < 3.0   # time grows with N (edges ∝ N); loose: a timing
    assert result.value("edges @N=4000") > result.value("edges @N=1000") * 3


def test_dp_sgd_quick_step_equals_opacus():
    result = _quick("dp-sgd")
    assert result.checks[0].passed, result.checks[0]
    assert {m.name.rpartition(" @")[2] for m in result.metrics if m.unit == harness.RATIO} >= {"B=64", "B=128", "B=256"}


@pytest.mark.full  # minutes of training on a shared 2-core machine: the full tier runs it
def test_rl_quick_times_both_at_equal_steps():
    result = _quick("rl")
    for algo in ("ppo", "dqn"):
        assert result.value(f"exponent {algo} ours vs steps") > 0.2
        assert result.value(f"{algo} ours/sb3 @steps=512") > 0


@pytest.mark.full  # the token equality is also asserted by tests/decoding; the full tier runs the benchmark's path
def test_decode_quick_our_step_keeps_fp32_tokens():
    result = _quick("decode")
    assert result.checks[0].passed, result.checks[0]      # our explicit-cache step == Hugging Face's greedy tokens
    assert result.value("fp32 (HF eager): same greedy tokens as fp32") == 1.0
    assert 0 < result.value("ours int8 W8A8 (_int_mm): share of roofline") < 1.5


def _store_fake_bench(store, medians):
    """A bench-attention run with one ratio per median given (no timing: the record's shape is what is tested)."""
    import datetime as dt

    b = harness.Bench("attention", True, {})
    for m in medians:
        b.ratio("tiled/sdpa", "T=256", [m, m, m], [1.0, 1.0, 1.0])
    b.exponent("memory naive vs T", [1, 2, 4], [1.0, 4.0, 16.0], volatile=False)
    b.result.env.update({"started_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "git": "abc",
                         "cpu": "test cpu", "threads": 1, "duration_s": 1.0})
    return store.save(b.result, store.new_run_dir())


def test_report_has_a_bench_page_with_the_latest_ratios_and_their_history(tmp_path):
    from modelbook.core.store import Store
    from modelbook.report.build import build_site

    store = Store(tmp_path / "home")
    _store_fake_bench(store, [1.5])
    _store_fake_bench(store, [1.25])
    index = build_site(tmp_path / "site", store=store)
    page = (index.parent / "bench.html").read_text(encoding="utf-8")
    assert 'href="bench.html"' in index.read_text(encoding="utf-8")
    section = page[page.index('id="bench-attention"'):page.index('id="bench-gnn"')]
    assert "tiled/sdpa" in section and "1.25" in section and "test cpu" in section
    assert section.index("#2 quick") < section.index("#1 quick")          # history, newest first
    assert "<td>1.5</td>" in section and "<td>2.00</td>" in section       # the older run's median; the exponent
    assert "not run yet" in page[page.index('id="bench-gnn"'):]          # the others: the command to run them


def test_bm25_quick_scores_equal_rank_bm25():
    result = _quick("bm25")
    assert result.checks[0].passed, result.checks[0]
    assert all(result.value(f"query ours/rank_bm25 @N={n}") > 0 for n in (1000, 2000, 4000))


@pytest.mark.full  # ~14 s of MF epochs; tests/recsys already holds our SVD against Surprise's in the default run
def test_mf_quick_fits_as_well_as_surprise():
    result = _quick("mf")
    assert result.checks[0].passed, result.checks[0]          # test RMSE within 0.03 of Surprise's at 20 epochs
    assert all(result.value(f"epoch ours/surprise @R={n}") > 0 for n in (16434, 40560, 73358))


@pytest.mark.full  # ~20 CPU-s of PyKEEN training; tests/kge holds the evaluator and scores equal in the default run
def test_kge_quick_reaches_pykeens_mrr_with_the_same_curve():
    result = _quick("kge")
    assert result.checks[0].passed, result.checks[0]          # best MRRs within 0.05 under the same evaluator
    assert result.value("time to target MRR ours/pykeen @DistMult Nations") > 0


@pytest.mark.full  # a server process and ~20 s of load; tests/serving and the deploy lab cover the server itself
def test_server_quick_answers_every_request_at_every_level():
    result = _quick("server")
    assert result.checks[0].passed, result.checks[0]          # 0 failed requests
    assert all(result.value(f"throughput @C={c}") > 0 for c in (1, 2, 4, 8))


@pytest.mark.full  # builds (or loads) the ask index and grows it 4-fold; tests/handbook covers ask's answers
def test_ask_quick_times_hybrid_and_bm25_as_the_index_grows():
    result = _quick("ask")
    sizes = sorted(int(m.name.rpartition("@N=")[2]) for m in result.metrics if m.name.startswith("ask hybrid ms per question"))
    assert len(sizes) == 3 and sizes[1] == 2 * sizes[0] and sizes[2] == 4 * sizes[0]   # the index really grew
    assert 0 < result.value(f"ask bm25 ms per question @N={sizes[2]}")


@pytest.mark.full  # ~15 CPU-s of SmolLM2 decoding; tests/inference holds the engine, scheduler and drafters
def test_batching_quick_same_tokens_under_both_schedules_and_less_kv_reserved():
    result = _quick("batching")
    assert result.passed, [c for c in result.checks if not c.passed]   # same tokens; paged waste ≤ static's
    for n in (1, 2, 4):
        assert result.value(f"time continuous/static @N={n}") > 0
        assert result.value(f"tokens generated @N={n}") >= n          # at least one token per request
    assert result.value("KV slots reserved static/continuous @N=4") > 1  # deterministic for the workload
    assert 0 < result.value("exponent time static vs requests") < 3


@pytest.mark.full  # ~20 CPU-s of SmolLM2 decoding; tests/inference holds the drafters' token identity
def test_speculative_quick_keeps_the_plain_tokens_and_lookup_accepts_copies():
    result = _quick("speculative")
    assert result.checks[0].passed, result.checks[0]                  # every drafter: the plain greedy tokens
    assert result.value("lookup acceptance @n=16") > 0.3               # the copy prompt: exact, greedy
    assert result.value("lookup tokens per target pass @n=16") > 1.5
    assert 0 <= result.value("layers acceptance @n=4") <= 1
    medians = [m.name for m in result.metrics if m.unit == harness.RATIO and not m.name.endswith(harness.SPREAD)]
    assert {n.rpartition(" @")[2] for n in medians if n.startswith("time lookup/plain")} == {"n=4", "n=8", "n=16"}
