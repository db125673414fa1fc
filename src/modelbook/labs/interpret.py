"""Interpret: filters and activations, permutation importance vs SHAP, Integrated Gradients equal to Captum,
LIME, MiniLM attention maps, deletion-curve faithfulness and the model-randomisation sanity check (topic 22).

What this lab shows
  1. What a small CNN trained on Fashion-MNIST learned in its first layer: the 5×5 filters and their
     activation maps for one image (plots).
  2. Integrated Gradients written from scratch equals Captum's IntegratedGradients on the same model, input,
     baseline and Gauss–Legendre nodes (float64), and satisfies completeness (Σ attributions = f(x) − f(x′))
     within 1%; the gap shrinks with the number of steps (plot). Captum's "riemann_trapezoid" weights sum to
     (m − 1)/m, so its gap stalls near 1/m.
  3. Faithfulness by deletion (Petsiuk et al. 2018): deleting pixels in the order saliency, gradient × input and
     IG rank them lowers the predicted-class probability faster than a random order (smaller area); on the
     tabular model below, the same for SHAP, LIME and (global) permutation importance, features → training mean.
  4. The sanity check of Adebayo et al. 2018: randomising the CNN's layers from the top decorrelates the plain
     gradient map from the original, while IG keeps part of its look because it multiplies by the input.
  5. On breast cancer with gradient boosting: permutation importance (ours) against mean |SHAP| from shap's
     TreeExplainer (exact for trees; equal to Shapley values computed here by brute force), with their rank agreement (Spearman, Kendall);
     LIME (ours) for one patient against that patient's SHAP values, and how much LIME's top features move
     between random seeds.
  6. MiniLM (all-MiniLM-L6-v2) attention maps for a sentence, read with a BERT encoder written out here: much
     of the attention sits on [CLS]/[SEP], and attention-based token scores agree poorly with leave-one-out
     importance for the sentence embedding (Kendall τ): attention weights are not explanations.

Differences from the references
  - Adebayo et al. randomise Inception v3 on ImageNet; here a 2-conv CNN on Fashion-MNIST. Their finding that
    gradients pass and input-multiplied maps partly do not is what is checked, not their figures.
  - The deletion metric deletes to black, the same baseline IG integrates from, which favours IG by
    construction (Hooker et al. 2019); random order is the reference, not a rival method.

Design notes
  - Tabular deletion curves delete to the training mean, signed toward the predicted class. SHAP's log-odds
    contributions and LIME's coefficient × standardised deviation rank each patient's own evidence; permutation
    importance gives one global order. Deleting to the mean (not to 0) keeps rows in range for the trees.

Building blocks: modelbook/interpret/{cnn,gradients,perturbation,sanity,shapley,attention_maps}.py, modelbook/nn/bert.py
Cross-checks:    tests/interpret/ (IG vs Captum, LIME vs the lime package on the same samples, permutation importance
                 vs sklearn.inspection), tests/nn/test_bert_encoder.py (vs transformers' BertModel)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.stats import kendalltau, spearmanr, weightedtau
from torch import nn

from modelbook.core import plots
from modelbook.core.result import LabResult
from modelbook.core.seed import generators
from modelbook.core.train import fit
from modelbook.interpret import attention_maps, gradients, perturbation, sanity, shapley
from modelbook.interpret.cnn import mosaic, small_cnn

COMPLETENESS_TOL = 0.01  # IG's sum must match f(x) − f(0) to 1%, the closeness Sundararajan et al. ask for
COMPLETENESS_CURVE_STEPS = (4, 8, 16, 32, 64, 128)  # the gap-vs-steps plot: powers of two up to ig_steps
COMPLETENESS_CURVE_IMAGES = 4  # images for that plot and for the Captum trapezoid ratio: the curve is an average
CAPTUM_TRAPEZOID_STEPS = 32  # m of the riemann_trapezoid comparison: its weights sum to (m − 1)/m
SANITY_STEPS_DIVISOR, SANITY_MIN_STEPS = 4, 8  # IG in the sanity check: a quarter of ig_steps, at least 8, since the
                                               # look of the map, not its completeness, is compared there
SANITY_LAYERS = ("fc", "conv2", "conv1")  # the CNN's parametrised layers, top first (cascading randomisation)
TAB_TEST_FRACTION = 0.3  # held-out share of the 569 breast-cancer records (171 of them)
TOP_K = 5  # features compared between rankings (top-5 overlap, LIME's top-5 stability, the notes)
SHAPLEY_PATIENTS = 10  # held-out patients whose SHAP values are recomputed by brute force (~2^7 coalitions per tree)
LIME_DELETION_SEED_OFFSET = 100  # LIME streams of the deletion patients start past the re-run streams (lime_seeds ≤ 100)
CAPTUM = "Captum 0.9 IntegratedGradients(method='gausslegendre') on the same model, input and baseline (float64 model)"
SENTENCES = (
    ("The hotel room was clean, but the staff at the front desk were rude and unhelpful.", "bad customer service"),
    ("My flight was delayed for six hours and nobody told us why.", "late airplane"),
    ("The new phone has an excellent camera and the battery lasts two days.", "long battery life"),
    ("She forgot her umbrella and got soaked walking home in the storm.", "rain"),
    ("The soup was cold and far too salty, so we sent it back to the kitchen.", "bad food at a restaurant"),
    ("After the update the laptop restarts every few minutes and loses my work.", "software bug"),
    ("Our team won the final in the last minute with a header from the captain.", "football match"),
    ("The museum's new exhibition shows paintings that were hidden for a century.", "art gallery"),
)


@dataclass(frozen=True)
class Config:
    n_train: int = 60_000
    """Fashion-MNIST training images for the CNN"""
    n_epochs: int = 3
    cnn_batch_size: int = 64
    """mini-batch size of the CNN's training"""
    cnn_lr: float = 2e-3
    """Adam learning rate of the CNN"""
    n_test: int = 10_000
    """test images for the CNN's accuracy"""
    n_explain: int = 64
    """test images explained (IG, deletion curves, sanity check)"""
    ig_steps: int = 128
    """Gauss–Legendre nodes of the IG integral (doubled per image until completeness holds to 1%)"""
    ig_max_steps: int = 2048
    deletion_steps: int = 28
    gbm_trees: int = 100
    """boosting rounds (depth 3); more rounds overfit this 569-record set and blur both importances"""
    gbm_depth: int = 3
    """depth of each boosted tree"""
    gbm_lr: float = 0.1
    """shrinkage of each boosting round (scikit-learn's default)"""
    gbm_subsample: float = 0.8
    """share of the training records each tree sees (stochastic gradient boosting, Friedman 2002)"""
    perm_repeats: int = 30
    perm_heldout: bool = True
    """also compute permutation importance on the held-out records alone (noisier; reported, not checked)"""
    lime_samples: int = 5000
    lime_seeds: int = 10
    """LIME re-runs with different random samples (stability of its top features)"""
    tab_deletion: int = 60
    """held-out patients whose tabular deletion curves compare SHAP, LIME, permutation importance and random order"""
    n_sentences: int = 8
    """sentence/query pairs for the attention-vs-importance comparison"""
    seed: int = 0
    threads: int = 1
    """torch and BLAS threads, pinned by the runner around run(): one is fastest for small models, fixes float sums"""


