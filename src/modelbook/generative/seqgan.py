"""SeqGAN (Yu et al. 2017): a sequence generator trained by policy gradient with a discriminator as reward.

Why a text GAN needs this: the generator emits tokens by sampling, which has no gradient, so the
discriminator's loss cannot be back-propagated into it. SeqGAN treats the generator G_θ as a policy (state:
the prefix Y_{1:t−1}, action: the next token y_t) and the discriminator's probability that a finished
sequence is real as the reward. A partial sequence has no reward of its own, so it is estimated by Monte
Carlo search: N rollouts with a lagged copy of the generator finish the prefix, and

    Q(Y_{1:t−1}, y_t) = (1/N) Σ_n D(Y^n_{1:T})   for t < T,      Q(Y_{1:T−1}, y_T) = D(Y_{1:T})
    ∇_θ J = E[ Σ_t ∇_θ log G_θ(y_t | Y_{1:t−1}) · Q(Y_{1:t−1}, y_t) ]                      (REINFORCE)

The discriminator (a CNN over token embeddings) is retrained between generator steps on real vs
generated sequences. The generator is first pre-trained by maximum likelihood (MLE), without which the
policy gradient never finds a signal.

The synthetic-oracle benchmark: a randomly initialised LSTM (weights ~ N(0, 1), as in the authors' code) is
the "real" distribution. Its samples are the training data, and because its likelihood is known, a
generator's samples can be scored exactly:
    NLL_oracle = −E_{x∼G} log p_oracle(x) / T     quality: do G's sequences look like the oracle's?
    NLL_test   = −E_{x∼oracle} log p_G(x) / T     coverage: does G give mass to everything the oracle says?
A generator that collapses onto a few likely sequences gets a good NLL_oracle and a bad NLL_test, and so
does an MLE model sampled at a temperature below 1: the two numbers must be read together (Caccia et al.
2020, "Language GANs falling short").

Written out here, not in core.train.fit, because the alternating generator/discriminator updates and the
rollout rewards are the algorithm (STYLE.md C8). Cross-checks: tests/generative/test_seqgan.py.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn


class LSTMGenerator(nn.Module):
    """p(y_t | y_{<t}) with an LSTM; y_0 is a begin token (an extra embedding row, never emitted)."""

    def __init__(self, vocab: int, emb: int = 32, hidden: int = 32, length: int = 20):
        super().__init__()
        self.vocab, self.length = vocab, length
        self.embed = nn.Embedding(vocab + 1, emb)
        self.lstm = nn.LSTM(emb, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def _inputs(self, x):  # (B, L) -> (B, L): begin token, then x shifted right
        return torch.cat([torch.full_like(x[:, :1], self.vocab), x[:, :-1]], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: x (B, L) -> next-token logits (B, L, V)."""
        h, _ = self.lstm(self.embed(self._inputs(x)))
        return self.out(h)

    def log_prob(self, x: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """(B, L) log p(x_t | x_{<t}) under softmax(logits / temperature)."""
        return (self(x) / temperature).log_softmax(-1).gather(-1, x[..., None]).squeeze(-1)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0,
               prefix: torch.Tensor | None = None) -> torch.Tensor:
        """n sequences of `length` tokens, continuing `prefix` (n, t) when given (the rollout)."""
        start = torch.full((n, 1), self.vocab, dtype=torch.long)
        given = prefix if prefix is not None else start[:, :0]
        _, state = self.lstm(self.embed(torch.cat([start, given[:, :-1]], 1))) if given.size(1) else (None, None)
        token = given[:, -1:] if given.size(1) else start
        out = [given]
        for _ in range(self.length - given.size(1)):
            h, state = self.lstm(self.embed(token), state)
            token = _draw((self.out(h[:, -1]) / temperature).softmax(-1), generator)
            out.append(token)
        return torch.cat(out, 1)


