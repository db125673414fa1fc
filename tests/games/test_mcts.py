"""UCT: finds forced wins, matches OpenSpiel's bot, and a broken backup is caught by the match check."""
import numpy as np

from modelbook.games import mcts, reference
from modelbook.games.boards import ConnectFour, TicTacToe, replay


def test_uct_takes_the_winning_move():
    game = ConnectFour()
    s = replay(game, [0, 6, 0, 6, 0, 6])           # first player to move: column 0 makes four
    counts = mcts.uct_search(game, s, 200, np.random.default_rng(0))
    assert max(counts, key=counts.get) == 0
    t = TicTacToe()
    s = t.history((1, 1, 0, 2, 2, 0, 0, 0, 0))
    counts = mcts.uct_search(t, replay(t, s), 300, np.random.default_rng(1))
    assert max(counts, key=counts.get) == 2


def test_broken_backup_loses_to_openspiel():
    """Bite for the lab's 'at least even' check: UCT backing up the wrong sign falls clearly below ½."""
    game, rng = ConnectFour(), np.random.default_rng(0)
    broken = mcts.UCTPlayer(30, sign=-1.0)
    scores = mcts.match(game, broken, reference.OpenSpielMCTS("connect_four", 30, 0), 3, rng, opening_plies=2)
    assert mcts.score_interval(scores)[2] < 0.5


def test_score_interval_and_colours():
    m, lo, hi = mcts.score_interval(np.array([[1, 1], [1, 0], [0.5, 0.5], [1, 1]]))
    assert abs(m - 0.75) < 1e-12 and lo < m < hi
    game, rng = TicTacToe(), np.random.default_rng(0)
    scores = mcts.match(game, mcts.RandomPlayer(), mcts.RandomPlayer(), 30, rng)
    assert scores.shape == (30, 2) and 0.2 < scores.mean() < 0.8


def test_score_lower_bound_is_a_valid_bound():
    """Closed form when every pair is won (KL(1 ‖ p) = −ln p), never tighter than the exact Clopper-Pearson bound
    (scipy) on win/loss data, never looser than Hoeffding's √(ln(1/α)/2n), and it covers the true mean of a {0, ½, 1}
    score distribution piled up near 1 (where the Student-t interval does not)."""
    from scipy.stats import binomtest

    assert abs(mcts.score_lower_bound(np.ones((20, 2))) - 20 ** (-1 / 20)) < 1e-9
    rng = np.random.default_rng(0)
    for n, p in ((20, 0.9), (12, 0.6), (40, 0.3)):
        wins = rng.random((n, 1)) < p
        lo = mcts.score_lower_bound(wins.astype(float))
        exact = binomtest(int(wins.sum()), n).proportion_ci(0.90, "exact").low
        assert wins.mean() - np.sqrt(np.log(20) / (2 * n)) <= lo <= exact + 1e-9
    draws = rng.choice([0.0, 0.5, 1.0], p=[0.02, 0.08, 0.9], size=(400, 8, 2))   # true mean 0.94
    assert np.mean([mcts.score_lower_bound(s) <= 0.94 for s in draws]) >= 0.95


def test_broken_backup_loses_to_random_play():
    """Bite for the lab's 'beats a random player' check: UCT backing up the wrong sign picks the worst moves."""
    scores = mcts.match(ConnectFour(), mcts.UCTPlayer(20, sign=-1.0), mcts.RandomPlayer(), 4, np.random.default_rng(0), 2)
    assert mcts.score_lower_bound(scores) < 0.5
