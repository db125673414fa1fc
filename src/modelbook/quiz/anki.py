"""`modelbook quiz export --anki FILE`: the cards as an Anki deck (.apkg), written with genanki.

The note type and deck ids are fixed constants and each note's guid is derived from the card key, so
importing a newer export into Anki updates the notes already there instead of duplicating them. Markdown
becomes HTML through the reader the site uses (report/markdown.py: raw HTML in the source is escaped, not passed
through; bold works beside Chinese punctuation; $LaTeX$ becomes Unicode, which every Anki client shows). One sub-deck per
language: "modelbook::English" and "modelbook::中文". The file is replaced atomically (core.paths.atomic_path).
"""
from __future__ import annotations

from pathlib import Path

from modelbook.core.errors import ModelbookError
from modelbook.core.paths import atomic_path

MODEL_ID = 1_296_191_307          # "MBOK": never change, or Anki sees a new note type
DECK_IDS = {"en": 1_296_191_308, "zh": 1_296_191_309}
DECK_NAMES = {"en": "modelbook::English", "zh": "modelbook::中文"}
CSS = """.card { font-family: system-ui, sans-serif; font-size: 18px; text-align: left; max-width: 46em; margin: auto; }
.meta { color: #777; font-size: 14px; } code { background: #f3f3f3; padding: 0 .2em; } table { border-collapse: collapse; }
td, th { border: 1px solid #ccc; padding: .2em .4em; }"""


def markdown_to_html(text: str) -> str:
    from modelbook.report.markdown import to_html

    return to_html(text, math="unicode")


def build_package(cards, lookup=None):
    """A genanki.Package of `cards` (quiz.cards.Card), values quoted in answers filled through `lookup`."""
    import genanki

    from modelbook.handbook.loader import fill_values, part

    model = genanki.Model(
        MODEL_ID, "modelbook card",
        fields=[{"name": "Front"}, {"name": "Back"}, {"name": "Topic"}, {"name": "Key"}],
        templates=[{"name": "Card 1",
                    "qfmt": '<div class="meta">{{Topic}}</div>{{Front}}',
                    "afmt": '{{FrontSide}}<hr id="answer">{{Back}}'}],
        css=CSS,
    )
    decks = {lang: genanki.Deck(DECK_IDS[lang], DECK_NAMES[lang]) for lang in sorted({c.lang for c in cards})}
    for c in cards:
        back = fill_values(c.back, lookup) if lookup else c.back
        topic = f"{c.topic}. {c.title}"
        note = genanki.Note(
            model=model,
            fields=[markdown_to_html(c.front), markdown_to_html(back), _escape(topic), _escape(c.key)],
            tags=["modelbook", f"topic-{c.topic}", c.lang, c.kind, *(["beyond-the-source"] if part(c.topic) == "beyond" else [])],
            guid=genanki.guid_for("modelbook", c.key),
        )
        decks[c.lang].add_note(note)
    return genanki.Package(list(decks.values()))


def export(cards, path: Path, lookup=None) -> int:
    """Write the deck to `path` atomically; returns the number of notes."""
    if not cards:
        raise ModelbookError("no cards to export: the selected topics have no written answers yet")
    path = Path(path)
    if path.suffix != ".apkg":
        raise ModelbookError(f"{path}: an Anki deck file must end in .apkg")
    if not path.parent.exists():
        raise ModelbookError(f"{path.parent} does not exist")
    package = build_package(cards, lookup)
    with atomic_path(path) as tmp:
        package.write_to_file(str(tmp))
    return len(cards)


def _escape(text: str) -> str:
    import html

    return html.escape(text)
