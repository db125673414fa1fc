"""Dialogue state tracking: what the user wants so far, as slot → value, updated turn by turn.

The state after turn t is the user's goal given the whole conversation: b_t = update(b_{t−1}, NLU(u_t)).
Three trackers that differ only in `update`, with the same understanding of each utterance:

  turn-only     b_t = NLU(u_t)                      no memory: a slot said two turns ago is lost
  first-value   b_t = NLU(u_t) ∪ b_{t−1}, old wins   memory, but a correction ("actually, Friday") is ignored
  carry-over    b_t = b_{t−1} ⊕ NLU(u_t), new wins  plus relative updates ("one more person", "an hour later")
                                                   that need the previous value to mean anything

Joint goal accuracy (JGA, the MultiWOZ measure, Budzianowski et al. 2018) is the share of turns where the
whole predicted state equals the gold state: one wrong slot makes the turn wrong, and an error that is carried
forward keeps counting, so JGA is much stricter than per-slot accuracy.

The understanding step (`understand`) is a lexicon-and-pattern matcher for a restaurant-booking ontology:
values and their synonyms, numbers in digits or words, clock times, negations ("not Italian", "instead of"),
"don't care" phrases and relative changes. Production systems learn this step (a tagger, or an LLM asked for
the state as JSON under a schema); the update rule and the evaluation are the same.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

DONTCARE = "dontcare"
SLOTS = ("food", "area", "price", "people", "day", "time")
LEXICON = {
    "food": {w: w for w in ("italian", "chinese", "indian", "french", "thai", "mexican", "japanese", "spanish")},
    "area": {"north": "north", "south": "south", "east": "east", "west": "west", "centre": "centre", "center": "centre"},
    "price": {"cheap": "cheap", "inexpensive": "cheap", "budget": "cheap", "moderate": "moderate",
              "moderately": "moderate", "mid-range": "moderate", "expensive": "expensive", "upscale": "expensive",
              "high-end": "expensive"},
    "day": {d: d for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")},
}
NUMBERS = {w: i for i, w in enumerate(("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                                       "ten"))}
_NEGATED = re.compile(r"\b(?:not|instead of|rather than|than)\s+(?:the\s+)?([\w-]+)")
_PEOPLE = (r"table for (\w+)", r"(\w+) of us", r"party of (\w+)", r"for (\w+) people", r"be (\w+) people",
           r"(\w+) people", r"book it for (\w+)", r"to (\w+) people")
_MORE = re.compile(r"\b(\w+) more (?:person|people|guests?)\b")
_CLOCK = re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s*(am|pm)\b|\b(\d{1,2}):(\d{2})\b")
_SHIFT = ((r"half an hour later", 30), (r"an hour later", 60), (r"half an hour earlier", -30), (r"an hour earlier", -60))
_DONTCARE = re.compile(r"don't mind|doesn't matter|does not matter|any |whatever|no preference|happy with any")
_SLOT_WORDS = {"area": ("area", "town", "part of", "location", "where"), "price": ("price", "budget", "cost"),
               "food": ("food", "cuisine", "kind of")}


@dataclass
class Understanding:
    values: dict[str, str] = field(default_factory=dict)
    """slots given an absolute value in this utterance"""
    dontcare: set[str] = field(default_factory=set)
    people_delta: int = 0
    time_delta: int = 0
    """minutes"""


def _number(word: str) -> int | None:
    return int(word) if word.isdigit() else NUMBERS.get(word)


def _clock(match) -> str:
    if match.group(4):  # 24-hour "19:30"
        hour, minute = int(match.group(4)), int(match.group(5))
    else:
        hour, minute = int(match.group(1)) % 12, int(match.group(2) or 0)
        hour += 12 if match.group(3) == "pm" else 0
    return f"{hour:02d}:{minute:02d}"


def shift_time(value: str, minutes: int) -> str:
    h, m = map(int, value.split(":"))
    total = (h * 60 + m + minutes) % (24 * 60)
    return f"{total // 60:02d}:{total % 60:02d}"


def understand(utterance: str) -> Understanding:
    """What this one utterance says about the slots, without looking at the conversation."""
    text = utterance.lower().replace("’", "'")
    out = Understanding()
    negated = set(_NEGATED.findall(text))
    words = re.findall(r"[\w-]+", text)
    for slot, lexicon in LEXICON.items():
        found = [lexicon[w] for w in words if w in lexicon and w not in negated]
        if found:
            out.values[slot] = found[-1]  # "not Thai but Indian": the last value not negated
    more = _MORE.search(text)
    if more and _number(more.group(1)) is not None:
        out.people_delta = _number(more.group(1))
    else:
        for pattern in _PEOPLE:
            m = re.search(pattern, text)
            if m and _number(m.group(1)) is not None and 0 < _number(m.group(1)) <= 20:
                out.values["people"] = str(_number(m.group(1)))
                break
    clock = list(_CLOCK.finditer(text))
    if clock:
        out.values["time"] = _clock(clock[-1])
    for pattern, minutes in _SHIFT:
        if re.search(pattern, text):
            out.time_delta = minutes
            break
    if _DONTCARE.search(text):
        for slot, cues in _SLOT_WORDS.items():
            if slot not in out.values and any(c in text for c in cues):
                out.dontcare.add(slot)
    return out


TRACKERS = ("turn-only", "first-value", "carry-over")


def update(state: dict[str, str], u: Understanding, tracker: str) -> dict[str, str]:
    """The state after an utterance understood as `u`, for one of TRACKERS."""
    new = {s: DONTCARE for s in u.dontcare}
    new.update(u.values)
    if tracker == "turn-only":
        return new
    if tracker == "first-value":
        return {**new, **state}
    if tracker != "carry-over":
        raise ValueError(f"tracker must be one of {TRACKERS}")
    out = {**state, **new}
    if u.people_delta and out.get("people", DONTCARE) != DONTCARE:
        out["people"] = str(int(out["people"]) + u.people_delta)
    if u.time_delta and out.get("time", DONTCARE) != DONTCARE:
        out["time"] = shift_time(out["time"], u.time_delta)
    return out


def track(utterances: list[str], tracker: str) -> list[dict[str, str]]:
    """The predicted state after each user turn of one conversation."""
    state: dict[str, str] = {}
    states = []
    for u in utterances:
        state = update(state, understand(u), tracker)
        states.append(dict(state))
    return states


def joint_goal_accuracy(predicted: list[dict], gold: list[dict]) -> float:
    """Share of turns whose whole predicted state equals the gold state."""
    if len(predicted) != len(gold) or not gold:
        raise ValueError("one predicted state per gold turn, at least one turn")
    return sum(p == g for p, g in zip(predicted, gold)) / len(gold)


def slot_accuracy(predicted: list[dict], gold: list[dict], slots: tuple[str, ...] = SLOTS) -> float:
    """Share of (turn, slot) pairs right, an absent slot counting as right when it is absent from both."""
    pairs = [(p.get(s), g.get(s)) for p, g in zip(predicted, gold) for s in slots]
    return sum(a == b for a, b in pairs) / len(pairs)
