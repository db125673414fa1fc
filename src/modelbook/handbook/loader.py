"""Read the topic files in handbook/topics/NN-slug.md: 1–40 from the source, 41–48 beyond it.

A file is YAML front matter (id, slug, title_en, title_zh, optional alias_of and status) followed by two
halves, "# English" and "# 中文", each with the same sections in the same order (SECTIONS). T23 asks
the same question as T2, so its file is only front matter with `alias_of: 2`.

Topics 41–48 ("beyond the source", BEYOND) answer questions the source never asked, so there is no source to
correct: their `source` section is headed "Common wrong answers" / "常见错误回答" instead of "Where the source
goes wrong" / "原文哪里不对" (same key, so every reader of `sections` treats both alike; `section_headings(id)`
gives the headings of one topic). A topic of 41–48 whose file does not exist yet is *planned*: `catalogue()`
lists it (title and lab from BEYOND) and `get_topic` says which issue brings it.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from modelbook.core.errors import ModelbookError

TOPICS_DIR = Path(__file__).parent / "topics"
LANGS = ("en", "zh")
LANG_HEADINGS = {"en": "English", "zh": "中文"}

# (key, English heading, Chinese heading), in the order they appear in a file.
SECTIONS = (
    ("question", "Question", "问题"),
    ("answer", "Two-minute answer", "两分钟回答"),
    ("deeper", "Deeper", "深入"),
    ("source", "Where the source goes wrong", "原文哪里不对"),
    ("followups", "Follow-up questions", "追问"),
    ("pitfalls", "Pitfalls", "常见误区"),
    ("labs", "Labs", "实验"),
)

LAST_SOURCE_TOPIC = 40
"""Topics 1..40 answer the source article's questions."""
LAST_TOPIC = 48
"""Topics 41..48 go beyond the source."""
BEYOND_SOURCE_HEADINGS = ("Common wrong answers", "常见错误回答")
"""The `source` section's (English, Chinese) headings in topics 41..48."""
PARTS = {
    "source": {"en": "From the source", "zh": "原文题目"},
    "beyond": {"en": "Beyond the source", "zh": "原文之外"},
}
PART_SPAN = {"source": f"1–{LAST_SOURCE_TOPIC}", "beyond": f"{LAST_SOURCE_TOPIC + 1}–{LAST_TOPIC}"}


@dataclass(frozen=True)
class BeyondTopic:
    """One of topics 41..48 as TOPICS.md plans it: what `list` shows before its entry is written."""
    id: int
    slug: str
    title: dict[str, str]
    lab: str
    """The name its lab will have (`modelbook run <lab>`)."""
    issue: int
    """The issue that brings the entry and the lab."""


BEYOND = (
    BeyondTopic(41, "tokenization", {"en": "Tokenization", "zh": "分词与 Tokenizer"}, "tokenization", 23),
    BeyondTopic(42, "decoder-block", {"en": "The modern decoder block", "zh": "现代 Decoder 层的结构"}, "decoder-block", 23),
    BeyondTopic(43, "moe", {"en": "Mixture of experts", "zh": "混合专家模型（MoE）"}, "moe", 23),
    BeyondTopic(44, "scaling", {"en": "Scaling laws", "zh": "Scaling Law 与预训练预算"}, "scaling", 23),
    BeyondTopic(45, "alignment", {"en": "Alignment", "zh": "对齐：SFT、奖励模型、DPO 与 GRPO"}, "alignment", 24),
    BeyondTopic(46, "inference", {"en": "Inference engines", "zh": "推理引擎"}, "inference", 24),
    BeyondTopic(47, "llm-eval", {"en": "Evaluating LLMs", "zh": "大模型评测"}, "llm-eval", 24),
    BeyondTopic(48, "rag-tools", {"en": "RAG, tools, hallucination", "zh": "RAG、工具调用与幻觉"}, "rag-tools", 24),
)
BEYOND_BY_ID = {b.id: b for b in BEYOND}


def part(topic_id: int) -> str:
    """"source" for topics 1..40, "beyond" for 41..48 (keys of PARTS)."""
    return "beyond" if topic_id > LAST_SOURCE_TOPIC else "source"


def section_headings(topic_id: int) -> tuple[tuple[str, str, str], ...]:
    """SECTIONS as topic `topic_id` heads them: (key, English heading, Chinese heading) in file order."""
    if part(topic_id) == "source":
        return SECTIONS
    return tuple((key, *BEYOND_SOURCE_HEADINGS) if key == "source" else (key, en, zh) for key, en, zh in SECTIONS)


