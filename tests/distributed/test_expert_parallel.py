"""Expert parallelism on 2 gloo ranks: each rank holds half the experts, yet the output and the input gradient equal
the whole layer run in one process; the bytes sent off-rank equal the exact count from the routing."""
from tests.distributed.spawn import run_ranks


def _check(rank, world):
    import torch

    from modelbook.distributed.expert_parallel import expert_parallel_forward, owned
    from modelbook.nn.moe import MoEConfig, SparseMoE, route

    torch.manual_seed(0)                                                  # the same layer on both ranks
    moe = SparseMoE(MoEConfig(12, 10, 4, 2)).double()
    x = torch.randn(37 + 5 * rank, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(1 + rank))
    x_ref, x_ep = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ref = moe(x_ref)
    y, stats = expert_parallel_forward(moe, x_ep, rank, world)
    torch.testing.assert_close(y, ref)
    (ref ** 2).sum().backward()
    (y ** 2).sum().backward()
    torch.testing.assert_close(x_ep.grad, x_ref.grad)                     # gradients travel back through both all-to-alls
    # bytes: rows of mine whose expert lives elsewhere (dispatch) + rows others send me (they come back as combine)
    chosen = route(moe.router(x), 2).experts.flatten()
    mine = torch.tensor(list(owned(4, rank, world)))
    out_rows = int((~torch.isin(chosen, mine)).sum())
    assert stats["bytes_off_rank"] == (out_rows + stats["rows_computed"] - int(torch.isin(chosen, mine).sum())) * 12 * 8
    assert stats["bytes_expert_weights"] == 2 * 3 * 12 * 10 * 8             # 2 of 4 experts, 3·d·F float64 each


def test_expert_parallel_equals_one_process():
    run_ranks(_check)
