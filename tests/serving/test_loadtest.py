"""The load-and-swap test, short version (the deploy lab's full preset runs 60 s with 10 swaps): 8 clients for
10 s against the server in its own process while 3 new versions are activated."""
import asyncio

import pytest


@pytest.mark.timeout(600)
def test_hot_swap_under_load_loses_nothing_and_never_goes_back(served):
    from modelbook.serving.classifier import KIND, mlp_config
    from modelbook.serving.loadtest import load_and_swap
    from modelbook.serving.registry import ModelRegistry
    from modelbook.serving.server import ServerProcess
    from modelbook.serving.signing import load_signer

    registry = ModelRegistry(served.folder / "registry")
    signer = load_signer(served.folder / "keys" / "signing.key")
    v1 = registry.load("fashion", 1, signer.verifier())
    for v in (11, 12, 13):  # v1's weights, slightly perturbed, as three new versions
        if v not in registry.versions("fashion"):
            registry.publish("fashion", v, KIND, {k: t + 1e-3 * v for k, t in v1.tensors.items()}, mlp_config((256, 128)), signer)
    registry.set_active("fashion", 1)
    body = {"inputs": [served.x[0].round(4).tolist()]}
    with ServerProcess(served.settings(), threads=1) as url:
        report = asyncio.run(load_and_swap(url, served.predict, served.admin, "fashion", body, [11, 12, 13],
                                           duration_s=10, n_clients=8))
    assert report.n_failed == 0, report.failures
    assert report.backwards == 0
    assert [s["status"] for s in report.swaps] == [200, 200, 200]
    assert report.last_version == 13 and set(report.versions_seen) <= {1, 11, 12, 13} and 13 in report.versions_seen
    assert report.n_requests > 50  # it really was under load (8 clients × 10 s)
    registry.set_active("fashion", 1)
