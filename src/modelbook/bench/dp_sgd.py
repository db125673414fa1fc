"""A DP-SGD step, ours (privacy.dp_sgd: torch.func per-example gradients, clipping, Gaussian noise) vs Opacus's
(GradSampleModule's per-sample gradient hooks + DPOptimizer), on the same model, batch and noise settings.

The two compute the same update (tests/privacy/test_dp_sgd.py checks it to 1e-12 in float64; here the float32
parameters after one noiseless step are compared). Timed: one full private step (per-example gradients, clip,
noise, optimizer step), interleaved repeats. Size axis: the batch (lot) size; per-example gradients make the step
cost linear in it, so the exponent should be about 1 (less at small batches, where fixed per-call costs weigh).
"""
from __future__ import annotations

from modelbook.bench.harness import Bench, interleaved

TITLE = "DP-SGD step (ours) vs Opacus"
QUICK = dict(batches=[64, 128, 256], features=256, hidden=256, classes=10, repeats=5)
FULL = dict(batches=[64, 128, 256, 512, 1024], features=256, hidden=256, classes=10, repeats=7)
THREADS = 1
SIGMA, CLIP = 1.0, 1.0


def run(quick: bool):
    import copy
    import warnings

    import torch
    from torch import nn

    from modelbook.privacy import dp_sgd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from opacus import GradSampleModule
        from opacus.optimizers import DPOptimizer

    p = QUICK if quick else FULL
    b = Bench("dp-sgd", quick, p)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    base = nn.Sequential(nn.Linear(p["features"], p["hidden"]), nn.ReLU(), nn.Linear(p["hidden"], p["classes"]))
    loss_fn = nn.functional.cross_entropy
    med: dict[str, list[float]] = {"ours": [], "opacus": []}
    worst = 0.0
    for batch in p["batches"]:
        x = torch.randn(batch, p["features"], generator=gen)
        y = torch.randint(0, p["classes"], (batch,), generator=gen)
        # Equality first: one noiseless step each from the same weights (Opacus adds 1e-6 to the norm; so do we here).
        ours_m, theirs_m = copy.deepcopy(base), GradSampleModule(copy.deepcopy(base))
        opt = DPOptimizer(torch.optim.SGD(theirs_m.parameters(), lr=0.1), noise_multiplier=0.0, max_grad_norm=CLIP,
                          expected_batch_size=batch)
        loss_fn(theirs_m(x), y).backward()
        opt.step()
        opt.zero_grad()
        dp_sgd.dp_sgd_step(ours_m, torch.optim.SGD(ours_m.parameters(), lr=0.1), loss_fn, x, y, 0.0, CLIP, batch,
                           stabilizer=1e-6)
        worst = max(worst, max(float((a - c).abs().max()) for a, c in zip(ours_m.parameters(), theirs_m._module.parameters())))

        # Timed: noisy steps, as in training.
        mine, my_opt = copy.deepcopy(base), None
        my_opt = torch.optim.SGD(mine.parameters(), lr=0.1)
        theirs = GradSampleModule(copy.deepcopy(base))
        their_opt = DPOptimizer(torch.optim.SGD(theirs.parameters(), lr=0.1), noise_multiplier=SIGMA, max_grad_norm=CLIP,
                                expected_batch_size=batch)

        def ours_step():
            dp_sgd.dp_sgd_step(mine, my_opt, loss_fn, x, y, SIGMA, CLIP, batch)

        def opacus_step():
            their_opt.zero_grad()
            loss_fn(theirs(x), y).backward()
            their_opt.step()

        times = interleaved({"ours": ours_step, "opacus": opacus_step}, p["repeats"])
        b.ratio("step ours/opacus", f"B={batch}", times["ours"], times["opacus"])
        for k in med:
            med[k].append(sorted(times[k])[len(times[k]) // 2])
    for k, v in med.items():
        b.exponent(f"step {k} vs B", p["batches"], v)
    b.at_most("max |ours − Opacus| after one noiseless step (float32)", worst, 1e-5,
              "Opacus GradSampleModule + DPOptimizer, same weights, batch and clipping")
    b.within("time exponent of our DP-SGD step in the batch", b.result.value("exponent step ours vs B"), 0.4, 2.0,
             "per-example gradients: one gradient per example (Abadi et al. 2016, Algorithm 1)",
             note="a timing: a wide band (the machine is shared); fixed per-step costs pull it below 1 at small batches, "
                  "and B copies of every gradient falling out of the caches push it above 1 at large ones (1.66 with "
                  "a 784→512 MLP up to B = 1024)")
    b.note(f"MLP {p['features']}→{p['hidden']}→{p['classes']}, σ = {SIGMA}, C = {CLIP}, SGD; median of {p['repeats']} "
           "interleaved repeats; < 1 means ours is faster.")
    return b.result
