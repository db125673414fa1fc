"""prediction: constant velocity / acceleration exact on their own motions; ADE/FDE by hand; the paired check can fail."""
import numpy as np
import pytest


def _tracks(a=(0.5, 0.0), v=(20.0, 0.0), steps=40, n=5):
    from modelbook.driving.prediction import DT

    t = np.arange(steps)[:, None, None] * DT
    p0 = np.column_stack([12.0 * np.arange(n), 4.0 * (np.arange(n) % 3)])[None]
    return p0 + np.array(v) * t + 0.5 * np.array(a) * t ** 2


def test_baselines_are_exact_on_their_own_motion():
    from modelbook.driving import prediction as P

    s = P.make_samples([_tracks(a=(0.0, 0.0))])
    np.testing.assert_allclose(P.constant_velocity(s.history), s.future, atol=1e-9)
    s = P.make_samples([_tracks(a=(1.5, -0.3))])
    np.testing.assert_allclose(P.constant_acceleration(s.history), s.future, atol=1e-9)
    assert np.abs(P.constant_velocity(s.history) - s.future).max() > 0.5     # ½·a·t² at 3 s: 6.75 m


def test_ade_fde_by_hand():
    from modelbook.driving.prediction import displacement_errors

    truth = np.zeros((1, 15, 2))
    pred = np.zeros((1, 15, 2))
    pred[0, :, 0] = np.arange(1, 16) * 0.1          # error grows 0.1 m per step
    ade, fde = displacement_errors(pred, truth, 5)
    assert ade[0] == pytest.approx(0.3) and fde[0] == pytest.approx(0.5)
    ade, fde = displacement_errors(pred, truth, 15)
    assert ade[0] == pytest.approx(0.8) and fde[0] == pytest.approx(1.5)


def test_learned_predictor_learns_acceleration_and_a_broken_one_fails_the_check():
    """Accelerating cars: the MLP (a correction to constant velocity) beats constant velocity; with its output
    sign flipped it is worse, and the lab's paired lower bound turns negative."""
    from modelbook.driving import prediction as P
    from modelbook.evaluation.uncertainty import paired_lower_bound

    rng = np.random.default_rng(0)
    tracks = [_tracks(a=(rng.uniform(-1, 1), 0.0), v=(rng.uniform(18, 28), 0.0)) for _ in range(12)]
    train, test = P.make_samples(tracks[:8]), P.make_samples(tracks[8:], track_offset=10 ** 6)
    model = P.train_predictor(train, 30, seed=0, hidden=32)
    cv, _ = P.displacement_errors(P.constant_velocity(test.history), test.future, 15)
    ours, _ = P.displacement_errors(model.predict(test), test.future, 15)
    assert paired_lower_bound(P.per_track(cv - ours, test.track)) > 0
    broken = 2 * P.constant_velocity(test.history) - model.predict(test)   # the correction with its sign flipped
    bad, _ = P.displacement_errors(broken, test.future, 15)
    assert paired_lower_bound(P.per_track(cv - bad, test.track)) < 0
