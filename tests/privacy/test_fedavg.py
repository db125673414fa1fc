"""FedAvg: client splits, and the loop reduces to plain SGD with one client."""
import numpy as np
import torch
from torch import nn

from modelbook.privacy import fedavg


def test_splits_partition_the_data():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 100)
    for shards in (fedavg.iid_split(1000, 7, rng), fedavg.dirichlet_split(labels, 7, 0.1, rng)):
        allidx = np.concatenate(shards)
        assert len(allidx) == 1000 and len(np.unique(allidx)) == 1000
    iid = fedavg.label_skew(fedavg.iid_split(1000, 10, rng), labels, 10)
    skewed = fedavg.label_skew(fedavg.dirichlet_split(labels, 10, 0.1, rng), labels, 10)
    assert iid < 0.15 < 0.5 < skewed


def test_one_client_fedavg_is_plain_sgd():
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 5, generator=gen), torch.randint(0, 3, (64,), generator=gen)
    torch.manual_seed(0)
    model = nn.Linear(5, 3)
    ref = nn.Linear(5, 3)
    ref.load_state_dict(model.state_dict())
    fedavg.fedavg(model, [(x, y)], 3, fraction=1.0, local_epochs=2, batch_size=16, lr=0.1,
                  generator=torch.Generator().manual_seed(1), rng=np.random.default_rng(0))
    opt, g = torch.optim.SGD(ref.parameters(), lr=0.1), torch.Generator().manual_seed(1)
    for _ in range(3 * 2):
        for idx in torch.randperm(64, generator=g).split(16):
            opt.zero_grad()
            nn.functional.cross_entropy(ref(x[idx]), y[idx]).backward()
            opt.step()
    for a, b in zip(model.parameters(), ref.parameters()):
        torch.testing.assert_close(a, b)


def test_weighted_mean_and_rounds_to_target():
    out = fedavg.weighted_mean(np.array([0, 1]), [torch.tensor([0.0, 2.0]), torch.tensor([4.0, 2.0])], [1.0, 3.0])
    torch.testing.assert_close(out, torch.tensor([3.0, 2.0]))
    assert fedavg.rounds_to_target([0.1, 0.5, 0.8, 0.7], 0.75) == 3
    assert fedavg.rounds_to_target([0.1, 0.5], 0.75) is None
