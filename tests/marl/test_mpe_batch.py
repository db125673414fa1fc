"""The batched particle worlds equal mpe2 step for step: same state in, same observations, rewards, states out."""
import os

import numpy as np
import pytest

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from modelbook.marl.mpe_batch import BatchedMPE  # noqa: E402


def _mpe2(scenario):
    from mpe2 import simple_adversary_v3, simple_speaker_listener_v4, simple_spread_v3, simple_tag_v3

    module = {"spread": simple_spread_v3, "speaker_listener": simple_speaker_listener_v4,
              "adversary": simple_adversary_v3, "tag": simple_tag_v3}[scenario]
    return module.parallel_env(continuous_actions=True)


@pytest.mark.parametrize("scenario", ["spread", "speaker_listener", "adversary", "tag"])
def test_batched_world_equals_mpe2(scenario):
    env = _mpe2(scenario)
    ours = BatchedMPE(scenario, 1, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    for episode in range(3):
        obs, _ = env.reset(seed=episode)
        ours.load_mpe2(env.unwrapped.world)
        assert ours.names == env.agents
        for name, o in zip(ours.names, ours.observations()):     # the loaded state: mpe2's first observations
            np.testing.assert_allclose(o[0], obs[name], atol=1e-6)
        for t in range(25):
            actions = [rng.random((1, env.action_space(n).shape[0])).astype(np.float32) for n in ours.names]
            if scenario == "spread" and t % 5 == 0:              # push agents together to exercise collisions
                actions = [np.array([[0, 0, 1, 0, 1]], np.float32) if i == 0 else
                           np.array([[0, 1, 0, 1, 0]], np.float32) for i in range(3)]
            if scenario == "tag" and t % 3 == 0:                 # everyone runs at the prey: captures, obstacles, speed caps
                prey = ours.agent_pos[0, -1] - ours.agent_pos[0]
                actions = [np.array([[0, *np.maximum([-d[0], d[0], -d[1], d[1]], 0)]], np.float32) * 50 for d in prey]
            obs, rew, term, trunc, _ = env.step({n: a[0] for n, a in zip(ours.names, actions)})
            our_obs, our_rew, done = ours.step(actions)
            for i, name in enumerate(ours.names):
                np.testing.assert_allclose(our_obs[i][0], obs[name], atol=1e-5)
                assert our_rew[0, i] == pytest.approx(rew[name], abs=1e-9)
            world = env.unwrapped.world
            np.testing.assert_allclose(ours.agent_pos[0], [a.state.p_pos for a in world.agents], atol=1e-12)
            assert done == all(trunc.values())


def test_tag_captures_and_rewards_over_many_episodes():
    """tag: chasing predators catch the prey in some steps; every capture pays +10 to each predator, −10 to the prey,
    and our capture count equals mpe2's benchmark_data summed over the predators."""
    from mpe2 import simple_tag_v3

    env = simple_tag_v3.parallel_env(continuous_actions=True, benchmark_data=True)
    ours = BatchedMPE("tag", 1, np.random.default_rng(0))
    caught = 0
    for episode in range(4):
        env.reset(seed=100 + episode)
        ours.load_mpe2(env.unwrapped.world)
        while env.agents:
            chase = ours.agent_pos[0, -1] - ours.agent_pos[0]           # predators at the prey, the prey stays
            acts = [np.array([[0, *np.maximum([-d[0], d[0], -d[1], d[1]], 0)]], np.float32) for d in chase]
            acts[-1] = np.zeros((1, 5), np.float32)
            _, rew, _, _, infos = env.step({n: a[0] for n, a in zip(ours.names, acts)})
            _, our_rew, _ = ours.step(acts)
            n_caught = ours.captures()[0]
            assert n_caught == sum(infos[f"adversary_{i}"]["benchmark_data"] for i in range(3))
            assert our_rew[0, 0] == pytest.approx(rew["adversary_0"]) == pytest.approx(10 * n_caught)
            caught += n_caught
    assert caught > 0


def test_spread_collisions_and_coverage_match_mpe2_benchmark_data():
    from mpe2 import simple_spread_v3

    env = simple_spread_v3.parallel_env(continuous_actions=True, benchmark_data=True)
    ours = BatchedMPE("spread", 1, np.random.default_rng(0))
    env.reset(seed=3)
    ours.load_mpe2(env.unwrapped.world)
    world = env.unwrapped.world
    world.agents[1].state.p_pos = world.agents[0].state.p_pos + 0.1     # overlapping: a collision
    ours.agent_pos[0, 1] = ours.agent_pos[0, 0] + 0.1
    scenario = env.unwrapped.scenario
    rew, collisions, min_dists, occupied = scenario.benchmark_data(world.agents[0], world)
    assert ours.coverage_distance()[0] == pytest.approx(min_dists)
    assert ours.collisions_matrix()[0, 0].sum() == collisions


def test_batch_of_worlds_is_independent_and_seeded():
    a = BatchedMPE("spread", 8, np.random.default_rng(5))
    b = BatchedMPE("spread", 8, np.random.default_rng(5))
    np.testing.assert_array_equal(a.agent_pos, b.agent_pos)
    acts = [np.random.default_rng(i).random((8, 5)) for i in range(3)]
    oa, ra, _ = a.step(acts)
    ob, rb, _ = b.step(acts)
    np.testing.assert_array_equal(ra, rb)
    assert len({tuple(r) for r in ra.round(6)}) == 8      # 8 different worlds


@pytest.mark.parametrize("scenario", ["speaker_listener", "adversary"])
def test_load_mpe2_takes_the_goal_and_the_utterance(scenario):
    env = _mpe2(scenario)
    env.reset(seed=11)
    world = env.unwrapped.world
    world.agents[0].state.c = np.array([0.2, 0.7, 0.1])                 # a non-zero utterance, to see it copied
    ours = BatchedMPE(scenario, 1, np.random.default_rng(0))
    ours.load_mpe2(world)
    goal = world.agents[0].goal_b if scenario == "speaker_listener" else world.agents[0].goal_a
    np.testing.assert_array_equal(ours.landmark_pos[0, ours.goal[0]], goal.state.p_pos)
    np.testing.assert_array_equal(ours.agent_pos[0], [a.state.p_pos for a in world.agents])
    if scenario == "speaker_listener":
        np.testing.assert_array_equal(ours.comm[0], [0.2, 0.7, 0.1])
        listener = env.unwrapped.scenario.observation(world.agents[1], world)   # mpe2's own observation of it
        np.testing.assert_allclose(ours.observations()[1][0], listener, atol=1e-6)
