"""SeqGAN pieces: sampling follows the generator's own distribution, rollouts keep their prefix, the reward
of the last position is D itself, MLE lowers held-out NLL, and a policy-gradient step with a reward that
likes one token makes that token more likely."""
import math

import torch

from modelbook.generative import seqgan


def _oracle():
    return seqgan.make_oracle(vocab=6, emb=8, hidden=8, length=4, seed=0)


def test_sequence_probabilities_sum_to_one_and_sampling_matches_them():
    import itertools

    oracle = _oracle()
    seqs = torch.tensor(list(itertools.product(range(6), repeat=4)))
    p = oracle.log_prob(seqs).sum(1).exp()
    assert float(p.sum()) == __import__("pytest").approx(1.0, abs=1e-5)
    draws = oracle.sample(20_000, torch.Generator().manual_seed(0))
    index = (draws * torch.tensor([216, 36, 6, 1])).sum(1)
    freq = torch.bincount(index, minlength=6 ** 4).double() / 20_000
    assert 0.5 * float((freq - p.double()).abs().sum()) < 0.06  # total variation, sampling noise ≈ 0.04


def test_rollouts_keep_the_prefix_and_the_last_reward_is_d():
    gen = seqgan.LSTMGenerator(6, 8, 8, 4)
    g = torch.Generator().manual_seed(1)
    prefix = torch.tensor([[1, 2], [3, 4]])
    out = gen.sample(2, g, prefix=prefix)
    assert out.shape == (2, 4) and torch.equal(out[:, :2], prefix)
    disc = seqgan.Discriminator(6, emb=8, widths=(2,), n_filters=4).eval()
    samples = gen.sample(5, g)
    rewards = seqgan.rollout_rewards(gen, disc, samples, 3, g)
    assert rewards.shape == (5, 4) and ((rewards > 0) & (rewards < 1)).all()
    torch.testing.assert_close(rewards[:, -1], torch.sigmoid(disc(samples)))


def test_mle_learns_the_oracle():
    torch.manual_seed(0)
    oracle = _oracle()
    g = torch.Generator().manual_seed(2)
    real, held = oracle.sample(2000, g), oracle.sample(500, g)
    gen = seqgan.LSTMGenerator(6, 8, 8, 4)
    before = seqgan.nll_test(gen, held)
    opt = torch.optim.Adam(gen.parameters(), lr=1e-2)
    for _ in range(8):
        seqgan.mle_epoch(gen, real, opt, 64, g)
    after = seqgan.nll_test(gen, held)
    assert after < before - 0.3
    assert after > seqgan.nll_oracle(oracle, held) - 0.05  # nothing beats the true distribution on its own samples


def test_policy_gradient_moves_probability_towards_rewarded_tokens():
    torch.manual_seed(0)
    gen = seqgan.LSTMGenerator(6, 8, 8, 4)
    opt = torch.optim.Adam(gen.parameters(), lr=0.05)
    g = torch.Generator().manual_seed(3)

    def p_token3():
        x = gen.sample(2000, g)
        return float((x == 3).float().mean())

    before = p_token3()
    for _ in range(30):
        samples = gen.sample(64, g)
        rewards = (samples == 3).float()  # a "discriminator" that only likes token 3
        loss = -(gen.log_prob(samples) * rewards).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert p_token3() > before + 0.2
    assert math.isfinite(before)
