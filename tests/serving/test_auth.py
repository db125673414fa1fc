"""Tokens: hashed at rest, constant-time lookup, scopes, bearer parsing."""
import json
import os

import pytest

from modelbook.core.errors import ModelbookError
from modelbook.serving.auth import TokenStore, bearer_token, parse_scopes, token_hash


def test_tokens_are_stored_hashed_with_scopes(tmp_path):
    store = TokenStore(tmp_path / "t.json")
    a, b = store.create(["predict"]), store.create(["predict", "admin"])
    text = (tmp_path / "t.json").read_text()
    assert a not in text and b not in text and token_hash(a) in text
    assert oct(os.stat(tmp_path / "t.json").st_mode & 0o777) == "0o600"
    again = TokenStore(tmp_path / "t.json")  # reloaded from disk
    assert again.authenticate(a).scopes == {"predict"}
    assert again.authenticate(b).scopes == {"predict", "admin"}
    assert again.authenticate(a + "x") is None and again.authenticate("") is None and again.authenticate(None) is None
    assert again.revoke(again.authenticate(a).token_id) and again.authenticate(a) is None
    assert len(json.loads((tmp_path / "t.json").read_text())["tokens"]) == 1


def test_lookup_uses_constant_time_comparison(monkeypatch, tmp_path):
    import hmac

    store = TokenStore(tmp_path / "t.json")
    for _ in range(3):
        store.create(["predict"])
    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda x, y: calls.append(1) or real(x, y))
    store.authenticate("mbk_wrong")
    assert len(calls) == 3  # every stored hash compared, no early exit


def test_scopes_and_bearer_parsing():
    assert parse_scopes("predict, admin,predict") == ("predict", "admin")
    with pytest.raises(ModelbookError, match="unknown scope"):
        parse_scopes("root")
    assert bearer_token("Bearer abc") == "abc" and bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") is None and bearer_token("Bearer ") is None and bearer_token(None) is None


def test_corrupt_token_file_is_a_one_line_error(tmp_path):
    (tmp_path / "t.json").write_text("{not json")
    with pytest.raises(ModelbookError, match="corrupt"):
        TokenStore(tmp_path / "t.json")
