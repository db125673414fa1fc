"""The practice loop (`modelbook quiz`) and the summary (`modelbook quiz stats`).

A session shows the cards that are due (most overdue first), then new cards up to the daily limit. For each:
the question; Enter reveals the answer; you grade yourself 1 again / 2 hard / 3 good / 4 easy (or a/h/g/e);
the answer is saved (one committed transaction) and only then acknowledged with "saved #id". A card graded
"again" comes back at the end of the session. q (or end of input) stops; everything acknowledged is kept.

It reads plain lines, so it works the same in a terminal, through a pipe and under a pseudo-terminal.
"""
from __future__ import annotations

import time
from collections import Counter, deque
from datetime import datetime, timedelta

from modelbook.core.errors import ModelbookError
from modelbook.handbook.loader import LAST_SOURCE_TOPIC, LAST_TOPIC, PARTS
from modelbook.quiz.cards import Card, all_cards
from modelbook.quiz.progress import RATINGS, STATES, Progress, end_of_day, now, start_of_day

GRADES = {"1": 1, "2": 2, "3": 3, "4": 4, "a": 1, "h": 2, "g": 3, "e": 4,
          "again": 1, "hard": 2, "good": 3, "easy": 4}
KIND = {"question": {"en": "question", "zh": "问题"}, "followup": {"en": "follow-up", "zh": "追问"}}


def parse_topics(spec: str | None) -> set[int] | None:
    """"2,33" or "30-36" -> {2, 33} / {30..36}; 23 counts as 2 (the same question). 41-48: beyond the source."""
    if not spec:
        return None
    out: set[int] = set()
    for part in spec.replace(" ", "").split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        try:
            a, b = int(lo), int(hi or lo)
        except ValueError:
            raise ModelbookError(f"--topics {spec!r}: use numbers and ranges, e.g. 2,27-28") from None
        if not (1 <= a <= b <= LAST_TOPIC):
            raise ModelbookError(f"--topics {spec!r}: topics are numbered 1 to {LAST_TOPIC}")
        out.update(range(a, b + 1))
    return {2 if n == 23 else n for n in out}


def select(langs: tuple[str, ...], topics: set[int] | None) -> list[Card]:
    cards = all_cards(langs, topics)
    if not cards:
        raise ModelbookError("no cards to practise: the selected topics have no written answers yet "
                             "(see `modelbook list`)")
    return cards


def plan(progress: Progress, cards: list[Card], new_per_day: int, when: datetime) -> list[Card]:
    """Due cards, most overdue first, then new cards (topic order) up to what today's limit leaves."""
    states = progress.states()
    due = sorted((c for c in cards if c.key in states and states[c.key]["due"] <= when), key=lambda c: states[c.key]["due"])
    budget = max(0, new_per_day - progress.new_cards_introduced_since(start_of_day(when)))
    new = [c for c in cards if c.key not in states][:budget]
    return due + new


def _in_words(delta: timedelta) -> str:
    s = delta.total_seconds()
    if s < 3600:
        return f"{max(1, round(s / 60))} min"
    if s < 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.0f} days"


def run_session(console, langs: tuple[str, ...], topics: set[int] | None, new_per_day: int, read=input) -> int:
    """The interactive loop. Returns the number of answers saved.

    Questions and answers are rendered as `modelbook show` renders an entry (report.markdown.terminal: Markdown
    with emphasis that works beside Chinese punctuation, $LaTeX$ as Unicode)."""
    from rich.rule import Rule
    from rich.text import Text

    from modelbook.core.store import Store
    from modelbook.handbook.loader import fill_values
    from modelbook.report.markdown import terminal

    cards = select(langs, topics)
    progress = Progress()
    queue = deque(plan(progress, cards, new_per_day, now()))
    if not queue:
        _nothing_due(console, progress, cards)
        return 0
    lookup = Store().latest_value_lookup()
    console.print(f"{len(queue)} cards to practise. Enter shows the answer; grade 1 again, 2 hard, 3 good, 4 easy; q quits.",
                  highlight=False)
    saved: Counter = Counter()
    shown = 0
    while queue:
        card = queue.popleft()
        shown += 1
        where = f"topic {card.topic}" + (f" ({PARTS['beyond'][card.lang]})" if card.topic > LAST_SOURCE_TOPIC else "")
        console.print(Rule(Text(f"{shown} · {where} · {KIND[card.kind][card.lang]} · {card.lang}"), align="left"))
        console.print(Text(card.title, style="dim"))
        console.print(terminal(card.front))
        started = time.monotonic()
        if _ask(read, "[Enter] answer · q quit > ") == "q":
            break
        console.print(terminal(fill_values(card.back, lookup)))
        while True:
            answer = _ask(read, "grade 1 again · 2 hard · 3 good · 4 easy · q quit > ")
            if answer == "q" or answer in GRADES:
                break
            console.print("type 1, 2, 3 or 4 (or a, h, g, e)", highlight=False)
        if answer == "q":
            break
        rating = GRADES[answer]
        when = now()
        rec = progress.record(card, rating, when, duration_ms=int((time.monotonic() - started) * 1000))
        saved[rating] += 1
        # Printed only after the commit returned: an acknowledged answer is on disk.
        console.print(f"saved #{rec.review_id} {card.key} {RATINGS[rating]} · next review in {_in_words(rec.due - when)}",
                      highlight=False)
        if rating == 1:
            queue.append(card)
    total = sum(saved.values())
    parts = ", ".join(f"{RATINGS[r]} {saved[r]}" for r in sorted(saved))
    console.print(f"\n{total} answers saved" + (f" ({parts})" if parts else "") + ". `modelbook quiz stats` shows what is due.",
                  highlight=False)
    progress.close()
    return total


