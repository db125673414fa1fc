"""A tamper-evident audit log: JSON lines chained by hashes, so each record vouches for every one before it.

    record_i = {"seq": i, "time", "actor", "action", "target", "outcome", "detail", "prev": h_(i−1)}
    h_i      = HMAC-SHA256(key, canonical JSON of record_i)     (plain SHA-256 when there is no key)
    line i   = record_i with "hash": h_i;   h_(−1) = 64 zeros

Editing, deleting, inserting or reordering any line breaks the chain at that line, and verify() names it. Two
limits, both handled: (1) a chain alone cannot show that its newest lines were cut off (what is left is still a
valid chain), so publish the head (seq, hash) somewhere else (the server exposes it on /admin/audit and as a
Prometheus gauge) and pass it to verify(expected_head=...); (2) someone who can rewrite the whole file could
recompute every plain SHA-256, but not the HMACs without the key, which is kept outside the log.

Each append is fsynced before it returns. A crash mid-line leaves a torn last line that was never acknowledged;
opening the log removes it and records that it did ("audit.torn_tail_removed").
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

GENESIS = "0" * 64


@dataclass(frozen=True)
class Verification:
    ok: bool
    n_records: int
    first_bad: int | None = None  # 0-based line number of the first record that fails
    reason: str = ""


def _canonical(record: dict) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class AuditLog:
    def __init__(self, path: Path, key: bytes | None = None):
        self.path, self.key = Path(path), key
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._seq, self._head = -1, GENESIS
        torn = self._recover_torn_tail()
        for line in self._lines():
            rec = json.loads(line)
            self._seq, self._head = rec["seq"], rec["hash"]
        if torn:
            self.append("system", "audit.torn_tail_removed", str(self.path), "ok", {"bytes": torn})

    def _digest(self, record: dict) -> str:
        body = _canonical(record)
        return hmac.new(self.key, body, hashlib.sha256).hexdigest() if self.key else hashlib.sha256(body).hexdigest()

    def _lines(self) -> list[str]:
        if not self.path.exists():
            return []
        return [ln for ln in self.path.read_text(encoding="utf-8").split("\n") if ln]

    def _recover_torn_tail(self) -> int:
        if not self.path.exists():
            return 0
        data = self.path.read_bytes()
        if not data or data.endswith(b"\n"):
            return 0
        keep = data.rfind(b"\n") + 1
        with open(self.path, "r+b") as f:
            f.truncate(keep)
            f.flush()
            os.fsync(f.fileno())
        return len(data) - keep

    def append(self, actor: str, action: str, target: str, outcome: str, detail: dict | None = None) -> dict:
        """Add one record (thread-safe) and return it with its hash. Durable when this returns."""
        with self._lock:
            record = {"seq": self._seq + 1, "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
                      "actor": actor, "action": action, "target": target, "outcome": outcome, "detail": detail or {},
                      "prev": self._head}
            record["hash"] = self._digest(record)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
                f.flush()
                os.fsync(f.fileno())
            self._seq, self._head = record["seq"], record["hash"]
            return record

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the newest record; (−1, 64 zeros) for an empty log."""
        return self._seq, self._head

    def records(self) -> list[dict]:
        return [json.loads(line) for line in self._lines()]

    def verify(self, expected_head: tuple[int, str] | None = None) -> Verification:
        return verify_log(self.path, self.key, expected_head)


def verify_log(path: Path, key: bytes | None = None, expected_head: tuple[int, str] | None = None) -> Verification:
    """Walk the chain from the start; report the first line that does not follow from the one before."""
    def digest(record: dict) -> str:
        body = _canonical(record)
        return hmac.new(key, body, hashlib.sha256).hexdigest() if key else hashlib.sha256(body).hexdigest()

    text = Path(path).read_text(encoding="utf-8") if Path(path).exists() else ""
    prev, n = GENESIS, 0
    for i, line in enumerate(ln for ln in text.split("\n") if ln):
        try:
            rec = json.loads(line)
            stored = rec.pop("hash")
        except (ValueError, KeyError, AttributeError):
            return Verification(False, i, i, "not a JSON record with a hash")
        if rec.get("seq") != i:
            return Verification(False, i, i, f"sequence number {rec.get('seq')} where {i} was expected")
        if rec.get("prev") != prev:
            return Verification(False, i, i, "does not chain to the previous record (deleted or reordered lines)")
        if not hmac.compare_digest(digest(rec), str(stored)):
            return Verification(False, i, i, "hash does not match the record's content (edited)")
        prev, n = stored, i + 1
    if expected_head is not None and (n - 1, prev) != tuple(expected_head):
        return Verification(False, n, n, f"log ends at seq {n - 1}, but the published head is seq {expected_head[0]} (truncated)")
    return Verification(True, n)
