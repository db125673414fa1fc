"""Knowledge-graph embedding from scratch: RESCAL, DistMult, ComplEx, TransE, RotatE, ConvE, R-GCN and
relation-aware GAT encoders with a DistMult decoder, 1-N and negative-sampling training, a filtered
rank-based evaluator, and the inverse-relation rule baseline.

    from modelbook.kge import MODELS, TrainConfig, train, evaluate_model, known_triples_mask
"""
from modelbook.kge.evaluate import (
    Ranks,
    adjusted,
    candidate_counts,
    chance_metrics,
    evaluate,
    evaluate_model,
    known_triples_mask,
    ranks_from_scores,
)
from modelbook.kge.gnn import GraphEncoderDistMult, RelationalGATLayer, RGCNLayer, relational_edges
from modelbook.kge.models import MODELS, RESCAL, ComplEx, ConvE, DistMult, KGEModel, Reciprocal, RotatE, TransE, build
from modelbook.kge.rules import InverseRuleModel
from modelbook.kge.train import TrainConfig, train, train_negative_sampling, train_one_n

__all__ = [
    "MODELS", "RESCAL", "ComplEx", "ConvE", "DistMult", "GraphEncoderDistMult", "InverseRuleModel", "KGEModel", "RGCNLayer",
    "Ranks", "Reciprocal", "RelationalGATLayer", "RotatE", "TrainConfig", "TransE", "adjusted", "candidate_counts", "chance_metrics",
    "evaluate", "evaluate_model", "known_triples_mask",
    "ranks_from_scores", "relational_edges", "build", "train", "train_negative_sampling", "train_one_n",
]
