"""Our column/row-parallel MLP vs the unsharded layer and vs torch's DTensor tensor parallelism (2 gloo ranks)."""
import pytest

from tests.distributed.spawn import run_ranks


def _check(rank, world):
    import torch
    import torch.distributed as dist
    from torch import nn

    from modelbook.distributed.tensor_parallel import TensorParallelMLP

    torch.manual_seed(0)
    fc1, fc2 = nn.Linear(12, 8).double(), nn.Linear(8, 5).double()
    x = torch.randn(6, 12, dtype=torch.float64)
    # -- ours vs unsharded: outputs, input gradient, weight gradients (float64) --
    tp = TensorParallelMLP.from_mlp(fc1, nn.GELU(), fc2, rank, world)
    x_ref, x_tp = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ref = fc2(nn.functional.gelu(fc1(x_ref)))
    out = tp(x_tp)
    torch.testing.assert_close(out, ref)
    (ref ** 2).sum().backward()
    (out ** 2).sum().backward()
    rows = slice(rank * 4, (rank + 1) * 4)
    torch.testing.assert_close(x_tp.grad, x_ref.grad)
    torch.testing.assert_close(tp.fc1.weight.grad, fc1.weight.grad[rows])
    torch.testing.assert_close(tp.fc1.bias.grad, fc1.bias.grad[rows])
    torch.testing.assert_close(tp.fc2.weight.grad, fc2.weight.grad[:, rows])
    torch.testing.assert_close(tp.fc2.bias.grad, fc2.bias.grad)
    # -- ours vs torch's DTensor ColwiseParallel / RowwiseParallel on the same weights --
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor.parallel import ColwiseParallel, RowwiseParallel, parallelize_module

    torch.manual_seed(0)
    lib = nn.Sequential(nn.Linear(12, 8), nn.GELU(), nn.Linear(8, 5)).double()
    with torch.no_grad():
        lib[0].weight.copy_(fc1.weight), lib[0].bias.copy_(fc1.bias), lib[2].weight.copy_(fc2.weight), lib[2].bias.copy_(fc2.bias)
    mesh = init_device_mesh("cpu", (world,))
    lib = parallelize_module(lib, mesh, {"0": ColwiseParallel(), "2": RowwiseParallel()})
    x_lib = x.clone().requires_grad_(True)
    out_lib = lib(x_lib)
    torch.testing.assert_close(out, out_lib)
    (out_lib ** 2).sum().backward()
    torch.testing.assert_close(tp.fc1.weight.grad, lib[0].weight.grad.to_local())
    torch.testing.assert_close(tp.fc2.weight.grad, lib[2].weight.grad.to_local())
    torch.testing.assert_close(x_tp.grad, x_lib.grad)
    dist.barrier()


@pytest.mark.timeout(300)
def test_tensor_parallel_mlp_equals_unsharded_and_dtensor():
    run_ranks(_check)


def test_sharding_needs_a_divisible_dimension():
    from modelbook.distributed.tensor_parallel import ColumnParallelLinear

    with pytest.raises(ValueError, match="divisible"):
        ColumnParallelLinear(4, 7, 0, 2)
