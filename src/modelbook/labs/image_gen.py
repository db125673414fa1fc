"""Image generation: MLP GAN, DCGAN, VAE, conditional GAN and a small DDPM/DDIM on Fashion-MNIST (topic 37).

What this lab shows
  1. Four classic generators trained from scratch on the same Fashion-MNIST images: an MLP GAN, a DCGAN, a
     VAE and a class-conditional DCGAN (projection discriminator), with sample grids (samples.png).
  2. FID computed on the features of a CNN classifier the lab trains on Fashion-MNIST (Inception would have
     to download): our Fréchet distance equals torchmetrics' FrechetInceptionDistance given the same feature
     module, for every model; the real-vs-real floor (training images vs test images, same N) sits beside
     every model's FID, because FID is biased upward at small N and is never 0 even for real data.
  3. Precision and recall (Kynkäänniemi et al. 2019, k-NN manifolds) make mode collapse visible: the DCGAN
     sampled with its latent shrunk towards one point (a deliberately collapsed generator) keeps most of its
     precision and loses its recall; FID alone only says "worse".
  4. The VAE on binarised images: test ELBO in nats (a bound on a real log-likelihood) with the analytic KL,
     equal within Monte-Carlo error to the one-sample importance-weighted bound L_1; L_k (Burda et al. 2016)
     rises with k (nested groups of the same samples, so it is non-decreasing on every draw). Its samples
     (pixel probabilities) are blurred and score the worst FID of the four one-step generators: a factorised
     decoder averages plausible images, and the same factorisation is what makes its likelihood computable.
  5. Class consistency of the conditional GAN: the lab's classifier labels cGAN samples drawn for each class.
  6. Beyond the source, a small DDPM (Ho et al. 2020): the closed form q(x_t | x_0) equals iterating the
     chain (moments exactly, and samples with the same noise composed); the noise schedule, a DDPM step and a
     DDIM step (Song et al. 2021) equal diffusers' DDPMScheduler and DDIMScheduler on the same tensors; FID
     against the number of DDIM steps, and beside the GANs with each model's training CPU seconds.
  Full preset, seed 0 (28 × 28): FID real floor 4.3, cGAN 19, DCGAN 29, MLP GAN 55, VAE 143, DDIM 355 at 25 steps
  (687 at 2); DCGAN recall 0.78 → 0.00 collapsed; cGAN class consistency 0.80; VAE ELBO −248.7 nats, L_64 −244.6.

Differences from the references
  - FID here uses a small classifier's 64 features, not Inception-v3's 2,048, and 1,000 images (quick: 400), not
    50,000: values compare within the lab only (the published DCGAN/DDPM FIDs are on other data and features).
  - The quick preset works on 14 × 14 images (2 × 2 average-pooled) with a few hundred training steps per model:
    the samples are rough, and only claims that hold at that scale on any seed are checked there. The full
    preset uses 28 × 28 images and checks that the DCGAN beats the MLP GAN.
  - The "collapsed" generator is made by truncation (z scaled by a small factor), the extreme of the truncation
    trick (Brock et al. 2019), not by a training failure: it shows what the metrics see, deterministically.
  - The DDPM uses T = 200 (quick: 100) steps with betas scaled up from Ho et al.'s 1e-4..0.02 over 1,000 steps
    so that ᾱ_T is still near 0, and a two-level U-Net of 41k parameters (quick: 18k), not 35.7 M; its 600
    training steps (quick: 100) take about a DCGAN's CPU time, far from the paper's 800k, so its FID trails the GANs.

Building blocks: modelbook/generative/image_gan.py, modelbook/generative/vae.py, modelbook/generative/diffusion.py,
                 modelbook/generative/fid.py
Cross-checks:    tests/generative/test_image_gan.py, tests/generative/test_vae.py, tests/generative/test_diffusion.py,
                 tests/generative/test_fid.py, tests/labs/test_image_gen.py
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import DDIMScheduler, DDPMScheduler  # library cross-checks, imported with the lab (not timed per run)
from safetensors.torch import save_file
from torch.utils.data import DataLoader, TensorDataset
from torchmetrics.image.fid import FrechetInceptionDistance

from modelbook.core import plots, progress
from modelbook.core.errors import ModelbookError
from modelbook.core.result import LabResult
from modelbook.core.train import fit
from modelbook.data.images import FASHION_CLASSES, fashion_subsets
from modelbook.generative import diffusion as dif
from modelbook.generative import fid as fidlib
from modelbook.generative import image_gan as gan
from modelbook.generative import vae as vaelib
from modelbook.generative.fid import consistency
from modelbook.generative.vae import binarise, elbo_kl_gap

TORCHMETRICS = "torchmetrics 1.9.0 FrechetInceptionDistance(feature=<the lab's classifier>), same images"
DIFFUSERS = "diffusers 0.42.1 DDPMScheduler / DDIMScheduler (linear betas, epsilon prediction, clip_sample), same tensors"
KYNKAANNIEMI = "Kynkäänniemi et al. 2019 (improved precision and recall): a collapsed generator loses recall"
BURDA = "Burda et al. 2016 (IWAE), Theorem 1: L_1 = ELBO ≤ L_k ≤ L_m for k ≤ m"
RADFORD = "Radford et al. 2016 (DCGAN): convolutional GANs beat fully connected ones on images"
N_CLASSES = len(FASHION_CLASSES)
CHANCE = 1 / N_CLASSES  # class consistency of a generator that ignores the label (10 balanced classes)
# Quick preset (200 steps on 14 × 14 images): cGAN class consistency over seeds 0, 11-15 was 0.31-0.64 (lift over
# chance 0.21-0.54), so the quick check asks for a lift of 0.1, half the smallest measured; the full preset asks for 0.3.
QUICK_CONSISTENCY_LIFT = 0.1
GRID = 8  # samples.png: an 8 × 8 grid per model (the cGAN: one column per class, first 8 classes)
STEP_CHECK_TS = 4  # DDPM-step equality is checked at this many steps spread over the chain (including t = 0)


@dataclass(frozen=True)
class Config:
    side: int = 28
    """image side: 28 (Fashion-MNIST) or 14 (2 × 2 average-pooled, for the quick preset)"""
    n_train: int = 20_000
    """training images for every generator and for the feature classifier"""
    n_eval: int = 1000
    """images per set for FID and precision/recall: generated, real test, and real train for the floor"""
    classifier_epochs: int = 2
    classifier_lr: float = 2e-3
    z_dim: int = 64
    mlp_hidden: int = 256
    """width of the MLP GAN's two hidden layers (generator and discriminator)"""
    dc_channels: int = 16
    """DCGAN width: channels of the discriminator's first layer and the generator's last hidden layer"""
    gan_steps: int = 2000
    """generator/discriminator update pairs for each GAN"""
    gan_batch: int = 64
    gan_lr: float = 1e-3
    """Adam learning rate of both players, β₁ = 0.5 as DCGAN (whose 2e-4 needs more steps than a CPU run affords:
    at 1,500 steps on 28 × 28 images it left the DCGAN at FID 58 where 1e-3 reached 34, seed 0)"""
    collapse_scale: float = 0.05
    """the collapsed generator samples z ~ N(0, collapse_scale² I): nearly one point of latent space"""
    collapse_recall_drop: float = 0.2
    """recall of the collapsed generator must be at least this much below the DCGAN's"""
    pr_k: int = 3
    """k of the k-NN manifolds (Kynkäänniemi et al. use 3)"""
    vae_latent: int = 16
    vae_hidden: int = 256
    vae_epochs: int = 10
    vae_lr: float = 1e-3
    vae_batch: int = 128
    n_vae_test: int = 1000
    """binarised test images for the ELBO and the IWAE bounds"""
    iwae_ks: tuple[int, ...] = (1, 4, 16, 64)
    """importance samples k for L_k; each divides the next (nested groups of the same draws)"""
    iwae_min_gain: float = 0.5
    """nats by which L_max(k) must exceed L_1"""
    cgan_consistency_lift: float = 0.3
    """class consistency of the cGAN must exceed chance (0.1) by this much"""
    dcgan_recall_lead: float = 0.2
    """recall of the DCGAN must exceed the MLP GAN's by this much (quick, seeds 0 and 11-15: 0.39-0.58; full, seed 0: 0.50)"""
    dcgan_beats_mlp: float | None = 0.0
    """FID margin by which the DCGAN must beat the MLP GAN; None: reported, not checked"""
    diffusion_T: int = 200
    beta_start: float = 5e-4
    beta_end: float = 0.1
    """linear betas (Ho et al.'s 1e-4..0.02 at T = 1000, scaled by 1000/T so that ᾱ_T stays near 0)"""
    unet_channels: int = 16
    diffusion_steps: int = 600
    """training steps of the denoiser"""
    diffusion_batch: int = 64
    diffusion_lr: float = 2e-3
    ddim_steps: tuple[int, ...] = (2, 5, 10, 25)
    """DDIM sampling steps for the FID-against-steps curve"""
    threads: int = 1
    """torch and BLAS threads, pinned by the runner around run()"""
    seed: int = 0


