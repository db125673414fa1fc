"""Approach 3 of Hoffmann et al. 2022 (modelbook.scaling.fit): a known law recovered from synthetic runs, the
closed-form compute-optimal allocation against a brute-force search, and the objective's exact gradient."""
import math

import numpy as np
import pytest
from scipy.optimize import check_grad

from modelbook.scaling.fit import (
    BESIROGLU_2024,
    HOFFMANN_2022,
    ScalingLaw,
    _objective,
    bootstrap,
    fit_scaling_law,
    law_to_theta,
)

# a Chinchilla-like design: 8 model sizes (70M-16B) x 6 token budgets (5B-500B), as in Hoffmann et al.'s sweep
SIZES = np.geomspace(7e7, 1.6e10, 8)
TOKENS = np.geomspace(5e9, 5e11, 6)
N_GRID, D_GRID = (a.ravel() for a in np.meshgrid(SIZES, TOKENS, indexing="ij"))


@pytest.fixture(autouse=True)
def one_thread():
    """One BLAS thread: L-BFGS on 5 parameters is 40x slower with idle BLAS threads spinning on a busy machine."""
    from modelbook.core.measure import limit_threads

    with limit_threads(1):
        yield


def test_noise_free_runs_give_back_the_law_exactly():
    L = BESIROGLU_2024.loss(N_GRID, D_GRID)
    law = fit_scaling_law(N_GRID, D_GRID, L, starts=20)
    for got, want in zip(law.as_tuple(), BESIROGLU_2024.as_tuple()):
        assert got == pytest.approx(want, rel=1e-3)


@pytest.mark.parametrize("truth", [BESIROGLU_2024, HOFFMANN_2022], ids=["besiroglu", "hoffmann"])
def test_known_law_recovered_from_noisy_runs(truth):
    """0.5% log-normal noise on every run's loss, about the run-to-run spread of such sweeps: the exponents and
    the compute-optimal exponent a come back within a few hundredths, E within a few percent."""
    rng = np.random.default_rng(0)
    L = truth.loss(N_GRID, D_GRID) * np.exp(rng.normal(0.0, 0.005, len(N_GRID)))
    law = fit_scaling_law(N_GRID, D_GRID, L, starts=20)
    assert law.alpha == pytest.approx(truth.alpha, abs=0.05)
    assert law.beta == pytest.approx(truth.beta, abs=0.05)
    assert law.a == pytest.approx(truth.a, abs=0.03)
    assert law.E == pytest.approx(truth.E, rel=0.05)
    # and the fitted law predicts the runs as well as the truth does
    assert np.abs(np.log(law.loss(N_GRID, D_GRID) / L)).mean() <= np.abs(np.log(truth.loss(N_GRID, D_GRID) / L)).mean() + 1e-4


def test_the_paper_grid_contains_the_optimum_reached_from_its_best_points():
    """starts=k refines the k best grid points; on a well-posed problem the answer equals the full grid's."""
    rng = np.random.default_rng(1)
    N, D = N_GRID[::3], D_GRID[::3]
    L = BESIROGLU_2024.loss(N, D) * np.exp(rng.normal(0.0, 0.005, len(N)))
    few = fit_scaling_law(N, D, L, starts=5)
    many = fit_scaling_law(N, D, L, starts=60)
    assert few.a == pytest.approx(many.a, abs=1e-4)


def test_objective_gradient_is_exact():
    rng = np.random.default_rng(2)
    logN, logD = np.log(N_GRID), np.log(D_GRID)
    logL = np.log(BESIROGLU_2024.loss(N_GRID, D_GRID)) + rng.normal(0, 0.01, len(N_GRID))
    for delta in (1e-3, 1.0):   # the linear and the quadratic branch of the Huber loss
        theta = law_to_theta(HOFFMANN_2022) + rng.normal(0, 0.1, 5)
        err = check_grad(lambda t: _objective(t, logN, logD, logL, delta)[0],
                         lambda t: _objective(t, logN, logD, logL, delta)[1], theta)
        assert err < 1e-5 * max(1.0, np.linalg.norm(_objective(theta, logN, logD, logL, delta)[1]))


def _brute_force_n_opt(law: ScalingLaw, C: float) -> float:
    n = np.geomspace(1e2, 1e16, 700_001)                 # 14 decades, 50,000 points per decade (steps of 4.6e-5)
    return float(n[np.argmin(law.loss(n, C / (6 * n)))])


@pytest.mark.parametrize("law", [HOFFMANN_2022, BESIROGLU_2024, ScalingLaw(2.0, 50.0, 300.0, 0.6, 0.3)],
                         ids=["hoffmann", "besiroglu", "unequal"])
@pytest.mark.parametrize("C", [1e18, 5.76e23, 1e26])
def test_closed_form_allocation_equals_a_brute_force_search(law, C):
    n_opt, d_opt = law.optimal(C)
    assert 6 * n_opt * d_opt == pytest.approx(C, rel=1e-12)
    assert n_opt == pytest.approx(_brute_force_n_opt(law, C), rel=1e-4)


def test_swapped_exponent_in_the_allocation_is_caught():
    """The fault a = α/(α+β) (exponents swapped) misses the brute-force optimum whenever α ≠ β."""
    law = ScalingLaw(2.0, 50.0, 300.0, 0.6, 0.3)
    C = 1e20
    G = (law.alpha * law.A / (law.beta * law.B)) ** (1 / (law.alpha + law.beta))
    wrong = G * (C / 6) ** (law.alpha / (law.alpha + law.beta))
    assert abs(wrong / _brute_force_n_opt(law, C) - 1) > 0.5


def test_published_fits_put_chinchilla_near_twenty_tokens_per_parameter():
    """Besiroglu et al.'s refit at the Gopher/Chinchilla budget: ≈ 70B parameters, ≈ 20 tokens each, a = 0.5126
    (their paper); Hoffmann et al.'s printed values give a = 0.45 and far more tokens per parameter."""
    n, d = BESIROGLU_2024.optimal(5.76e23)
    assert 60e9 < n < 85e9 and 15 < d / n < 25
    assert BESIROGLU_2024.a == pytest.approx(0.5126, abs=5e-4)
    assert HOFFMANN_2022.a == pytest.approx(0.45, abs=0.01)


def test_bootstrap_intervals_cover_the_truth():
    rng = np.random.default_rng(3)
    L = BESIROGLU_2024.loss(N_GRID, D_GRID) * np.exp(rng.normal(0.0, 0.005, len(N_GRID)))
    law = fit_scaling_law(N_GRID, D_GRID, L, starts=10)
    boot = bootstrap(N_GRID, D_GRID, L, 20, np.random.default_rng(4), start=law)
    assert boot.shape == (20, 5) and np.isfinite(boot).all()
    lo, hi = np.percentile(boot[:, 3], [2.5, 97.5])
    assert lo <= BESIROGLU_2024.alpha <= hi
    assert hi - lo > 0                      # resampling moves the fit: the interval is not a point
    assert not math.isclose(lo, hi)


def test_too_few_runs_is_an_error():
    with pytest.raises(ValueError, match="at least 5 runs"):
        fit_scaling_law([1e6, 1e7], [1e9, 1e9], [3.0, 2.9])