def _draw(probs: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One draw per row by inverting the CDF: the first index whose cumulative probability exceeds u ~ U(0, 1).
    Exact, like torch.multinomial, and several times faster for thousands of rows (measured)."""
    u = torch.rand(probs.size(0), 1, generator=generator, dtype=probs.dtype)
    return torch.searchsorted(probs.cumsum(-1), u).clamp_(max=probs.size(-1) - 1)  # (B, 1)


def make_oracle(vocab: int, emb: int, hidden: int, length: int, seed: int) -> LSTMGenerator:
    """The "real" distribution: an LSTM with every weight drawn from N(0, 1) (peaked, structured outputs)."""
    g = torch.Generator().manual_seed(seed)
    oracle = LSTMGenerator(vocab, emb, hidden, length)
    with torch.no_grad():
        for p in oracle.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    return oracle.eval().requires_grad_(False)


class Discriminator(nn.Module):
    """D(x) = P(x is real): token embeddings -> 1-D convolutions of several widths -> max over time -> logit
    (Kim 2014's sentence CNN, the discriminator family SeqGAN uses)."""

    def __init__(self, vocab: int, emb: int = 64, widths: tuple[int, ...] = (2, 3, 4, 5), n_filters: int = 32,
                 dropout: float = 0.25):
        super().__init__()
        self.embed = nn.Embedding(vocab, emb)
        self.convs = nn.ModuleList(nn.Conv1d(emb, n_filters, w) for w in widths)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(n_filters * len(widths), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, L) -> logits (B,)."""
        e = self.embed(x).transpose(1, 2)  # (B, emb, L)
        pooled = torch.cat([F.relu(conv(e)).amax(-1) for conv in self.convs], 1)  # (B, filters · widths)
        return self.out(self.drop(pooled)).squeeze(-1)


# -- measures -----------------------------------------------------------------------------------------
@torch.no_grad()
def nll_oracle(oracle: LSTMGenerator, samples: torch.Tensor, batch: int = 500) -> float:
    """−mean log p_oracle per token of the generator's samples (quality)."""
    return float(torch.cat([-oracle.log_prob(s).mean(1) for s in samples.split(batch)]).mean())


@torch.no_grad()
def nll_test(gen: LSTMGenerator, real: torch.Tensor, temperature: float = 1.0, batch: int = 500) -> float:
    """−mean log p_G per token of held-out real sequences (coverage)."""
    return float(torch.cat([-gen.log_prob(s, temperature).mean(1) for s in real.split(batch)]).mean())


# -- training -----------------------------------------------------------------------------------------
def mle_epoch(gen: LSTMGenerator, data: torch.Tensor, opt, batch: int, g: torch.Generator, clip: float = 5.0) -> float:
    """One epoch of teacher-forced maximum likelihood; returns the mean training NLL per token."""
    gen.train()
    total = 0.0
    for idx in torch.randperm(len(data), generator=g).split(batch):
        x = data[idx]
        loss = F.cross_entropy(gen(x).flatten(0, 1), x.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(gen.parameters(), clip)
        opt.step()
        total += loss.item() * len(idx)
    return total / len(data)


def discriminator_epoch(disc: Discriminator, real: torch.Tensor, fake: torch.Tensor, opt, batch: int,
                        g: torch.Generator) -> float:
    """One epoch of binary cross-entropy on real (label 1) vs generated (label 0); returns accuracy."""
    disc.train()
    x = torch.cat([real, fake])
    y = torch.cat([torch.ones(len(real)), torch.zeros(len(fake))])
    correct = 0
    for idx in torch.randperm(len(x), generator=g).split(batch):
        logits = disc(x[idx])
        loss = F.binary_cross_entropy_with_logits(logits, y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        correct += int(((logits > 0).float() == y[idx]).sum())
    return correct / len(x)


@torch.no_grad()
def rollout_rewards(rollout: LSTMGenerator, disc: Discriminator, samples: torch.Tensor, n_rollouts: int,
                    g: torch.Generator) -> torch.Tensor:
    """Q(Y_{1:t−1}, y_t) for every position of samples (B, T): the mean of D over n_rollouts completions of
    each prefix Y_{1:t} by the rollout policy; the last position is scored by D on the sequence itself."""
    disc.eval()
    b, length = samples.shape
    rewards = torch.empty(b, length)
    for t in range(1, length):
        prefix = samples[:, :t].repeat(n_rollouts, 1)  # (N·B, t)
        finished = rollout.sample(len(prefix), g, prefix=prefix)
        rewards[:, t - 1] = torch.sigmoid(disc(finished)).view(n_rollouts, b).mean(0)
    rewards[:, -1] = torch.sigmoid(disc(samples))
    return rewards


@dataclass
class SeqGANHistory:
    step: list[int] = field(default_factory=list)
    nll_oracle: list[float] = field(default_factory=list)
    nll_test: list[float] = field(default_factory=list)
    disc_accuracy: list[float] = field(default_factory=list)
    mean_reward: list[float] = field(default_factory=list)


def adversarial_training(gen: LSTMGenerator, disc: Discriminator, real: torch.Tensor, oracle: LSTMGenerator,
                         held_out: torch.Tensor, n_steps: int, batch: int, n_rollouts: int, d_epochs: int,
                         n_fake: int, g: torch.Generator, lr: float = 1e-3, d_lr: float = 1e-4,
                         rollout_update: float = 0.8, eval_every: int = 5, n_eval: int = 1000) -> SeqGANHistory:
    """SeqGAN's loop: per step one policy-gradient update of G with rollout rewards, a lagged update of the
    rollout policy, and d_epochs of discriminator training on fresh samples. Returns the learning curves."""
    rollout = copy.deepcopy(gen).eval()
    g_opt = torch.optim.Adam(gen.parameters(), lr=lr)
    d_opt = torch.optim.Adam(disc.parameters(), lr=d_lr)
    history = SeqGANHistory()
    acc = float("nan")
    for step in range(n_steps + 1):
        if step % eval_every == 0 or step == n_steps:
            gen.eval()
            history.step.append(step)
            history.nll_oracle.append(nll_oracle(oracle, gen.sample(n_eval, g)))
            history.nll_test.append(nll_test(gen, held_out))
            history.disc_accuracy.append(acc)
        if step == n_steps:
            break
        # -- the algorithm: generator step (REINFORCE with Monte-Carlo rollout rewards) --
        gen.eval()
        samples = gen.sample(batch, g)
        rewards = rollout_rewards(rollout, disc, samples, n_rollouts, g)  # (B, T)
        gen.train()
        loss = -(gen.log_prob(samples) * rewards).mean()
        g_opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(gen.parameters(), 5.0)
        g_opt.step()
        history.mean_reward.append(float(rewards.mean()))
        with torch.no_grad():  # the rollout policy follows G with a lag: θ_roll ← β θ_roll + (1 − β) θ
            for p_roll, p in zip(rollout.parameters(), gen.parameters()):
                p_roll.mul_(rollout_update).add_(p, alpha=1 - rollout_update)
        # -- discriminator step: real vs fresh generated sequences --
        gen.eval()
        fake = gen.sample(n_fake, g)
        pick = torch.randint(len(real), (n_fake,), generator=g)
        for _ in range(d_epochs):
            acc = discriminator_epoch(disc, real[pick], fake, d_opt, 64, g)
    return history
