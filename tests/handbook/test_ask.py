"""`modelbook ask`: the evaluation set, recall of each retriever and of the fusion, the CLI, the warm path."""
import json
import re
import resource
import subprocess
import sys
import time
from collections import Counter

from modelbook.handbook import ask
from modelbook.handbook.loader import all_topics

# Fusion recall over the questions whose entry is written. The issue asks for recall@3 >= 0.9. With all 39
# entries written (the writers' drafts of 29 Nov) the fusion measured R@1 0.883 and R@3 0.958 (BM25 alone
# 0.842 / 0.942, dense alone 0.525 / 0.642; English questions 0.847 / 0.983); recall@1 is held at 0.8 to
# leave room for edits to the entries. Draft entries (question only) cannot be found by paraphrases: questions about them are reported,
# not asserted.
RECALL3 = 0.9
RECALL1 = 0.8


def test_evaluation_set_is_3_paraphrases_per_topic_in_both_languages():
    from modelbook.retrieval.text import Segmenter

    questions = ask.eval_questions()
    per_topic = Counter(q["topic"] for q in questions)
    # 1-40, and 41-48 as their questions are added: 3 each
    assert set(range(1, 41)) <= set(per_topic) <= set(range(1, 49)) and set(per_topic.values()) == {3}
    assert len(questions) == 3 * len(per_topic)
    langs = Counter(q["lang"] for q in questions)
    assert set(langs) == {"en", "zh"} and min(langs.values()) >= 50
    # written to differ in wording from the entries: no question shares most of its words with a title, a
    # topic question or a follow-up question (token-set Jaccard; the largest today is 0.45)
    seg = Segmenter.full()
    entry_questions = []
    for t in all_topics():
        for lang in ("en", "zh"):
            entry_questions += [t.title[lang], t.sections.get(lang, {}).get("question", "")]
            entry_questions += [q for q, _ in t.followups(lang)]
    entry_tokens = [set(seg.tokens(x)) for x in entry_questions if x]
    for q in questions:
        mine = set(seg.tokens(q["q"]))
        worst = max(len(mine & other) / len(mine | other) for other in entry_tokens)
        assert worst < 0.6, f"too close to an entry's own wording: {q['q']}"


def test_recall_of_each_retriever_and_of_the_fusion(ask_index, home):
    data = ask.evaluation(ask_index)
    table = {m: {g: data["methods"][m][g] for g in ("written", "all", "en", "zh")} for m in data["methods"]}
    out = home / "test-artifacts" / "ask_eval.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    print(f"\nask evaluation ({len(data['written_topics'])} entries written, {data['n_written_questions']} of "
          f"{data['n_questions']} questions about them); written in {out}")
    for m, groups in table.items():
        print(f"  {m:7s} " + "  ".join(f"{g} R@1 {r[1]:.3f} R@3 {r[3]:.3f}" for g, r in groups.items() if r))
    fused = data["methods"]["rrf"]["written"]
    assert data["n_written_questions"] >= 6  # topics 4 and 33 at least
    assert fused[3] >= RECALL3, (fused, data["methods"]["rrf"]["misses_written"])
    assert fused[1] >= RECALL1, (fused, data["methods"]["rrf"]["misses_written"])


def test_json_output_for_scripts(home):
    proc = subprocess.run([sys.executable, "-m", "modelbook", "ask", "--json", "-k", "3", "what", "does", "a", "KV", "cache", "store?"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    results = data["results"]
    assert [r["rank"] for r in results] == [1, 2, 3] and len({r["topic"] for r in results}) == 3
    assert results[0]["topic"] == 33
    assert {"topic", "section", "lang", "score", "id", "matches"} <= set(results[0])
    assert results[0]["score"] >= results[1]["score"] >= results[2]["score"]
    zh = subprocess.run([sys.executable, "-m", "modelbook", "ask", "--json", "--lang", "zh", "ROC 曲线下的面积是什么意思"],
                        capture_output=True, text=True, timeout=600)
    hits = json.loads(zh.stdout)["results"]
    assert 4 in [r["topic"] for r in hits[:3]] and all(m["lang"] == "zh" for r in hits for m in r["matches"])
    assert all(m["dense_rank"] is None for r in hits for m in r["matches"])  # a Chinese question: BM25 alone


def test_warm_query_is_fast_and_never_imports_torch(ask_index):
    """After the first build, a query in a new process loads the cached index and the ONNX encoder only."""
    code = ("import sys; sys.argv = ['modelbook', 'ask', 'how is the learning rate warmed up']\n"
            "from modelbook.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('HEAVY', [m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules], file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert "HEAVY []" in proc.stderr, proc.stderr
    assert "index built now" not in proc.stdout
    cpu, wall = [], []
    for question in ("why scale attention scores by the square root of d", "AUC 和准确率有什么区别", "how to pick a threshold"):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "modelbook", "ask", question], capture_output=True, check=True, timeout=600)
        wall.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    print(f"\nwarm `modelbook ask`: CPU {', '.join(f'{c:.2f}' for c in cpu)} s; wall {', '.join(f'{w:.2f}' for w in wall)} s")
    # CPU time, not wall time: the wall clock depends on what else the machine runs (dev: ~0.6 s CPU)
    assert max(cpu) < 1.5, cpu


def test_index_key_follows_the_topic_files(tmp_path, monkeypatch):
    import shutil

    from modelbook.handbook import loader

    before = ask.index_key()
    copy = tmp_path / "topics"
    shutil.copytree(loader.TOPICS_DIR, copy)
    monkeypatch.setattr(ask, "TOPICS_DIR", copy)
    assert ask.index_key() == before
    path = copy / "33-attention.md"
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert ask.index_key() != before


def test_documents_cover_sections_followups_and_labs():
    docs = ask.documents()
    ids = {d.id for d in docs}
    t33 = next(t for t in all_topics() if t.id == 33)
    assert {"33/en/question", "33/en/answer", "33/zh/deeper", "33/en/labs"} <= ids
    assert sum(1 for i in ids if i.startswith("33/en/followup-")) == len(t33.followups("en"))
    assert not any(i.startswith("23/") for i in ids)  # 23 is 2
    assert not any(re.search(r"\{\{[a-z0-9-]+:", d.text) for d in docs)  # quoted values are not indexed
    labs = next(d for d in docs if d.id == "33/en/labs")
    assert "attention:" in labs.text  # the lab table's title is part of the Labs unit
