"""FullGraphValidation stores the exact accuracy on the validation nodes, in eval mode."""
import numpy as np
import pytest
import torch

from modelbook.core.train import TrainState
from modelbook.graphs.train import FullGraphValidation


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
