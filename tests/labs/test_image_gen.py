"""Lab `image-gen`: measured outcomes beyond the contract, and its checks fed deliberate faults."""
import pytest
import torch
from safetensors.torch import load_file

from modelbook.core.measure import torch_threads


@pytest.fixture(scope="module")
def lab(quick_result):
    from modelbook.generative import fid as fidlib
    from modelbook.labs import image_gen

    result, run_dir = quick_result("image-gen")
    cfg = result.config
    clf = fidlib.FeatureClassifier(cfg.side)
    clf.load_state_dict(load_file(str(run_dir / "classifier.safetensors")))
    return result, run_dir, cfg, clf.eval(), image_gen.data_for(cfg)


def _check(result, name):
    return next(c for c in result.checks if c.name == name)


def test_image_gen_lab_outcomes(lab):
    result, run_dir, cfg, _, _ = lab
    v = result.value
    # our Fréchet distance equals torchmetrics' FID on the same classifier features, for every model
    assert _check(result, "fid/ours_vs_torchmetrics_rel_diff").measured <= 1e-6
    # the real-vs-real floor is below every model's FID
    models = ["mlp_gan", "dcgan", "cgan", "vae", "collapsed"] + [f"ddim{k}" for k in cfg.ddim_steps]
    assert all(v("fid/real_floor") < v(f"fid/{m}") for m in models)
    # the IWAE bound is non-decreasing in k, and L_1 sits on the ELBO
    ks = cfg.iwae_ks
    assert all(v(f"vae/iwae_k{a}_nats") <= v(f"vae/iwae_k{b}_nats") for a, b in zip(ks, ks[1:]))
    assert abs(v("vae/iwae_k1_nats") - v("vae/test_elbo_nats")) < 2.0
    # the forward process: closed form = iterated chain; schedule and sampling steps = diffusers'
    for name in ("forward_moments_vs_chain", "forward_samples_vs_chain", "schedule_vs_diffusers",
                 "ddpm_step_vs_diffusers", "ddim_sampling_vs_diffusers"):
        assert _check(result, f"diffusion/{name}").passed
    # the DCGAN covers more of the data than the MLP GAN; the check fails with the two models' labels swapped
    assert _check(result, "pr/dcgan_minus_mlp_recall").passed
    assert v("recall/mlp_gan") - v("recall/dcgan") < cfg.dcgan_recall_lead
    # the collapsed generator covers fewer classes and keeps no recall
    assert v("collapsed/classes_covered") < v("dcgan/classes_covered") and v("recall/collapsed") < 0.05
    assert v("classifier/test_accuracy") > 0.6
    assert sorted(result.artifacts) == ["fid.png", "samples.png"]
    assert all((run_dir / f).is_file() for f in ("dcgan_generator.safetensors", "cgan_generator.safetensors", "vae.safetensors"))


def _generator(run_dir, cfg, name):
    from modelbook.generative import image_gan as gan

    G = gan.DCGenerator(cfg.z_dim, cfg.side, cfg.dc_channels, n_classes=10 if name == "cgan" else 0)
    G.load_state_dict(load_file(str(run_dir / f"{name}_generator.safetensors")))
    return G.eval()


def test_collapse_check_fails_when_the_generator_is_not_collapsed(lab):
    """Bite: the recall drop is re-measured from the saved DCGAN: with z shrunk it clears the margin; with the
    collapse switched off (z_scale = 1, the "collapsed" set is just more DCGAN samples) it does not."""
    from modelbook.generative import fid as fidlib
    from modelbook.generative import image_gan as gan

    result, run_dir, cfg, clf, data = lab
    G, real = _generator(run_dir, cfg, "dcgan"), fidlib.extract(clf, data["test"][0])

    def recall(z_scale, seed):
        with torch_threads(1):
            imgs = gan.sample(G, cfg.n_eval, torch.Generator().manual_seed(seed), z_scale=z_scale)
            return fidlib.precision_recall(real, fidlib.extract(clf, imgs), cfg.pr_k)[1]

    base = recall(1.0, cfg.seed + 21)
    assert abs(base - result.value("recall/dcgan")) < 1e-9                 # the saved model is the one measured
    assert base - recall(cfg.collapse_scale, cfg.seed + 30) >= cfg.collapse_recall_drop
    assert base - recall(1.0, cfg.seed + 30) < cfg.collapse_recall_drop     # the fault: no collapse


def test_consistency_check_fails_with_the_wrong_labels(lab):
    """Bite: cGAN samples judged against the classes they were drawn for clear chance + the lift; judged against
    the next class (an off-by-one in the requested labels) they do not."""
    from modelbook.generative import image_gan as gan
    from modelbook.labs.image_gen import CHANCE, consistency

    result, run_dir, cfg, clf, _ = lab
    G = _generator(run_dir, cfg, "cgan")
    asked = torch.arange(cfg.n_eval) % 10
    with torch_threads(1):
        imgs = gan.sample(G, cfg.n_eval, torch.Generator().manual_seed(cfg.seed + 22), labels=asked)
    right = consistency(clf, imgs, asked)
    assert abs(right - result.value("cgan/class_consistency")) < 1e-9
    assert right - CHANCE >= cfg.cgan_consistency_lift
    assert consistency(clf, imgs, (asked + 1) % 10) - CHANCE < cfg.cgan_consistency_lift


def test_vae_checks_fail_with_a_wrong_bound_or_a_wrong_kl(lab):
    """Bite: averaging log-weights (the ELBO again) instead of the weights gives no IWAE gain, and a KL without
    its ½ moves the analytic ELBO away from the Monte-Carlo one by far more than the tolerance."""
    from modelbook.generative import vae as vaelib
    from modelbook.labs.image_gen import elbo_kl_gap, vae_data

    result, run_dir, cfg, _, data = lab
    model = vaelib.VAE(cfg.side, cfg.vae_latent, cfg.vae_hidden)
    model.load_state_dict(load_file(str(run_dir / "vae.safetensors")))
    model.eval()
    xt = vae_data(cfg, data)[1]
    with torch.no_grad():
        log_w = vaelib.log_weights(model, xt, max(cfg.iwae_ks), torch.Generator().manual_seed(cfg.seed + 99))
    ks = cfg.iwae_ks
    bounds = vaelib.iwae_from_log_weights(log_w, ks)
    assert bounds[ks[-1]] - bounds[ks[0]] >= cfg.iwae_min_gain
    wrong = {k: float(log_w.reshape(len(log_w), -1, k).mean(-1).mean()) for k in ks}
    assert wrong[ks[-1]] - wrong[ks[0]] < cfg.iwae_min_gain
    gap, se = elbo_kl_gap(model, xt, cfg.seed + 43)
    assert abs(gap) <= 4 * se
    bad_gap, bad_se = elbo_kl_gap(model, xt, cfg.seed + 43, kl=lambda mu, lv: 2 * vaelib.gaussian_kl(mu, lv))
    assert abs(bad_gap) > 4 * bad_se
