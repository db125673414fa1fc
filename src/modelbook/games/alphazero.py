"""AlphaZero in miniature (Silver et al. 2018): a policy-value network guides PUCT search; self-play trains it.

PUCT picks argmax_a Q(s, a) + c_puct · P(s, a) · sqrt(N(s)) / (1 + N(s, a)), with P the network's policy over the
legal moves (Dirichlet noise mixed in at the root during self-play, for exploration) and Q the mean backed-up
value (0 before a first visit). A new leaf is not rolled out: the network's value v(s) is backed up instead, and
a finished game backs up its exact result. The visit counts at the root are the improved policy π.

Self-play: both sides search with the current network; each position stores (features, π, z) with z the final
result for the player to move there. Training minimises (z − v)² − πᵀ log p (+ weight decay through AdamW) on a
window of recent games. Every iteration ends with a checkpoint (a copy of the weights), so checkpoints can be
rated against each other and against pure MCTS.

The search runs the network in NumPy (one position at a time, no batching, no autograd): at this size a
PyTorch call costs more in overhead than the arithmetic. Training uses PyTorch.

Elo-like ratings: the Bradley-Terry model P(i beats j) = σ(r_i − r_j), a draw counting as half a win, fitted by
maximum likelihood (Newton steps) with a weak Gaussian prior so that a perfect record stays finite; ratings are
shown in Elo points (400 / ln 10 per unit of log-odds), the first player of the list anchored at 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from modelbook.games.boards import replay

ELO_PER_LOGIT = 400 / math.log(10)


# -- the network ------------------------------------------------------------------------------------
def make_net(n_in: int, n_actions: int, hidden: int):
    import torch
    from torch import nn

    class PolicyValueNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.trunk = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
            self.policy = nn.Linear(hidden, n_actions)
            self.value = nn.Linear(hidden, 1)

        def forward(self, x):
            h = self.trunk(x)
            return self.policy(h), torch.tanh(self.value(h)).squeeze(-1)

    return PolicyValueNet()


def numpy_params(net) -> tuple:
    return tuple(p.detach().numpy().astype(np.float64).copy() for p in
                 (net.trunk[0].weight, net.trunk[0].bias, net.trunk[2].weight, net.trunk[2].bias,
                  net.policy.weight, net.policy.bias, net.value.weight, net.value.bias))


def forward(params: tuple, x: np.ndarray) -> tuple[np.ndarray, float]:
    """The same network as make_net, in NumPy: (policy logits, value) for one position."""
    w1, b1, w2, b2, wp, bp, wv, bv = params
    h = np.maximum(w1 @ x + b1, 0.0)
    h = np.maximum(w2 @ h + b2, 0.0)
    return wp @ h + bp, float(np.tanh(wv @ h + bv)[0])


# -- PUCT search --------------------------------------------------------------------------------------
class _Node:
    __slots__ = ("state", "legal", "prior", "N", "W", "children", "terminal")

    def __init__(self, state):
        self.state = state


def _expand(game, params, node: _Node) -> float:
    """Fill in the node; return its value for the player to move (exact when the game is over)."""
    out = game.outcome(node.state)
    node.children = {}
    if out is not None:
        node.terminal = True
        return float(out)
    node.terminal = False
    node.legal = np.array(game.legal(node.state))
    logits, v = forward(params, game.encode(node.state))
    z = logits[node.legal]
    p = np.exp(z - z.max())
    node.prior = p / p.sum()
    node.N = np.zeros(len(node.legal))
    node.W = np.zeros(len(node.legal))
    return v


def puct_search(game, params, root_state, n_simulations: int, rng: np.random.Generator, c_puct: float = 1.5,
                dirichlet: tuple[float, float] | None = None) -> np.ndarray:
    """Visit counts over all n_actions after n_simulations PUCT simulations from root_state."""
    root = _Node(root_state)
    _expand(game, params, root)
    if dirichlet and not root.terminal:
        alpha, eps = dirichlet
        root.prior = (1 - eps) * root.prior + eps * rng.dirichlet([alpha] * len(root.legal))
    for _ in range(n_simulations):
        node, path = root, []
        while True:
            if node.terminal:
                v = _terminal_value(game, node)
                break
            q = np.divide(node.W, node.N, out=np.zeros_like(node.W), where=node.N > 0)
            u = c_puct * node.prior * math.sqrt(node.N.sum() + 1) / (1 + node.N)
            i = int(np.argmax(q + u))
            path.append((node, i))
            child = node.children.get(i)
            if child is None:
                child = _Node(game.play(node.state, int(node.legal[i])))
                node.children[i] = child
                v = _expand(game, params, child)
                break
            node = child
        for n, i in reversed(path):     # v is for the player to move at the node below n: flip, then add
            v = -v
            n.N[i] += 1
            n.W[i] += v
    counts = np.zeros(game.n_actions)
    if not root.terminal:
        counts[root.legal] = root.N
    return counts


def _terminal_value(game, node) -> float:
    return float(game.outcome(node.state))


class PUCTPlayer:
    def __init__(self, params, n_simulations: int, c_puct: float = 1.5, name: str = "alphazero"):
        self.params, self.n, self.c, self.name = params, n_simulations, c_puct, name

    def act(self, game, actions, rng):
        s = replay(game, actions)
        counts = puct_search(game, self.params, s, self.n, rng, self.c)
        best = np.flatnonzero(counts == counts.max())
        return int(best[int(rng.integers(len(best)))])


# -- self-play training ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SelfPlayConfig:
    iterations: int = 6
    games_per_iteration: int = 30
    simulations: int = 25
    c_puct: float = 1.5
    dirichlet_alpha: float = 0.5
    dirichlet_eps: float = 0.25
    temperature_moves: int = 4
    """moves sampled in proportion to visit counts at the start of a self-play game; later ones take the argmax"""
    window_games: int = 120
    epochs: int = 10
    batch: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    hidden: int = 64


def self_play_game(game, params, cfg: SelfPlayConfig, rng: np.random.Generator) -> list[tuple]:
    s, rows = game.initial(), []
    while game.outcome(s) is None:
        counts = puct_search(game, params, s, cfg.simulations, rng, cfg.c_puct, (cfg.dirichlet_alpha, cfg.dirichlet_eps))
        pi = counts / counts.sum()
        if len(rows) < cfg.temperature_moves:
            a = int(rng.choice(game.n_actions, p=pi))
        else:
            best = np.flatnonzero(counts == counts.max())
            a = int(best[int(rng.integers(len(best)))])
        rows.append((game.encode(s), pi, game.to_move(s)))
        s = game.play(s, a)
    out = game.outcome(s)                 # for the player to move at the end, who did not make the last move
    last = game.to_move(s)
    return [(x, pi, float(out if p == last else -out)) for x, pi, p in rows]


class _AdamW:
    """Adam with decoupled weight decay (Loshchilov & Hutter), written out: torch.optim's first use imports
    torch._dynamo (about 2 CPU-seconds), more than this whole training costs."""

    def __init__(self, params, lr: float, weight_decay: float, betas=(0.9, 0.999), eps: float = 1e-8):
        import torch

        self.params, self.lr, self.wd, self.b1, self.b2, self.eps, self.t = params, lr, weight_decay, *betas, eps, 0
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]

    def step(self) -> None:
        import torch

        self.t += 1
        with torch.no_grad():
            for p, m, v in zip(self.params, self.m, self.v):
                m.mul_(self.b1).add_(p.grad, alpha=1 - self.b1)
                v.mul_(self.b2).addcmul_(p.grad, p.grad, value=1 - self.b2)
                m_hat, v_hat = m / (1 - self.b1 ** self.t), v / (1 - self.b2 ** self.t)
                p.mul_(1 - self.lr * self.wd).sub_(self.lr * m_hat / (v_hat.sqrt() + self.eps))


def train_self_play(game, cfg: SelfPlayConfig, seed: int, on_iteration=None):
    """Returns (checkpoints, losses): the weights before training and after each iteration; loss per iteration."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = make_net(len(game.encode(game.initial())), game.n_actions, cfg.hidden)
    opt = _AdamW(list(net.parameters()), cfg.lr, cfg.weight_decay)
    checkpoints, losses, games = [numpy_params(net)], [], []
    for it in range(cfg.iterations):
        params = checkpoints[-1]
        games.extend(self_play_game(game, params, cfg, rng) for _ in range(cfg.games_per_iteration))
        games = games[-cfg.window_games:]
        rows = [r for g in games for r in g]
        if hasattr(game, "symmetries"):    # tic-tac-toe: the 8 rotations and reflections of each position
            rows = [(x2, pi2, z) for x, pi, z in rows for x2, pi2 in game.symmetries(x, pi)]
        x = torch.tensor(np.stack([r[0] for r in rows]))
        pi = torch.tensor(np.stack([r[1] for r in rows]), dtype=torch.float32)
        z = torch.tensor([r[2] for r in rows], dtype=torch.float32)
        total = 0.0
        for _ in range(cfg.epochs):
            order = torch.randperm(len(rows))
            for b in range(0, len(rows), cfg.batch):
                i = order[b:b + cfg.batch]
                logits, v = net(x[i])
                loss = ((z[i] - v) ** 2).mean() - (pi[i] * torch.log_softmax(logits, -1)).sum(-1).mean()
                net.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(i)
        losses.append(total / (cfg.epochs * len(rows)))
        checkpoints.append(numpy_params(net))
        if on_iteration:
            on_iteration(it)
    return checkpoints, losses