def _ask(read, prompt: str) -> str:
    try:
        return read(prompt).strip().lower()
    except EOFError:
        return "q"


def _nothing_due(console, progress: Progress, cards: list[Card]) -> None:
    states = progress.states()
    upcoming = sorted(states[c.key]["due"] for c in cards if c.key in states)
    when = now()
    msg = "Nothing due now"
    if any(c.key not in states for c in cards):
        msg += " and today's new cards are done (raise --limit for more)"
    if upcoming:
        msg += f"; the next card is due in {_in_words(max(upcoming[0] - when, timedelta(0)))}"
    console.print(msg + ".", highlight=False)


# -- stats ------------------------------------------------------------------------------------------
def stats(langs: tuple[str, ...], topics: set[int] | None) -> dict:
    """Counts, due cards and retention, per language and in total (also what `quiz stats --json` prints)."""
    cards = all_cards(langs, topics)
    progress = Progress()
    when = now()
    states = progress.states()
    keys = {c.key for c in cards}
    recent = [r for r in progress.reviews(when - timedelta(days=30)) if r[1] in keys]
    out: dict = {"now": when.isoformat(timespec="seconds"), "by_lang": {}}
    for lang in (*langs, "all"):
        group = [c for c in cards if lang == "all" or c.lang == lang]
        seen = [states[c.key] for c in group if c.key in states]
        group_keys = {c.key for c in group}
        mature = [r for r in recent if r[1] in group_keys and r[4] == 2]  # reviews of cards in the review state
        predicted = [progress.retrievability(s["card_json"], when) for s in seen if s["state"] == 2]
        out["by_lang"][lang] = {
            "cards": len(group),
            "new": len(group) - len(seen),
            **{STATES[k]: sum(s["state"] == k for s in seen) for k in STATES},
            "due_now": sum(s["due"] <= when for s in seen),
            "due_today": sum(s["due"] < end_of_day(when) for s in seen),
            "due_7_days": sum(s["due"] < when + timedelta(days=7) for s in seen),
            "reviews_today": sum(r[3] >= start_of_day(when).isoformat(timespec="seconds") for r in recent if r[1] in group_keys),
            "reviews_30_days": sum(r[1] in group_keys for r in recent),
            # true retention: share of reviews of mature cards (review state) not graded "again", last 30 days
            "retention_30_days": (sum(r[2] > 1 for r in mature) / len(mature)) if mature else None,
            "mature_reviews_30_days": len(mature),
            # FSRS's predicted probability of recalling each review-state card right now, averaged
            "predicted_retention_now": (sum(predicted) / len(predicted)) if predicted else None,
        }
    upcoming = sorted(states[k]["due"] for k in keys if k in states and states[k]["due"] > when)
    out["next_due"] = upcoming[0].isoformat(timespec="seconds") if upcoming else None
    progress.close()
    return out


def print_stats(console, data: dict) -> None:
    from rich.table import Table

    stamp = data["now"][:16].replace("T", " ")
    table = Table(title=f"quiz progress ({stamp} UTC)", title_justify="left")
    rows = [("cards", "cards"), ("new (never seen)", "new"), ("learning", "learning"), ("relearning", "relearning"),
            ("review", "review"), ("due now", "due_now"), ("due by end of day (UTC)", "due_today"),
            ("due within 7 days", "due_7_days"), ("reviews today", "reviews_today"), ("reviews, last 30 days", "reviews_30_days"),
            ("retention, last 30 days", "retention_30_days"), ("predicted retention now", "predicted_retention_now")]
    table.add_column("")
    for lang in data["by_lang"]:
        table.add_column(lang, justify="right")
    for label, key in rows:
        cells = []
        for lang, d in data["by_lang"].items():
            v = d[key]
            if key == "retention_30_days":
                cells.append("—" if v is None else f"{v:.0%} of {d['mature_reviews_30_days']}")
            elif key == "predicted_retention_now":
                cells.append("—" if v is None else f"{v:.0%}")
            else:
                cells.append(str(v))
        table.add_row(label, *cells)
    console.print(table)
    console.print("retention: share of reviews of cards in the review state not graded 'again'. "
                  + (f"Next card due {data['next_due'][:16].replace('T', ' ')} UTC." if data["next_due"] else ""), highlight=False)
