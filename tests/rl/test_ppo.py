"""PPO's clipped loss computed by hand; clipped samples carry no policy gradient."""
import numpy as np
import torch

from modelbook.rl.networks import ActorCritic
from modelbook.rl.ppo import ppo_loss


def _batch(seed=0, B=32):
    torch.manual_seed(seed)
    agent = ActorCritic(4, 3, (16,)).double()
    obs = torch.randn(B, 4, dtype=torch.float64)
    actions = torch.randint(0, 3, (B,))
    with torch.no_grad():
        logp_now = agent.dist(obs).log_prob(actions)
    old_logp = logp_now + 0.3 * torch.randn(B, dtype=torch.float64)   # ratios spread around 1
    adv = torch.randn(B, dtype=torch.float64)
    ret = torch.randn(B, dtype=torch.float64)
    return agent, obs, actions, old_logp, adv, ret


def test_ppo_loss_equals_a_hand_computation():
    agent, obs, actions, old_logp, adv, ret = _batch()
    clip, vf, ent = 0.2, 0.5, 0.01
    loss, stats = ppo_loss(agent, obs, actions, old_logp, adv, ret, clip, vf, ent)

    with torch.no_grad():
        logits = agent.actor(obs).numpy()
        values = agent.critic(obs).squeeze(-1).numpy()
    logp_all = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    probs = np.exp(logp_all)
    ratio = np.exp(logp_all[np.arange(len(actions)), actions.numpy()] - old_logp.numpy())
    a = adv.numpy()
    surrogate = np.minimum(ratio * a, np.clip(ratio, 1 - clip, 1 + clip) * a)
    entropy = -(probs * logp_all).sum(1).mean()
    expected = -surrogate.mean() + vf * ((values - ret.numpy()) ** 2).mean() - ent * entropy
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-12)
    np.testing.assert_allclose(stats["clip_fraction"], (np.abs(ratio - 1) > clip).mean())
    assert stats["approx_kl"] >= 0


def test_clipped_samples_have_zero_policy_gradient():
    """A sample whose ratio is past 1 + ε with Â > 0 (or below 1 − ε with Â < 0) contributes no gradient."""
    agent, obs, actions, old_logp, adv, ret = _batch(seed=1, B=1)
    logits = agent.actor(obs).detach()
    logp = torch.log_softmax(logits, -1)[0, actions[0]]
    for ratio, a, zero in [(1.5, 1.0, True), (0.5, -1.0, True), (1.5, -1.0, False), (1.05, 1.0, False)]:
        old = (logp - np.log(ratio)).reshape(1)
        agent.zero_grad()
        loss, _ = ppo_loss(agent, obs, actions, old, torch.tensor([a], dtype=torch.float64), ret, 0.2, 0.0, 0.0)
        loss.backward()
        grad = sum(p.grad.abs().sum() for p in agent.actor.parameters())
        assert (float(grad) == 0.0) == zero, (ratio, a, float(grad))
