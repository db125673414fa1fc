"""GAN building blocks: shapes, the losses against their formulas, a projection discriminator, a training step."""
import pytest
import torch

from modelbook.core.measure import torch_threads
from modelbook.generative import image_gan as gan


@pytest.mark.parametrize("side", [14, 28])
def test_generators_and_discriminators_fit_together(side):
    torch.manual_seed(0)
    z, y = torch.randn(4, 8), torch.tensor([0, 3, 9, 1])
    for G, D in [(gan.MLPGenerator(8, side, 32), gan.MLPDiscriminator(side, 32)),
                 (gan.DCGenerator(8, side, 8), gan.DCDiscriminator(side, 8)),
                 (gan.DCGenerator(8, side, 8, n_classes=10), gan.DCDiscriminator(side, 8, n_classes=10))]:
        x = G(z, y)
        assert x.shape == (4, 1, side, side) and x.abs().max() <= 1      # tanh output, as the data in [−1, 1]
        assert D(x, y).shape == (4,)
    with pytest.raises(ValueError):
        gan.DCGenerator(8, 32)


def test_losses_equal_their_formulas():
    g = torch.Generator().manual_seed(1)
    real, fake = torch.randn(6, generator=g), torch.randn(6, generator=g)
    sig = torch.sigmoid
    assert torch.allclose(gan.d_loss(real, fake), -(sig(real).log().mean() + (1 - sig(fake)).log().mean()), atol=1e-6)
    assert torch.allclose(gan.g_loss(fake), -sig(fake).log().mean(), atol=1e-6)       # non-saturating
    # where D rejects fakes confidently, the saturating loss has almost no gradient and the non-saturating one a large one
    logit = torch.tensor([-8.0], requires_grad=True)
    sat = torch.autograd.grad(torch.log(1 - sig(logit)).sum(), logit)[0].abs()
    nonsat = torch.autograd.grad(gan.g_loss(logit), logit)[0].abs()
    assert nonsat > 1000 * sat


def test_projection_term_uses_the_label():
    torch.manual_seed(2)
    D = gan.DCDiscriminator(14, 8, n_classes=10).eval()
    x = torch.randn(2, 1, 14, 14)
    phi = D.body(x)
    y = torch.tensor([2, 5])
    assert torch.allclose(D(x, y), D.psi(phi).squeeze(1) + (D.embed(y) * phi).sum(1), atol=1e-6)
    assert not torch.allclose(D(x, y), D(x, torch.tensor([3, 6])))


def test_a_few_steps_move_the_discriminator():
    torch.manual_seed(3)
    G, D = gan.MLPGenerator(8, 14, 32), gan.MLPDiscriminator(14, 32)
    real = torch.rand(64, 1, 14, 14) * 2 - 1
    with torch_threads(1):
        hist = gan.train_gan(G, D, real, 20, torch.Generator().manual_seed(0), batch=32, lr=1e-3)
    assert len(hist.d_loss) == 20 and hist.d_loss[-1] < hist.d_loss[0]
    x = gan.sample(G, 5, torch.Generator().manual_seed(0))
    assert x.min() >= 0 and x.max() <= 1 and not G.training
