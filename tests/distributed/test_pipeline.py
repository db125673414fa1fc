"""Our GPipe pipeline (2 stages, micro-batches) vs one process, and vs torch.distributed.pipelining's ScheduleGPipe."""
import pytest

from tests.distributed.spawn import run_ranks


def _check(rank, world):
    import copy

    import torch
    import torch.distributed as dist
    from torch import nn

    from modelbook.distributed.pipeline import bubble_fraction, gpipe_step

    torch.manual_seed(0)
    full = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))
    x, y = torch.randn(12, 10), torch.randint(0, 3, (12,))
    parts = [full[:2], full[2:]]
    ours = copy.deepcopy(parts[rank])
    stats = gpipe_step(ours, rank, world, 4, x if rank == 0 else None, y if rank == 1 else None)
    ref = copy.deepcopy(full)
    loss = nn.functional.cross_entropy(ref(x), y)
    loss.backward()
    ref_part = ref[:2] if rank == 0 else ref[2:]
    for p, q in zip(ours.parameters(), ref_part.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-5, atol=1e-6)
    if rank == 1:
        assert abs(stats.loss - loss.item()) < 1e-5
    # -- the library: PipelineStage + ScheduleGPipe on the same stage and micro-batches --
    from torch.distributed.pipelining import PipelineStage, ScheduleGPipe

    lib_stage = copy.deepcopy(parts[rank])
    stage = PipelineStage(lib_stage, rank, world, torch.device("cpu"))
    schedule = ScheduleGPipe(stage, n_microbatches=4, loss_fn=lambda out, target: nn.functional.cross_entropy(out, target))
    if rank == 0:
        schedule.step(x)
    else:
        schedule.step(target=y)
    # the library sums the micro-batch gradients, then divides by the number of micro-batches (scale_grads=True)
    for p, q in zip(ours.parameters(), lib_stage.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-5, atol=1e-6)
    assert bubble_fraction(2, 4) == pytest.approx(1 / 5)
    dist.barrier()


@pytest.mark.timeout(300)
def test_gpipe_equals_single_process_and_torch_pipelining():
    run_ranks(_check)
