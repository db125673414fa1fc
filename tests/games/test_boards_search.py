"""Tic-tac-toe solved and connect four's rules, against OpenSpiel on the same positions."""
import numpy as np
import pytest

from modelbook.games import minimax, reference
from modelbook.games.boards import ConnectFour, TicTacToe


@pytest.fixture(scope="module")
def values():
    return minimax.exhaustive_values(TicTacToe())


def test_tictactoe_is_a_draw_and_every_position_matches(values):
    """Alpha-beta on a sample of 500 positions: the lab's contract run holds it to exhaustive search at all 5,478."""
    game = TicTacToe()
    assert len(values) == 5478 and values[game.initial()] == 0
    assert set(values) == reference.tictactoe_boards()
    ab, boards = minimax.AlphaBeta(game), list(values)
    assert all(ab.value(boards[i]) == values[boards[i]] for i in np.random.default_rng(0).choice(5478, 500, replace=False))
    fresh = minimax.AlphaBeta(game)
    fresh.value(game.initial())
    assert fresh.nodes < 549_946 / 10          # pruning: far fewer than the unpruned tree's positions


def test_values_equal_openspiel_alpha_beta(values):
    rng = np.random.default_rng(3)
    boards = list(values)
    for i in rng.choice(len(boards), 12, replace=False):
        assert reference.alpha_beta_value(boards[i]) == values[boards[i]]


def test_a_broken_solver_is_caught(values):
    """Bite: forgetting the sign flip of negamax (max of the children's own values) disagrees with OpenSpiel."""
    game = TicTacToe()
    memo = {}

    def wrong(s):
        if s not in memo:
            out = game.outcome(s)
            memo[s] = out if out is not None else max(wrong(game.play(s, a)) for a in game.legal(s))
        return memo[s]

    wrong(game.initial())
    assert sum(memo[s] != v for s, v in values.items()) > 100


def test_history_reaches_finished_boards_legally():
    game = TicTacToe()
    board = (1, 1, 1, 2, 2, 0, 0, 0, 0)
    h = game.history(board)
    assert reference.alpha_beta_value(board) == -1 and len(h) == 5 and h[-1] in (0, 1, 2)


def test_connect_four_rules_equal_openspiel():
    import pyspiel

    game, theirs = ConnectFour(), pyspiel.load_game("connect_four")
    rng = np.random.default_rng(0)
    for _ in range(30):
        s, t = game.initial(), theirs.new_initial_state()
        while True:
            assert (game.outcome(s) is not None) == t.is_terminal()
            if t.is_terminal():
                # outcome is for the player to move; OpenSpiel's returns are per player
                assert game.outcome(s) == t.returns()[game.to_move(s)]
                break
            assert game.legal(s) == t.legal_actions()
            a = game.legal(s)[int(rng.integers(len(game.legal(s))))]
            s, _ = game.play(s, a), t.apply_action(a)
