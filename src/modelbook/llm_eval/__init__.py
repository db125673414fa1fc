"""Evaluating LLMs from scratch: a log-likelihood multiple-choice harness (acc, acc_norm as lm-evaluation-harness
defines them), benchmarks with exact answers from packaged data, contamination by n-gram overlap, and a pairwise
LLM judge's position bias. The lab is modelbook/labs/llm_eval.py (topic 47)."""
