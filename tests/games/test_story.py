"""Constrained decoding: the allowed set equals a brute-force scan; with it every beat parses and respects the state."""
import pytest
import torch

from modelbook.decoding.strategies import random_tiny_lm
from modelbook.games import story


def _tiny():
    vocab = story.char_vocabulary() + ['{"', '"action": "', 'go', 'take', '"}', 'north"']
    eos = len(story.char_vocabulary()) - 1
    return vocab, story.TokenTable(vocab, eos)


def test_allowed_tokens_equal_a_scan_of_the_vocabulary():
    vocab, table = _tiny()
    state = story.StoryState()
    valid = [story.canonical(a, t) for a, t in state.legal()]
    for done in ("", '{"act', '{"action": "', '{"action": "go", "target": "north"}', '{"action": "take", "target": "l'):
        scan = {i for i, t in enumerate(vocab) if t and i != table.eos_id and any(v.startswith(done + t) for v in valid)}
        if done in valid:
            scan.add(table.eos_id)
        assert set(story.allowed_tokens(table, done, valid)) == scan


def test_constrained_always_parses_free_does_not():
    vocab, table = _tiny()
    model = random_tiny_lm(len(vocab), 0)
    index = {c: i for i, c in enumerate(vocab[:95])}
    rec = story.run_stories(model, lambda s: [index.get(c, 0) for c in s], table, 2, 3, 40, seed=1)
    assert story.rate(rec["con_parse"]) == 1.0 and story.rate(rec["con_respect"]) == 1.0
    # bite: the same model without the constraint writes nothing the engine can run
    assert story.rate(rec["free_parse"]) < 0.5


def test_state_machine_and_parser():
    s = story.StoryState()
    assert story.parse('{"action": "take", "target": "lamp"}', s) == (True, True)
    assert story.parse('{"action": "take", "target": "map"}', s) == (True, False)     # the map is in the tower
    assert story.parse('{"action": "fly", "target": "up"}', s) == (False, False)
    assert story.parse("take the lamp", s) == (False, False)
    s.apply("take", "lamp")
    s.apply("go", "north")
    assert s.location == "forest" and s.inventory == ["lamp"]
    with pytest.raises(ValueError):
        s.apply("take", "lamp")
    torch.manual_seed(0)