PRESETS = {
    "quick": Config(side=14, n_train=3000, n_eval=400, classifier_epochs=2, z_dim=32, mlp_hidden=128, dc_channels=16,
                    gan_steps=200, gan_lr=2e-3, vae_hidden=128, vae_epochs=3, n_vae_test=400, iwae_ks=(1, 4, 16),
                    iwae_min_gain=0.2, cgan_consistency_lift=QUICK_CONSISTENCY_LIFT, dcgan_beats_mlp=None, diffusion_T=100,
                    beta_start=1e-3, beta_end=0.2, unet_channels=8, diffusion_steps=100, diffusion_lr=3e-3,
                    ddim_steps=(2, 5, 10)),
    "full": Config(),
}


def run(cfg: Config, out: Path) -> LabResult:
    if cfg.side not in (14, 28):
        raise ModelbookError(f"side must be 14 or 28, got {cfg.side}")
    if any(b % a for a, b in zip(cfg.iwae_ks, cfg.iwae_ks[1:])):
        raise ModelbookError(f"iwae_ks must each divide the next (nested groups), got {cfg.iwae_ks}")
    result = LabResult("image-gen", cfg)
    data = data_for(cfg)
    clf = _classifier(result, cfg, data)
    real_test = fidlib.extract(clf, data["test"][0])
    result.metric("fid/real_floor", fidlib.fid(fidlib.extract(clf, data["floor"]), real_test))
    evaluator = Evaluator(result, cfg, clf, data["test"][0], real_test)
    samples = {}
    samples.update(_gans(result, cfg, data, clf, evaluator, out))
    samples["vae"] = _vae(result, cfg, data, evaluator, out)
    samples.update(_diffusion(result, cfg, data, evaluator))
    evaluator.finish()
    _plots(result, cfg, samples, out)
    return result


