"""Spaced-repetition practice over the handbook's questions and follow-ups.

    cards.py     one card per question and per follow-up, per language, with stable keys
    progress.py  FSRS scheduling and the SQLite progress file (durable: one answer = one transaction)
    session.py   the practice loop (`modelbook quiz`) and `modelbook quiz stats`
    anki.py      `modelbook quiz export --anki FILE` (genanki)

Nothing here imports torch or NumPy: `modelbook quiz` starts as fast as `modelbook show`.
"""
