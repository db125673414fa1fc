"""Every lab, by name: the index a reader scans first.

Listed here rather than found by importing, so `modelbook list` never imports torch.
tests/labs/test_contract.py fails if a module in this folder is missing from the table, and runs
every lab's quick preset on two seeds, requiring every reference comparison to pass.
"""
from modelbook.core.registry import LabSpec

LABS = (
    LabSpec("metrics", topics=(4,), title="Classification metrics from scratch, equal to scikit-learn; AUC, calibration, bootstrap"),
    LabSpec("parallel", topics=(9,), title="DDP, tensor and pipeline parallelism, accumulation, ZeRO/FSDP memory: real torchrun ranks"),
    LabSpec("deploy", topics=(10,), title="fp32 vs int8 vs ONNX Runtime vs torch.compile; dynamic batching; signed versions, hot swap under load"),
    LabSpec("security", topics=(20,), title="Scoped tokens, audit hash chain, signed artifacts, bandit; FGSM/PGD and adversarial training; prompt injection"),
    LabSpec("attention", topics=(33,), title="Scaled dot-product, multi-head, cross, GQA (SmolLM2), KV cache, tiled online softmax"),
)
