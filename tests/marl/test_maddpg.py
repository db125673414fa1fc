"""MADDPG's pieces: the ensemble equals separate torch MLPs; what each critic sees; the target by hand."""
import numpy as np
import pytest
import torch
from torch import nn

from modelbook.marl.maddpg import Agents, EnsembleMLP, JointReplay, MADDPGConfig, ablate, train_runs
from modelbook.marl.mpe_batch import flee_action
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
    obs = torch.randn(1, 8, 12, requires_grad=True)          # one run's joint observation (R = 1)
    acts = torch.rand(8, 15, requires_grad=True)
    q = agents._q(agents.critic, obs, acts.expand(3, 8, 15))  # (3, 8)
    g_obs, g_act = torch.autograd.grad(q[0].sum(), (obs, acts))
    others_obs, others_act = g_obs[0, :, 4:].abs().sum(), g_act[:, 5:].abs().sum()
    assert (others_obs > 0) == centralised and (others_act > 0) == centralised
    assert g_obs[0, :, :4].abs().sum() > 0 and g_act[:, :5].abs().sum() > 0


def test_a_critic_sees_only_its_own_run():
    """Two runs of two agents in one ensemble: run 1's centralised critics get no gradient from run 0's entries."""
    torch.manual_seed(3)
    agents = Agents([4, 4], [5, 5], [True] * 4, MADDPGConfig(), init_seeds=[0, 1])
    obs = [torch.randn(8, 4, requires_grad=True) for _ in range(4)]
    acts = [torch.rand(8, 5, requires_grad=True) for _ in range(4)]
    q = agents._q(agents.critic, agents.joint(obs), agents.per_member(agents.joint(acts)))     # (4, 8)
    grads = torch.autograd.grad(q[2:].sum(), obs + acts)
    assert all(g.abs().sum() == 0 for g in grads[:2] + grads[4:6])         # run 0's observations and actions
    assert all(g.abs().sum() > 0 for g in grads[2:4] + grads[6:])


def test_runs_with_one_init_seed_start_equal_and_seeds_differ():
    agents = Agents([3, 11], [3, 5], [True, True, False, False, True, True], MADDPGConfig(), init_seeds=[7, 7, 8])
    w = agents.actor.weights[0]
    assert torch.equal(w[0:2], w[2:4]) and not torch.equal(w[0:2], w[4:6])
    alone = Agents([3, 11], [3, 5], [True, True], MADDPGConfig(), init_seeds=[7])
    assert torch.equal(alone.critic.weights[1], agents.critic.weights[1][0:2])  # a run's init ignores the other runs


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
        y = rewards.T + 0.9 * agents._q(agents.target_critic, agents.joint(next_obs), agents.per_member(mu_target))
    torch.testing.assert_close(y[0], y0)
    # agent 0's actor loss must not move agent 1's actor
    mu, _ = agents._policy(agents.actor, obs)
    acts_joint = agents.per_member(agents.joint(acts))
    acts_pi = acts_joint * (1 - agents.own_act) + agents.per_member(mu) * agents.own_act
    q = agents._q(agents.critic, agents.joint(obs), acts_pi)
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


def test_a_run_trains_the_same_beside_other_variants():
    """Runs side by side are separate experiments: MADDPG trained alone equals MADDPG trained beside DDPG (same seed),
    and the paired DDPG run, from the same start, ends elsewhere."""
    cfg = MADDPGConfig(scenario="speaker_listener", n_episodes=40, n_envs=20, batch_size=16, hidden=8,
                       transitions_per_update=20, learning_starts=20)
    (alone,), = train_runs(cfg, [3], [True])
    (maddpg,), (ddpg,) = train_runs(cfg, [3], [True, False])
    assert alone.updates == maddpg.updates > 0
    for a, b, c in zip(alone.actor_params(), maddpg.actor_params(), ddpg.actor_params()):
        for pa, pb, pc in zip(a, b, c):
            np.testing.assert_allclose(pa, pb, rtol=0, atol=1e-6)
        assert any(not np.allclose(pb, pc) for pb, pc in zip(b, c))
    np.testing.assert_allclose(alone.episode_returns, maddpg.episode_returns, atol=1e-4)


def test_flee_action_runs_from_the_nearest_predator_and_not_out_of_the_square():
    obs = np.zeros((2, 14), np.float32)
    obs[:, 8:14] = [0.1, 0.0, -3.0, 0.0, 0.0, 3.0]              # predators right (near), left and above (far)
    obs[1, 2:4] = [-0.95, 0.0]                                   # the second prey is at the left edge
    acts = flee_action(obs, thrust=0.5)
    assert acts.shape == (2, 5) and acts.max() == pytest.approx(0.5)
    assert acts[0, 1] == pytest.approx(0.5) and acts[0, 2] == 0    # away from the near predator: push left, full thrust
    # at the left edge the pull home cancels the push out: it slides along the edge, away from the predator above
    assert acts[1, 1] == acts[1, 2] == 0 and acts[1, 3] == pytest.approx(0.5)


def test_bellman_residual_of_a_constant_critic():
    """A critic that always says c leaves the residual (c − r − γc)², averaged over the steps of the episodes its
    actors play: computed here from the rewards alone."""
    from modelbook.marl.maddpg import bellman_residual
    from modelbook.marl.mpe_batch import BatchedMPE

    cfg = MADDPGConfig(scenario="speaker_listener", gamma=0.9)
    agents = Agents([3, 11], [3, 5], [True, False], cfg, init_seeds=[0])
    c = 2.0
    with torch.no_grad():
        for w, b in zip(agents.critic.weights, agents.critic.biases):
            w.zero_()
            b.zero_()
        agents.critic.biases[-1].fill_(c)
    env = BatchedMPE("speaker_listener", 30, np.random.default_rng(5))
    obs, done, expected = env.reset(), False, np.zeros(2)
    while not done:
        obs, rewards, done = env.step(agents.act(obs))
        expected += ((c - rewards - 0.9 * c) ** 2).mean(0)
    np.testing.assert_allclose(bellman_residual(agents, 0, "speaker_listener", 30, 5), expected / 25, rtol=1e-5)