# -- data and the feature classifier -----------------------------------------------------------------------
def data_for(cfg: Config) -> dict:
    """Disjoint train / floor (train images) and test subsets, in [0, 1] at cfg.side."""
    rng = np.random.default_rng(cfg.seed + 1)  # + 1: the subsets' draw, apart from the training streams (cfg.seed)
    parts = fashion_subsets(rng, cfg.n_train, cfg.n_eval, max(cfg.n_eval, cfg.n_vae_test))
    shrink = (lambda x: F.avg_pool2d(x, 2)) if cfg.side == 14 else (lambda x: x)
    data = {name: (shrink(x), y) for name, (x, y) in parts.items()}
    data["floor"] = data.pop("val")[0]
    return data


def _classifier(result: LabResult, cfg: Config, data: dict) -> fidlib.FeatureClassifier:
    x, y = data["train"]
    clf = fidlib.FeatureClassifier(cfg.side)
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
    fit(clf, loader, torch.optim.Adam(clf.parameters(), lr=cfg.classifier_lr), cfg.classifier_epochs,
        criterion=torch.nn.CrossEntropyLoss(), description="feature classifier")
    clf.eval()
    xt, yt = data["test"]
    with torch.no_grad():
        result.metric("classifier/test_accuracy", (clf(xt).argmax(1) == yt).float().mean())
    return clf


