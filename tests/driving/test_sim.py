"""sim: our numpy kinematics observation = highway-env's Kinematics (pandas) on the same states; the IDM/MOBIL ego."""
import numpy as np


def test_fast_kinematics_equals_highway_env_observation():
    from modelbook.driving import sim

    env = sim.make({"vehicles_count": 8, "duration": 6})
    obs, _ = env.reset(seed=3)
    reference = env.unwrapped.observation_type   # highway-env's KinematicObservation, its observe() untouched at reset
    for action in (1, 3, 0, 1, 2, 4):
        ours = sim.kinematics(env.unwrapped)
        theirs = type(reference).observe(reference)
        np.testing.assert_allclose(ours, theirs, atol=1e-6)
        obs, _, term, trunc, _ = env.step(action)
        np.testing.assert_allclose(obs, sim.kinematics(env.unwrapped).ravel(), atol=0)
        if term or trunc:
            break
    env.close()


def test_idm_mobil_ego_and_random_on_the_same_episodes():
    from modelbook.driving import sim

    seeds = [11, 12]
    idm = sim.run_episodes("idm", seeds, {"vehicles_count": 6, "duration": 5})
    again = sim.run_episodes("idm", seeds, {"vehicles_count": 6, "duration": 5})
    np.testing.assert_array_equal(idm.returns, again.returns)          # deterministic per seed
    assert idm.crashed.sum() == 0 and (idm.steps == 5).all()
    assert (idm.mean_speed > 15).all()
