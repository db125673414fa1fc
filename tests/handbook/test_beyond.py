"""Topics 41–48, beyond the source: their own heading for the `source` section, planned topics listed before
their entry exists, and the part shown by list, show, quiz, ask and the report.

Most tests run on a copy of topics 1–40 plus a synthetic entry 41 (monkeypatched TOPICS_DIR), so they hold
whether or not the real entries 41–48 are written yet."""
import shutil

import pytest
from click.testing import CliRunner

from modelbook.cli import app
from modelbook.core.errors import ModelbookError
from modelbook.handbook import loader
from modelbook.handbook.loader import BEYOND, LAST_TOPIC, SECTIONS, parse, section_headings
from modelbook.labs import LABS

runner = CliRunner()


def entry(n: int = 41, source_en: str = "Common wrong answers", source_zh: str = "常见错误回答", slug: str = "tokenization") -> str:
    """A small but complete entry (both languages, every section) whose `source` section has the given headings."""
    en = {"question": "How does a tokenizer split text?", "answer": "Byte-level BPE merges the most frequent pair.",
          "deeper": "Merges are learned greedily.", "source": "Wrong: a token is a word.",
          "followups": "**Q: Why bytes?**\nA: Any Unicode string round-trips.\n\n**Q: Why merges?**\nA: Frequent pairs.",
          "pitfalls": "Counting words, not tokens.", "labs": "- `modelbook run tokenization`: BPE from scratch."}
    zh = {"question": "分词器怎样切分文本？", "answer": "字节级 BPE 反复合并最常见的相邻对。", "deeper": "合并规则是贪心学出来的。",
          "source": "错误：一个 token 就是一个词。", "followups": "**问：为什么用字节？**\n答：任何 Unicode 文本都能还原。",
          "pitfalls": "按词数估算上下文长度。", "labs": "- `modelbook run tokenization`：从零实现 BPE。"}
    heads = {key: (en_h, zh_h) for key, en_h, zh_h in SECTIONS}
    heads["source"] = (source_en, source_zh)
    lines = ["---", f"id: {n}", f"slug: {slug}", 'title_en: "How do tokenizers work?"', 'title_zh: "分词器是怎样工作的？"', "---", "",
             "# English", ""]
    for key, _, _ in SECTIONS:
        lines += [f"## {heads[key][0]}", "", en[key], ""]
    lines += ["# 中文", ""]
    for key, _, _ in SECTIONS:
        lines += [f"## {heads[key][1]}", "", zh[key], ""]
    return "\n".join(lines)


@pytest.fixture
def topics_dir(tmp_path, monkeypatch):
    """Topics 1–40 as shipped, and nothing of 41–48: tests add the entries they need."""
    folder = tmp_path / "topics"
    folder.mkdir()
    for path in loader.TOPICS_DIR.glob("[0-9][0-9]-*.md"):
        if int(path.name[:2]) <= 40:
            shutil.copyfile(path, folder / path.name)
    monkeypatch.setattr(loader, "TOPICS_DIR", folder)
    loader.all_topics.cache_clear()
    yield folder
    loader.all_topics.cache_clear()


@pytest.fixture
def with_41(topics_dir):
    (topics_dir / "41-tokenization.md").write_text(entry(), encoding="utf-8")
    loader.all_topics.cache_clear()
    return topics_dir


def test_an_entry_of_41_parses_and_renders_common_wrong_answers_in_both_languages():
    t = parse(entry())
    assert t.id == 41 and t.part == "beyond" and t.is_complete
    assert t.sections["en"]["source"] == "Wrong: a token is a word." and t.sections["zh"]["source"].startswith("错误")
    en, zh = t.markdown("en"), t.markdown("zh")
    assert "## Common wrong answers\n\nWrong: a token is a word." in en and "Where the source goes wrong" not in en
    assert "## 常见错误回答\n\n错误：一个 token 就是一个词。" in zh and "原文哪里不对" not in zh
    assert t.heading("source", "en") == "Common wrong answers" and t.heading("source", "zh") == "常见错误回答"
    assert [k for k, _, _ in section_headings(41)] == [k for k, _, _ in SECTIONS]  # same keys, same order
    assert section_headings(40) == SECTIONS and parse(entry(n=40, source_en="Where the source goes wrong",
                                                            source_zh="原文哪里不对")).heading("source", "en") == "Where the source goes wrong"


