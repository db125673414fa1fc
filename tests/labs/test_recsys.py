"""Lab `recsys`: measured outcomes beyond the contract (quick preset), and bites."""
from dataclasses import replace

import numpy as np
import pytest

from modelbook.core.config import validate
from modelbook.core.errors import ModelbookError


def test_explicit_implicit_and_cold_start(quick_result):
    result, run_dir = quick_result("recsys")
    v = result.value
    ref = v("explicit/surprise_svd_rmse")
    assert abs(v("explicit/sgd_svd_rmse") - ref) < 0.02 and abs(v("explicit/als_rmse") - ref) < 0.02
    for name in ("bpr", "two_tower"):
        assert v(f"implicit/{name}/recall@10") > v("implicit/most_popular/recall@10")
        assert v(f"implicit/{name}/ndcg@10") > v("implicit/most_popular/ndcg@10")
    assert v("cold/hybrid/recall@10") > v("cold/content/recall@10")  # the blend is not the weak content signal alone
    assert v("cold/users") > 250
    assert (run_dir / "recsys.png").stat().st_size > 0


def test_pipeline_and_bandit(quick_result):
    result, _ = quick_result("recsys")
    v = result.value
    assert v("pipeline/retrieval_recall@100") > v("pipeline/ranked_recall@10")
    assert v("pipeline/mmr_diversity") > v("pipeline/ranked_diversity")
    assert v("bandit/linucb/regret") < v("bandit/eps_greedy/regret") < v("bandit/random/regret")
    assert v("bandit/linucb/growth_exponent") < 0.75 < 0.95 < v("bandit/random/growth_exponent")


def test_rmse_check_bites():
    """A broken SGD (no learning) lands far outside the check's 0.02 of Surprise on the lab's split."""
    from modelbook.data.ratings import movielens_ratings
    from modelbook.labs.recsys import PRESETS
    from modelbook.recsys.mf import SGDSVD, rmse, surprise_svd
    from modelbook.recsys.splits import Ratings, subsample, temporal_split

    cfg = PRESETS["quick"]
    u, i, r, t, _ = movielens_ratings()
    data, _ = subsample(Ratings(u, i, r, t, int(u.max()) + 1, int(i.max()) + 1), cfg.n_users, cfg.n_items, np.random.default_rng(0))
    train, test = temporal_split(data)
    ref = surprise_svd(train, test, 0, n_factors=cfg.svd_factors)
    assert abs(rmse(SGDSVD(cfg.svd_factors, lr=0.0).fit(train), test) - ref) > 0.02


def test_bad_config_is_one_line_error():
    from modelbook.labs.recsys import PRESETS

    with pytest.raises(ModelbookError):
        validate(replace(PRESETS["quick"], bandit_epsilon=1.5), PRESETS)