# -- Elo-like ratings ----------------------------------------------------------------------------------------
def fit_elo(n_players: int, results, prior_sd_elo: float = 1000.0, iters: int = 50) -> np.ndarray:
    """results: (i, j, score of i in [0, 1]) per game. Bradley-Terry MLE (+ Gaussian prior), in Elo, r[0] = 0."""
    r = np.zeros(n_players)
    lam = (ELO_PER_LOGIT / prior_sd_elo) ** 2 if prior_sd_elo else 0.0
    res = np.array([(i, j, s) for i, j, s in results], float)
    I, J, S = res[:, 0].astype(int), res[:, 1].astype(int), res[:, 2]
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(r[I] - r[J])))
        g = np.zeros(n_players)
        np.add.at(g, I, S - p)
        np.add.at(g, J, p - S)
        g -= lam * r
        w = p * (1 - p)
        H = np.zeros((n_players, n_players))
        np.add.at(H, (I, I), -w)
        np.add.at(H, (J, J), -w)
        np.add.at(H, (I, J), w)
        np.add.at(H, (J, I), w)
        H -= lam * np.eye(n_players)
        H[0, :], H[:, 0], g[0] = 0, 0, 0     # r[0] fixed at 0 (the anchor)
        H[0, 0] = -1
        step = np.linalg.solve(H, -g)
        r = r + step
        if np.abs(step).max() < 1e-10:
            break
    return r * ELO_PER_LOGIT


def round_robin_elo(game, players: list, n_pairs: int, rng: np.random.Generator, opening_plies: int = 2) -> np.ndarray:
    """Every pair of players meets in n_pairs pairs of games (mcts.match: colours swapped, shared random opening);
    fit_elo over all the games, players[0] anchored at 0."""
    from modelbook.games.mcts import match

    games = []
    for i in range(len(players)):
        for j in range(i + 1, len(players)):
            sc = match(game, players[i], players[j], n_pairs, rng, opening_plies=opening_plies)
            games += [(i, j, s) for s in sc.ravel()]
    return fit_elo(len(players), games)
