"""Issue 17 (hardening), the server's part: a bounded audit log under anonymous floods, every admin request
audited, a damaged audit line that does not stop the server, strict types and JSON errors, fallback when the
active version is lost."""
import json
import shutil

import pytest


@pytest.fixture
def fresh(served, tmp_path):
    """A copy of the shared server folder (keys, tokens, fashion v1 and v2), with its own audit log."""
    folder = tmp_path / "serve"
    shutil.copytree(served.folder, folder, ignore=shutil.ignore_patterns("audit.jsonl"))
    for version in (folder / "registry" / "fashion").iterdir():  # other tests publish more versions: keep 1 and 2
        if version.is_dir() and version.name not in ("1", "2"):
            shutil.rmtree(version)
    return folder


def _client(folder, **overrides):
    from fastapi.testclient import TestClient

    from modelbook.serving.app import create_app
    from modelbook.serving.server import settings_for

    return TestClient(create_app(settings_for(folder, models=("fashion",), **overrides)), base_url="http://127.0.0.1")


def _records(folder):
    from modelbook.serving.audit import AuditLog

    return AuditLog(folder / "audit.jsonl").records()


def test_anonymous_flood_with_long_paths_grows_the_log_by_a_bounded_size(fresh, served):
    """1,000 requests without a token, each with a 60 KB path: before, ~120 KB of log each (120 MB in all)."""
    log = fresh / "audit.jsonl"
    long_name = "a" * 60_000
    with _client(fresh) as c:
        before = log.stat().st_size if log.exists() else 0
        for _ in range(1000):
            assert c.post(f"/admin/models/{long_name}/versions/1:activate").status_code == 401
        audit = c.get("/admin/audit?tail=100", headers=served.headers("admin")).json()  # flushes the aggregate
        grown = log.stat().st_size - before  # the 1,000 denials, their aggregate record and one audit.read
    assert grown < 32_000, f"the log grew by {grown} bytes"
    assert audit["verified"]
    denied = [r for r in _records(fresh) if r["actor"] == "anonymous"]
    summary = [r for r in _records(fresh) if r["action"] == "audit.anonymous_denials_aggregated"]
    assert len(denied) == 20 and sum(r["detail"]["count"] for r in summary) == 980  # every denial is accounted for
    assert all(len(r["target"]) < 200 and "sha256" in r["target"] for r in denied)
    print(f"audit log growth for 1,000 anonymous 60 KB requests: {grown} bytes")


def test_audit_pages_read_only_what_they_return(fresh, served):
    with _client(fresh) as c:
        for _ in range(30):
            c.post("/admin/models/fashion/versions/9:activate", headers=served.headers("admin"))
        first = c.get("/admin/audit?after=-1&tail=10", headers=served.headers("admin")).json()
        assert [r["seq"] for r in first["tail"]] == list(range(10)) and first["next_after"] == 9
        second = c.get(f"/admin/audit?after={first['next_after']}&tail=10", headers=served.headers("admin")).json()
        assert [r["seq"] for r in second["tail"]] == list(range(10, 20))
        newest = c.get("/admin/audit?tail=3", headers=served.headers("admin")).json()
        assert newest["verified"] and newest["tail"][-1]["action"] == "audit.read" and newest["next_after"] is None


@pytest.mark.parametrize("method,path,status", [
    ("POST", "/admin/models/%2e%2e/versions/2:activate", 422),
    ("POST", "/admin/models/fashion/versions/0:activate", 422),
    ("GET", "/admin/models/fashion/versions/2:activate", 405),
    ("DELETE", "/admin/audit", 405),
    ("GET", "/admin/nowhere", 404),
])
def test_every_admin_request_is_audited_whatever_the_answer(fresh, served, method, path, status):
    from modelbook.serving.auth import token_hash

    with _client(fresh) as c:
        r = c.request(method, path, headers=served.headers("admin"))
    assert r.status_code == status and "error" in r.json()
    last = _records(fresh)[-1]
    assert last["actor"] == "tok_" + token_hash(served.admin)[:12]
    assert last["outcome"] == f"rejected:{status}" and path in last["target"]