PRESETS = {
    "quick": Config(n_train=4000, n_epochs=2, n_test=1000, n_explain=8, ig_steps=64, deletion_steps=14,
                    perm_repeats=5, perm_heldout=False, lime_samples=1000, lime_seeds=3, tab_deletion=20,
                    n_sentences=2),
    "full": Config(),
}


def run(cfg: Config, out: Path) -> LabResult:
    result = LabResult("interpret", cfg)
    model, x, target = _cnn(result, cfg, out)
    _integrated_gradients(result, cfg, model, x, target, out)
    _deletion(result, cfg, model, x, target, out)
    _sanity(result, cfg, model, x, target, out)
    _tabular(result, cfg, out)
    _attention(result, cfg, out)
    return result


# -- 1. a CNN, its filters and activations ------------------------------------------------------------------
def _cnn(result: LabResult, cfg: Config, out: Path):
    from modelbook.data import fashion_mnist

    d = fashion_mnist()
    rng, gen = generators(cfg.seed)
    idx = rng.permutation(len(d.x_train))[:cfg.n_train]
    x = torch.tensor(d.x_train[idx, None] / 255.0, dtype=torch.float32)
    y = torch.tensor(d.y_train[idx])
    model = small_cnn()
    sampler = torch.utils.data.BatchSampler(torch.utils.data.RandomSampler(range(len(x)), generator=gen), cfg.cnn_batch_size,
                                            drop_last=False)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=None, sampler=sampler)
    fit(model, loader, torch.optim.Adam(model.parameters(), lr=cfg.cnn_lr), cfg.n_epochs, criterion=nn.CrossEntropyLoss(),
        description="CNN on Fashion-MNIST")
    test = rng.permutation(len(d.x_test))[:cfg.n_test]
    xt = torch.tensor(d.x_test[test, None] / 255.0, dtype=torch.float32)
    model.eval()
    with torch.no_grad():
        acc = float((model(xt).argmax(1) == torch.tensor(d.y_test[test])).float().mean())
    result.metric("cnn/test_acc", acc)
    # a library classifier on the same images: one mean image per class, nearest in Euclidean distance
    from sklearn.neighbors import NearestCentroid

    centroid = NearestCentroid().fit(x.reshape(len(x), -1).numpy(), y.numpy()).score(xt.reshape(len(xt), -1).numpy(), d.y_test[test])
    result.metric("cnn/nearest_centroid_test_acc", centroid)
    result.check(f"the CNN learned: its test accuracy vs scikit-learn NearestCentroid fitted on the same {len(x)} images "
                 f"({cfg.n_test} test images, 10 classes, chance 0.1)", acc, reference=centroid, tolerance=0.0, kind="at_least",
                 source="scikit-learn 1.9 NearestCentroid (one mean image per class) on the same training and test images: a CNN "
                 "that learned features beats a template of class means")
    model = model.double()  # float64 from here on: attributions are compared with Captum's
    explain = xt[:cfg.n_explain].double()
    with torch.no_grad():
        target = model(explain).argmax(1)
        act = model.relu1(model.conv1(explain[:1]))[0]         # (8, 28, 28) first-layer activation maps
    w = model.conv1.weight.detach()[:, 0]                      # (8, 5, 5) first-layer filters
    fig, axes = plots.figure(1, 3, size=(12, 3.6))
    axes[0].imshow(explain[0, 0].numpy(), cmap="gray")
    axes[0].set_title("input")
    lim = float(w.abs().max())
    axes[1].imshow(mosaic(w.numpy(), 2, pad_value=0.0), cmap="bwr", vmin=-lim, vmax=lim)
    axes[1].set_title("conv1: eight 5×5 filters (red +, blue −)")
    axes[2].imshow(mosaic(act.numpy(), 2, pad_value=float(act.max())), cmap="gray")
    axes[2].set_title("their ReLU activation maps for this image")
    for ax in axes:
        ax.axis("off")
    result.artifact(plots.save(fig, out / "cnn_filters_activations.png"))
    return model, explain, target


