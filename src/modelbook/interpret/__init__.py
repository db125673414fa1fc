"""Interpretability building blocks (topic 22):

  cnn.py             the small CNN the interpret lab explains, and a mosaic of its filters and maps
  gradients.py       saliency, gradient × input, Integrated Gradients (trapezoid and Gauss–Legendre), completeness
                     (and raising the steps until it holds)
  perturbation.py    permutation importance, deletion curves, LIME for tabular models, a log-likelihood score,
                     top-k stability across re-runs
  sanity.py          cascading model randomisation (Adebayo et al. 2018), rank correlations
  shapley.py         exact Shapley values of a gradient-boosting classifier by brute force over coalitions (the
                     reference shap's TreeExplainer is checked against)
  attention_maps.py  attention maps, rollout and leave-one-out importance for a BERT-style encoder (MiniLM)

SHAP values come from the shap library (TreeExplainer), which is the tool to use for tree ensembles; shapley.py
recomputes them slowly, to check it.
"""