@pytest.mark.parametrize("damage", [b"this is not json\n", b'{"seq": 1, "oops\n', b"\xff\xfe\n"])
def test_a_damaged_audit_line_is_reported_not_fatal(fresh, served, damage):
    from modelbook.serving.audit import AuditLog
    from modelbook.serving.server import settings_for

    log = AuditLog(fresh / "audit.jsonl", settings_for(fresh).audit_key)
    for i in range(3):
        log.append("tok_x", "model.activate", f"fashion/v{i}", "ok")
    with open(fresh / "audit.jsonl", "ab") as f:
        f.write(damage)
    with _client(fresh) as c:
        assert c.get("/readyz").status_code == 200
        assert c.post("/v1/models/fashion/predict", json={"inputs": [[0.0] * 784]}, headers=served.headers()).status_code == 200
        audit = c.get("/admin/audit", headers=served.headers("admin")).json()
    assert audit["verified"] is False and audit["first_bad"] == 3 and "line 3" in audit["reason"]
    assert any(r["action"] == "audit.damaged_lines_found" and r["detail"]["lines"] == [3] for r in _records(fresh))


@pytest.mark.parametrize("pixel", ["0.5", True, None, [0.5]])
def test_pixels_must_be_numbers(client, served, pixel):
    r = client.post("/v1/models/fashion/predict", json={"inputs": [[pixel] * 784]}, headers=served.headers())
    assert r.status_code == 422, r.text


def test_texts_must_be_strings(client, served):
    r = client.post("/v1/models/fashion/embed", json={"texts": [1]}, headers=served.headers())
    assert r.status_code == 422


def test_middleware_errors_are_json(client, served):
    r = client.post("/v1/models/fashion/predict", content=b"0" * 2_000_000,
                    headers=served.headers() | {"content-type": "application/json"})
    assert r.status_code == 413 and r.headers["content-type"] == "application/json" and r.json()["error"]
    r = client.get("/readyz", headers={"host": "evil.example"})
    assert r.status_code == 400 and r.headers["content-type"] == "application/json" and "host" in r.json()["error"].lower()


def test_deeply_nested_json_is_422(client, served):
    body = "[" * 100_000 + "]" * 100_000
    r = client.post("/v1/models/fashion/predict", content=body, headers=served.headers() | {"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"].startswith("invalid request")


def test_lost_active_pointer_and_altered_newest_version_fall_back(fresh, served):
    (fresh / "registry" / "fashion" / "ACTIVE").unlink()
    weights = fresh / "registry" / "fashion" / "2" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    with _client(fresh) as c:
        assert c.get("/readyz").json()["models"] == {"fashion": 1}
    fallback = [r for r in _records(fresh) if r["action"] == "model.fallback"]
    assert len(fallback) == 1 and fallback[0]["target"] == "fashion/v1" and fallback[0]["detail"]["wanted"] == 2
    assert "2" in fallback[0]["detail"]["refused"]


def test_no_version_verifies_is_not_ready(fresh, served):
    for v in ("1", "2"):
        (fresh / "registry" / "fashion" / v / "manifest.sig").unlink()
    with _client(fresh) as c:
        r = c.get("/readyz")
    assert r.status_code == 503 and "unsigned" in r.json()["reason"]
    assert json.loads((fresh / "audit.jsonl").read_text().splitlines()[-1])["outcome"] == "refused"


def test_verify_reads_only_what_was_appended_unless_the_file_changed(tmp_path, monkeypatch):
    import json

    from modelbook.serving import audit as audit_module

    log = audit_module.AuditLog(tmp_path / "audit.jsonl", b"k" * 32)
    for i in range(200):
        log.append("tok_x", "model.activate", f"m/v{i}", "ok")
    assert log.verify().ok
    starts = []
    real = audit_module._walk
    monkeypatch.setattr(audit_module, "_walk", lambda path, key, offset, first, prev: starts.append(offset) or real(path, key, offset, first, prev))
    size = log.path.stat().st_size
    log.append("tok_x", "audit.read", "audit.jsonl", "ok")
    assert log.verify().ok and starts == [size]  # only the new line was read
    lines = log.path.read_text().splitlines(keepends=True)
    rec = json.loads(lines[5])
    rec["outcome"] = "denied"
    lines[5] = json.dumps(rec) + "\n"
    log.path.write_text("".join(lines))  # an edit behind the log's back: the whole chain is walked again
    v = log.verify()
    assert not v.ok and v.first_bad == 5 and starts[-1] == 0
    assert [r["seq"] for r in log.page(198, 5)] == [198, 199, 200]
