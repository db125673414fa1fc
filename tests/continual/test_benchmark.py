"""Split-task metrics and scenario heads."""
import numpy as np
import pytest
import torch

from modelbook.continual import benchmark as B


def test_metrics_on_a_hand_made_matrix():
    R = np.array([[0.9, 0.0, 0.0], [0.5, 0.8, 0.0], [0.3, 0.7, 0.95]])
    assert B.average_accuracy(R) == pytest.approx((0.3 + 0.7 + 0.95) / 3)
    assert B.forgetting(R) == pytest.approx(((0.9 - 0.3) + (0.8 - 0.7)) / 2)
    assert B.backward_transfer(R) == pytest.approx(((0.3 - 0.9) + (0.7 - 0.8)) / 2)


def test_scenario_heads():
    logits = torch.arange(20.0).reshape(2, 10)
    task = torch.tensor([0, 3])
    z, off = B.scenario_logits(logits, task, "task", 10)
    assert z.tolist() == [[0.0, 1.0], [16.0, 17.0]] and off.tolist() == [0, 6]
    z, off = B.scenario_logits(logits, task, "class", 4)
    assert z.shape == (2, 4) and off.tolist() == [0, 0]


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown method"):
        B.run_method("si", "class", None, B.TrainConfig(), 0)
