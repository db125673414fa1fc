"""`modelbook quiz export --anki`: an .apkg (a zip holding an SQLite collection) with one note per card."""
import json
import os
import sqlite3
import subprocess
import sys
import zipfile

from modelbook.quiz.anki import DECK_IDS, MODEL_ID, export
from modelbook.quiz.cards import Card, all_cards


def _collection(path, tmp_path):
    with zipfile.ZipFile(path) as z:
        name = "collection.anki2"
        assert name in z.namelist()
        z.extract(name, tmp_path / "x")
    return sqlite3.connect(tmp_path / "x" / name)


def test_export_writes_every_card_with_stable_ids(tmp_path):
    out = tmp_path / "modelbook.apkg"
    proc = subprocess.run([sys.executable, "-m", "modelbook", "quiz", "export", "--anki", str(out), "--lang", "all"],
                          capture_output=True, text=True, env={**os.environ, "MODELBOOK_HOME": str(tmp_path)}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    cards = all_cards()
    assert proc.stdout.strip() == f"wrote {len(cards)} cards to {out}"
    db = _collection(out, tmp_path)
    assert db.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == len(cards)
    assert db.execute("SELECT COUNT(*) FROM cards").fetchone()[0] == len(cards)
    models = json.loads(db.execute("SELECT models FROM col").fetchone()[0])
    assert str(MODEL_ID) in models
    decks = json.loads(db.execute("SELECT decks FROM col").fetchone()[0])
    assert {str(DECK_IDS["en"]), str(DECK_IDS["zh"])} <= set(decks)
    guids = {g for (g,) in db.execute("SELECT guid FROM notes")}
    assert len(guids) == len(cards)
    fields = [f for (f,) in db.execute("SELECT flds FROM notes")]
    assert any("Attention computes" in f for f in fields) and any("33/en/question" in f for f in fields)
    # a second export gives the same note ids, so Anki updates notes instead of duplicating them
    again = tmp_path / "again.apkg"
    export(cards, again)
    assert {g for (g,) in _collection(again, tmp_path / "2").execute("SELECT guid FROM notes")} == guids
    assert sorted(p.name for p in tmp_path.glob("*.apkg*")) == ["again.apkg", "modelbook.apkg"]  # no temp files left


def test_markdown_is_rendered_and_html_in_the_source_is_escaped(tmp_path):
    card = Card("1/en/question", 1, "en", "question", "Is `x < y` **true**? <script>alert(1)</script>", "Yes.", "t")
    export([card], tmp_path / "one.apkg")
    (front,) = _collection(tmp_path / "one.apkg", tmp_path).execute("SELECT flds FROM notes").fetchone()
    assert "<code>x &lt; y</code>" in front and "<strong>true</strong>" in front
    assert "<script>" not in front and "&lt;script&gt;" in front


def test_bad_target_is_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "modelbook", "quiz", "export", "--anki", str(tmp_path / "deck.zip")],
                          capture_output=True, text=True, env={**os.environ, "MODELBOOK_HOME": str(tmp_path)}, timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip() == f"error: {tmp_path / 'deck.zip'}: an Anki deck file must end in .apkg"
