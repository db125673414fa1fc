"""The model server over HTTP (in-process TestClient): health, auth, limits, validation, hot swap, metrics."""
import threading

import numpy as np
import pytest


def _body(served, n=1):
    return {"inputs": served.x[:n].round(4).tolist()}


def test_health_and_prediction(client, served):
    assert client.get("/livez").json() == {"status": "ok", "models": {}, "reason": ""}
    assert client.get("/readyz").json()["models"] == {"fashion": 1}
    r = client.post("/v1/models/fashion/predict", json=_body(served, 3), headers=served.headers())
    assert r.status_code == 200
    body = r.json()
    assert body["version"] == 1 and len(body["predictions"]) == 3
    probs = np.array([p["probabilities"] for p in body["predictions"]])
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)
    assert [p["label"] for p in body["predictions"]] == list(probs.argmax(1))
    models = client.get("/v1/models", headers=served.headers()).json()
    assert models == [{"name": "fashion", "kind": "fashion-mlp", "version": 1, "versions": [1, 2]}]


@pytest.mark.parametrize("payload,fragment", [
    ({"inputs": [[0.5] * 783]}, "at least 784"),
    ({"inputs": [[1.5] * 784]}, "less than or equal to 1"),
    ({"inputs": []}, "at least 1"),
    ({"inputs": [[0.1] * 784] * 65}, "at most 64"),
    ({"inputs": [[0.1] * 784], "extra": 1}, "extra"),
    ({"pixels": [0.1]}, "inputs"),
])
def test_invalid_input_is_a_clear_422(client, served, payload, fragment):
    r = client.post("/v1/models/fashion/predict", json=payload, headers=served.headers())
    assert r.status_code == 422
    assert fragment in (r.json()["error"] + str(r.json()["detail"])).lower()
    assert r.json()["error"].startswith("invalid request: body")


def test_nan_and_malformed_json_are_rejected(client, served):
    bad = '{"inputs": [[' + ",".join(["NaN"] * 784) + "]]}"
    r = client.post("/v1/models/fashion/predict", content=bad, headers=served.headers() | {"content-type": "application/json"})
    assert r.status_code == 422
    r = client.post("/v1/models/fashion/predict", content="{oops", headers=served.headers() | {"content-type": "application/json"})
    assert r.status_code == 422 and "json" in r.json()["error"].lower()


def test_body_size_limit_413_with_and_without_content_length(client, served):
    big = b'{"inputs": [' + b"0," * 600_000 + b"0]}"
    r = client.post("/v1/models/fashion/predict", content=big, headers=served.headers() | {"content-type": "application/json"})
    assert r.status_code == 413

    def chunks():
        for _ in range(20):
            yield b" " * 100_000
    r = client.post("/v1/models/fashion/predict", content=chunks(), headers=served.headers() | {"content-type": "application/json"})
    assert r.status_code == 413


def test_auth_statuses_and_challenges(client, served):
    url = "/v1/models/fashion/predict"
    r = client.post(url, json=_body(served))
    assert r.status_code == 401 and r.headers["www-authenticate"] == 'Bearer realm="modelbook"'
    r = client.post(url, json=_body(served), headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]
    r = client.post("/admin/models/fashion/versions/2:activate", headers=served.headers("predict"))
    assert r.status_code == 403 and 'insufficient_scope' in r.headers["www-authenticate"]
    assert client.get("/readyz", headers={"host": "evil.example:8000"}).status_code == 400


def test_unknown_model_wrong_kind_and_unknown_route(client, served):
    assert client.post("/v1/models/nope/predict", json=_body(served), headers=served.headers()).status_code == 404
    assert client.post("/v1/models/fashion/embed", json={"texts": ["x"]}, headers=served.headers()).status_code == 404
    assert client.post("/v1/models/BAD!/predict", json=_body(served), headers=served.headers()).status_code == 422
    r = client.get("/nowhere")
    assert r.status_code == 404 and r.json() == {"error": "Not Found"}


def test_hot_swap_and_refused_versions(client, served):
    admin = served.headers("admin")
    r = client.post("/admin/models/fashion/versions/2:activate", headers=admin)
    assert r.status_code == 200 and r.json() == {"model": "fashion", "previous": 1, "active": 2}
    assert client.post("/v1/models/fashion/predict", json=_body(served), headers=served.headers()).json()["version"] == 2
    assert client.post("/admin/models/fashion/versions/77:activate", headers=admin).status_code == 404
    assert client.post("/admin/models/fashion/versions/x:activate", headers=admin).status_code == 422
    audit = client.get("/admin/audit", headers=admin).json()
    assert audit["verified"] and [r["outcome"] for r in audit["tail"] if r["action"] == "model.activate"][-2:] == ["ok", "not_found"]


