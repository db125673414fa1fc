"""AlphaZero pieces: NumPy forward = PyTorch, AdamW = torch.optim.AdamW, Bradley-Terry = scikit-learn's logistic fit."""
import numpy as np
import torch

from modelbook.games import alphazero as az
from modelbook.games.boards import TicTacToe, replay


def test_numpy_forward_equals_torch():
    game = TicTacToe()
    net = az.make_net(18, 9, 16)
    x = game.encode(replay(game, [4, 0, 8]))
    logits, v = net(torch.tensor(x)[None])
    lp, vp = az.forward(az.numpy_params(net), x)
    assert np.allclose(lp, logits[0].detach().numpy(), atol=1e-5) and abs(vp - float(v[0])) < 1e-5


def test_adamw_equals_torch():
    torch.manual_seed(0)
    a = torch.randn(5, 3, requires_grad=True)
    b = a.detach().clone().requires_grad_(True)
    ours, theirs = az._AdamW([a], 0.01, 0.1), torch.optim.AdamW([b], lr=0.01, weight_decay=0.1)
    for _ in range(5):
        for p, opt in ((a, ours), (b, theirs)):
            p.grad = None
            ((p ** 3).sum()).backward()
            opt.step()
    assert torch.allclose(a, b, atol=1e-6)


def test_symmetries_keep_moves_attached():
    game = TicTacToe()
    s = replay(game, [0, 4])
    pi = np.zeros(9)
    pi[1] = 1.0
    for x, p in game.symmetries(game.encode(s), pi):
        mine, target = x[:9].reshape(3, 3), p.reshape(3, 3)
        # the first player's corner stone moves with the board; the policy's edge cell stays adjacent to it
        (r, c), (pr, pc) = np.argwhere(mine == 1)[0], np.argwhere(target == 1)[0]
        assert abs(r - pr) + abs(c - pc) == 1


def test_puct_finds_the_win_with_any_network():
    game = TicTacToe()
    params = az.numpy_params(az.make_net(18, 9, 16))
    s = replay(game, [0, 3, 1, 4])                  # x to move; cell 2 wins
    counts = az.puct_search(game, params, s, 200, np.random.default_rng(0))
    assert int(np.argmax(counts)) == 2


def test_bradley_terry_equals_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    true = np.array([0.0, 0.8, -0.5, 1.5])
    games = []
    for _ in range(400):
        i, j = rng.choice(4, 2, replace=False)
        p = 1 / (1 + np.exp(-(true[i] - true[j])))
        games.append((i, j, float(rng.random() < p)))
    ours = az.fit_elo(4, games, prior_sd_elo=0)
    X = np.zeros((len(games), 3))
    y = np.array([s for _, _, s in games])
    for k, (i, j, _) in enumerate(games):
        if i:
            X[k, i - 1] += 1
        if j:
            X[k, j - 1] -= 1
    ref = LogisticRegression(penalty=None, fit_intercept=False, tol=1e-10, max_iter=1000).fit(X, y).coef_[0]
    assert np.allclose(ours[1:], ref * az.ELO_PER_LOGIT, atol=0.5)
