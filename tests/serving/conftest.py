"""A server folder shared by the serving tests: keys, fashion v1 and v2 (a real classifier trained with `fit`
on 3,000 Fashion-MNIST images, v2 one more epoch of it), and a predict and an admin token."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Served:
    folder: Path
    predict: str
    admin: str
    x: object  # (n, 784) float32 test images
    y: object

    def settings(self, **overrides):
        from modelbook.serving.server import settings_for

        return settings_for(self.folder, **{"models": ("fashion",), **overrides})

    def headers(self, who: str = "predict") -> dict:
        return {"Authorization": f"Bearer {getattr(self, who)}"}


@pytest.fixture(scope="session")
def served(tmp_path_factory) -> Served:
    import numpy as np

    from modelbook.core.measure import torch_threads
    from modelbook.serving.auth import TokenStore
    from modelbook.serving.classifier import KIND, fashion_arrays, mlp_config, train_classifier
    from modelbook.serving.registry import ModelRegistry
    from modelbook.serving.server import ensure_keys
    from modelbook.serving.signing import load_signer

    folder = tmp_path_factory.mktemp("serve")
    ensure_keys(folder)
    xtr, ytr, xte, yte = fashion_arrays(3000, 200, np.random.default_rng(0))
    registry, signer = ModelRegistry(folder / "registry"), load_signer(folder / "keys" / "signing.key")
    with torch_threads(1):  # idle-spinning OpenMP threads waste whole time slices on a busy machine
        model = train_classifier(xtr, ytr, n_epochs=1, seed=0)
        model2 = train_classifier(xtr, ytr, n_epochs=2, seed=0)
    registry.publish("fashion", 1, KIND, model.state_dict(), mlp_config((256, 128)), signer)
    registry.publish("fashion", 2, KIND, model2.state_dict(), mlp_config((256, 128)), signer)
    registry.set_active("fashion", 1)
    tokens = TokenStore(folder / "tokens.json")
    return Served(folder, tokens.create(["predict"]), tokens.create(["predict", "admin"]), xte, yte)


@pytest.fixture
def client(served):
    """A TestClient on a fresh app over the shared folder, starting from version 1."""
    from fastapi.testclient import TestClient

    from modelbook.serving.app import create_app
    from modelbook.serving.registry import ModelRegistry

    ModelRegistry(served.folder / "registry").set_active("fashion", 1)
    with TestClient(create_app(served.settings()), base_url="http://127.0.0.1") as c:
        yield c