def test_failed_load_keeps_the_old_version(client, served, tmp_path):
    from modelbook.serving.classifier import KIND, make_mlp, mlp_config
    from modelbook.serving.registry import ModelRegistry
    from modelbook.serving.signing import load_signer

    registry = ModelRegistry(served.folder / "registry")
    if 50 not in registry.versions("fashion"):
        registry.publish("fashion", 50, KIND, make_mlp((32,)).state_dict(), mlp_config((256, 128)),
                         load_signer(served.folder / "keys" / "signing.key"))
    r = client.post("/admin/models/fashion/versions/50:activate", headers=served.headers("admin"))
    assert r.status_code == 409 and "do not fit" in r.json()["error"] and "version 1 keeps serving" in r.json()["error"]
    assert client.post("/v1/models/fashion/predict", json=_body(served), headers=served.headers()).json()["version"] == 1
    assert registry.active("fashion") == 1


def test_inference_timeout_is_504(served):
    from fastapi.testclient import TestClient

    from modelbook.serving.app import create_app

    with TestClient(create_app(served.settings(request_timeout_s=1e-9)), base_url="http://127.0.0.1") as c:
        r = c.post("/v1/models/fashion/predict", json=_body(served), headers=served.headers())
    assert r.status_code == 504 and "longer than" in r.json()["error"]


def test_not_ready_without_a_model(tmp_path, served):
    import dataclasses

    from fastapi.testclient import TestClient

    from modelbook.serving.app import create_app

    settings = dataclasses.replace(served.settings(), registry=tmp_path / "empty")
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as c:
        r = c.get("/readyz")
        assert r.status_code == 503 and "no published version" in r.json()["reason"]
        assert c.get("/livez").status_code == 200
        assert c.post("/v1/models/fashion/predict", json=_body(served), headers=served.headers()).status_code == 503


def test_metrics_are_valid_prometheus_text(client, served):
    from prometheus_client.parser import text_string_to_metric_families

    client.post("/v1/models/fashion/predict", json=_body(served, 2), headers=served.headers())
    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    assert {"modelbook_http_requests", "modelbook_http_request_duration_seconds", "modelbook_model_version",
            "modelbook_predicted_rows", "modelbook_audit_head_seq"} <= set(families)
    version = [s.value for s in families["modelbook_model_version"].samples if s.labels == {"model": "fashion"}]
    assert version == [1.0]
    rows = [s.value for s in families["modelbook_predicted_rows"].samples if s.name.endswith("_total")]
    assert sum(rows) >= 2


def test_in_flight_request_finishes_on_the_old_version(served):
    """A request holding v1 when v2 is activated finishes on v1; the next request gets v2 (slots.py)."""
    from modelbook.serving.registry import ModelRegistry
    from modelbook.serving.signing import load_verifier
    from modelbook.serving.slots import ModelSlot

    slot = ModelSlot("fashion", ModelRegistry(served.folder / "registry"), load_verifier(served.folder / "keys" / "signing.pub"))
    slot.activate(1)
    started, release, seen = threading.Event(), threading.Event(), []

    def slow_request():
        servable = slot.get()  # what the endpoint does: one read at the start
        started.set()
        release.wait(10)
        seen.append((servable.version, servable.predict(served.x[:1]).shape))

    t = threading.Thread(target=slow_request)
    t.start()
    started.wait(10)
    assert slot.activate(2) == (1, 2)
    assert slot.get().version == 2
    release.set()
    t.join()
    assert seen == [(1, (1, 10))]
    ModelRegistry(served.folder / "registry").set_active("fashion", 1)


def test_embeddings_equal_sentence_transformers(tmp_path):
    """The served MiniLM (verified weights, our mean pooling) = the sentence-transformers model, same texts."""
    from fastapi.testclient import TestClient

    from modelbook.models import load_minilm
    from modelbook.serving.app import create_app
    from modelbook.serving.auth import TokenStore
    from modelbook.serving.server import publish_minilm, settings_for

    publish_minilm(tmp_path)
    settings = settings_for(tmp_path, models=("minilm",))
    token = TokenStore(settings.tokens).create(["predict"])
    texts = ["A man is eating food.", "Someone is having a meal.", "The stock market fell."]
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as c:
        r = c.post("/v1/models/minilm/embed", json={"texts": texts}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["dimensions"] == 384
    ours = np.array(r.json()["embeddings"])
    ref = load_minilm().encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(ours, ref, atol=1e-5)
