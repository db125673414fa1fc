"""Voice commands for the Sokoban-like rooms: a recognised command's text becomes a move, and a room is played
to the end from spoken commands.

The command grammar is the speech corpus's (modelbook.speech.corpus): a verb and a direction ("go left",
"move up"; Mandarin "向左走", "向上移") or a single word ("stop", "jump"). Only "go"/"move" (走/移) with a
direction moves the player; every other command, and any text outside the grammar, is no move at all: a game
acts on a command it understands and ignores the rest, rather than guessing.

Playing by voice: for each move of a room's optimal solution one utterance of a moving command in that
direction is drawn, its recognised text is mapped to a move and applied (an illegal or missing move leaves the
room as it is; a command outside the grammar is said again, up to three times). A room counts as completed when
every box ends on a goal. Played from the true transcripts, every room is completed; the gap to that is what recognition errors cost.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from modelbook.core.errors import ModelbookError
from modelbook.games import levels

DIRECTIONS = {"up": "u", "down": "d", "left": "l", "right": "r"}
MOVE_VERBS = ("go", "move")
ZH_DIRECTIONS = {"上": "u", "下": "d", "左": "l", "右": "r"}
ZH_VERBS = ("走", "移")


def command_to_move(text: str) -> str | None:
    """'go left' / 'move up' / '向左走' / '向上移' → 'l' / 'u'; anything else (other commands, noise) → None."""
    t = " ".join(str(text).lower().split())
    words = t.split(" ")
    if len(words) == 2 and words[0] in MOVE_VERBS and words[1] in DIRECTIONS:
        return DIRECTIONS[words[1]]
    t = t.replace(" ", "")
    if len(t) == 3 and t[0] == "向" and t[1] in ZH_DIRECTIONS and t[2] in ZH_VERBS:
        return ZH_DIRECTIONS[t[1]]
    return None


def step(level: levels.Level, move: str | None) -> levels.Level:
    """One move (u/d/l/r); an illegal move or None leaves the room unchanged."""
    if move is None:
        return level
    for name, q, boxes, _ in levels.successors(level, level.player, level.boxes):
        if name.lower() == move:
            return levels.Level(level.walls, level.goals, boxes, q, level.shape)
    return level


def solved(level: levels.Level) -> bool:
    return level.boxes == level.goals


def play(level: levels.Level, texts: Sequence[str]) -> levels.Level:
    """Apply each recognised command in turn."""
    for t in texts:
        level = step(level, command_to_move(t))
    return level


def play_by_voice(rooms: Sequence[levels.Level], solutions: Sequence[str], heard: dict[str, Sequence[str]],
                  rng: np.random.Generator, tries: int = 3) -> tuple[float, float]:
    """Play each room along its optimal solution, each move spoken by a random utterance from heard[move] (the
    recognised texts of utterances whose true command moves that way). A command the game does not understand
    does nothing, and the player says it again (a fresh utterance, up to `tries` in all); a command heard as the
    wrong move is carried out. Returns (share of rooms completed, share of intended moves carried out as meant)."""
    missing = [m for m in DIRECTIONS.values() if not heard.get(m)]
    if missing:
        raise ModelbookError(f"no utterance for the move(s) {', '.join(missing)}: the test voices need every direction")
    done, right, total = 0, 0, 0
    for room, path in zip(rooms, solutions):
        texts = []
        for m in path.lower():
            pool = heard[m]
            for _ in range(tries):
                texts.append(pool[int(rng.integers(len(pool)))])
                if command_to_move(texts[-1]) is not None:
                    break
            right += command_to_move(texts[-1]) == m
            total += 1
        done += solved(play(room, texts))
    return done / max(len(rooms), 1), right / max(total, 1)


def recognise_at_snr(transcribe: Callable[[np.ndarray], str], clips: Sequence[np.ndarray], snr_db: float | None,
                     seeds: Sequence[int]) -> list[str]:
    """Transcribe each clip as is (snr_db None) or with pink noise mixed in at snr_db (one seed per clip)."""
    from modelbook.speech import augment

    out = []
    for x, s in zip(clips, seeds):
        if snr_db is not None:
            x = augment.mix_at_snr(x, augment.coloured_noise("pink", len(x), np.random.default_rng(s)), snr_db)
        out.append(transcribe(x))
    return out


def heard_by_move(truth: Sequence[str], hyp: Sequence[str]) -> dict[str, list[str]]:
    """Recognised texts grouped by the move their true command makes (moving commands only)."""
    heard: dict[str, list[str]] = {}
    for t, h in zip(truth, hyp):
        m = command_to_move(t)
        if m is not None:
            heard.setdefault(m, []).append(h)
    return heard


def measure(truth: Sequence[str], hyp: Sequence[str], rooms: Sequence[levels.Level], solutions: Sequence[str],
            seed: int) -> dict[str, float]:
    """Command accuracy (exact transcript), move accuracy (same move or same no-move), WER, and the rooms played
    by voice: completed share and the share of spoken moves heard as intended."""
    from modelbook.speech.metrics import wer

    done, spoken_ok = play_by_voice(rooms, solutions, heard_by_move(truth, hyp), np.random.default_rng(seed))
    return {"command_accuracy": float(np.mean([h == t for h, t in zip(hyp, truth)])),
            "move_accuracy": float(np.mean([command_to_move(h) == command_to_move(t) for h, t in zip(hyp, truth)])),
            "wer": wer(truth, hyp), "completed_share": done, "spoken_move_accuracy": spoken_ok}


def train_on_unseen_voices(epochs: int, seed: int):
    """(recogniser, test subset): the speech corpus's English commands; a recogniser of the speech lab's design
    trained on the training voices only, because speech.recognizer.command_recognizer() (a tool for other labs)
    hears every voice, the test ones included."""
    from modelbook.speech import corpus as speech_corpus
    from modelbook.speech.recognizer import featurize, train_recognizer

    spec = speech_corpus.preset("small", languages=("en",), kinds=("command",), n_per_voice=24, seed=0)
    data = speech_corpus.build(spec)
    train, test = data.subset(split="train"), data.subset(split="test")
    rec = train_recognizer([featurize(train.audio(i, clean=True)) for i in range(len(train))],
                           [u.words for u in train.items], " ", epochs, seed=seed)
    return rec, test


def rooms_to_play(rng: np.random.Generator, n: int, size: int, n_boxes: int, steps: int = 40):
    """(rooms, optimal solutions) for n rooms by reverse play, the ones BFS cannot solve dropped."""
    rooms = [levels.reverse_play(rng, size, size, n_boxes, steps) for _ in range(n)]
    paths = [levels.solve_bfs(lv)[0] for lv in rooms]
    return [r for r, p in zip(rooms, paths) if p], [p for p in paths if p]


def measure_at_snrs(transcribe: Callable[[np.ndarray], str], test, snrs: Sequence[float], rooms, solutions,
                    seed: int) -> dict[str, dict[str, float]]:
    """measure() on the test utterances clean and at each SNR ({'clean': ..., 'snr10': ...}), each row with
    'wer_jiwer_gap', |our WER − jiwer's| on the same transcripts."""
    import jiwer

    truth = [u.text for u in test.items]
    clips = [test.audio(i, clean=True) for i in range(len(test))]
    seeds = [u.seed for u in test.items]
    rows = {}
    for snr in (None,) + tuple(snrs):
        hyp = recognise_at_snr(transcribe, clips, snr, seeds)
        m = measure(truth, hyp, rooms, solutions, seed)
        m["wer_jiwer_gap"] = abs(m["wer"] - jiwer.wer(truth, hyp))
        rows["clean" if snr is None else f"snr{snr:g}"] = m
    return rows
