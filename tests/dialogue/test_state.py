"""State tracking: the understanding step on each kind of phrasing, the three update rules, the metrics."""
import pytest

from modelbook.dialogue.handwritten import CONVERSATIONS
from modelbook.dialogue.scripts import conversations
from modelbook.dialogue.state import DONTCARE, TRACKERS, joint_goal_accuracy, shift_time, slot_accuracy, track, understand, update


@pytest.mark.parametrize("text,values", [
    ("I'd like Italian food in the city center.", {"food": "italian", "area": "centre"}),
    ("Sorry, not Thai, I meant Indian.", {"food": "indian"}),
    ("Actually, make it Chinese instead of Mexican.", {"food": "chinese"}),
    ("A table for four on Friday at 7:30 pm.", {"people": "4", "day": "friday", "time": "19:30"}),
    ("There will be 6 of us, around 18:00.", {"people": "6", "time": "18:00"}),
    ("Something inexpensive, please.", {"price": "cheap"}),
    ("Thanks!", {}),
])
def test_understanding_absolute_values(text, values):
    assert understand(text).values == values


def test_relative_changes_and_dontcare():
    u = understand("Two more people are coming.")
    assert u.people_delta == 2 and "people" not in u.values
    assert understand("Half an hour later would be better.").time_delta == 30
    assert understand("Make it an hour earlier, please.").time_delta == -60
    assert understand("I don't mind the area.").dontcare == {"area"}
    assert understand("Any cuisine is fine but it must be cheap.").dontcare == {"food"}


def test_the_three_update_rules():
    state = {"food": "italian", "people": "2", "time": "19:00"}
    correction = understand("Sorry, not Italian, I meant Thai. One more person is joining us.")
    assert update(state, correction, "turn-only") == {"food": "thai"}
    assert update(state, correction, "first-value") == state
    assert update(state, correction, "carry-over") == {"food": "thai", "people": "3", "time": "19:00"}
    assert update({}, understand("Any price range is fine."), "carry-over") == {"price": DONTCARE}
    assert shift_time("23:30", 60) == "00:30"


def test_generated_conversations_are_deterministic_and_varied():
    a, b = conversations(50, seed=3), conversations(50, seed=3)
    assert [[t.user for t in c] for c in a] == [[t.user for t in c] for c in b]
    acts = {t.act for c in a for t in c}
    assert acts == {"inform", "correct", "dontcare", "more", "shift", "chitchat"}


def test_carry_over_is_exact_on_generated_conversations_and_memory_matters():
    convs = conversations(200, seed=0)
    gold = [t.state for c in convs for t in c]
    jga = {tr: joint_goal_accuracy([s for c in convs for s in track([t.user for t in c], tr)], gold) for tr in TRACKERS}
    assert jga["carry-over"] == 1.0
    assert jga["turn-only"] < 0.35 < jga["first-value"] < 0.6


def test_handwritten_conversations_show_what_the_matcher_misses():
    gold = [t.state for c in CONVERSATIONS for t in c]
    pred = [s for c in CONVERSATIONS for s in track([t.user for t in c], "carry-over")]
    assert len(gold) == 55
    misses = {t.user for c, p in zip(CONVERSATIONS, [track([t.user for t in c], "carry-over") for c in CONVERSATIONS])
              for t, s in zip(c, p) if s != t.state}
    # phrasings the lexicon matcher was not written for; an error then stays in the state (carried forward)
    assert "Two of us, at half past seven in the evening." in misses
    assert "Price isn't important." in misses
    assert "We'll be 4." in misses
    assert "Spanish, and not too expensive." in misses
    assert joint_goal_accuracy(pred, gold) == pytest.approx(43 / 55)
    assert slot_accuracy(pred, gold) > 0.95


def test_metric_definitions():
    gold = [{"a": "1"}, {"a": "1", "b": "2"}]
    assert joint_goal_accuracy([{"a": "1"}, {"a": "1"}], gold) == 0.5
    assert slot_accuracy([{"a": "1"}, {"a": "1"}], gold, slots=("a", "b")) == 0.75
    with pytest.raises(ValueError):
        joint_goal_accuracy([], [])
