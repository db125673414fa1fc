"""Page-Hinkley from scratch: the streaming detector against the closed-form statistic, and its delay."""
import math

import numpy as np
import pytest

from modelbook.continual import drift as D


def _stream(seed=0, n=3000, jump_at=2000, p0=0.1, p1=0.3):
    rng = np.random.default_rng(seed)
    p = np.where(np.arange(n) < jump_at, p0, p1)
    return (rng.random(n) < p).astype(float)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_streaming_statistic_equals_closed_form_until_the_alarm(seed):
    x = _stream(seed)
    det = D.PageHinkley(delta=0.005, threshold=30.0)
    stats, alarm = [], None
    for t, v in enumerate(x):
        fired = det.update(v)
        if fired:
            alarm = t
            break
        stats.append(det.statistic)
    ph = D.page_hinkley_statistic(x, 0.005)
    assert alarm is not None and alarm >= 2000 - 50  # no false alarm long before the jump
    np.testing.assert_allclose(stats, ph[:alarm], atol=1e-9)
    assert ph[alarm] > 30.0 and (ph[30:alarm] <= 30.0).all()


def test_alarms_over_a_whole_stream_with_resets_agree():
    x = np.concatenate([_stream(3, 4000, 1500, 0.1, 0.35), _stream(4, 4000, 2000, 0.05, 0.3)])
    det = D.PageHinkley(delta=0.005, threshold=20.0)
    streaming = [t for t, v in enumerate(x) if det.update(v)]
    assert streaming == D.page_hinkley_alarms(x, 0.005, 20.0) and len(streaming) >= 2


def test_bite_a_statistic_with_the_final_mean_is_not_page_hinkley():
    x = _stream(5)
    wrong = np.cumsum(x - x.mean() - 0.005)               # the whole-stream mean leaks the future in
    wrong -= np.minimum(np.minimum.accumulate(wrong), 0.0)
    assert np.abs(wrong - D.page_hinkley_statistic(x, 0.005)).max() > 1.0


def test_fluid_delay_limits():
    # with a long history the running mean does not move: the first-order delay λ / (Δ − δ)
    assert D.fluid_delay(0.1, 10**9, 0.005, 50.0) == pytest.approx(50.0 / 0.095, rel=1e-3)
    # a shorter history absorbs part of the jump into x̄: longer delay; a head start shortens it
    assert D.fluid_delay(0.1, 500, 0.005, 50.0) > 50.0 / 0.095
    assert D.fluid_delay(0.1, 10**9, 0.005, 50.0, start=25.0) == pytest.approx(25.0 / 0.095, rel=1e-3)
    assert math.isinf(D.fluid_delay(0.004, 500, 0.005, 50.0))  # jump below δ: never


def test_delays_and_false_alarms():
    assert D.delays([120, 900, 2100], (100, 2000), 500) == [20.0, 100.0]
    assert D.false_alarms([120, 900, 2100], (100, 2000), 500) == 1
    assert math.isnan(D.delays([], (100,), 50)[0])


def test_mean_delay_matches_the_expected_path_for_a_large_jump():
    delays, predicted = [], []
    for seed in range(40):
        x = _stream(seed, 4000, 2000, 0.1, 0.3)
        det = D.PageHinkley(delta=0.005, threshold=50.0)
        hit = None
        for t, v in enumerate(x):
            start = det.statistic
            if det.update(v) and t >= 2000:
                hit = t
                break
            if t == 1999:
                ph0 = det.statistic
        assert hit is not None
        delays.append(hit - 2000)
        predicted.append(D.fluid_delay(0.2, 2000, 0.005, 50.0, start=ph0))
        del start
    assert np.mean(delays) == pytest.approx(np.mean(predicted), rel=0.15)
