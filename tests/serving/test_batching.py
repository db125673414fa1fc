"""Dynamic batching: concurrent requests share forward passes and get exactly their own rows back."""
import asyncio

import numpy as np


def test_batched_results_equal_one_by_one_and_batches_form(served):
    from modelbook.serving.batching import DynamicBatcher
    from modelbook.serving.registry import ModelRegistry
    from modelbook.serving.signing import load_verifier
    from modelbook.serving.slots import ModelSlot

    slot = ModelSlot("fashion", ModelRegistry(served.folder / "registry"), load_verifier(served.folder / "keys" / "signing.pub"))
    slot.activate(1)
    requests = [served.x[i:i + 1 + i % 3] for i in range(40)]  # 1 to 3 rows each
    alone = [slot.get().predict(r) for r in requests]
    sizes = []

    async def main():
        batcher = DynamicBatcher(slot, max_batch=16, max_wait_s=0.05, on_batch=sizes.append)
        batcher.start()
        out = await asyncio.gather(*(batcher.submit(r) for r in requests))
        await batcher.stop()
        return out

    out = asyncio.run(main())
    for (version, probs), ref in zip(out, alone):
        assert version == 1
        np.testing.assert_allclose(probs, ref, atol=1e-5)
    assert sum(sizes) == sum(len(r) for r in requests)
    assert max(sizes) > 3 and len(sizes) < len(requests)  # requests were actually merged


def test_batching_endpoint(served):
    from fastapi.testclient import TestClient

    from modelbook.serving.app import create_app

    with TestClient(create_app(served.settings(batching=True)), base_url="http://127.0.0.1") as c:
        r = c.post("/v1/models/fashion/predict", json={"inputs": served.x[:2].tolist()}, headers=served.headers())
        assert r.status_code == 200 and len(r.json()["predictions"]) == 2
        assert "modelbook_batch_rows_count" in c.get("/metrics").text
