"""`modelbook ask`: find the entries and sections of the handbook that answer a free-text question.

The documents (one retrieval unit each) are, for every topic and language:
- each section (question, answer, deeper, source errors, pitfalls), with the topic title in front;
- each follow-up question with its answer, as its own unit (a precise question finds its precise answer);
- the Labs section together with the titles of the labs that back the topic (from the lab table), so even a
  draft entry that has only its question has some text beyond it.

BM25 covers every unit in both languages. The dense retriever (MiniLM, English-only) covers the English
question, answer, follow-up and pitfall units, and joins the fusion (reciprocal-rank fusion) only for
questions written without Chinese; a question with Chinese in it is answered by BM25 alone, because MiniLM's
ranking of it is mostly noise (measured: fusing it anyway drops recall@1 on the Chinese questions from 0.93
to 0.44; docs/decisions.md).

`{{lab:metric}}` quotes are dropped from the indexed text: their values change with every run, and the
index must depend only on the topic files. The index (modelbook.retrieval.HybridIndex) is cached under
$MODELBOOK_HOME/cache/ask/<key>, where the key hashes the topic files, the lab table, the MiniLM ONNX
model's identity and this module's format; any change (an entry of 41–48 written, edited or removed
included) rebuilds it on the next query.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from modelbook.handbook.loader import LANGS, SECTIONS, TOPICS_DIR, Topic, all_topics
from modelbook.retrieval.index import Document, Hit, HybridIndex, load_or_build
from modelbook.retrieval.text import has_cjk

FORMAT = "ask-3"
_QUOTE = re.compile(r"\{\{[a-z0-9-]+:[^}]*\}\}")


def documents(topics: tuple[Topic, ...] | None = None) -> list[Document]:
    from modelbook.core.registry import all_labs

    out: list[Document] = []
    for t in topics or all_topics():
        if t.alias_of:
            continue
        lab_titles = [f"{spec.name}: {spec.title}" for spec in all_labs() if set(spec.topics) & ({t.id, 23} if t.id == 2 else {t.id})]
        for lang in LANGS:
            sections = t.sections.get(lang, {})
            title = t.title[lang]
            meta = {"topic": t.id, "lang": lang}
            for key, _, _ in SECTIONS:
                body = _QUOTE.sub("…", sections.get(key, "")).strip()
                if key == "followups":
                    for i, (q, a) in enumerate(t.followups(lang), 1):
                        out.append(Document(f"{t.id}/{lang}/followup-{i}", f"{q}\n{_QUOTE.sub('…', a)}",
                                            {**meta, "section": "followups", "question": q}, title))
                    continue
                if key == "labs":
                    body = "\n".join([body, *lab_titles]).strip()
                if body:
                    out.append(Document(f"{t.id}/{lang}/{key}", body, {**meta, "section": key}, title))
    return out


def index_key() -> str:
    from modelbook.core.registry import all_labs
    from modelbook.retrieval.encoder import source_identity

    h = hashlib.sha256(FORMAT.encode())
    for path in sorted(TOPICS_DIR.glob("[0-9][0-9]-*.md")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for spec in all_labs():
        h.update(f"{spec.name}|{spec.topics}|{spec.title}\n".encode())
    h.update(source_identity().encode())
    return h.hexdigest()[:16]


DENSE_SECTIONS = ("question", "answer", "followups", "pitfalls")


def embedded(doc: Document) -> bool:
    """Which documents the dense retriever covers: the English question-and-answer-shaped ones.

    all-MiniLM-L6-v2 was trained on English; on Chinese it mostly sees characters it has no meaning for.
    It was trained to match a question with a short answer, which is what the question, the two-minute answer,
    the follow-ups and the pitfalls are; the long Deeper and source-error sections are left to BM25's exact
    terms. That halves the embedding time of the first build, at equal recall (docs/decisions.md)."""
    return doc.metadata["lang"] == "en" and doc.metadata["section"] in DENSE_SECTIONS


def uses_dense(question: str) -> bool:
    """Dense retrieval for questions the encoder can read: those with no Chinese in them."""
    return not has_cjk(question)


def load_index(progress=None) -> tuple[HybridIndex, bool]:
    """(index, built_now). The first call exports MiniLM to ONNX (imports torch) and embeds the English
    question-and-answer sections (about a minute on two cores)."""
    from modelbook.core.paths import cache_dir
    from modelbook.retrieval.encoder import LazyEncoder, ensure_onnx, onnx_folder

    key = index_key()
    root = cache_dir("ask")
    cached = (root / key / "docs.json").is_file() and (onnx_folder() / "model.onnx").is_file()
    if not cached:
        if progress:
            progress("building the search index (once; about a minute)")
        ensure_onnx()
    # one thread embeds a single query as fast as two and costs less CPU; building wants every core
    return load_or_build(root, key, documents, LazyEncoder(threads=1 if cached else 0), embed=embedded)


@dataclass(frozen=True)
class TopicHit:
    """One topic in the answer to a question: its best-matching section first, then other matching sections."""
    rank: int
    topic: int
    hits: tuple[Hit, ...]

    @property
    def best(self) -> Hit:
        return self.hits[0]


def ask(index: HybridIndex, question: str, k: int = 5, lang: str | None = None, method: str = "rrf",
        use_dense: bool | None = None) -> list[TopicHit]:
    """The k topics that best answer `question`, each with its matching sections (best first).

    use_dense: whether a fused method includes the dense retriever (default: `uses_dense(question)`)."""
    use_dense = uses_dense(question) if use_dense is None else use_dense
    where = (lambda d: d.metadata["lang"] == lang) if lang else None
    by_topic: dict[int, list[Hit]] = {}
    for hit in index.rank(question, method, where, use_dense=use_dense):
        by_topic.setdefault(hit.doc.metadata["topic"], []).append(hit)
    ranked = list(by_topic.items())[:k]
    return [TopicHit(r, topic, tuple(hits[:3])) for r, (topic, hits) in enumerate(ranked, 1)]


def to_json(results: list[TopicHit]) -> list[dict]:
    out = []
    for th in results:
        out.append({
            "rank": th.rank, "topic": th.topic,
            "section": th.best.doc.metadata["section"], "lang": th.best.doc.metadata["lang"],
            "score": round(th.best.score, 6), "id": th.best.doc.id, "title": th.best.doc.title,
            "matches": [{"id": h.doc.id, "section": h.doc.metadata["section"], "lang": h.doc.metadata["lang"],
                         "score": round(h.score, 6), "bm25_rank": h.bm25_rank, "dense_rank": h.dense_rank}
                        for h in th.hits],
        })
    return out


def snippet(hit: Hit, width: int = 160) -> str:
    doc = hit.doc
    text = doc.metadata.get("question") or doc.text
    text = re.sub(r"[*_`#>]+", "", " ".join(text.split()))
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def eval_questions(path: Path | None = None) -> list[dict]:
    """The evaluation set: [{"topic": n, "lang": "en"|"zh", "q": "..."}], from ask_eval.yaml."""
    import yaml

    path = path or Path(__file__).parent / "ask_eval.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [{"topic": int(item["topic"]), "lang": str(item["lang"]), "q": str(item["q"])} for item in data["questions"]]


def print_answer(console, question: str, k: int = 5, lang: str | None = None, method: str = "rrf", as_json: bool = False) -> None:
    """What `modelbook ask` prints: the k best topics with their best sections (or JSON for scripts)."""
    import json
    import sys
    import time

    from modelbook.core.errors import ModelbookError

    if not question.strip():
        raise ModelbookError("ask needs a question, e.g. modelbook ask \"why divide attention scores by sqrt(d)?\"")
    try:
        question.encode("utf-8")  # bytes that were not UTF-8 reach us as lone surrogates (surrogateescape)
    except UnicodeEncodeError:
        raise ModelbookError("the question is not valid UTF-8 text: check the terminal's encoding (e.g. LANG=C.UTF-8)") from None
    started = time.perf_counter()
    index, built = load_index(progress=lambda msg: print(msg, file=sys.stderr))
    results = ask(index, question, k=k, lang=lang, method=method)
    elapsed = time.perf_counter() - started
    if as_json:
        print(json.dumps({"question": question, "method": method, "results": to_json(results)}, ensure_ascii=False, indent=2))
        return
    shown = lang or ("zh" if has_cjk(question) else "en")
    if not results:
        console.print("No entry matches that question." if shown == "en" else "没有找到相关条目。")
        return
    from modelbook.handbook.loader import PARTS, get_topic

    for th in results:
        topic = get_topic(th.topic)
        best = th.best
        where = ", ".join(dict.fromkeys(f"{topic.heading(h.doc.metadata['section'], h.doc.metadata['lang'])} ({h.doc.metadata['lang']})"
                                        for h in th.hits))
        beyond = f" [dim]· {PARTS['beyond'][shown]}[/]" if topic.part == "beyond" else ""
        console.print(f"[bold]{th.rank}. [{th.topic}] {topic.title[shown]}[/]{beyond}  [dim]score {best.score:.4f}[/]", highlight=False)
        console.print(f"   [dim]{where}[/]", highlight=False)
        console.print(f"   {snippet(best)}", highlight=False)
    note = " (index built now)" if built else ""
    console.print(f"[dim]modelbook show N [--lang {shown}] shows an entry · {elapsed * 1000:.0f} ms{note}[/]", highlight=False)


def evaluation(index: HybridIndex, methods: tuple[str, ...] = ("bm25", "dense", "rrf", "minmax")) -> dict:
    """recall@1 and recall@3 of each method on ask_eval.yaml: over all questions, over the questions whose
    entry is written (not a draft), and per question language. Topic 23's questions count as topic 2's."""
    from modelbook.handbook.loader import catalogue
    from modelbook.retrieval.evaluate import recall_at_k

    questions = eval_questions()
    # aliases resolved from the files read anyway (a planned topic of 41..48 has no file: it stays itself)
    alias = {t.id: t.alias_of for t in all_topics() if t.alias_of}
    relevant = [int(alias.get(q["topic"], q["topic"])) for q in questions]
    written = {t.id for t in all_topics() if not t.alias_of and t.status != "draft"}
    groups = {
        "all": range(len(questions)),
        "written": [i for i, r in enumerate(relevant) if r in written],
        "en": [i for i, q in enumerate(questions) if q["lang"] == "en"],
        "zh": [i for i, q in enumerate(questions) if q["lang"] == "zh"],
    }
    out: dict = {"n_questions": len(questions), "written_topics": sorted(written),
                 "n_entries": sum(1 for t in catalogue() if not t.alias_of),
                 "n_written_questions": len(groups["written"]), "methods": {}}
    for method in methods:
        ranked = [[th.topic for th in ask(index, q["q"], k=3, method=method)] for q in questions]
        out["methods"][method] = {
            name: recall_at_k([ranked[i] for i in idx], [relevant[i] for i in idx]) if len(idx) else None
            for name, idx in groups.items()
        }
        out["methods"][method]["misses_written"] = [
            {"topic": relevant[i], "q": questions[i]["q"], "got": ranked[i]} for i in groups["written"] if relevant[i] not in ranked[i]
        ]
    return out


def print_evaluation(console, data: dict) -> None:
    from rich.table import Table

    table = Table(title=f"modelbook ask on {data['n_questions']} paraphrased questions "
                        f"({len(data['written_topics'])} of {data['n_entries']} entries written: {data['n_written_questions']} questions)",
                  title_justify="left")
    table.add_column("method")
    for name in ("written", "all", "en", "zh"):
        table.add_column(f"{name}\nR@1", justify="right")
        table.add_column(f"{name}\nR@3", justify="right")
    for method, groups in data["methods"].items():
        cells = []
        for name in ("written", "all", "en", "zh"):
            r = groups[name]
            cells += ["—", "—"] if r is None else [f"{r[1]:.3f}", f"{r[3]:.3f}"]
        table.add_row(method, *cells)
    console.print(table)
    console.print("[dim]written: questions whose entry is written (not a draft); en/zh: by question language. "
                  "rrf uses BM25 alone for questions with Chinese in them.[/]")
