"""Recommendation building blocks: matrix factorisation with BPR and negative sampling (bpr.py)."""
