"""The inverse-relation rule baseline."""
import numpy as np
import torch

from modelbook.kge import InverseRuleModel, evaluate_model, known_triples_mask


def test_a_perfect_inverse_pair_ranks_every_test_triple_first():
    # relation 1 is exactly the reverse of relation 0; test asks relation 0 for pairs seen only reversed
    train = np.array([[0, 0, 1], [1, 1, 0], [2, 0, 3], [3, 1, 2], [5, 1, 4], [7, 1, 6]])
    test = np.array([[4, 0, 5], [6, 0, 7]])
    rule = InverseRuleModel(train, 8, 2)
    assert rule.confidence[0, 1].item() == 1.0
    assert rule.inverse_share(test) == 1.0
    ranks = evaluate_model(rule, test, known_triples_mask(np.concatenate([train, test]), 8, 2))
    assert (ranks.tail["realistic"] == 1).all() and (ranks.head["realistic"] == 1).all()


def test_no_reverse_evidence_means_constant_scores():
    train = np.array([[0, 0, 1], [2, 0, 3]])
    rule = InverseRuleModel(train, 4, 1)
    assert rule.score_t(torch.tensor([1]), torch.tensor([0])).max().item() == 0.0