@pytest.mark.parametrize("n, en, zh, message", [
    (41, "Where the source goes wrong", "常见错误回答",
     "topics 41 to 48 head that section '## Common wrong answers', not '## Where the source goes wrong'"),
    (48, "Common wrong answers", "原文哪里不对", "topics 41 to 48 head that section '## 常见错误回答', not '## 原文哪里不对'"),
    (33, "Common wrong answers", "原文哪里不对",
     "topics 1 to 40 head that section '## Where the source goes wrong', not '## Common wrong answers'"),
    (40, "Where the source goes wrong", "常见错误回答", "topics 1 to 40 head that section '## 原文哪里不对', not '## 常见错误回答'"),
])
def test_the_other_parts_heading_is_rejected_with_a_clear_error(n, en, zh, message):
    with pytest.raises(ModelbookError) as e:
        parse(entry(n=n, source_en=en, source_zh=zh), loader.TOPICS_DIR / f"{n:02d}-x.md")
    assert str(e.value) == f"{n:02d}-x.md: {message}"


def test_ids_beyond_48_are_rejected():
    with pytest.raises(ModelbookError, match="id 49 is out of range: topics are numbered 1 to 48"):
        parse(entry(n=49))


def test_the_beyond_table_plans_eight_topics_with_titles_and_labs():
    from modelbook.labs import LABS

    assert [b.id for b in BEYOND] == list(range(41, LAST_TOPIC + 1))
    assert [b.lab for b in BEYOND] == ["tokenization", "decoder-block", "moe", "scaling", "alignment", "inference",
                                       "llm-eval", "rag-tools"]  # the names TOPICS.md gives
    assert {b.issue for b in BEYOND[:4]} == {23} and {b.issue for b in BEYOND[4:]} == {24}
    for b in BEYOND:
        assert b.title["en"].strip() and any("\u4e00" <= ch <= "\u9fff" for ch in b.title["zh"])
    for spec in LABS:  # a registered lab of 41-48 carries the name the table announced
        for n in spec.topics:
            if n > 40:
                assert spec.name == loader.BEYOND_BY_ID[n].lab, (spec.name, n)


