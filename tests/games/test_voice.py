"""Voice commands → moves (no recogniser is trained here: the mapping and the play loop only)."""
import numpy as np
import pytest

from modelbook.core.errors import ModelbookError
from modelbook.games import levels, voice
from modelbook.speech.corpus import COMMANDS, command_text


def test_command_text_to_move():
    assert voice.command_to_move("go left") == "l"
    assert voice.command_to_move("  Move   UP ") == "u"
    assert voice.command_to_move("向右走") == "r" and voice.command_to_move("向 下 移") == "d"
    for text in ("turn left", "look down", "stop", "jump", "go", "left", "go left left", "", "go sideways", "向左看"):
        assert voice.command_to_move(text) is None, text


def test_every_corpus_command_maps_the_same_in_both_languages():
    moving = {c for c in COMMANDS if voice.command_to_move(c) is not None}
    assert moving == {f"{v} {d}" for v in ("go", "move") for d in ("up", "down", "left", "right")}
    for c in COMMANDS:
        assert voice.command_to_move(command_text(c, "zh")) == voice.command_to_move(c), c


def test_play_from_true_transcripts_solves_and_a_wrong_word_fails():
    room = levels.reverse_play(np.random.default_rng(3), 7, 7, 2, 40)
    path, _ = levels.solve_bfs(room)
    names = {v: k for k, v in voice.DIRECTIONS.items()}
    spoken = [f"go {names[m.lower()]}" for m in path]
    assert voice.solved(voice.play(room, spoken))
    assert voice.play(room, spoken) == levels.apply_moves(room, path)
    broken = ["stop"] + spoken[1:]  # the first command misheard: no move, the rest is off by one
    assert not voice.solved(voice.play(room, broken))
    heard = {m: [f"move {names[m]}"] for m in "udlr"}
    assert voice.play_by_voice([room], [path], heard, np.random.default_rng(0)) == (1.0, 1.0)
    heard["u"] = heard["d"] = heard["l"] = heard["r"] = ["fire"]
    done, right = voice.play_by_voice([room], [path], heard, np.random.default_rng(0))
    assert done == 0.0 and right == 0.0
    with pytest.raises(ModelbookError):
        voice.play_by_voice([room], [path], {"u": ["go up"]}, np.random.default_rng(0))
