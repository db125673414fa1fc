"""kill -9 while checkpoints are written (core.train's resumable checkpoint and CheckpointBest, both through
atomic_write_bytes): over many trials, every checkpoint file present loads, and no temp file is left visible
under the checkpoint's own name. Each writer is a child forked by tests/forkserver.py (imports paid once)."""
import os
import signal
import time

import pytest

IMPORTS = """
import torch
from torch.utils.data import DataLoader, TensorDataset
from modelbook.core.train import CheckpointBest, fit
torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])  # the optimizer's first use imports torch._dynamo (seconds)
"""
WRITER = """
import sys
d = sys.argv[1]
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(256, 2048), torch.nn.ReLU(), torch.nn.Linear(2048, 2))  # ~2 MB of weights
x, y = torch.randn(64, 256), torch.randint(0, 2, (64,))
loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(0))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
print("ready", flush=True)
fit(model, loader, opt, n_epochs=10**6, criterion=torch.nn.CrossEntropyLoss(), val_loader=loader,
    callbacks=[CheckpointBest(d, "val_loss")], checkpoint_dir=d)
"""


@pytest.mark.timeout(600)
def test_kill_9_during_checkpoint_writes_never_corrupts(tmp_path):
    import random

    import torch
    from safetensors.torch import load_file

    from tests.forkserver import ForkServer

    rnd = random.Random(1)
    with ForkServer(IMPORTS) as server:
        for trial in range(15):
            pid, _ = server.start(WRITER, [str(tmp_path)])
            deadline = time.time() + 60
            while not (tmp_path / "last.pt").exists() and time.time() < deadline:
                time.sleep(0.02)
            time.sleep(rnd.uniform(0.0, 0.4))  # somewhere in the middle of later epochs' writes
            os.kill(pid, signal.SIGKILL)
            server.reap(pid)
            payload = torch.load(tmp_path / "last.pt", weights_only=True)  # never half a file
            assert payload["epoch"] >= 1 and set(payload) >= {"model", "optimizer", "rng"}
            assert load_file(str(tmp_path / "best.safetensors"))["0.weight"].shape == (2048, 256)
            for leftover in tmp_path.glob(".*.tmp"):  # a killed writer's temp file: invisible under the real name
                leftover.unlink()
