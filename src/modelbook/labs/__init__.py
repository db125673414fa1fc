"""Every lab, by name: the index a reader scans first.

Listed here rather than found by importing, so `modelbook list` never imports torch.
tests/labs/test_contract.py fails if a module in this folder is missing from the table, and runs
every lab's quick preset on two seeds, requiring every reference comparison to pass.
"""
from modelbook.core.registry import LabSpec

LABS = (
    LabSpec("metrics", topics=(4,), title="Classification metrics from scratch, equal to scikit-learn; AUC, calibration, bootstrap"),
    LabSpec("attention", topics=(33,), title="Scaled dot-product, multi-head, cross, GQA (SmolLM2), KV cache, tiled online softmax"),
    LabSpec("gnn", topics=(34,), title="GCN and GAT from scratch (= PyG), what the graph adds, over-smoothing, neighbour sampling"),
    LabSpec("kge", topics=(39,), title="RESCAL/DistMult/ComplEx, TransE/RotatE, ConvE, R-GCN/GAT encoders; evaluator = PyKEEN's"),
    LabSpec("multihop", topics=(40,), title="1p-3i/ip/pi queries with exact answers, GQE and Query2Box on hard answers, path finding"),
)