# -- 2. Integrated Gradients: ours vs Captum, completeness ---------------------------------------------------
def _integrated_gradients(result: LabResult, cfg: Config, model, x, target, out: Path) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from captum.attr import IntegratedGradients
    ours = gradients.integrated_gradients(model, x, target, n_steps=cfg.ig_steps)
    theirs = IntegratedGradients(model).attribute(x, baselines=torch.zeros_like(x), target=target,
                                                  n_steps=cfg.ig_steps, method="gausslegendre")
    diff = float((ours - theirs).abs().max())
    scale = float(ours.abs().max())
    result.metric("ig/max_abs_diff_vs_captum", diff)
    result.metric("ig/max_rel_diff_vs_captum", diff / scale)
    # Captum casts the quadrature weights to float32 (integrated_gradients.py: torch.tensor(step_sizes).float()),
    # so the two agree to float32 rounding of the weights, not to float64 rounding
    result.check(f"IG (ours, {cfg.ig_steps} Gauss–Legendre nodes) vs Captum, max |diff| / max |IG|", diff / scale, reference=0.0, tolerance=1e-6,
                 source=CAPTUM, kind="at_most")
    # completeness: the steps are raised per image until the sum matches (a ReLU network needs more on some paths)
    result.metric("ig/completeness_gap_max_at_start", float(gradients.completeness_gap(model, x, target, ours).max()))
    _, gap, steps_used = gradients.integrated_gradients_to_tolerance(model, x, target, cfg.ig_steps, cfg.ig_max_steps,
                                                                    tol=COMPLETENESS_TOL, attributions=ours)
    result.metric("ig/completeness_gap_max", float(gap.max()))
    result.metric("ig/completeness_gap_mean", float(gap.mean()))
    result.metric("ig/steps_max_used", int(steps_used.max()))
    result.metric("ig/images_needing_more_steps", int((steps_used > cfg.ig_steps).sum()))
    result.check("IG completeness: |Σ IG − (f(x) − f(0))| / |f(x) − f(0)|, worst image", float(gap.max()), reference=0.0, tolerance=COMPLETENESS_TOL,
                 source="Sundararajan, Taly & Yan 2017, §3 (completeness axiom; raise the steps until the sum is close)",
                 kind="at_most")
    steps = tuple(m for m in COMPLETENESS_CURVE_STEPS if m <= cfg.ig_steps)
    few, few_target = x[:COMPLETENESS_CURVE_IMAGES], target[:COMPLETENESS_CURVE_IMAGES]
    curves = {method: gradients.completeness_curve(model, few, few_target, steps, method) for method in ("gausslegendre", "trapezoid")}
    m = CAPTUM_TRAPEZOID_STEPS
    captum_trap = IntegratedGradients(model).attribute(few, baselines=torch.zeros_like(few), target=few_target, n_steps=m,
                                                        method="riemann_trapezoid")
    ratio = float(captum_trap.sum() / gradients.integrated_gradients(model, few, few_target, n_steps=m, method="trapezoid").sum())
    result.metric("ig/captum_trapezoid_over_ours_m32", ratio)
    result.check("Captum's riemann_trapezoid = ours × (m−1)/m (its weights sum to (m−1)/m), m=32", ratio, reference=(m - 1) / m, tolerance=1e-3,
                 source="captum/attr/_utils/approximation_methods.py riemann_builders (0.9): deltas 1/n, halved at both ends")
    for method, gaps in curves.items():
        result.metric(f"ig/completeness_gap_{method}_{steps[-1]}steps", gaps[-1])
    fig, ax = plots.figure()
    for method, gaps in curves.items():
        ax.loglog(steps, gaps, marker="o", label=f"ours, {method}")
    ax.axhline(COMPLETENESS_TOL, color="grey", ls=":", label=f"{COMPLETENESS_TOL:.0%}")
    ax.set_xlabel("integration steps m")
    ax.set_ylabel("mean completeness gap")
    ax.set_title("Integrated Gradients: completeness vs steps (ReLU CNN)")
    ax.legend()
    result.artifact(plots.save(fig, out / "ig_completeness.png"))


