"""KGE score functions: score_t / score_h agree with the per-triple formula; equal to PyKEEN's interactions."""
import math

import pytest
import torch

from modelbook.kge import MODELS, ComplEx, DistMult, GraphEncoderDistMult, Reciprocal, RotatE, TransE, build
from modelbook.kge.train import TrainConfig, train

N, R = 7, 3


@pytest.mark.parametrize("name", sorted(MODELS))
def test_score_h_and_score_t_rank_the_same_triples(name):
    torch.manual_seed(0)
    model = build(name, N, R, 40 if name == "conve" else 6, reciprocal=False).eval()
    h, r, t = torch.tensor([0, 3, 6]), torch.tensor([0, 2, 1]), torch.tensor([5, 1, 2])
    with torch.no_grad():
        via_t = model.score_t(h, r)[torch.arange(3), t]
        if name == "conve":  # heads go through the reciprocal relation: a different function by design
            assert model.score_h(r, t).shape == (3, N)
            return
        via_h = model.score_h(r, t)[torch.arange(3), h]
    torch.testing.assert_close(via_t, via_h)


def test_closed_forms_on_hand_made_embeddings():
    m = TransE(2, 1, 2, p=1)
    with torch.no_grad():
        m.entity.weight.copy_(torch.tensor([[0.0, 0.0], [1.0, 2.0]]))
        m.relation.weight.copy_(torch.tensor([[1.0, 1.0]]))
    assert m.score_t(torch.tensor([0]), torch.tensor([0])).tolist() == [[-2.0, -1.0]]  # ‖0+r−e‖₁
    d = DistMult(2, 1, 2)
    with torch.no_grad():
        d.entity.weight.copy_(torch.tensor([[1.0, 2.0], [3.0, -1.0]]))
        d.relation.weight.copy_(torch.tensor([[2.0, 1.0]]))
    assert d.score_t(torch.tensor([0]), torch.tensor([0])).tolist() == [[6.0, 4.0]]
    rot = RotatE(2, 1, 1)
    with torch.no_grad():
        rot.entity.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))  # 1 and i
        rot.phase.weight.fill_(math.pi / 2)                               # multiply by i
    assert rot.score_t(torch.tensor([0]), torch.tensor([0]))[0, 1].item() == pytest.approx(0.0, abs=1e-5)


def _complex(x):
    d = x.size(-1) // 2
    return torch.complex(x[..., :d], x[..., d:])


def test_equal_to_pykeen_interaction_functions():
    from pykeen.nn.modules import ComplExInteraction, DistMultInteraction, TransEInteraction

    torch.manual_seed(0)
    h, r, t = torch.tensor([0, 4]), torch.tensor([1, 2]), torch.tensor([3, 6])
    te, dm, cx = TransE(N, R, 8, p=1), DistMult(N, R, 8), ComplEx(N, R, 4)
    with torch.no_grad():
        torch.testing.assert_close(te.score_hrt(h, r, t), TransEInteraction(p=1)(te.entity(h), te.relation(r), te.entity(t)))
        torch.testing.assert_close(dm.score_hrt(h, r, t), DistMultInteraction()(dm.entity(h), dm.relation(r), dm.entity(t)))
        torch.testing.assert_close(cx.score_hrt(h, r, t), ComplExInteraction()(_complex(cx.entity(h)), _complex(cx.relation(r)),
                                                                              _complex(cx.entity(t))))


def test_rotate_is_the_paper_l1_distance_of_the_rotated_head():
    torch.manual_seed(0)
    m = RotatE(N, R, 5)
    h, r, t = torch.tensor([1, 2]), torch.tensor([0, 2]), torch.tensor([4, 4])
    e = _complex(m.entity.weight)
    rot = torch.polar(torch.ones_like(m.phase.weight), m.phase.weight)
    want = -(e[h] * rot[r] - e[t]).abs().sum(-1)   # Sun et al. 2019 eq. 3 with the L1 norm over complex moduli
    with torch.no_grad():
        torch.testing.assert_close(m.score_hrt(h, r, t), want.detach(), rtol=1e-5, atol=1e-5)


def test_reciprocal_wrapper_answers_heads_with_the_inverse_relation():
    torch.manual_seed(0)
    m = build("distmult", N, R, 4, reciprocal=True)
    assert isinstance(m, Reciprocal) and m.inner.n_relations == 2 * R
    r, t = torch.tensor([1]), torch.tensor([2])
    torch.testing.assert_close(m.score_h(r, t), m.inner.score_t(t, r + R))


@pytest.mark.parametrize("mode,loss", [("1-n", "ce"), ("1-n", "bce"), ("negative-sampling", "nssa"), ("negative-sampling", "softplus")])
def test_training_fits_a_tiny_kg(mode, loss):
    import numpy as np

    triples = np.array([[0, 0, 1], [1, 0, 2], [2, 0, 3], [3, 1, 0], [4, 1, 5], [5, 2, 6]])
    torch.manual_seed(0)
    model = DistMult(N, R, 16)
    losses = train(model, triples, TrainConfig(mode=mode, loss=loss, n_epochs=150, batch_size=4, lr=0.05, n_negatives=4),
                   torch.Generator().manual_seed(0))
    assert losses[-1] < losses[0]
    with torch.no_grad():
        scores = model.score_t(torch.tensor([0]), torch.tensor([0]))[0]
    assert scores.argmax().item() == 1


@pytest.mark.parametrize("encoder", ["rgcn", "gat"])
def test_graph_encoder_models_score_all_entities(encoder):
    import numpy as np

    triples = np.array([[0, 0, 1], [1, 0, 2], [2, 1, 3], [4, 2, 5]])
    model = GraphEncoderDistMult(triples, N, R, 8, encoder=encoder).eval()
    out = model.score_t(torch.tensor([0, 1]), torch.tensor([0, 0]))
    assert out.shape == (2, N) and torch.isfinite(out).all()
