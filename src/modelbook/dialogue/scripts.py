"""Scripted multi-turn restaurant-booking conversations with the gold state after every user turn.

Each conversation is built act by act from a seeded generator, so the gold state is known exactly: inform a
new slot (several phrasings, synonyms, numbers in digits or words, 12- or 24-hour clock), correct an earlier
value (often naming the old one: "not Italian, I meant Thai"), say a slot does not matter, change a value
relative to the previous one ("one more person", "an hour later") or say nothing about the slots at all.
Corrections and relative changes are what a tracker without memory, or without overwriting, gets wrong.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modelbook.dialogue.state import DONTCARE, LEXICON, NUMBERS, shift_time

WORDS = {v: k for k, v in NUMBERS.items()}
SYNONYMS = {"cheap": ("cheap", "inexpensive", "budget"), "moderate": ("moderate", "moderately priced", "mid-range"),
            "expensive": ("expensive", "upscale", "high-end")}
INFORM = {
    "food": ("I'd like {v} food.", "Do you know a good {v} place?", "I'm in the mood for {v}.",
             "Let's go with {v} cuisine.", "Any {v} restaurants around?"),
    "area": ("Somewhere in the {v}, please.", "It should be in the {v} of town.", "I'm staying in the {v}.",
             "The {v} part of the city would be best."),
    "price": ("Something {v}, please.", "I'd prefer a {v} place.", "My budget is {v}.", "Price range: {v}."),
    "people": ("A table for {v}.", "There will be {v} of us.", "We are a party of {v}.", "For {v} people, please."),
    "day": ("On {v}.", "We'd like to come on {v}.", "Is {v} possible?", "{V} works for us."),
    "time": ("At {v}.", "Around {v}, please.", "Can we do {v}?", "We'd arrive at {v}."),
}
CORRECT = {
    "food": ("Actually, make it {v} instead of {old}.", "Sorry, not {old}, I meant {v}.",
             "On second thought, {v} sounds better than {old}."),
    "area": ("Actually, the {v} would be better.", "Change the area to the {v}, please."),
    "price": ("Hmm, let's go {v} instead.", "Actually, something {v} rather than {old}."),
    "people": ("Sorry, we'll be {v} people after all.", "Change that to {v} people."),
    "day": ("Actually, make it {v}.", "Can we move it to {v} instead of {old}?"),
    "time": ("Let's change the time to {v}.", "Actually, {v} would suit us better."),
}
DONTCARE_PHRASES = {"area": ("I don't mind the area.", "Any part of town is fine."),
                    "price": ("The price doesn't matter.", "Any price range is fine."),
                    "food": ("I'm happy with any cuisine.", "The kind of food doesn't matter.")}
MORE = ("One more person is joining us.", "{k} more people are coming.")
SHIFT = (("Can we make it an hour later?", 60), ("Half an hour later would be better.", 30),
         ("Make it an hour earlier, please.", -60))
CHITCHAT = ("Thanks!", "Hmm, let me think.", "That sounds good.", "Great.", "Okay, and what else do you need?")
TIMES = [f"{h:02d}:{m:02d}" for h in range(17, 22) for m in (0, 30)]


@dataclass(frozen=True)
class Turn:
    user: str
    state: dict
    """gold state after this turn"""
    act: str


def _say_value(slot: str, value: str, rng: np.random.Generator) -> str:
    if slot == "people":
        n = int(value)
        return WORDS[n] if n in WORDS and rng.random() < 0.5 else str(n)
    if slot == "time":
        h, m = map(int, value.split(":"))
        if rng.random() < 0.5:
            return value  # 24-hour clock
        return f"{h - 12}{'' if m == 0 else f':{m:02d}'} pm"
    if slot == "price":
        return str(rng.choice(SYNONYMS[value]))
    if slot == "area" and value == "centre" and rng.random() < 0.5:
        return "center"
    if slot in ("food", "day"):
        return value.capitalize()  # Italian, Friday
    return value


def _new_value(slot: str, rng: np.random.Generator, avoid: str | None = None) -> str:
    if slot == "people":
        options = [str(n) for n in range(1, 9)]
    elif slot == "time":
        options = TIMES
    else:
        options = sorted(set(LEXICON[slot].values()))
    return str(rng.choice([o for o in options if o != avoid]))


def _fill(template: str, value: str) -> str:
    text = template.replace("{v}", value).replace("{V}", value.capitalize())
    return text[0].upper() + text[1:]


def conversation(rng: np.random.Generator, n_turns: int) -> list[Turn]:
    """One scripted conversation of n_turns user turns."""
    state: dict[str, str] = {}
    turns: list[Turn] = []
    for t in range(n_turns):
        unset = [s for s in INFORM if s not in state]
        set_ = [s for s in state if state[s] != DONTCARE]
        acts = ["inform"] * 4 if t == 0 else (["inform"] * 3 * bool(unset) + ["correct"] * 2 * bool(set_)
                                              + ["dontcare"] * bool(set(unset) & set(DONTCARE_PHRASES))
                                              + ["more"] * ("people" in set_) + ["shift"] * ("time" in set_)
                                              + ["chitchat"])
        act = str(rng.choice(acts))
        if act == "inform":
            slot = str(rng.choice(unset))
            value = _new_value(slot, rng)
            text = _fill(str(rng.choice(INFORM[slot])), _say_value(slot, value, rng))
            state[slot] = value
        elif act == "correct":
            slot = str(rng.choice(set_))
            old, value = state[slot], _new_value(slot, rng, avoid=state[slot])
            template = str(rng.choice(CORRECT[slot]))
            text = _fill(template, _say_value(slot, value, rng)).replace("{old}", _say_value(slot, old, rng))
            state[slot] = value
        elif act == "dontcare":
            slot = str(rng.choice(sorted(set(unset) & set(DONTCARE_PHRASES))))
            text = str(rng.choice(DONTCARE_PHRASES[slot]))
            state[slot] = DONTCARE
        elif act == "more":
            k = int(rng.integers(1, 4))
            text = MORE[0] if k == 1 else MORE[1].replace("{k}", WORDS[k].capitalize())
            state["people"] = str(int(state["people"]) + k)
        elif act == "shift":
            text, minutes = SHIFT[int(rng.integers(len(SHIFT)))]
            state["time"] = shift_time(state["time"], minutes)
        else:
            text = str(rng.choice(CHITCHAT))
        turns.append(Turn(text, dict(state), act))
    return turns


def conversations(n: int, seed: int, min_turns: int = 4, max_turns: int = 8) -> list[list[Turn]]:
    rng = np.random.default_rng(seed)
    return [conversation(rng, int(rng.integers(min_turns, max_turns + 1))) for _ in range(n)]