# -- 3. deletion curves ---------------------------------------------------------------------------------------
def _deletion(result: LabResult, cfg: Config, model, x, target, out: Path) -> None:
    _, gen = generators(cfg.seed + 1)  # + 1: the random order's own stream, apart from the CNN's data and batches
    maps = {
        "saliency": gradients.saliency(model, x, target),
        "grad_x_input": gradients.gradient_x_input(model, x, target),
        "integrated_gradients": gradients.integrated_gradients(model, x, target, n_steps=cfg.ig_steps),
        "random": torch.rand(x.shape, generator=gen, dtype=x.dtype),
    }
    aucs, curves = {}, {}
    for name, attribution in maps.items():
        curves[name] = perturbation.deletion_curve(model, x, attribution, target, cfg.deletion_steps)
        aucs[name] = float(perturbation.curve_auc(curves[name]).mean())
        result.metric(f"deletion/auc_{name}", aucs[name])
    src = "Petsiuk, Das & Saenko 2018 (RISE): a faithful attribution's deletion curve falls faster than random"
    for name in ("saliency", "grad_x_input", "integrated_gradients"):
        result.check(f"deletion AUC: {name} below random order", aucs[name], reference=aucs["random"], tolerance=0.0, source=src, kind="at_most")
    fig, ax = plots.figure()
    frac = np.linspace(0, 1, cfg.deletion_steps + 1)
    for name, c in curves.items():
        ax.plot(frac, c.mean(0), label=f"{name} (AUC {aucs[name]:.3f})")
    ax.set_xlabel("fraction of pixels deleted (set to black), most important first")
    ax.set_ylabel("probability of the predicted class")
    ax.set_title("Deletion curves")
    ax.legend(fontsize=8)
    result.artifact(plots.save(fig, out / "deletion_curves.png"))


