"""Bearer tokens with scopes: shown once when created, stored only as SHA-256 hashes, compared in constant time.

A token is 32 random bytes from `secrets` (256 bits). Because it is random and long, a plain SHA-256 is the
right way to store it: slow password hashes (scrypt, Argon2) protect LOW-entropy secrets against guessing, and
there is nothing to guess here. A stolen tokens file therefore reveals no usable token.

authenticate() hashes the presented token and compares it with EVERY stored hash using hmac.compare_digest,
whose running time does not depend on where the first differing byte is, and never returns early, so response
times do not leak how much of a hash an attacker got right.

Scopes: "predict" (inference endpoints) and "admin" (activating versions, reading the audit log). The HTTP layer
answers 401 with `WWW-Authenticate: Bearer` for a missing or unknown token, and 403 `insufficient_scope` for a
known token without the scope (RFC 6750 §3.1).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from modelbook.core.errors import ModelbookError
from modelbook.core.paths import atomic_write_text

SCOPES = ("predict", "admin")
PREFIX = "mbk_"


@dataclass(frozen=True)
class Principal:
    token_id: str  # a short public id for logs ("tok_" + 12 hex digits of the hash), never the token
    scopes: frozenset[str]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_scopes(text: str) -> tuple[str, ...]:
    scopes = tuple(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    bad = [s for s in scopes if s not in SCOPES]
    if not scopes or bad:
        raise ModelbookError(f"unknown scope(s) {', '.join(bad) or '(none)'}: choose from {', '.join(SCOPES)} (comma-separated)")
    return scopes


class TokenStore:
    """Tokens in a JSON file (mode 0600): [{"id", "sha256", "scopes", "created_at"}]."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._records: list[dict] = []
        if self.path.exists():
            try:
                self._records = json.loads(self.path.read_text())["tokens"]
            except (ValueError, KeyError, TypeError) as e:
                raise ModelbookError(f"token file {self.path} is corrupt ({type(e).__name__}); fix or delete it") from None

    def create(self, scopes: tuple[str, ...] | list[str]) -> str:
        """A new token with these scopes. The token itself is returned once and never stored."""
        scopes = parse_scopes(",".join(scopes))
        token = PREFIX + secrets.token_urlsafe(32)
        digest = token_hash(token)
        record = {"id": "tok_" + digest[:12], "sha256": digest, "scopes": list(scopes),
                  "created_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        with self._lock:
            self._records.append(record)
            self._save()
        return token

    def revoke(self, token_id: str) -> bool:
        with self._lock:
            before = len(self._records)
            self._records = [r for r in self._records if r["id"] != token_id]
            self._save()
            return len(self._records) < before

    def _save(self) -> None:
        atomic_write_text(self.path, json.dumps({"tokens": self._records}, indent=1))
        os.chmod(self.path, 0o600)

    def authenticate(self, token: str | None) -> Principal | None:
        """The principal of a valid token, or None. Every stored hash is compared, in constant time each."""
        if not token:
            return None
        digest = token_hash(token).encode()
        found = None
        for record in self._records:
            if hmac.compare_digest(digest, record["sha256"].encode()):
                found = record
        return Principal(found["id"], frozenset(found["scopes"])) if found else None


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), else None."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None
