"""OpenSpiel as the outside reference: its MCTS bot as an opponent, its game logic to enumerate positions.

OpenSpiel (Lanctot et al. 2019) is imported here only, lazily, so the rest of the package runs without it.
"""
from __future__ import annotations

import numpy as np

from modelbook.core.errors import missing_package


def _pyspiel():
    try:
        import pyspiel
    except ImportError as e:   # pragma: no cover - depends on the environment
        raise missing_package("open_spiel") from e
    return pyspiel


class OpenSpielMCTS:
    """OpenSpiel's MCTSBot (UCT, uct_c = c, random rollouts, one per leaf) replaying our moves on pyspiel's state."""

    def __init__(self, game_name: str, n_simulations: int, seed: int, c: float = 2.0):
        from open_spiel.python.algorithms import mcts

        pyspiel = _pyspiel()
        self.game = pyspiel.load_game(game_name)
        state = np.random.RandomState(seed % 2**32)
        self.bot = mcts.MCTSBot(self.game, c, n_simulations, mcts.RandomRolloutEvaluator(1, state),
                                random_state=state, solve=False)
        self.name = f"openspiel_mcts{n_simulations}"

    def act(self, game, actions, rng):
        s = self.game.new_initial_state()
        for a in actions:
            s.apply_action(int(a))
        return int(self.bot.step(s))


def tictactoe_boards() -> set[tuple]:
    """Every reachable tic-tac-toe board by OpenSpiel's rules (breadth-first, deduplicated by board)."""
    pyspiel = _pyspiel()
    game = pyspiel.load_game("tic_tac_toe")
    layer = {str(game.new_initial_state()): game.new_initial_state()}
    boards = set()
    while layer:
        nxt = {}
        for st in layer.values():
            boards.add(_board(st))
            if st.is_terminal():
                continue
            for a in st.legal_actions():
                child = st.child(a)
                nxt.setdefault(str(child), child)
        layer = nxt
    return boards


def _board(state) -> tuple:
    rows = str(state).split("\n")
    return tuple({".": 0, "x": 1, "o": 2}[ch] for row in rows for ch in row.strip())


def alpha_beta_value(board: tuple) -> float:
    """OpenSpiel's own alpha-beta (open_spiel.python.algorithms.minimax) from `board`, for the player to move."""
    from open_spiel.python.algorithms import minimax

    pyspiel = _pyspiel()
    game = pyspiel.load_game("tic_tac_toe")
    from modelbook.games.boards import TicTacToe

    s = game.new_initial_state()
    for a in TicTacToe().history(board):
        s.apply_action(a)
    to_move = sum(c != 0 for c in board) % 2
    if s.is_terminal():
        return float(s.returns()[to_move])
    v, _ = minimax.alpha_beta_search(game, state=s, maximizing_player_id=to_move)
    return float(v)
