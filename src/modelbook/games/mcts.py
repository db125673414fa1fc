"""UCT Monte Carlo tree search (Kocsis & Szepesvári 2006) with random rollouts, and fair matches.

One simulation: select from the root by UCT, argmax_a Q(s, a) + c·sqrt(ln N(s) / N(s, a)), until a node has an
untried move; expand one untried move; play uniformly random moves to the end (the rollout); back the result
up the path, its sign flipping at every ply (each node keeps the value for the player who moved into it).
After the simulations, the move played is the root child with the most visits. Rewards are in [−1, 1], the
range OpenSpiel's MCTSBot uses, so the same exploration constant c means the same thing in both.

A player is an object with act(game, actions_so_far, rng) -> action. A match alternates colours game by game
(the first player wins most connect-four games), optionally after a few uniformly random opening plies shared
by both games of a pair, and scores win 1, draw ½, loss 0 from the first player's view.
"""
from __future__ import annotations

import math

import numpy as np

from modelbook.games.boards import replay


class _Node:
    __slots__ = ("children", "untried", "visits", "value")

    def __init__(self, untried):
        self.children: dict = {}
        self.untried = list(untried)
        self.visits = 0
        self.value = 0.0        # summed result for the player who moved INTO this node


def uct_search(game, root_state, n_simulations: int, rng: np.random.Generator, c: float = 2.0,
               sign: float = 1.0) -> dict:
    """Run UCT from root_state; returns {action: visit count}. sign=-1 breaks the backup (for tests)."""
    root = _Node(game.legal(root_state))
    rng_random, rng_int = rng.random, rng.integers
    for _ in range(n_simulations):
        node, s, path = root, root_state, [root]
        while not node.untried and node.children:                       # 1. select
            log_n = math.log(node.visits)
            best, best_score = None, -math.inf
            for a, ch in node.children.items():
                score = ch.value / ch.visits + c * math.sqrt(log_n / ch.visits)
                if score > best_score:
                    best, best_score = a, score
            node = node.children[best]
            s = game.play(s, best)
            path.append(node)
        if node.untried:                                                  # 2. expand
            a = node.untried.pop(int(rng_int(len(node.untried))))
            s = game.play(s, a)
            child = _Node(game.legal(s))
            node.children[a] = child
            node = child
            path.append(node)
        out, flip = game.outcome(s), 1.0                                  # 3. random rollout
        while out is None:
            moves = game.legal(s)
            s = game.play(s, moves[int(rng_random() * len(moves))])
            flip = -flip
            out = game.outcome(s)
        v = out * flip                     # result for the player to move at the expanded node
        for n in reversed(path):                                          # 4. back up
            n.visits += 1
            v = -v                          # the mover into n is the other player
            n.value += sign * v
    return {a: ch.visits for a, ch in root.children.items()}


def most_visited(counts: dict, rng: np.random.Generator) -> int:
    top = max(counts.values())
    best = [a for a, n in counts.items() if n == top]
    return best[int(rng.integers(len(best)))]


class RandomPlayer:
    name = "random"

    def act(self, game, actions, rng):
        moves = game.legal(replay(game, actions))
        return moves[int(rng.integers(len(moves)))]


class UCTPlayer:
    def __init__(self, n_simulations: int, c: float = 2.0, sign: float = 1.0, name: str = "uct"):
        self.n, self.c, self.sign, self.name = n_simulations, c, sign, name

    def act(self, game, actions, rng):
        s = replay(game, actions)
        moves = game.legal(s)
        if len(moves) == 1:
            return moves[0]
        return most_visited(uct_search(game, s, self.n, rng, self.c, self.sign), rng)


def play_game(game, first, second, rng: np.random.Generator, opening: tuple = ()) -> float:
    """One game from the opening moves; returns the first player's score (1, ½ or 0)."""
    actions, players = list(opening), (first, second)
    s = replay(game, actions)
    while game.outcome(s) is None:
        a = players[game.to_move(s)].act(game, actions, rng)
        actions.append(a)
        s = game.play(s, a)
    out = game.outcome(s)
    if out == 0:
        return 0.5
    mover_won = game.to_move(s) == 1     # outcome −1: the player to move lost, so the one who moved last won
    return 1.0 if mover_won else 0.0


def random_opening(game, plies: int, rng: np.random.Generator) -> tuple:
    s, acts = game.initial(), []
    for _ in range(plies):
        moves = game.legal(s)
        if not moves:
            break
        a = moves[int(rng.integers(len(moves)))]
        acts.append(a)
        s = game.play(s, a)
    return tuple(acts) if game.outcome(s) is None else ()


def match(game, a, b, n_pairs: int, rng: np.random.Generator, opening_plies: int = 0) -> np.ndarray:
    """2·n_pairs games of a vs b, colours swapped within each pair (same opening); a's scores, pair by pair (n, 2)."""
    scores = np.zeros((n_pairs, 2))
    for i in range(n_pairs):
        opening = random_opening(game, opening_plies, rng)
        scores[i, 0] = play_game(game, a, b, rng, opening)
        scores[i, 1] = 1.0 - play_game(game, b, a, rng, opening)
    return scores


def score_interval(pair_scores: np.ndarray) -> tuple[float, float, float]:
    """(mean, low, high): a Student-t 95% interval over the pair means (a pair is the unit: same opening, both
    colours), floored at ±1/(2·games): pairs that all end alike have no spread but are not exact."""
    from modelbook.evaluation.uncertainty import student_t_margin

    per_pair = np.asarray(pair_scores, float).reshape(len(pair_scores), -1).mean(1)
    m = float(per_pair.mean())
    half = student_t_margin(per_pair, 0.975) if len(per_pair) > 1 else 1.0
    half = max(half, 0.5 / np.asarray(pair_scores).size)
    return m, float(m - half), float(m + half)


def score_lower_bound(pair_scores: np.ndarray, confidence: float = 0.95) -> float:
    """One-sided lower confidence bound on the expected score from the pair means (each in [0, 1]):
    evaluation.uncertainty.bounded_mean_lower_bound (Hoeffding 1963). Against a weak opponent scores in {0, ½, 1}
    pile up at 1, where a Student-t interval's sample spread is 0 (all pairs won) or set by a single lost pair."""
    from modelbook.evaluation.uncertainty import bounded_mean_lower_bound

    return bounded_mean_lower_bound(np.asarray(pair_scores, float).reshape(len(pair_scores), -1).mean(1), confidence)