class Evaluator:
    """FID (ours and torchmetrics'), precision and recall of each model's samples against the real test images."""

    def __init__(self, result: LabResult, cfg: Config, clf, real_images: torch.Tensor, real_features: torch.Tensor):
        self.result, self.cfg, self.clf, self.real = result, cfg, clf, real_features
        self.tm = FrechetInceptionDistance(feature=fidlib.FeatureExtractor(clf), normalize=True, reset_real_features=False,
                                           input_img_size=(1, cfg.side, cfg.side))
        self.tm.update(real_images, real=True)
        self.worst_rel_gap = 0.0

    def __call__(self, name: str, images: torch.Tensor) -> dict:
        feats = fidlib.extract(self.clf, images)
        ours = fidlib.fid(self.real, feats)
        self.tm.reset()
        self.tm.update(images, real=False)
        theirs = float(self.tm.compute())
        self.worst_rel_gap = max(self.worst_rel_gap, abs(ours - theirs) / abs(theirs))
        precision, recall = fidlib.precision_recall(self.real, feats, self.cfg.pr_k)
        r = self.result
        return {"fid": r.metric(f"fid/{name}", ours), "precision": r.metric(f"precision/{name}", precision),
                "recall": r.metric(f"recall/{name}", recall)}

    def finish(self) -> None:
        self.result.metric("fid/ours_vs_torchmetrics_rel_diff", self.worst_rel_gap)
        self.result.check("fid/ours_vs_torchmetrics_rel_diff", self.worst_rel_gap, reference=0.0, tolerance=1e-6,
                          source=TORCHMETRICS, kind="at_most",
                          note="largest relative difference over every model's FID (float64 features)")


def _timed(fn):
    c0 = time.process_time()
    out = fn()
    return out, time.process_time() - c0


