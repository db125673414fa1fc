"""The written-out RNN and LSTM equations equal PyTorch's fused nn.RNN / nn.LSTM: outputs, final states, gradients."""
import pytest
import torch

from modelbook.nn.recurrent import RecurrentLM, lstm_forward, rnn_forward


@pytest.mark.parametrize("layers", [1, 2])
def test_lstm_equations_equal_nn_lstm(layers):
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(5, 7, layers, batch_first=True).double()
    x = torch.randn(3, 6, 5, dtype=torch.float64, requires_grad=True)
    ref, (h, c) = lstm(x)
    got, (h2, c2) = lstm_forward(lstm, x)
    torch.testing.assert_close(got, ref)
    torch.testing.assert_close((h2, c2), (h, c))
    params = [x, *lstm.parameters()]
    for a, b in zip(torch.autograd.grad(got.square().sum(), params), torch.autograd.grad(ref.square().sum(), params)):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("layers", [1, 2])
def test_rnn_equations_equal_nn_rnn(layers):
    torch.manual_seed(1)
    rnn = torch.nn.RNN(4, 6, layers, batch_first=True).double()
    x = torch.randn(2, 5, 4, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(layers, 2, 6, dtype=torch.float64)
    ref, h = rnn(x, h0)
    got, h2 = rnn_forward(rnn, x, h0)
    torch.testing.assert_close(got, ref)
    torch.testing.assert_close(h2, h)
    params = [x, *rnn.parameters()]
    for a, b in zip(torch.autograd.grad(got.sum(), params), torch.autograd.grad(ref.sum(), params)):
        torch.testing.assert_close(a, b)


def test_language_model_interface():
    model = RecurrentLM(11, 8, 16, cell="lstm")
    idx = torch.randint(0, 11, (2, 9))
    assert model(idx).shape == (2, 9, 11)
    assert model(idx, idx).ndim == 0
    with pytest.raises(ValueError):
        RecurrentLM(11, 8, 16, cell="gru")
