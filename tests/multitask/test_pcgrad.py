"""PCGrad against the reference PyTorch port's algorithm (WeiChengTseng/Pytorch-PCGrad, pcgrad.py
`_project_conflicting`, transcribed below as the oracle) on hand-built gradients, and against the projection formula
computed another way."""
import copy

import torch

from modelbook.multitask.pcgrad import cosine, pcgrad, project_conflicting


def reference_project_conflicting(grads, orders):
    """The port's loop with its random.shuffle replaced by the given orders; it returns the mean, not the sum."""
    pc_grad = copy.deepcopy(list(grads))
    for i, g_i in enumerate(pc_grad):
        for j in orders[i]:
            g_j = grads[j]
            g_i_g_j = torch.dot(g_i, g_j)
            if g_i_g_j < 0:
                g_i -= g_i_g_j * g_j / (g_j.norm() ** 2)
    return torch.stack(pc_grad).mean(dim=0)


def test_equals_reference_port_on_random_gradients():
    gen = torch.Generator().manual_seed(0)
    for t in (2, 3, 5):
        for _ in range(20):
            grads = torch.randn(t, 7, generator=gen, dtype=torch.float64)
            orders = [torch.randperm(t, generator=gen).tolist() for _ in range(t)]
            ours = project_conflicting(grads, orders).sum(0)
            ref = reference_project_conflicting([g.clone() for g in grads], orders) * t
            assert torch.allclose(ours, ref, atol=1e-12)


def test_hand_built_two_task_case():
    g1, g2 = torch.tensor([1.0, 0.0]), torch.tensor([-1.0, 1.0])      # conflict: g1·g2 = −1
    out = project_conflicting(torch.stack([g1, g2]))
    assert torch.allclose(out[0], torch.tensor([0.5, 0.5]))          # g1 − (−1/2) g2
    assert torch.allclose(out[1], torch.tensor([0.0, 1.0]))          # g2 − (−1/1) g1
    assert abs(torch.dot(out[0], g2)) < 1e-7 and abs(torch.dot(out[1], g1)) < 1e-7
    # no conflict: unchanged
    same = torch.stack([g1, torch.tensor([1.0, 1.0])])
    assert torch.equal(project_conflicting(same), same)


def test_projection_matrix_form_and_first_order_guarantee():
    gen = torch.Generator().manual_seed(1)
    for _ in range(50):
        g = torch.randn(2, 10, generator=gen, dtype=torch.float64)
        out = project_conflicting(g)
        if torch.dot(g[0], g[1]) < 0:
            p = torch.eye(10, dtype=torch.float64) - torch.outer(g[1], g[1]) / g[1].dot(g[1])
            assert torch.allclose(out[0], p @ g[0])
        d = pcgrad(g, gen)
        assert d.dot(g[0]) >= -1e-12 and d.dot(g[1]) >= -1e-12       # neither loss rises to first order


def test_cosine():
    assert abs(cosine(torch.tensor([1.0, 0.0]), torch.tensor([-1.0, 0.0])) + 1) < 1e-7
