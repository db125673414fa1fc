"""Every lab, by name: the index a reader scans first.

Listed here rather than found by importing, so `modelbook list` never imports torch.
tests/labs/test_contract.py fails if a module in this folder is missing from the table, and runs
every lab's quick preset on two seeds, requiring every reference comparison to pass.
"""
from modelbook.core.registry import LabSpec

LABS = (
    LabSpec("metrics", topics=(4,), title="Classification metrics from scratch, equal to scikit-learn; AUC, calibration, bootstrap"),
    LabSpec("generation", topics=(13,), title="Greedy, beam, top-k/top-p sampling with a KV cache on SmolLM2, = transformers; espeak-ng TTS"),
    LabSpec("dialogue", topics=(14,), title="Intents (macro-F1, imbalance), sentiment escalation, state tracking (JGA), SmolLM2 multi-turn chat"),
    LabSpec("attention", topics=(33,), title="Scaled dot-product, multi-head, cross, GQA (SmolLM2), KV cache, tiled online softmax"),
)