# -- 1, 3, 5. GANs ---------------------------------------------------------------------------------------
def _gans(result: LabResult, cfg: Config, data: dict, clf, evaluate: Evaluator, out: Path) -> dict:
    x = data["train"][0] * 2 - 1  # GANs work in [−1, 1] (tanh outputs)
    y = data["train"][1]
    n = cfg.n_eval
    models = {
        "mlp_gan": (gan.MLPGenerator(cfg.z_dim, cfg.side, cfg.mlp_hidden), gan.MLPDiscriminator(cfg.side, cfg.mlp_hidden), None),
        "dcgan": (gan.DCGenerator(cfg.z_dim, cfg.side, cfg.dc_channels), gan.DCDiscriminator(cfg.side, cfg.dc_channels), None),
        "cgan": (gan.DCGenerator(cfg.z_dim, cfg.side, cfg.dc_channels, N_CLASSES),
                 gan.DCDiscriminator(cfg.side, cfg.dc_channels, N_CLASSES), y),
    }
    samples, scores = {}, {}
    for offset, (name, (G, D, labels)) in enumerate(models.items()):
        g = torch.Generator().manual_seed(cfg.seed + 10 + offset)  # + 10 + i: model i's batches and z, its own stream
        _, cpu = _timed(lambda: gan.train_gan(G, D, x, cfg.gan_steps, g, labels=labels, batch=cfg.gan_batch, lr=cfg.gan_lr,
                                              track=progress.track))
        result.metric(f"train_cpu_s/{name}", cpu, "s", volatile=True)
        ask = torch.arange(n) % N_CLASSES if labels is not None else None
        imgs = gan.sample(G, n, torch.Generator().manual_seed(cfg.seed + 20 + offset), labels=ask)  # + 20 + i: sampling
        samples[name] = imgs
        scores[name] = evaluate(name, imgs)
        if name == "cgan":
            _consistency(result, cfg, clf, imgs, ask)
        if name == "dcgan":
            collapsed = gan.sample(G, n, torch.Generator().manual_seed(cfg.seed + 30), z_scale=cfg.collapse_scale)  # + 30
            samples["collapsed"] = collapsed
            scores["collapsed"] = evaluate("collapsed", collapsed)
            with torch.no_grad():
                result.metric("collapsed/classes_covered", int(clf(collapsed).argmax(1).unique().numel()))
                result.metric("dcgan/classes_covered", int(clf(imgs).argmax(1).unique().numel()))
        if name != "mlp_gan":  # kept for the lab's tests (the collapse and consistency checks, fed faults)
            save_file({k: v.contiguous() for k, v in G.state_dict().items()}, str(out / f"{name}_generator.safetensors"))
    save_file({k: v.contiguous() for k, v in clf.state_dict().items()}, str(out / "classifier.safetensors"))
    result.check("pr/collapse_recall_drop", scores["dcgan"]["recall"] - scores["collapsed"]["recall"],
                 reference=cfg.collapse_recall_drop, tolerance=0.0, source=KYNKAANNIEMI, kind="at_least",
                 note=f"DCGAN recall {scores['dcgan']['recall']:.2f} → collapsed {scores['collapsed']['recall']:.2f}; "
                      f"precision {scores['dcgan']['precision']:.2f} → {scores['collapsed']['precision']:.2f}")
    result.check("pr/dcgan_minus_mlp_recall", scores["dcgan"]["recall"] - scores["mlp_gan"]["recall"],
                 reference=cfg.dcgan_recall_lead, tolerance=0.0, source=RADFORD, kind="at_least",
                 note="same steps, batch and learning rate; the fully connected GAN covers less of the data")
    gap = scores["mlp_gan"]["fid"] - scores["dcgan"]["fid"]
    result.metric("fid/mlp_minus_dcgan", gap)
    if cfg.dcgan_beats_mlp is not None:
        result.check("fid/mlp_minus_dcgan", gap, reference=cfg.dcgan_beats_mlp, tolerance=0.0, source=RADFORD, kind="at_least")
    return samples


def _consistency(result: LabResult, cfg: Config, clf, images, asked) -> None:
    value = result.metric("cgan/class_consistency", consistency(clf, images, asked))
    result.check("cgan/consistency_above_chance", value - CHANCE, reference=cfg.cgan_consistency_lift, tolerance=0.0,
                 source="chance level 1/10 (10 balanced classes): a generator that ignores the label", kind="at_least",
                 note=f"consistency {value:.2f}, judged by the lab's classifier (test accuracy "
                      f"{result.value('classifier/test_accuracy'):.2f})")


