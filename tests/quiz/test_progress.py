"""Quiz cards, FSRS scheduling, the daily limit, and durability under kill -9 of real quiz sessions."""
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from modelbook.core.errors import ModelbookError
from modelbook.handbook.loader import all_topics
from modelbook.quiz.cards import all_cards, followup_key
from modelbook.quiz.progress import Progress
from modelbook.quiz.session import parse_topics, plan

T0 = datetime(2027, 1, 1, 9, 0, tzinfo=timezone.utc)


def test_cards_come_from_written_entries_with_unique_stable_keys():
    cards = all_cards()
    keys = [c.key for c in cards]
    assert len(keys) == len(set(keys))
    t33 = [c for c in cards if c.topic == 33 and c.lang == "en"]
    assert t33[0].key == "33/en/question" and t33[0].back.startswith("Attention computes")
    topic = next(t for t in all_topics() if t.id == 33)
    assert [c.front for c in t33[1:]] == [q for q, _ in topic.followups("en")] and len(t33) >= 4
    assert followup_key(33, "en", "Why divide by √d and not by d?") == followup_key(33, "en", " Why divide  by √d and not by d? ")
    assert {c.lang for c in cards} == {"en", "zh"}
    assert not any(c.topic == 23 for c in cards)  # 23 is 2
    assert all(c.front and c.back for c in cards)


def test_topic_lists():
    assert parse_topics("2,27-28") == {2, 27, 28}
    assert parse_topics("23") == {2}
    assert parse_topics(None) is None
    for bad in ("0", "49", "x", "5-3"):
        with pytest.raises(ModelbookError):
            parse_topics(bad)


def test_fsrs_schedule_and_daily_limit(tmp_path):
    progress = Progress(tmp_path / "quiz.sqlite3")
    cards = all_cards(("en",), {33})
    assert [c.key for c in plan(progress, cards, 3, T0)] == [c.key for c in cards[:3]]
    first = progress.record(cards[0], 3, T0)          # good on a new card: the second learning step, 10 min
    assert first.due - T0 == timedelta(minutes=10)
    again = progress.record(cards[1], 1, T0)
    assert again.due - T0 == timedelta(minutes=1)
    # two new cards used today: one left of a limit of 3; both reviewed cards are due later
    assert [c.key for c in plan(progress, cards, 3, T0 + timedelta(seconds=30))] == [cards[2].key]
    later = plan(progress, cards, 3, T0 + timedelta(minutes=11))
    assert [c.key for c in later[:2]] == [cards[1].key, cards[0].key]  # due cards first, most overdue first
    graduated = progress.record(cards[0], 3, T0 + timedelta(minutes=11))
    assert graduated.state == 2 and graduated.due - T0 >= timedelta(days=1)  # review state, days away
    assert plan(progress, cards, 3, T0 + timedelta(days=1, hours=1))  # a new day: new cards again
    reviews = progress.reviews()
    assert [r[2] for r in reviews] == [3, 1, 3] and reviews[2][4] == 1 and reviews[0][4] is None
    with pytest.raises(ModelbookError):
        progress.record(cards[0], 5, T0)


def test_a_corrupt_progress_file_is_a_one_line_error_and_is_kept(tmp_path):
    path = tmp_path / "quiz.sqlite3"
    path.write_bytes(b"not a database at all" * 100)
    proc = subprocess.run([sys.executable, "-m", "modelbook", "quiz", "stats"], capture_output=True, text=True,
                          env={**os.environ, "MODELBOOK_HOME": str(tmp_path)}, timeout=120)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "not a SQLite database" in proc.stderr
    assert path.read_bytes() == b"not a database at all" * 100


ACK = re.compile(r"saved #(\d+) (\S+) (again|hard|good|easy)")
NAMES = {"again": 1, "hard": 2, "good": 3, "easy": 4}


def test_kill_9_in_the_middle_of_sessions_loses_no_acknowledged_answer(tmp_path):
    """Real `modelbook quiz` sessions answer as fast as they can and are killed at random moments, many
    times: every answer acknowledged on screen is in the file with its grade, at most the one answer being
    written when the kill came is there unacknowledged, each card's state matches its review history, and
    SQLite's integrity check passes."""
    rnd = random.Random(0)
    acknowledged: dict[int, tuple[str, int]] = {}
    db = tmp_path / "quiz.sqlite3"
    trials = 15
    for trial in range(trials):
        # each trial a year later, so every reviewed card is due again; "again" answers keep the session going
        env = {**os.environ, "MODELBOOK_HOME": str(tmp_path), "NO_COLOR": "1", "COLUMNS": "100",
               "MODELBOOK_QUIZ_NOW": (T0 + timedelta(days=365 * trial)).isoformat()}
        answers = "".join(f"\n{rnd.choice('1112')}\n" for _ in range(3000))
        proc = subprocess.Popen([sys.executable, "-m", "modelbook", "quiz", "--lang", "all", "--limit", "1000"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        proc.stdin.write(answers.encode())
        proc.stdin.flush()
        lines: list[str] = []
        first = threading.Event()

        def read():
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace")
                lines.append(line)
                if ACK.search(line):
                    first.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        assert first.wait(120), "the quiz acknowledged no answer"
        time.sleep(rnd.uniform(0.0, 0.4))
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL, "the session ended before the kill"
        reader.join(30)
        acks = [ACK.search(line) for line in lines]
        acks = [(int(m.group(1)), m.group(2), NAMES[m.group(3)]) for m in acks if m]
        assert acks, "killed before any acknowledgement"
        for review_id, key, rating in acks:
            acknowledged[review_id] = (key, rating)

        conn = sqlite3.connect(db)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = {i: (k, r) for i, k, r in conn.execute("SELECT id, key, rating FROM reviews")}
        for review_id, expected in acknowledged.items():
            assert rows.get(review_id) == expected, (trial, review_id)
        assert len(rows) - len(acknowledged) <= trial + 1  # at most one unacknowledged answer per killed session
        for key, last, reps in conn.execute("SELECT key, last_review, reps FROM cards"):
            ids = [i for i, (k, _) in rows.items() if k == key]
            assert last == max(ids) and reps == len(ids), key
        conn.close()
    assert len(acknowledged) >= 2 * trials
    print(f"\nkill -9: {trials} killed sessions, {len(acknowledged)} acknowledged answers, all kept")