@dataclass(frozen=True)
class Topic:
    id: int
    slug: str
    title: dict[str, str]
    sections: dict[str, dict[str, str]] = field(default_factory=dict)
    """sections[lang][key] -> Markdown body of that section."""
    alias_of: int | None = None
    status: str = "complete"
    path: Path | None = None

    @property
    def part(self) -> str:
        """"source" (1..40) or "beyond" (41..48)."""
        return part(self.id)

    @property
    def planned(self) -> bool:
        """A topic of 41..48 whose entry is not written yet (only from `catalogue()`)."""
        return self.status == "planned"

    def heading(self, key: str, lang: str) -> str:
        for k, en, zh in section_headings(self.id):
            if k == key:
                return en if lang == "en" else zh
        raise KeyError(key)

    def markdown(self, lang: str = "en") -> str:
        """The entry in one language, as Markdown with a title."""
        lines = [f"# {self.id}. {self.title[lang]}", ""]
        for key, _, _ in SECTIONS:
            body = self.sections.get(lang, {}).get(key, "").strip()
            if body:
                lines += [f"## {self.heading(key, lang)}", "", body, ""]
        return "\n".join(lines).rstrip() + "\n"

    @property
    def labs(self) -> tuple[str, ...]:
        """The labs that back this topic, from the lab table (the one source of truth)."""
        from modelbook.core.registry import for_topic

        ids = {self.id} | ({23} if self.id == 2 else set())
        return tuple(dict.fromkeys(spec.name for n in sorted(ids) for spec in for_topic(n)))

    def followups(self, lang: str = "en") -> list[tuple[str, str]]:
        """The follow-up questions of the entry as (question, answer) pairs, in file order.

        Each is a bold question line, `**Q: ...**` (中文: `**问：...**`), followed by its answer, `A: ...` (`答：...`)."""
        return parse_followups(self.sections.get(lang, {}).get("followups", ""))

    @property
    def is_complete(self) -> bool:
        return all(self.sections.get(lang, {}).get(key, "").strip() for lang in LANGS for key, _, _ in SECTIONS)


_FOLLOWUP = re.compile(r"^\*\*(?:Q:|Q：|问：|问:)\s*(.+?)\*\*[ \t]*$", re.M)
_ANSWER_MARK = re.compile(r"\A\s*(?:A:|A：|答：|答:)\s*")


def parse_followups(body: str) -> list[tuple[str, str]]:
    """(question, answer) pairs from a follow-up section; see Topic.followups."""
    marks = list(_FOLLOWUP.finditer(body))
    pairs = []
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(body)
        answer = _ANSWER_MARK.sub("", body[m.end():end].strip(), count=1).strip()
        pairs.append((m.group(1).strip(), answer))
    return pairs


_FRONT = re.compile(r"\A---\n(.*?)\n---\n", re.S)