# -- 4. VAE -------------------------------------------------------------------------------------------------
def vae_data(cfg: Config, data: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Binarised training images and the first n_vae_test binarised test images."""
    gb = torch.Generator().manual_seed(cfg.seed + 40)  # + 40: the binarisation draw
    return binarise(data["train"][0], gb), binarise(data["test"][0][: cfg.n_vae_test], gb)


def _vae(result: LabResult, cfg: Config, data: dict, evaluate: Evaluator, out: Path) -> torch.Tensor:
    xb, xt = vae_data(cfg, data)
    model = vaelib.VAE(cfg.side, cfg.vae_latent, cfg.vae_hidden)
    loader = DataLoader(TensorDataset(xb), batch_size=cfg.vae_batch, shuffle=True)
    _, cpu = _timed(lambda: fit(model, loader, torch.optim.Adam(model.parameters(), lr=cfg.vae_lr), cfg.vae_epochs,
                                loss_fn=lambda m, batch: -vaelib.elbo(m, batch[0]).mean(), description="VAE"))
    result.metric("train_cpu_s/vae", cpu, "s", volatile=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out / "vae.safetensors"))
    model.eval()
    g = torch.Generator().manual_seed(cfg.seed + 41)  # + 41: the ELBO's and the bounds' importance samples
    with torch.no_grad():
        elbo = vaelib.elbo(model, xt, g)
    result.metric("vae/test_elbo_nats", elbo.mean(), "nats")
    bounds = vaelib.iwae_bounds(model, xt, cfg.iwae_ks, g)
    for k, v in bounds.items():
        result.metric(f"vae/iwae_k{k}_nats", v, "nats")
    ks = cfg.iwae_ks
    steps = [bounds[b] - bounds[a] for a, b in zip(ks, ks[1:])]
    result.check("vae/iwae_min_step", min(steps), reference=0.0, tolerance=0.0, source=BURDA, kind="at_least",
                 unit="nats", note="smallest L_k' − L_k over consecutive k (nested groups of the same draws)")
    result.check("vae/iwae_gain", bounds[ks[-1]] - bounds[ks[0]], reference=cfg.iwae_min_gain, tolerance=0.0, source=BURDA,
                 kind="at_least", unit="nats", note=f"L_{ks[-1]} − L_1: the bound tightens when q(z|x) is not the posterior")
    gap, se = elbo_kl_gap(model, xt, cfg.seed + 43)  # + 43: one shared draw of z for the paired comparison
    result.check("vae/elbo_analytic_vs_monte_carlo", gap, reference=0.0, tolerance=4 * se, unit="nats",
                 source="exact: E_q[log p(z) − log q(z|x)] = −KL(q‖p), the analytic Gaussian KL (Kingma & Welling 2014)",
                 note=f"analytic-KL ELBO − one-sample L_1 on the same z, mean over test images; tolerance 4 standard "
                      f"errors ({se:.3f})")
    imgs = model.sample(cfg.n_eval, torch.Generator().manual_seed(cfg.seed + 42))  # + 42: prior draws
    evaluate("vae", imgs)
    return imgs


# -- 6. diffusion -------------------------------------------------------------------------------------------
def _diffusion(result: LabResult, cfg: Config, data: dict, evaluate: Evaluator) -> dict:
    s = dif.Schedule(cfg.diffusion_T, cfg.beta_start, cfg.beta_end)
    x = data["train"][0] * 2 - 1
    # -- the forward process: closed form vs the chain --
    g = torch.Generator().manual_seed(cfg.seed + 50)  # + 50: forward-process noise
    worst_moment = 0.0
    for t in range(cfg.diffusion_T):
        m, v = dif.chain_moments(s, t)
        abar = float(s.alphas_cumprod[t])
        worst_moment = max(worst_moment, abs(m - math.sqrt(abar)), abs(v - (1 - abar)))
    result.metric("diffusion/forward_moments_vs_chain", worst_moment)
    result.check("diffusion/forward_moments_vs_chain", worst_moment, reference=0.0, tolerance=1e-6, kind="at_most",
                 source="exact: iterating q(x_t|x_{t−1}) (mean ×√α_t, variance α_t v + β_t) vs N(√ᾱ_t x_0, (1−ᾱ_t) I)",
                 note="every t; float32 ᾱ_t against a float64 recursion")
    x0, t = x[:16], cfg.diffusion_T - 1
    noises = torch.randn((t + 1, *x0.shape), generator=g)
    chain = dif.q_sample_chain(s, x0, t, noises)
    closed = dif.q_sample(s, x0.double(), torch.full((16,), t), dif.composed_noise(s, t, noises))
    forward_gap = result.metric("diffusion/forward_samples_vs_chain", (chain - closed).abs().max())
    result.check("diffusion/forward_samples_vs_chain", forward_gap, reference=0.0, tolerance=1e-5,
                 kind="at_most", source="exact: the same T noises stepped through the chain vs composed into one ε")
    ddpm = DDPMScheduler(num_train_timesteps=s.T, beta_start=cfg.beta_start, beta_end=cfg.beta_end, beta_schedule="linear")
    result.check("diffusion/schedule_vs_diffusers", (s.alphas_cumprod - ddpm.alphas_cumprod).abs().max(), reference=0.0,
                 tolerance=1e-7, kind="at_most", source=DIFFUSERS)
    # -- training the denoiser --
    model = dif.TinyUNet(cfg.unet_channels)
    gt = torch.Generator().manual_seed(cfg.seed + 51)  # + 51: the denoiser's batches, steps and noise
    last_loss, cpu = _timed(lambda: dif.train_denoiser(model, s, x, cfg.diffusion_steps, cfg.diffusion_batch, cfg.diffusion_lr,
                                                       gt, track=progress.track))
    result.metric("diffusion/last_train_loss", last_loss)
    result.metric("train_cpu_s/ddpm", cpu, "s", volatile=True)
    # -- one sampling step of each kind vs diffusers, with the trained model's ε --
    probe = torch.randn(8, 1, cfg.side, cfg.side, generator=g)
    worst = 0.0
    with torch.no_grad():
        for t in np.linspace(0, s.T - 1, STEP_CHECK_TS).round().astype(int).tolist():
            eps = model(probe, torch.full((8,), t))
            noise_seed = cfg.seed + 52 + t  # + 52 + t: the step's variance noise, drawn the same way by both sides
            ours = dif.ddpm_step(s, eps, t, probe, torch.randn(probe.shape, generator=torch.Generator().manual_seed(noise_seed)))
            theirs = ddpm.step(eps, t, probe, generator=torch.Generator().manual_seed(noise_seed)).prev_sample
            worst = max(worst, float((ours - theirs).abs().max()))
    result.check("diffusion/ddpm_step_vs_diffusers", worst, reference=0.0, tolerance=1e-5, kind="at_most", source=DIFFUSERS,
                 note=f"{STEP_CHECK_TS} steps from t = T − 1 to t = 0, same ε and variance noise")
    ddim = DDIMScheduler(num_train_timesteps=s.T, beta_start=cfg.beta_start, beta_end=cfg.beta_end, beta_schedule="linear")
    steps = cfg.ddim_steps[len(cfg.ddim_steps) // 2]
    ddim.set_timesteps(steps)
    start = torch.randn(8, 1, cfg.side, cfg.side, generator=g)
    theirs = start.clone()
    with torch.no_grad():
        for t in ddim.timesteps.tolist():
            theirs = ddim.step(model(theirs, torch.full((8,), t)), t, theirs).prev_sample
    ours = dif.sample_ddim(model, s, 8, cfg.side, steps, torch.Generator().manual_seed(0), start=start)
    ddim_gap = result.metric("diffusion/ddim_sampling_vs_diffusers", (ours - theirs).abs().max())
    result.check("diffusion/ddim_sampling_vs_diffusers", ddim_gap, reference=0.0, tolerance=1e-4,
                 kind="at_most", source=DIFFUSERS, note=f"a whole {steps}-step DDIM trajectory (η = 0) from the same noise")
    # -- FID against the number of sampling steps --
    samples = {}
    for i, n_steps in enumerate(progress.track(cfg.ddim_steps, "DDIM sampling")):
        gs = torch.Generator().manual_seed(cfg.seed + 60)  # + 60: the same start noise for every step count
        imgs, cpu = _timed(lambda: (dif.sample_ddim(model, s, cfg.n_eval, cfg.side, n_steps, gs) + 1) / 2)
        result.metric(f"sample_cpu_s/ddim{n_steps}", cpu, "s", volatile=True)
        evaluate(f"ddim{n_steps}", imgs.clamp(0, 1))
        samples[f"ddim{n_steps}"] = imgs.clamp(0, 1)
    fids = {k: result.value(f"fid/ddim{k}") for k in cfg.ddim_steps}
    best = min(fids, key=fids.get)
    result.note(f"DDPM: {cfg.diffusion_steps} denoiser steps, in about the training CPU time of one DCGAN "
                f"(train_cpu_s/ddpm vs train_cpu_s/dcgan); FID {fids[min(fids)]:.0f} at {min(fids)} DDIM steps, "
                f"{fids[max(fids)]:.0f} at {max(fids)} (best {fids[best]:.0f} at {best}) against the DCGAN's "
                f"{result.value('fid/dcgan'):.0f}: at equal CPU minutes this small a diffusion model trails the GANs.")
    return {"ddim": samples[f"ddim{max(cfg.ddim_steps)}"], **{k: v for k, v in samples.items()}}


# -- plots --------------------------------------------------------------------------------------------------
def _tile(images: torch.Tensor, rows: int, cols: int) -> np.ndarray:
    side = images.shape[-1]
    grid = images[: rows * cols, 0].reshape(rows, cols, side, side).permute(0, 2, 1, 3).reshape(rows * side, cols * side)
    return grid.numpy()


def _plots(result: LabResult, cfg: Config, samples: dict, out: Path) -> None:
    names = ["mlp_gan", "dcgan", "cgan", "vae", "ddim", "collapsed"]
    fig, axes = plots.figure(2, 3, size=(11, 7.6))
    for ax, name in zip(axes.flat, names):
        imgs = samples[name]
        if name == "cgan":  # one column per class (images were asked for classes 0, 1, 2, ... in turn)
            per_class = imgs[: GRID * N_CLASSES].view(GRID, N_CLASSES, 1, cfg.side, cfg.side)
            imgs = per_class[:, :GRID].reshape(-1, 1, cfg.side, cfg.side)
        ax.imshow(_tile(imgs, GRID, GRID), cmap="gray", vmin=0, vmax=1)
        label = f"ddim{max(cfg.ddim_steps)}" if name == "ddim" else name
        ax.set_title(f"{label}  FID {result.value(f'fid/{label}'):.1f}", fontsize=9)
        ax.axis("off")
    result.artifact(plots.save(fig, out / "samples.png"))
    fig, (ax1, ax2) = plots.figure(1, 2, size=(10, 3.8))
    steps = list(cfg.ddim_steps)
    ax1.plot(steps, [result.value(f"fid/ddim{k}") for k in steps], "o-", label="DDIM")
    for name, colour in (("mlp_gan", "C1"), ("dcgan", "C2"), ("vae", "C3")):
        ax1.axhline(result.value(f"fid/{name}"), ls="--", lw=1, label=name, color=colour)
    ax1.axhline(result.value("fid/real_floor"), color="k", lw=1, label="real vs real")
    ax1.set(xscale="log", yscale="log", xlabel="DDIM sampling steps", ylabel="FID (classifier features)")
    ax1.legend(fontsize=7)
    pr = ["mlp_gan", "dcgan", "cgan", "vae", f"ddim{max(steps)}", "collapsed"]
    ax2.scatter([result.value(f"recall/{n}") for n in pr], [result.value(f"precision/{n}") for n in pr])
    for n in pr:
        ax2.annotate(n, (result.value(f"recall/{n}"), result.value(f"precision/{n}")), fontsize=7)
    ax2.set(xlabel="recall (coverage)", ylabel="precision (fidelity)", xlim=(-0.05, 1.05), ylim=(-0.05, 1.05))
    result.artifact(plots.save(fig, out / "fid.png"))