# -- 4. sanity check by model randomisation --------------------------------------------------------------------
def _sanity(result: LabResult, cfg: Config, model, x, target, out: Path) -> None:
    steps = max(SANITY_MIN_STEPS, cfg.ig_steps // SANITY_STEPS_DIVISOR)
    methods = {
        "gradient": lambda m: gradients.saliency(m, x, target),
        "integrated_gradients": lambda m: gradients.integrated_gradients(m, x, target, n_steps=steps).abs(),
    }
    cascade = {}
    for name, attribute in methods.items():
        original = attribute(model)
        stages = sanity.cascading_randomization(model, list(SANITY_LAYERS), attribute, seed=cfg.seed)
        cascade[name] = [("original", original)] + stages
        for layer, m in stages:
            result.metric(f"sanity/{name}_spearman_after_{layer}", sanity.rank_correlation(original, m))
        result.metric(f"sanity/{name}_spearman_with_input_randomized", sanity.rank_correlation(stages[-1][1], x.abs()))
        result.metric(f"sanity/{name}_spearman_with_input_trained", sanity.rank_correlation(original, x.abs()))
    g_final = result.value("sanity/gradient_spearman_after_conv1")
    ig_final = result.value("sanity/integrated_gradients_spearman_after_conv1")
    src = "Adebayo et al. 2018, Fig. 2: gradient maps decorrelate under cascading randomisation; input-multiplied maps less"
    result.check("gradient map vs original after randomising every layer (Spearman of |map|)", g_final, reference=0.5, tolerance=0.0, source=src, kind="at_most")
    result.check("IG keeps more of its look than the plain gradient (it multiplies by the input)", ig_final - g_final, reference=0.0, tolerance=0.0,
                 source=src, kind="at_least")
    fig, axes = plots.figure(2, 1, size=(10, 4.8))
    for ax, (name, stages) in zip(axes, cascade.items()):
        maps = [x[0, 0].numpy()] + [m[0, 0].abs().numpy() / max(float(m[0, 0].abs().max()), 1e-12) for _, m in stages]
        ax.imshow(mosaic(np.stack(maps), 1, pad_value=1.0), cmap="hot")
        ax.set_title(f"{name}: input | original | randomised ≤ " + " | ≤ ".join(layer for layer, _ in stages[1:]), fontsize=9)
        ax.axis("off")
    result.artifact(plots.save(fig, out / "sanity_randomization.png"))


# -- 5. permutation importance vs SHAP; LIME ---------------------------------------------------------------------
def _tabular(result: LabResult, cfg: Config, out: Path) -> None:
    import warnings

    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import GradientBoostingClassifier

    from modelbook.data import breast_cancer, train_val_split
    from modelbook.evaluation import roc_auc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import shap
    X, y, _ = breast_cancer()
    names = list(load_breast_cancer().feature_names)
    rng, _ = generators(cfg.seed + 2)  # + 2: the split and the permutation shuffles, apart from the CNN's streams
    train, test = train_val_split(len(y), TAB_TEST_FRACTION, rng, stratify=y)
    model = GradientBoostingClassifier(n_estimators=cfg.gbm_trees, max_depth=cfg.gbm_depth, learning_rate=cfg.gbm_lr,
                                       subsample=cfg.gbm_subsample, random_state=cfg.seed).fit(X[train], y[train])
    Xte, yte = X[test], y[test]
    auc = roc_auc(yte, model.predict_proba(Xte)[:, 1])
    result.metric("tabular/gbm_test_auc", auc)

    def predict(A):
        return model.predict_proba(A)[:, 1]

    def neg_log_loss(A, b):  # a proper score that moves with every change in probability (ΔAUC is flat near 1)
        return perturbation.mean_log_likelihood(predict(A), b)

    # Both methods describe the fitted model on the same 569 records: permutation importance as "model reliance"
    # (Fisher et al. 2019) and SHAP as its additive decomposition. On the 171 held-out records alone the
    # permutation ranking of the weak features is mostly noise (see perm_vs_shap_spearman_heldout in the full preset).
    perm, perm_std = perturbation.permutation_importance(neg_log_loss, X, y, cfg.perm_repeats, rng)
    explainer = shap.TreeExplainer(model)
    sv = np.asarray(explainer.shap_values(X))                                      # (569, 30) in log-odds
    additivity = float(np.abs(explainer.expected_value + sv.sum(1) - model.decision_function(X)).max())
    mean_abs = np.abs(sv).mean(0)
    rho, tau = spearmanr(perm, mean_abs).statistic, kendalltau(perm, mean_abs).statistic
    wtau = weightedtau(perm, mean_abs).statistic  # hyperbolic weights: the top of both rankings counts most
    top_perm, top_shap = set(np.argsort(-perm)[:TOP_K]), set(np.argsort(-mean_abs)[:TOP_K])
    result.metric("tabular/shap_additivity_max_abs_err", additivity)
    result.metric("tabular/perm_vs_shap_spearman", rho)
    result.metric("tabular/perm_vs_shap_kendall", tau)
    result.metric("tabular/perm_vs_shap_weighted_kendall", wtau)
    result.metric("tabular/perm_vs_shap_same_top_feature", float(np.argmax(perm) == np.argmax(mean_abs)))
    result.metric("tabular/perm_vs_shap_top5_overlap", len(top_perm & top_shap))
    if cfg.perm_heldout:
        perm_te, _ = perturbation.permutation_importance(neg_log_loss, Xte, yte, cfg.perm_repeats, rng)
        result.metric("tabular/perm_vs_shap_spearman_heldout", spearmanr(perm_te, np.abs(sv[test]).mean(0)).statistic)
    # shap's values against ours by brute force (every coalition of each tree's features, the Shapley formula)
    few = test[:SHAPLEY_PATIENTS]
    brute, brute_expected = shapley.gradient_boosting_shapley(model, X[few])
    shap_diff = max(float(np.abs(brute - sv[few]).max()), abs(brute_expected - float(np.ravel(explainer.expected_value)[0])))
    result.metric("tabular/shap_vs_brute_force_max_abs_diff", shap_diff)
    result.check(f"shap TreeExplainer vs brute-force Shapley values (all coalitions, tree path-dependent game), "
                 f"{len(few)} held-out patients, max |diff| in log-odds", shap_diff, reference=0.0, tolerance=1e-9, kind="at_most",
                 source="Lundberg et al. 2018 (arXiv:1802.03888) Alg. 1 EXPVALUE and the Shapley formula, computed in "
                 "interpret/shapley.py; shap 0.51 TreeExplainer on the same model and records")
    result.note(f"SHAP local accuracy on all {len(X)} records: |E[f] + Σ φ_i − log-odds| ≤ {additivity:.1e} (a property of "
                "shap's algorithm, shown, not checked; brute force above has it by the Shapley efficiency axiom).")
    result.check("permutation importance vs mean |SHAP|: weighted Kendall τ (top ranks weigh most), 30 features", wtau, reference=0.5,
                 tolerance=0.0, source="Vigna 2015 (weighted τ); Fisher et al. 2019 / Lundberg et al. 2020: both rank global importance and "
                 "agree on the strong features, not on the long tail of weak ones", kind="at_least")
    result.note("Breast cancer GBM: top-5 by permutation (Δ log-loss): " + ", ".join(names[i] for i in np.argsort(-perm)[:TOP_K]) +
                "; by mean |SHAP|: " + ", ".join(names[i] for i in np.argsort(-mean_abs)[:TOP_K]) +
                f". Spearman {rho:.2f}, Kendall {tau:.2f}, weighted Kendall {wtau:.2f}: correlated features (radius, perimeter, area) split the credit "
                "differently under the two methods, and many features have zero permutation importance.")
    # LIME for one patient, against that patient's SHAP values; and across seeds
    i = int(np.argmin(np.abs(model.predict_proba(Xte)[:, 1] - 0.5)))  # the least certain test patient: LIME's home ground
    scale = X[train].std(0)
    # + s: each LIME re-run draws its own samples (offsets 0 .. lime_seeds − 1)
    runs = [perturbation.lime_tabular(predict, Xte[i], scale, cfg.lime_samples, np.random.default_rng(cfg.seed + s))
            for s in range(cfg.lime_seeds)]
    coef, _, r2 = runs[0]
    local_rho = spearmanr(np.abs(coef), np.abs(sv[test[i]])).statistic
    jaccard = perturbation.top_k_jaccard([c for c, _, _ in runs], TOP_K)
    result.metric("lime/surrogate_weighted_r2", r2)
    result.metric("lime/vs_shap_local_spearman_abs", local_rho)
    result.metric("lime/top5_jaccard_across_seeds", jaccard)
    result.note(f"LIME for test patient {i} ({cfg.lime_samples} samples): top features " +
                ", ".join(f"{names[j]} ({coef[j]:+.3f})" for j in np.argsort(-np.abs(coef))[:TOP_K]) +
                f"; local surrogate R² {r2:.2f}; rank agreement with the patient's SHAP values {local_rho:.2f}; top-5 "
                f"Jaccard across {cfg.lime_seeds} seeds {jaccard:.2f}.")
    deletion = _tabular_deletion(result, cfg, model, X[train].mean(0), scale, Xte, sv[test], perm, predict)
    fig, axes = plots.figure(1, 3, size=(16, 4.4))
    order = np.argsort(-mean_abs)[:10][::-1]
    axes[0].barh([names[j] for j in order], mean_abs[order] / mean_abs.max(), alpha=0.7, label="mean |SHAP| (scaled)")
    axes[0].barh([names[j] for j in order], np.maximum(perm[order], 0) / max(perm.max(), 1e-12), alpha=0.5, label="permutation Δ log-loss (scaled)")
    axes[0].set_title(f"Global importance (Spearman {rho:.2f})")
    axes[0].legend(fontsize=8)
    lo = np.argsort(-np.abs(coef))[:10][::-1]
    axes[1].barh([names[j] for j in lo], coef[lo])
    axes[1].set_title(f"LIME for one patient (R² {r2:.2f})")
    for name, curve in deletion.items():
        axes[2].plot(np.arange(curve.shape[1]), curve.mean(0), label=f"{name} (AUC {perturbation.curve_auc(curve).mean():.3f})")
    axes[2].set_xlabel("features → training mean, most supportive first")
    axes[2].set_ylabel("probability of the predicted class")
    axes[2].set_title(f"Deletion curves, {len(next(iter(deletion.values())))} held-out patients")
    axes[2].legend(fontsize=8)
    result.artifact(plots.save(fig, out / "tabular_importance.png"))


def _tabular_deletion(result: LabResult, cfg: Config, model, mean: np.ndarray, scale: np.ndarray, Xte: np.ndarray,
                      shap_te: np.ndarray, perm: np.ndarray, predict) -> dict[str, np.ndarray]:
    """Deletion curves on the GBM: each method's ranking of the 30 features for a patient, signed toward the
    predicted class, deletes (replaces by the training mean) the most supportive features first."""
    X = Xte[:cfg.tab_deletion]                                                     # (n, 30)
    predicted = model.predict(X)
    sign = perturbation.toward_predicted_class(predicted)                         # (n, 1) toward the predicted class
    # + LIME_DELETION_SEED_OFFSET + i: one LIME stream per patient, apart from the re-run streams of _tabular
    lime = np.stack([perturbation.lime_tabular(predict, x, scale, cfg.lime_samples,
                                               np.random.default_rng(cfg.seed + LIME_DELETION_SEED_OFFSET + i))[0]
                     for i, x in enumerate(X)])
    rng, _ = generators(cfg.seed + 3)  # + 3: the random order's own stream, apart from the split and the shuffles
    attributions = {
        "SHAP": shap_te[:cfg.tab_deletion] * sign,                                 # log-odds contributions
        "LIME": lime * (X - mean) / scale * sign,                                  # coefficient × standardised deviation
        "permutation (global)": np.broadcast_to(perm, X.shape),                    # one ranking for every patient
        "random": rng.random(X.shape),
    }
    curves, aucs = {}, {}
    for name, a in attributions.items():
        curves[name] = perturbation.deletion_curve_predicted_class(predict, X, a, mean, predicted)
        aucs[name] = float(perturbation.curve_auc(curves[name]).mean())
        key = name.split(" ")[0].lower()
        result.metric(f"deletion/tabular_auc_{key}", aucs[name])
    src = "Petsiuk, Das & Saenko 2018 (RISE): a faithful attribution's deletion curve falls faster than random"
    for name in ("SHAP", "LIME"):
        result.check(f"tabular deletion AUC ({len(X)} patients, features → training mean): {name} below random order",
                     aucs[name], reference=aucs["random"], tolerance=0.0, source=src, kind="at_most")
    result.note("Tabular deletion (features → training mean, most supportive first, mean over "
                f"{len(X)} held-out patients): AUC " + ", ".join(f"{k} {v:.3f}" for k, v in aucs.items()) +
                " (lower = more faithful). Local methods rank each patient's own evidence; one global ranking does not.")
    return curves


# -- 6. MiniLM attention ---------------------------------------------------------------------------------------
def _attention(result: LabResult, cfg: Config, out: Path) -> None:
    from modelbook.models.loaders import minilm_path
    from modelbook.nn.bert import load_minilm_encoder

    encoder, tokenizer = load_minilm_encoder(minilm_path())
    taus_received, taus_rollout, shares = [], [], []
    for text, query in SENTENCES[:cfg.n_sentences]:
        attn, tokens = attention_maps.attention_maps(encoder, tokenizer, text)
        loo = attention_maps.leave_one_out(encoder, tokenizer, text, query)
        taus_received.append(attention_maps.content_kendall(attention_maps.attention_received(attn), loo))
        taus_rollout.append(attention_maps.content_kendall(attention_maps.attention_rollout(attn).mean(0).numpy(), loo))
        shares.append(attention_maps.special_token_share(attn, tokens))
    share = np.mean(shares, 0)
    result.metric("attention/kendall_received_vs_loo_mean", float(np.mean(taus_received)))
    result.metric("attention/kendall_rollout_vs_loo_mean", float(np.mean(taus_rollout)))
    result.metric("attention/special_token_share_max_layer", float(share.max()))
    result.metric("attention/special_token_share_mean", float(share.mean()))
    src = "Jain & Wallace 2019: attention weights correlate weakly with gradient and leave-one-out importance"
    result.check("Kendall τ(attention received, leave-one-out importance), mean over sentences", float(np.mean(taus_received)),
                 reference=0.5, tolerance=0.0, source=src, kind="at_most")
    result.check("share of attention on [CLS]/[SEP] in the busiest layer", float(share.max()), reference=0.3, tolerance=0.0,
                 source="Clark et al. 2019, 'What does BERT look at?': heads park attention on [CLS]/[SEP] as a no-op", kind="at_least")
    text, query = SENTENCES[0]
    attn, tokens = attention_maps.attention_maps(encoder, tokenizer, text)
    loo = attention_maps.leave_one_out(encoder, tokenizer, text, query)
    received = attention_maps.attention_received(attn)
    fig, axes = plots.figure(1, 3, size=(17, 5.6))
    head_avg = attn.mean(1).numpy()                                      # (L, T, T)
    axes[0].imshow(mosaic(head_avg, 2, pad_value=float(head_avg.max())), cmap="viridis")
    axes[0].set_title("layers 1-3 (top) and 4-6 (bottom), mean of 12 heads", fontsize=9)
    axes[0].axis("off")
    axes[1].imshow(head_avg[-1], cmap="viridis")
    axes[1].set_xticks(range(len(tokens)), tokens, rotation=90, fontsize=7)
    axes[1].set_yticks(range(len(tokens)), tokens, fontsize=7)
    axes[1].set_title("layer 6: row = query token, column = attended token", fontsize=9)
    xs = np.arange(len(tokens))
    axes[2].bar(xs - 0.2, received / received.max(), 0.4, label="attention received, layer 6 (scaled)")
    axes[2].bar(xs + 0.2, loo / max(np.abs(loo).max(), 1e-12), 0.4, label=f"leave-one-out importance for '{query}' (scaled)")
    axes[2].set_xticks(xs, tokens, rotation=90, fontsize=7)
    axes[2].legend(fontsize=7)
    axes[2].set_title("attention is not importance", fontsize=9)
    result.artifact(plots.save(fig, out / "minilm_attention.png"))
    top = [tokens[j] for j in np.argsort(-loo)[:3]]
    result.note(f"MiniLM: for '{text}' vs '{query}', leave-one-out ranks {', '.join(top)} highest; attention received "
                f"ranks {', '.join(tokens[j] for j in np.argsort(-received)[:3])}. "
                f"Mean Kendall τ over {cfg.n_sentences} sentences: {np.mean(taus_received):.2f} (attention received), "
                f"{np.mean(taus_rollout):.2f} (rollout); {share.max():.0%} of a layer's attention lands on [CLS]/[SEP].")
