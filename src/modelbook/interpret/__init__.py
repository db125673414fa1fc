"""Interpretability building blocks (topic 22):

  gradients.py       saliency, gradient × input, Integrated Gradients (trapezoid and Gauss–Legendre), completeness
  perturbation.py    permutation importance, deletion curves, LIME for tabular models
  sanity.py          cascading model randomisation (Adebayo et al. 2018), rank correlations
  attention_maps.py  attention maps, rollout and leave-one-out importance for a BERT-style encoder (MiniLM)

SHAP values come from the shap library (TreeExplainer), which is the tool to use for tree ensembles.
"""
