"""Read the 40 topic files in handbook/topics/NN-slug.md.

A file is YAML front matter (id, slug, title_en, title_zh, optional alias_of and status) followed by two
halves, "# English" and "# 中文", each with the same sections in the same order (SECTIONS). T23 asks
the same question as T2, so its file is only front matter with `alias_of: 2`.
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

    def heading(self, key: str, lang: str) -> str:
        for k, en, zh in SECTIONS:
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
    for name, part in zip(halves[1::2], halves[2::2]):
        lang = "en" if name == "English" else "zh"
        sections[lang] = _split_sections(part, lang, where)
    return Topic(
        id=int(meta["id"]), slug=str(meta["slug"]),
        title={"en": str(meta["title_en"]), "zh": str(meta["title_zh"])},
        sections=sections, alias_of=meta.get("alias_of"),
        status=str(meta.get("status", "complete")), path=path,
    )


def _split_sections(part: str, lang: str, where: str) -> dict[str, str]:
    by_heading = {(en if lang == "en" else zh): key for key, en, zh in SECTIONS}
    out: dict[str, str] = {}
    chunks = re.split(r"^## (.+?)\s*$", part, flags=re.M)
    for heading, text in zip(chunks[1::2], chunks[2::2]):
        key = by_heading.get(heading.strip())
        if key is None:
            raise ModelbookError(f"{where}: unknown {lang} section heading '## {heading}'")
        out[key] = text.strip()
    return out


@functools.lru_cache(maxsize=1)
def all_topics() -> tuple[Topic, ...]:
    topics = []
    for path in sorted(TOPICS_DIR.glob("[0-9][0-9]-*.md")):
        topics.append(parse(path.read_text(encoding="utf-8"), path))
    return tuple(sorted(topics, key=lambda t: t.id))


def get_topic(n: int, resolve_alias: bool = True) -> Topic:
    """Topic n, read from its own file only (`show` should not parse all 40)."""
    files = sorted(TOPICS_DIR.glob(f"{n:02d}-*.md")) if isinstance(n, int) and 1 <= n <= 40 else []
    if not files:
        raise ModelbookError(f"unknown topic {n}: topics are numbered 1 to 40. See `modelbook list`.")
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
