"""Quiz progress in SQLite ($MODELBOOK_HOME/quiz.sqlite3), scheduled by FSRS.

FSRS (the Free Spaced Repetition Scheduler, Ye et al. 2022/2023; the `fsrs` package) models each card's
memory with a stability S (days until recall probability falls to 90%) and a difficulty D, and predicts
the probability of recall after t days as R(t) = (1 + F · t/S)^C (a power forgetting curve; F and C are
fixed by the parameters). After each self-grade (again / hard / good / easy) it updates S and D and
schedules the next review when R is predicted to fall to the desired retention (90%).

Durability. The database is opened through core.sqlite (application_id check, quick_check, WAL journal,
synchronous=FULL). One answer is one transaction: the review row and the card's new state are written
together and committed (fsync'd) before `record` returns, and the session acknowledges an answer on screen
only after that. A kill -9 at any moment therefore loses at most the answer being written, never one that
was acknowledged, and never leaves a card's state out of step with its review history.
tests/quiz/test_progress.py kills real quiz sessions many times to check this.

A card has no row until its first review: "new" means "no row".
"""
from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from modelbook.core import paths, sqlite
from modelbook.core.errors import ModelbookError

SCHEMA = """
CREATE TABLE IF NOT EXISTS cards (
    key         TEXT PRIMARY KEY,
    topic       INTEGER NOT NULL,
    lang        TEXT NOT NULL,
    state       INTEGER NOT NULL,        -- fsrs.State: 1 learning, 2 review, 3 relearning
    due         TEXT NOT NULL,           -- ISO 8601 UTC
    card_json   TEXT NOT NULL,           -- fsrs.Card.to_json()
    reps        INTEGER NOT NULL,
    lapses      INTEGER NOT NULL,
    last_review INTEGER NOT NULL REFERENCES reviews (id)
);
CREATE INDEX IF NOT EXISTS cards_by_due ON cards (due);
CREATE TABLE IF NOT EXISTS reviews (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    key            TEXT NOT NULL,
    rating         INTEGER NOT NULL,     -- fsrs.Rating: 1 again, 2 hard, 3 good, 4 easy
    reviewed_at    TEXT NOT NULL,
    state_before   INTEGER,              -- NULL for a new card
    retrievability REAL,                 -- FSRS's predicted recall probability at review time (NULL if new)
    duration_ms    INTEGER
);
CREATE INDEX IF NOT EXISTS reviews_by_time ON reviews (reviewed_at);
"""
VERSION = 1

RATINGS = {1: "again", 2: "hard", 3: "good", 4: "easy"}
STATES = {1: "learning", 2: "review", 3: "relearning"}


def now() -> datetime:
    """The current time (UTC). MODELBOOK_QUIZ_NOW=ISO-time fixes it, for tests that need cards to be due."""
    fixed = os.environ.get("MODELBOOK_QUIZ_NOW")
    if fixed:
        try:
            t = datetime.fromisoformat(fixed.replace("Z", "+00:00"))
        except ValueError as e:
            raise ModelbookError(f"MODELBOOK_QUIZ_NOW={fixed!r} is not an ISO time (e.g. 2027-01-01T09:00:00Z)") from e
        return t if t.tzinfo else t.replace(tzinfo=timezone.utc)
    return datetime.now(timezone.utc)


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat(timespec="seconds")


def scheduler():
    import fsrs

    # No fuzz: the same answers give the same schedule (fuzz spreads large decks learned on one day).
    return fsrs.Scheduler(desired_retention=0.9, enable_fuzzing=False)


@dataclass(frozen=True)
class Recorded:
    review_id: int
    due: datetime
    state: int


class Progress:
    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path else paths.home() / "quiz.sqlite3"
        self.conn: sqlite3.Connection = sqlite.connect(self.path, SCHEMA, VERSION, what="quiz progress database")
        self.scheduler = scheduler()

    def close(self) -> None:
        self.conn.close()

    # -- writing --
    def record(self, card, rating: int, when: datetime | None = None, duration_ms: int | None = None) -> Recorded:
        """Grade `card` (a quiz.cards.Card) and store the review and the new schedule in one durable transaction."""
        import fsrs

        if rating not in RATINGS:
            raise ModelbookError(f"rating must be 1 (again), 2 (hard), 3 (good) or 4 (easy), not {rating!r}")
        when = when or now()
        with sqlite.transaction(self.conn) as c:
            row = c.execute("SELECT card_json, reps, lapses FROM cards WHERE key = ?", (card.key,)).fetchone()
            if row is None:
                from modelbook.quiz.cards import card_id

                before, reps, lapses, state_before, r = fsrs.Card(card_id=card_id(card.key), due=when), 0, 0, None, None
            else:
                before, reps, lapses = fsrs.Card.from_json(row[0]), row[1], row[2]
                state_before = int(before.state)
                r = float(self.scheduler.get_card_retrievability(before, when))
            after, _ = self.scheduler.review_card(before, fsrs.Rating(rating), review_datetime=when)
            cur = c.execute(
                "INSERT INTO reviews (key, rating, reviewed_at, state_before, retrievability, duration_ms) VALUES (?,?,?,?,?,?)",
                (card.key, rating, _iso(when), state_before, r, duration_ms),
            )
            review_id = int(cur.lastrowid)
            lapses += int(rating == 1 and state_before == 2)
            c.execute(
                "INSERT INTO cards (key, topic, lang, state, due, card_json, reps, lapses, last_review)"
                " VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (key) DO UPDATE SET state = excluded.state, due = excluded.due,"
                " card_json = excluded.card_json, reps = excluded.reps, lapses = excluded.lapses, last_review = excluded.last_review",
                (card.key, card.topic, card.lang, int(after.state), _iso(after.due), after.to_json(), reps + 1, lapses, review_id),
            )
        return Recorded(review_id, after.due, int(after.state))

    # -- reading --
    def states(self) -> dict[str, dict]:
        """key -> {"state", "due" (datetime), "reps", "lapses", "card_json"} for every card reviewed at least once."""
        rows = self.conn.execute("SELECT key, state, due, reps, lapses, card_json FROM cards").fetchall()
        return {k: {"state": s, "due": datetime.fromisoformat(d), "reps": n, "lapses": l, "card_json": j}
                for k, s, d, n, l, j in rows}

    def new_cards_introduced_since(self, since: datetime) -> int:
        """How many cards had their first review at or after `since` (for the daily limit on new cards)."""
        return self.conn.execute(
            "SELECT COUNT(*) FROM (SELECT key, MIN(reviewed_at) AS first FROM reviews GROUP BY key) WHERE first >= ?",
            (_iso(since),),
        ).fetchone()[0]

    def reviews(self, since: datetime | None = None) -> list[tuple]:
        """(id, key, rating, reviewed_at, state_before, retrievability) in order."""
        q = "SELECT id, key, rating, reviewed_at, state_before, retrievability FROM reviews"
        args: tuple = ()
        if since is not None:
            q, args = q + " WHERE reviewed_at >= ?", (_iso(since),)
        return self.conn.execute(q + " ORDER BY id", args).fetchall()

    def retrievability(self, card_json: str, when: datetime) -> float:
        import fsrs

        return float(self.scheduler.get_card_retrievability(fsrs.Card.from_json(card_json), when))


def start_of_day(t: datetime) -> datetime:
    """Midnight UTC of t's day: the daily limit on new cards resets then."""
    return t.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def end_of_day(t: datetime) -> datetime:
    return start_of_day(t) + timedelta(days=1)
