"""Episodes on mpe2: batched and real evaluation agree; worker processes reproduce single-process episodes."""
import numpy as np

from modelbook.marl.rollouts import batched_episodes, parallel_episodes, run_episodes


def test_parallel_workers_reproduce_the_single_process_episodes():
    seeds = list(range(6))
    one, _ = parallel_episodes("spread", None, seeds, 1)
    two, _ = parallel_episodes("spread", None, seeds, 2)
    np.testing.assert_array_equal(one.returns, two.returns)
    np.testing.assert_array_equal(one.collisions, two.collisions)


def test_random_policy_statistics_agree_between_batched_worlds_and_mpe2():
    """Different episodes (different random streams), same distribution: means within 4 standard errors."""
    real = run_episodes("speaker_listener", None, list(range(150)))
    batched = batched_episodes("speaker_listener", None, 3000, 0)
    se = real.returns[:, 0].std() / np.sqrt(150)
    assert abs(real.returns[:, 0].mean() - batched.returns[:, 0].mean()) < 4 * se


def test_tag_captures_agree_between_batched_worlds_and_mpe2():
    """Random predators against the scripted prey: the same capture rate on mpe2 and on the batched worlds (4 s.e.)."""
    real = run_episodes("tag", None, list(range(400)), prey_thrust=0.1)
    batched = batched_episodes("tag", None, 4000, 0, prey_thrust=0.1)
    se = np.hypot(real.captures.std() / np.sqrt(400), batched.captures.std() / np.sqrt(4000))
    assert abs(real.captures.mean() - batched.captures.mean()) < 4 * se
    np.testing.assert_array_equal(real.returns[:, 0], 10 * real.captures)    # every predator gets +10 per capture