def _front_matter(block: str, where: str) -> dict:
    """The front matter is flat `key: value` lines (strings may be double-quoted); parsed by hand because
    importing a YAML library costs more than the rest of `modelbook show`."""
    meta: dict = {}
    for line in block.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise ModelbookError(f"{where}: front matter line is not 'key: value': {line!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].replace('\\"', '"')
        elif value.isdigit():
            value = int(value)
        meta[key.strip()] = value
    return meta


def parse(text: str, path: Path | None = None) -> Topic:
    m = _FRONT.match(text)
    where = path.name if path else "topic"
    if not m:
        raise ModelbookError(f"{where}: missing front matter (--- id, slug, title_en, title_zh ---)")
    meta = _front_matter(m.group(1), where)
    for key in ("id", "slug", "title_en", "title_zh"):
        if key not in meta:
            raise ModelbookError(f"{where}: front matter has no '{key}'")
    body = text[m.end():]
    sections: dict[str, dict[str, str]] = {}
    halves = re.split(r"^# (English|中文)\s*$", body, flags=re.M)
    # halves = [preamble, "English", text, "中文", text]
    try:
        topic_id = int(meta["id"])
    except ValueError:
        raise ModelbookError(f"{where}: front matter 'id' is not a number: {meta['id']!r}") from None
    if not 1 <= topic_id <= LAST_TOPIC:
        raise ModelbookError(f"{where}: id {topic_id} is out of range: topics are numbered 1 to {LAST_TOPIC}")
    for name, text_half in zip(halves[1::2], halves[2::2]):
        lang = "en" if name == "English" else "zh"
        sections[lang] = _split_sections(text_half, lang, where, topic_id)
    return Topic(
        id=topic_id, slug=str(meta["slug"]),
        title={"en": str(meta["title_en"]), "zh": str(meta["title_zh"])},
        sections=sections, alias_of=meta.get("alias_of"),
        status=str(meta.get("status", "complete")), path=path,
    )


def _split_sections(half: str, lang: str, where: str, topic_id: int) -> dict[str, str]:
    i = 1 if lang == "en" else 2
    by_heading = {row[i]: row[0] for row in section_headings(topic_id)}
    source_heading = dict(zip(("source", "beyond"), (SECTIONS[3][i], BEYOND_SOURCE_HEADINGS[i - 1])))
    out: dict[str, str] = {}
    chunks = re.split(r"^## (.+?)\s*$", half, flags=re.M)
    for heading, text in zip(chunks[1::2], chunks[2::2]):
        key = by_heading.get(heading.strip())
        if key is None:
            mine = part(topic_id)
            other = "source" if mine == "beyond" else "beyond"
            if heading.strip() == source_heading[other]:
                span = f"41 to {LAST_TOPIC}" if mine == "beyond" else f"1 to {LAST_SOURCE_TOPIC}"
                raise ModelbookError(f"{where}: topics {span} head that section '## {source_heading[mine]}', "
                                     f"not '## {heading.strip()}'")
            raise ModelbookError(f"{where}: unknown {lang} section heading '## {heading}'")
        out[key] = text.strip()
    return out


@functools.lru_cache(maxsize=1)
def all_topics() -> tuple[Topic, ...]:
    topics = []
    for path in sorted(TOPICS_DIR.glob("[0-9][0-9]-*.md")):
        topics.append(parse(path.read_text(encoding="utf-8"), path))
    return tuple(sorted(topics, key=lambda t: t.id))


def planned_topic(n: int) -> Topic:
    """The placeholder of a topic of 41..48 whose entry is not written yet: title from BEYOND, no sections."""
    b = BEYOND_BY_ID[n]
    return Topic(id=b.id, slug=b.slug, title=dict(b.title), status="planned")


def catalogue() -> tuple[Topic, ...]:
    """Every topic, 1..48, for listing: the written files (all_topics) and, for a topic of 41..48 with no file
    yet, its planned placeholder (status "planned"). Readers of entries (quiz, ask) use all_topics()."""
    have = {t.id: t for t in all_topics()}
    return tuple(have[n] if n in have else planned_topic(n)
                 for n in range(1, LAST_TOPIC + 1) if n in have or n in BEYOND_BY_ID)


def unknown_topic(n) -> ModelbookError:
    return ModelbookError(f"unknown topic {n}: topics are numbered 1 to {LAST_TOPIC}. See `modelbook list`.")


def planned_message(n: int) -> str:
    """One line: topic n (41..48) is planned, by which issue, with which lab."""
    b = BEYOND_BY_ID[n]
    return (f"topic {n} ({b.title['en']}) is planned, not written yet (issue {b.issue}; "
            f"its lab will be `{b.lab}`). See `modelbook list`.")


def get_topic(n: int, resolve_alias: bool = True) -> Topic:
    """Topic n, read from its own file only (`show` should not parse them all).

    A topic of 41..48 with no file yet is planned: a one-line error naming its issue (exit 2)."""
    files = sorted(TOPICS_DIR.glob(f"{n:02d}-*.md")) if isinstance(n, int) and 1 <= n <= LAST_TOPIC else []
    if not files:
        if n in BEYOND_BY_ID:
            raise ModelbookError(planned_message(n))
        raise unknown_topic(n)
    topic = parse(files[0].read_text(encoding="utf-8"), files[0])
    if resolve_alias and topic.alias_of:
        return get_topic(int(topic.alias_of))
    return topic


_VALUE = re.compile(r"\{\{([a-z0-9-]+):([^}|]+)(?:\|([^}]*))?\}\}")


def fill_values(text: str, lookup) -> str:
    """Replace {{lab:metric}} (or {{lab:metric|format}}) with the latest measured value.

    Numbers quoted in the handbook come from the results store, so they cannot drift from what the lab
    measures. lookup(lab, metric) returns a float or None (lab not run yet).
    """
    def sub(m: re.Match) -> str:
        lab, metric, fmt = m.group(1), m.group(2).strip(), m.group(3)
        value = lookup(lab, metric)
        if value is None:
            return f"[not measured yet: modelbook run {lab}]"
        return format(value, fmt) if fmt else f"{value:.4g}"

    return mark_planned_labs(_VALUE.sub(sub, text))


_RUN = re.compile(r"`modelbook run ([a-z0-9-]+)`")


def mark_planned_labs(text: str) -> str:
    """Label `modelbook run X` as planned where no lab X is registered yet, so a reader does not try it.

    Entries name the lab each topic will get (TOPICS.md); until its issue lands, running it would only
    print "unknown lab". The label follows the text's language (Chinese if it has CJK characters).
    """
    from modelbook.core.registry import all_labs  # the table only: no lab module is imported

    built = {spec.name for spec in all_labs()}
    label = "（计划中，尚未实现）" if re.search(r"[\u4e00-\u9fff]", text) else " (planned, not built yet)"
    return _RUN.sub(lambda m: m.group(0) if m.group(1) in built else m.group(0) + label, text)


def value_names(text: str) -> list[tuple[str, str]]:
    """The (lab, metric) pairs a text quotes."""
    return [(m.group(1), m.group(2).strip()) for m in _VALUE.finditer(text)]