def test_missing_entries_are_planned_and_nothing_crashes(topics_dir):
    cat = loader.catalogue()
    assert [t.id for t in cat] == list(range(1, 49))
    assert [t.id for t in cat if t.planned] == list(range(41, 49)) and not any(t.planned for t in cat[:40])
    assert [t.id for t in loader.all_topics()] == list(range(1, 41))  # readers of entries see only files
    with pytest.raises(ModelbookError) as e:
        loader.get_topic(41)
    assert str(e.value) == ("topic 41 (Tokenization) is planned, not written yet (issue 23; its lab will be "
                            "`tokenization`). See `modelbook list`.")
    with pytest.raises(ModelbookError, match="unknown topic 49: topics are numbered 1 to 48"):
        loader.get_topic(49)
    res = runner.invoke(app, ["list"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "Beyond the source (41–48)" in res.output
    for b in BEYOND:
        line = next(ln for ln in res.output.splitlines() if ln.startswith(f"│ {b.id} "))
        registered = b.lab in {spec.name for spec in LABS}             # a lab can land before its entry
        assert b.title["en"] in line and f"not written yet (issue {b.issue})" in line
        assert (f"{b.lab} (planned)" in line) != registered and b.lab in line
    assert res.output.index("│ 40 ") < res.output.index("Beyond the source") < res.output.index("│ 41 ")
    zh = runner.invoke(app, ["list", "--lang", "zh"], env={"COLUMNS": "200"}).output
    assert "原文之外 (41–48)" in zh and "分词与 Tokenizer — 尚未编写 (issue 23)" in zh
    shown = runner.invoke(app, ["show", "42"])
    assert isinstance(shown.exception, ModelbookError) and "topic 42 (The modern decoder block) is planned, not written yet (issue 23" in str(shown.exception)


def test_a_written_41_in_list_show_quiz_ask_and_report(with_41, tmp_path):
    from modelbook.handbook import ask
    from modelbook.quiz.cards import all_cards
    from modelbook.report.build import build_site

    assert [t.id for t in loader.catalogue() if t.planned] == list(range(42, 49))
    out = runner.invoke(app, ["list"], env={"COLUMNS": "200"}).output
    line = next(ln for ln in out.splitlines() if ln.startswith("│ 41 "))
    assert "How do tokenizers work?" in line and "not written yet" not in line
    for lang, head, part in (("en", "Common wrong answers", "Beyond the source"), ("zh", "常见错误回答", "原文之外")):
        res = runner.invoke(app, ["show", "41", "--lang", lang], env={"COLUMNS": "120"})
        assert res.exit_code == 0, res.output
        assert head in res.output and part in res.output and ("Where the source" not in res.output and "原文哪里不对" not in res.output)
    assert "Beyond the source" not in runner.invoke(app, ["show", "33"], env={"COLUMNS": "120"}).output
    from modelbook.quiz.anki import build_package

    cards = all_cards(("en", "zh"), {41})
    assert {c.key for c in cards} >= {"41/en/question", "41/zh/question"} and sum(c.kind == "followup" for c in cards) == 3
    notes = [n for deck in build_package(all_cards(("en",), {33, 41})).decks for n in deck.notes]
    assert {("beyond-the-source" in n.tags) for n in notes} == {True, False}
    assert all(("beyond-the-source" in n.tags) == ("topic-41" in n.tags) for n in notes)  # an Anki tag for the part
    docs = {d.id for d in ask.documents()}
    assert {"41/en/source", "41/zh/source", "41/en/followup-1"} <= docs
    site = build_site(tmp_path / "site").parent
    index = (site / "index.html").read_text(encoding="utf-8")
    assert index.count('class="topic-link"') == 41 and 'id="part-beyond"' in index and 'href="#part-beyond"' in index
    assert "Beyond the source" in index and "原文之外" in index
    assert index.index('id="part-beyond"') < index.index('id="row-41"') < index.index('id="row-45"')
    assert 'href="topic-41.html"' in index and 'href="topic-45.html"' not in index  # planned: listed, no page
    # 45's lab may land before its entry: then it is listed by name with its status, else as planned
    assert "planned (issue 24)" in index and ("<code>alignment</code>" in index or ">alignment: " in index)
    page = (site / "topic-41.html").read_text(encoding="utf-8")
    assert "<h2>Common wrong answers</h2>" in page and "<h2>常见错误回答</h2>" in page and "Where the source" not in page
    assert 'href="index.html#part-beyond"' in page
    assert 'href="topic-41.html"' in (site / "topic-40.html").read_text(encoding="utf-8")  # next from 40


def test_the_ask_index_key_changes_when_an_entry_of_41_48_appears(topics_dir):
    from modelbook.handbook import ask

    # ask binds TOPICS_DIR at import: point it at the same copy
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ask, "TOPICS_DIR", topics_dir)
        before = ask.index_key()
        (topics_dir / "41-tokenization.md").write_text(entry(), encoding="utf-8")
        written = ask.index_key()
        (topics_dir / "41-tokenization.md").write_text(entry().replace("Wrong:", "Not so:"), encoding="utf-8")
        edited = ask.index_key()
    assert len({before, written, edited}) == 3


def test_quiz_draws_from_41_and_labels_the_part(with_41, tmp_path, monkeypatch):
    import io

    from rich.console import Console

    from modelbook.quiz.session import parse_topics, run_session

    monkeypatch.setenv("MODELBOOK_HOME", str(tmp_path / "home"))
    assert parse_topics("41-48") == set(range(41, 49))
    with pytest.raises(ModelbookError, match="topics are numbered 1 to 48"):
        parse_topics("49")
    buf = io.StringIO()
    answers = iter(["", "3"] * 10)
    saved = run_session(Console(file=buf, width=120), ("en",), {41}, 10, read=lambda prompt: next(answers))
    text = buf.getvalue()
    assert saved == 3  # the question and its two follow-ups
    assert "topic 41 (Beyond the source)" in text and "How does a tokenizer split text?" in text


def test_ask_names_the_part_and_the_common_wrong_answers_heading(with_41, monkeypatch):
    """What `modelbook ask` prints for a hit in entry 41 (the index itself is stubbed: building it takes a minute)."""
    import io

    from rich.console import Console

    from modelbook.handbook import ask
    from modelbook.retrieval.index import Hit

    docs = {d.id: d for d in ask.documents()}
    hits = {lang: ask.TopicHit(1, 41, (Hit(docs[f"41/{lang}/source"], 0.5, 1, 1, None),)) for lang in ("en", "zh")}
    monkeypatch.setattr(ask, "load_index", lambda progress=None: (None, False))
    for lang, words in (("en", ("[41] How do tokenizers work?", "· Beyond the source", "Common wrong answers (en)")),
                        ("zh", ("[41] 分词器是怎样工作的？", "· 原文之外", "常见错误回答 (zh)"))):
        monkeypatch.setattr(ask, "ask", lambda index, q, k=5, lang=None, method="rrf", _l=lang: [hits[_l]])
        buf = io.StringIO()
        ask.print_answer(Console(file=buf, width=160), "tokens" if lang == "en" else "分词", lang=lang)
        assert all(w in buf.getvalue() for w in words), buf.getvalue()
