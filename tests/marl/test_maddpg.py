"""MADDPG's pieces: the ensemble equals separate torch MLPs; what each critic sees; the target by hand."""
import numpy as np
import pytest
import torch
from torch import nn

from modelbook.marl.maddpg import Agents, EnsembleMLP, JointReplay, MADDPGConfig, ablate
from modelbook.marl.rollouts import numpy_actor


def _separate(ens: EnsembleMLP, i: int) -> nn.Sequential:
    """Agent i's network rebuilt from nn.Linear layers with the same weights."""
    layers = []
    for k, (w, b) in enumerate(zip(ens.weights, ens.biases)):
        lin = nn.Linear(w.shape[1], w.shape[2]).double()
        with torch.no_grad():
            lin.weight.copy_(w[i].T)
            lin.bias.copy_(b[i, 0])
        layers.append(lin)
        if k < len(ens.weights) - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def test_ensemble_equals_separate_torch_mlps_outputs_and_gradients():
    torch.manual_seed(0)
    ens = EnsembleMLP(3, (7, 16, 16, 4)).double()
    x = torch.randn(3, 10, 7, dtype=torch.float64)
    out = ens(x)
    out.sum().backward()
    for i in range(3):
        ref = _separate(ens, i)
        torch.testing.assert_close(out[i], ref(x[i]))
        ref(x[i]).sum().backward()
        torch.testing.assert_close(ens.weights[0].grad[i], ref[0].weight.grad.T)


def test_numpy_actor_equals_the_torch_actor():
    agents = Agents([3, 11], [3, 5], [True, True], MADDPGConfig(scenario="speaker_listener"))
    rng = np.random.default_rng(0)
    obs = [rng.normal(size=(6, 3)).astype(np.float32), rng.normal(size=(6, 11)).astype(np.float32)]
    torch_acts = agents.act(obs)
    for i, p in enumerate(agents.actor_params()):
        padded = np.pad(obs[i].astype(np.float64), ((0, 0), (0, p[0].shape[0] - obs[i].shape[1])))
        np.testing.assert_allclose(numpy_actor(p, padded)[:, :agents.act_dims[i]], torch_acts[i], atol=1e-6)


@pytest.mark.parametrize("centralised", [True, False])
def test_what_each_critic_sees(centralised):
    """An independent critic's Q_i does not depend on the other agents' observations or actions."""
    torch.manual_seed(1)
    agents = Agents([4, 4, 4], [5, 5, 5], [centralised] * 3, MADDPGConfig())
    obs = torch.randn(8, 12, requires_grad=True)
    acts = torch.rand(8, 15, requires_grad=True)
    q = agents._q(agents.critic, obs, acts)                  # (3, 8)
    g_obs, g_act = torch.autograd.grad(q[0].sum(), (obs, acts))
    others_obs, others_act = g_obs[:, 4:].abs().sum(), g_act[:, 5:].abs().sum()
    assert (others_obs > 0) == centralised and (others_act > 0) == centralised
    assert g_obs[:, :4].abs().sum() > 0 and g_act[:, :5].abs().sum() > 0


def test_critic_target_by_hand_and_actor_gradients_stay_with_their_agent():
    torch.manual_seed(2)
    cfg = MADDPGConfig(gamma=0.9)
    agents = Agents([4, 4], [5, 5], [True, True], cfg)
    g = torch.Generator().manual_seed(0)
    obs = [torch.randn(16, 4, generator=g) for _ in range(2)]
    acts = [torch.rand(16, 5, generator=g) for _ in range(2)]
    next_obs = [torch.randn(16, 4, generator=g) for _ in range(2)]
    rewards = torch.randn(16, 2, generator=g)
    with torch.no_grad():
        mu_next = torch.cat([torch.sigmoid(agents.target_actor(torch.stack(next_obs))[i]) for i in range(2)], -1)
        x = torch.cat([torch.cat(next_obs, -1), mu_next], -1)
        y0 = rewards[:, 0] + 0.9 * agents.target_critic(x.expand(2, 16, 18))[0].squeeze(-1)
        mu_target, _ = agents._policy(agents.target_actor, next_obs)
        y = rewards.T + 0.9 * agents._q(agents.target_critic, torch.cat(next_obs, -1), mu_target)
    torch.testing.assert_close(y[0], y0)
    # agent 0's actor loss must not move agent 1's actor
    mu, _ = agents._policy(agents.actor, obs)
    acts_joint = torch.cat(acts, -1)
    acts_pi = acts_joint * (1 - agents.own_act) + mu * agents.own_act
    q = agents._q(agents.critic, torch.cat(obs, -1), acts_pi)
    grads = torch.autograd.grad(q[0].mean(), agents.actor.weights[0])[0]
    assert grads[0].abs().sum() > 0 and grads[1].abs().sum() == 0


def test_update_changes_weights_and_replay_ring():
    agents = Agents([4, 4], [5, 5], [True, False], MADDPGConfig(batch_size=8))
    buf = JointReplay(10, [4, 4], [5, 5])
    rng = np.random.default_rng(0)
    for _ in range(3):
        buf.add([rng.normal(size=(4, 4))] * 2, [rng.random((4, 5))] * 2, rng.normal(size=(4, 2)), [rng.normal(size=(4, 4))] * 2)
    assert buf.size == 10 and buf.pos == 2
    before = [p.detach().clone() for p in agents.actor.parameters()]
    agents.update(*buf.sample(8, rng))
    assert any(not torch.equal(b, p) for b, p in zip(before, agents.actor.parameters()))


def test_ablate_zeroes_only_the_listeners_channel():
    obs = [np.ones((2, 3)), np.ones((2, 11))]
    cut = ablate(obs, "speaker_listener", True)
    assert cut[1][:, -3:].sum() == 0 and cut[1][:, :-3].sum() == 16 and obs[1].sum() == 22
    assert ablate(obs, "spread", True) is obs
