"""Diffusion building blocks against diffusers' schedulers and against iterating the forward chain."""
import torch

from modelbook.core.measure import torch_threads
from modelbook.generative import diffusion as dif


def _schedulers(T):
    from diffusers import DDIMScheduler, DDPMScheduler

    kw = dict(num_train_timesteps=T, beta_start=1e-3, beta_end=0.2, beta_schedule="linear")
    return DDPMScheduler(**kw), DDIMScheduler(**kw)


def test_schedule_and_add_noise_equal_diffusers():
    T = 100
    s, (ddpm, _) = dif.Schedule(T, 1e-3, 0.2), _schedulers(T)
    assert torch.equal(s.betas, ddpm.betas) and torch.equal(s.alphas_cumprod, ddpm.alphas_cumprod)
    g = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(6, 1, 14, 14, generator=g), torch.randn(6, 1, 14, 14, generator=g)
    t = torch.tensor([0, 5, 17, 50, 98, 99])
    assert torch.allclose(dif.q_sample(s, x0, t, noise), ddpm.add_noise(x0, noise, t), atol=1e-6)


def test_closed_form_equals_iterated_chain():
    s = dif.Schedule(50, 1e-3, 0.3)
    for t in (0, 7, 49):
        m, v = dif.chain_moments(s, t)
        abar = float(s.alphas_cumprod[t])
        assert abs(m - abar ** 0.5) < 1e-6 and abs(v - (1 - abar)) < 1e-6
    g = torch.Generator().manual_seed(1)
    x0, noises = torch.randn(4, 1, 14, 14, generator=g), torch.randn(50, 4, 1, 14, 14, generator=g)
    t = 31
    chain = dif.q_sample_chain(s, x0, t, noises)
    closed = dif.q_sample(s, x0.double(), torch.full((4,), t), dif.composed_noise(s, t, noises))
    assert (chain - closed).abs().max() < 1e-5
    # the bite: a chain that adds β_t instead of √β_t of noise is not the closed form's process
    wrong = x0.double()
    for i in range(t + 1):
        wrong = s.alphas[i].sqrt() * wrong + s.betas[i] * noises[i]
    assert (wrong - closed).abs().max() > 0.1


def test_ddpm_and_ddim_steps_equal_diffusers():
    T = 100
    s, (ddpm, ddim) = dif.Schedule(T, 1e-3, 0.2), _schedulers(T)
    g = torch.Generator().manual_seed(2)
    x, eps = torch.randn(3, 1, 14, 14, generator=g), torch.randn(3, 1, 14, 14, generator=g)
    for t in (99, 40, 1, 0):
        noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(t))
        ref = ddpm.step(eps, t, x, generator=torch.Generator().manual_seed(t)).prev_sample
        assert torch.allclose(dif.ddpm_step(s, eps, t, x, noise), ref, atol=1e-5)
    ddim.set_timesteps(10)
    ts = dif.ddim_timesteps(T, 10)
    assert ts == ddim.timesteps.tolist()
    for i, t in enumerate(ts):
        t_prev = ts[i + 1] if i + 1 < len(ts) else -1
        ref = ddim.step(eps, t, x).prev_sample
        assert torch.allclose(dif.ddim_step(s, eps, t, t_prev, x), ref, atol=1e-5)
    noise = torch.randn(x.shape, generator=g)
    ref = ddim.step(eps, 50, x, eta=0.7, variance_noise=noise).prev_sample
    assert torch.allclose(dif.ddim_step(s, eps, 50, 40, x, eta=0.7, noise=noise), ref, atol=1e-5)


def test_tiny_unet_shapes_and_a_loss_that_trains():
    with torch_threads(1):  # one thread: small convolutions on a busy machine crawl on more
        _train_tiny_unet()


def _train_tiny_unet():
    torch.manual_seed(0)
    s, model = dif.Schedule(20, 1e-3, 0.3), dif.TinyUNet(channels=8, t_dim=16)
    x0 = torch.rand(16, 1, 14, 14) * 2 - 1
    assert model(x0, torch.zeros(16, dtype=torch.long)).shape == x0.shape
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    first = dif.diffusion_loss(model, s, x0, g).item()
    for _ in range(15):
        opt.zero_grad()
        loss = dif.diffusion_loss(model, s, x0, g)
        loss.backward()
        opt.step()
    assert loss.item() < first
    out = dif.sample_ddim(model, s, 2, 14, 5, torch.Generator().manual_seed(0))
    assert out.shape == (2, 1, 14, 14) and torch.isfinite(out).all()
