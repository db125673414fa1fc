"""DQN and Double DQN targets by hand; the replay buffer's ring and its seeded sampling."""
import numpy as np
import torch

from modelbook.rl.buffers import ReplayBuffer
from modelbook.rl.dqn import td_target
from modelbook.rl.networks import QNetwork


def test_targets_by_hand_and_double_never_exceeds_dqn():
    torch.manual_seed(0)
    online, target = QNetwork(4, 3, (8,)), QNetwork(4, 3, (8,))
    s2 = torch.randn(64, 4)
    r = torch.randn(64)
    term = (torch.rand(64) < 0.3).float()
    y = td_target(target, online, r, s2, term, 0.9, double=False)
    y2 = td_target(target, online, r, s2, term, 0.9, double=True)
    with torch.no_grad():
        qt, qo = target(s2), online(s2)
    torch.testing.assert_close(y, r + 0.9 * (1 - term) * qt.max(-1).values)
    torch.testing.assert_close(y2, r + 0.9 * (1 - term) * qt[torch.arange(64), qo.argmax(-1)])
    assert torch.all(y2 <= y + 1e-7)                       # Q_target(s', any a) <= max_a Q_target(s', a)
    assert torch.equal(y[term == 1], r[term == 1])         # no bootstrap past a real end


def test_replay_buffer_ring_and_seeded_sampling():
    buf = ReplayBuffer(5, 2)
    for i in range(7):                                     # 7 transitions into 5 slots: 0 and 1 overwritten
        buf.add(np.full((1, 2), i), [i % 2], [float(i)], np.full((1, 2), i + 1), [0.0])
    assert buf.size == 5 and sorted(buf.rewards.tolist()) == [2, 3, 4, 5, 6]
    a = buf.sample(16, np.random.default_rng(3))
    b = buf.sample(16, np.random.default_rng(3))
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    obs, act, rew, nxt, term = a
    assert obs.shape == (16, 2) and torch.equal(nxt[:, 0], obs[:, 0] + 1) and torch.equal(rew, obs[:, 0])
