"""FullGraphValidation and node_accuracy give the exact accuracy on the chosen nodes, in eval mode."""
import numpy as np
import pytest
import torch

from modelbook.core.train import TrainState
from modelbook.graphs.train import FullGraphValidation, node_accuracy


def test_full_graph_validation_logs_the_accuracy_on_the_chosen_nodes():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Dropout(0.5), torch.nn.Linear(5, 3))
    x, y, val = torch.randn(40, 5), torch.randint(0, 3, (40,)), torch.arange(10, 30)
    model.train()
    state = TrainState(model, torch.optim.SGD(model.parameters(), lr=0.1))
    FullGraphValidation(model, lambda: model(x), y, val).on_epoch_end(state)
    assert not model.training                                              # evaluated without dropout
    with torch.no_grad():
        pred = (x @ model[1].weight.T + model[1].bias).numpy().argmax(1)
    assert state.logs["val_acc"] == pytest.approx(np.mean(pred[10:30] == y[10:30].numpy()), abs=1e-7)   # float32 mean


def test_node_accuracy_is_the_eval_mode_accuracy_on_the_chosen_nodes():
    """Equal to scikit-learn's accuracy_score of the dropout-free logits' argmax on the same nodes."""
    from sklearn.metrics import accuracy_score

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Dropout(0.5), torch.nn.Linear(5, 3))
    x, y, idx = torch.randn(50, 5), torch.randint(0, 3, (50,)), torch.arange(5, 45, 2)
    model.train()
    acc = node_accuracy(model, lambda: model(x), y, idx)
    assert not model.training                                              # evaluated without dropout
    with torch.no_grad():
        pred = (x @ model[1].weight.T + model[1].bias).numpy().argmax(1)
    assert acc == pytest.approx(accuracy_score(y[idx].numpy(), pred[idx.numpy()]), abs=1e-7)   # float32 mean
    assert acc == node_accuracy(model, lambda: model(x), y, idx)           # deterministic: no dropout draw
