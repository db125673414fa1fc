"""Solving tic-tac-toe: every reachable position's minimax value, by exhaustive search and by alpha-beta.

Negamax form: the value of a position is for the player to move, v(s) = max_a −v(play(s, a)), and a finished
position's value is its outcome. Exhaustive search visits every move of every position (a memo table keyed by
the board keeps it to the 5,478 distinct positions). Alpha-beta keeps a window (α, β) of values that can still
change the choice higher up: once one move reaches β the remaining ones are skipped (a cut-off), so it returns the
exact value when it lies inside the window and only a bound outside it; called with the full window (−1, +1)
at a position it returns that position's exact value.
"""
from __future__ import annotations

import numpy as np


def exhaustive_values(game) -> dict:
    """{state: minimax value for the player to move} for every position reachable from the start."""
    memo: dict = {}

    def value(s):
        if s in memo:
            return memo[s]
        out = game.outcome(s)
        v = out if out is not None else max(-value(game.play(s, a)) for a in game.legal(s))
        memo[s] = v
        return v

    value(game.initial())
    return memo


class AlphaBeta:
    """Alpha-beta negamax with a count of the positions it visits (to show the pruning)."""

    def __init__(self, game, move_order=None):
        self.game, self.nodes = game, 0
        self.move_order = move_order   # optional: a function ordering the legal moves (better order, more cut-offs)

    def value(self, s, alpha: float = -1.0, beta: float = 1.0) -> float:
        self.nodes += 1
        out = self.game.outcome(s)
        if out is not None:
            return out
        moves = self.game.legal(s)
        if self.move_order:
            moves = self.move_order(s, moves)
        best = -2.0
        for a in moves:
            v = -self.value(self.game.play(s, a), -beta, -alpha)
            if v > best:
                best = v
            alpha = max(alpha, v)
            if alpha >= beta:
                break       # the opponent will never allow this line: the other moves cannot matter
        return best

    def best_moves(self, s) -> list[int]:
        """Every move whose exact value equals the position's value (the optimal moves)."""
        target = self.value(s)
        return [a for a in self.game.legal(s) if -self.value(self.game.play(s, a)) == target]


def optimal_move_rates(game, values: dict, agents: dict, n_positions: int, rng) -> dict:
    """{name: 0/1 array}: whether each agent's move is minimax-optimal in n_positions positions drawn without
    replacement from the unfinished ones in `values` (exhaustive_values), the exact solution as the referee."""
    open_positions = [s for s in values if game.outcome(s) is None]
    picks = [open_positions[i] for i in rng.choice(len(open_positions), n_positions, replace=False)]
    grader = AlphaBeta(game)
    best = {s: set(grader.best_moves(s)) for s in picks}
    hist = {s: game.history(s) for s in picks}
    return {k: np.array([a.act(game, hist[s], rng) in best[s] for s in picks], float) for k, a in agents.items()}
