"""Biased matrix factorisation: one SGD epoch of ours (recsys.mf.SGDSVD, numpy minibatches) vs scikit-surprise's
SVD (Cython, one rating at a time), on the same MovieLens ratings, the same 100 factors, lr, λ and init.

Equal work: one epoch over the same ratings with the same model size; Surprise's trainset is built once, outside
the timing, as ours takes arrays directly. Size axis: ratings R (random users of the packaged MovieLens, on its
2,000 most-rated items so that the factor initialisation stays a small fixed cost), so the time per epoch should
grow like R (exponent ≈ 1). Speed means nothing if the fit is worse, so the largest size is also trained to the
default 20 epochs by both and their test RMSE on a temporal split compared.
"""
from __future__ import annotations

from modelbook.bench.harness import Bench, interleaved

TITLE = "MF SGD epoch (ours) vs scikit-surprise SVD"
QUICK = dict(users=[150, 300, 610], items=2000, factors=100, repeats=3, quality_epochs=20)
FULL = dict(users=[75, 150, 300, 450, 610], items=2000, factors=100, repeats=7, quality_epochs=20)
THREADS = 1


def run(quick: bool):
    import numpy as np
    import pandas as pd
    from surprise import SVD, Dataset, Reader

    from modelbook.data.ratings import movielens_ratings
    from modelbook.recsys.mf import SGDSVD, rmse, surprise_svd
    from modelbook.recsys.splits import Ratings, subsample, temporal_split

    p = QUICK if quick else FULL
    b = Bench("mf", quick, p)
    user, item, rating, ts, _ = movielens_ratings()
    full = Ratings(user, item, rating, ts, int(user.max()) + 1, int(item.max()) + 1)
    rng = np.random.default_rng(0)
    sizes, med = [], {"ours": [], "surprise": []}
    for n_users in p["users"]:
        r, _ = subsample(full, n_users, p["items"], rng)
        df = pd.DataFrame({"u": r.user, "i": r.item, "r": r.rating})
        trainset = Dataset.load_from_df(df, Reader(rating_scale=(0.5, 5))).build_full_trainset()
        fns = {"ours": lambda: SGDSVD(p["factors"], n_epochs=1, seed=0).fit(r),
               "surprise": lambda: SVD(n_factors=p["factors"], n_epochs=1, random_state=0).fit(trainset)}
        times = interleaved(fns, p["repeats"])
        b.ratio("epoch ours/surprise", f"R={len(r)}", times["ours"], times["surprise"])
        sizes.append(len(r))
        for k in med:
            med[k].append(sorted(times[k])[len(times[k]) // 2])
    for k, v in med.items():
        b.exponent(f"epoch {k} vs R", sizes, v)
    train, test = temporal_split(r, 0.2)
    ours = rmse(SGDSVD(p["factors"], n_epochs=p["quality_epochs"], seed=0).fit(train), test)
    ref = surprise_svd(train, test, seed=0, n_factors=p["factors"], n_epochs=p["quality_epochs"])
    b.value("test RMSE ours", ours, volatile=False)
    b.value("test RMSE surprise", ref, volatile=False)
    b.at_most("|test RMSE ours − Surprise's| after 20 epochs (temporal split, largest size)", abs(ours - ref), 0.03,
              "scikit-surprise 1.1.5 SVD on the same split and hyperparameters")
    b.within("time exponent of our SGD epoch in the number of ratings", b.result.value("exponent epoch ours vs R"),
             0.4, 1.6, "one pass of SGD touches every rating once: O(R·k) (Koren et al. 2009)",
             note="a timing: wide band, the machine is shared")
    b.note(f"{p['factors']} factors, lr 0.005, λ 0.02 (Surprise's defaults); ours updates minibatches of 256 ratings "
           f"with numpy, Surprise one rating at a time in Cython; median of {p['repeats']} interleaved repeats; "
           "< 1 means ours is faster.")
    return b.result
