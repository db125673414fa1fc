"""VAE building blocks against torch.distributions; the IWAE estimates' ordering."""
import math

import torch
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

from modelbook.core.measure import torch_threads
from modelbook.generative import vae as vaelib


def test_gaussian_kl_equals_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(7, 5, generator=g), torch.randn(7, 5, generator=g)
    q = Independent(Normal(mu, (0.5 * logvar).exp()), 1)
    p = Independent(Normal(torch.zeros(5), torch.ones(5)), 1)
    assert torch.allclose(vaelib.gaussian_kl(mu, logvar), kl_divergence(q, p), atol=1e-5)


def test_log_weights_equal_torch_distributions():
    torch.manual_seed(0)
    model = vaelib.VAE(side=14, latent=4, hidden=16)
    x = (torch.rand(3, 1, 14, 14) < 0.3).float()
    log_w = vaelib.log_weights(model, x, 5, torch.Generator().manual_seed(1))
    mu, logvar = model.encode(x)
    z = mu + (0.5 * logvar).exp() * torch.randn((5, *mu.shape), generator=torch.Generator().manual_seed(1))
    ref = (Independent(Bernoulli(logits=model.decode(z)), 1).log_prob(x.flatten(1))
           + Normal(0.0, 1.0).log_prob(z).sum(-1) - Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(-1))
    assert torch.allclose(log_w, ref.T, atol=1e-4)


def test_iwae_bounds_are_non_decreasing_on_any_draw_and_the_fault_is_not():
    g = torch.Generator().manual_seed(2)
    log_w = torch.randn(20, 64, generator=g) * 3
    ks = (1, 2, 8, 64)
    bounds = vaelib.iwae_from_log_weights(log_w, ks)
    assert all(bounds[a] <= bounds[b] for a, b in zip(ks, ks[1:]))
    assert abs(bounds[1] - float(log_w.mean())) < 1e-6                      # L_1 is the plain average of log w
    assert abs(bounds[64] - float((torch.logsumexp(log_w, 1) - math.log(64)).mean())) < 1e-6
    # the fault: averaging log-weights (the ELBO) instead of averaging the weights gives no gain at any k
    fault = {k: float(log_w.reshape(20, -1, k).mean(-1).mean()) for k in ks}
    assert fault[64] - fault[1] < 1e-5 < bounds[64] - bounds[1]


def test_elbo_training_improves_the_bound():
    with torch_threads(1):  # one thread: a small MLP on a busy machine crawls on more
        _train_small_vae()


def _train_small_vae():
    torch.manual_seed(0)
    model = vaelib.VAE(side=14, latent=4, hidden=32)
    x = (torch.rand(64, 1, 14, 14) < torch.linspace(0, 1, 196).view(1, 1, 14, 14)).float()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    with torch.no_grad():
        first = float(vaelib.elbo(model, x).mean())
    for _ in range(25):
        opt.zero_grad()
        loss = -vaelib.elbo(model, x).mean()
        loss.backward()
        opt.step()
    assert -loss.item() > first + 20
    assert model.sample(3, torch.Generator().manual_seed(0)).shape == (3, 1, 14, 14)
