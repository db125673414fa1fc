"""The alignment objectives against the library and exact computations: DPO = trl's DPOTrainer, GRPO's pieces."""
import copy

import pytest
import torch

from modelbook.alignment import tasks
from modelbook.alignment.losses import bradley_terry_loss, dpo_loss, group_advantages, grpo_loss, k3_kl
from modelbook.alignment.policy import generate, sequence_logps, token_logps
from modelbook.alignment.train import tiny_gpt


@pytest.fixture(scope="module")
def trl_dpo_loss():
    """trl's loss, imported once for the module (importing trl takes seconds); only the equality test asks for it."""
    import trl.trainer.dpo_trainer  # noqa: F401  (the import is the cost; trl_dpo_loss then finds it loaded)

    from modelbook.alignment.reference import trl_dpo_loss

    return trl_dpo_loss


def test_dpo_loss_equals_trls_on_the_same_log_probabilities(trl_dpo_loss):
    g = torch.Generator().manual_seed(0)
    B, T = 6, 5
    chosen, rejected = -3 * torch.rand(B, T, generator=g), -3 * torch.rand(B, T, generator=g)
    cm = (torch.arange(T) < torch.randint(1, T + 1, (B, 1), generator=g)).float()
    rm = (torch.arange(T) < torch.randint(1, T + 1, (B, 1), generator=g)).float()
    ref_c, ref_r = -6 * torch.rand(B, generator=g), -6 * torch.rand(B, generator=g)
    for beta in (0.1, 0.5):
        ours = dpo_loss((chosen * cm).sum(1), (rejected * rm).sum(1), ref_c, ref_r, beta)[0].item()
        assert ours == pytest.approx(trl_dpo_loss(chosen, rejected, cm, rm, ref_c, ref_r, beta), rel=1e-6)
    # the bite: a loss that forgets the reference differs from trl's
    wrong = dpo_loss((chosen * cm).sum(1), (rejected * rm).sum(1), torch.zeros(B), torch.zeros(B), 0.1)[0].item()
    assert wrong != pytest.approx(trl_dpo_loss(chosen, rejected, cm, rm, ref_c, ref_r, 0.1), rel=1e-3)


def test_dpo_starts_at_log2_and_bradley_terry_is_its_special_case():
    x = torch.tensor([-2.0, -5.0])
    assert dpo_loss(x, x - 1, x, x - 1, 0.1)[0].item() == pytest.approx(torch.log(torch.tensor(2.0)).item())
    rc, rr = torch.tensor([1.0, 0.2]), torch.tensor([0.0, 0.7])
    assert dpo_loss(rc / 0.5, rr / 0.5, torch.zeros(2), torch.zeros(2), 0.5)[0].item() == pytest.approx(
        bradley_terry_loss(rc, rr).item())


def test_group_advantages_are_standardised_per_group_and_zero_when_all_agree():
    r = torch.tensor([[1.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
    a = group_advantages(r)
    assert a[0].mean().item() == pytest.approx(0.0, abs=1e-6)
    assert a[0].std().item() == pytest.approx(1.0, rel=1e-3)
    assert torch.equal(a[1], torch.zeros(4))


def test_k3_is_nonnegative_and_its_mean_is_the_exact_kl():
    g = torch.Generator().manual_seed(1)
    p = torch.softmax(torch.randn(6, generator=g), 0)
    q = torch.softmax(torch.randn(6, generator=g), 0)
    samples = torch.multinomial(p, 200_000, replacement=True, generator=g)
    est = k3_kl(p.log()[samples], q.log()[samples])
    assert (est >= 0).all()
    assert est.mean().item() == pytest.approx((p * (p / q).log()).sum().item(), rel=0.02)


def test_grpo_gradient_is_the_advantage_weighted_score_at_ratio_one():
    torch.manual_seed(0)
    model = tiny_gpt(16, 1, 4)
    prompts = torch.tensor([tasks.encode("01+02="), tasks.encode("03+04=")])
    ids, mask = generate(model, prompts, 4, tasks.EOS, tasks.PAD, generator=torch.Generator().manual_seed(0))
    adv = torch.tensor([1.0, -0.5])
    lp = token_logps(model, prompts, ids)
    loss, kl = grpo_loss(lp, lp.detach(), lp.detach(), adv, mask, 0.2, 0.04)
    assert kl.item() == pytest.approx(0.0, abs=1e-7)
    g1 = torch.autograd.grad(loss, model.lm_head.weight)[0]
    other = copy.deepcopy(model)
    surrogate = -((adv.unsqueeze(1) * token_logps(other, prompts, ids) * mask).sum(1) / mask.sum(1)).mean()
    g2 = torch.autograd.grad(surrogate, other.lm_head.weight)[0]
    assert torch.allclose(g1, g2, atol=1e-6)


def test_sequence_logps_score_the_completion_only():
    torch.manual_seed(0)
    model = tiny_gpt(16, 1, 4)
    prompts = torch.tensor([tasks.encode("01+02=")])
    comp = torch.tensor([tasks.encode("3.__")])
    mask = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    logits = model(torch.tensor([tasks.encode("01+02=3")]))
    manual = torch.log_softmax(logits, -1)[0, 5, tasks.encode("3")[0]] + torch.log_softmax(logits, -1)[0, 6, tasks.EOS]
    assert sequence_logps(model, prompts, comp, mask).item() == pytest.approx(manual.item(), abs=1e-5)


def test_the_verifier_checks_value_and_format_and_the_lenient_grader_does_not():
    ids = tasks.encode("30+0.")
    assert not tasks.verify(7, 23, ids) and tasks.verify(7, 23, tasks.encode("30.__"))
    assert tasks.lenient(7, 23, ids, 0.5) == 1 + 0.5 * 5 > tasks.lenient(7, 23, tasks.encode("30."), 0.5)
    with pytest.raises(ValueError, match="max_operand"):
        tasks.splits(60, 10, torch.Generator())
