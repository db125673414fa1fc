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
opening the log removes it and records that it did ("audit.torn_tail_removed"). A damaged line anywhere else (not
JSON, not UTF-8) does not stop the log from opening: verify() names it (first_bad, 0-based line number), as for an
edited record, and new records keep chaining from the newest readable one.

Bounded input: no field stores attacker-sized text. clip() keeps a string of up to CLIP_CHARS characters as it is,
and a longer one as its first characters, its length and its SHA-256 (enough to recognise it, a fixed size).

Reading back is incremental: the byte offset of every line is kept, so page() reads only the lines it returns, and
verify() re-reads only what was appended since it last ran, unless the file changed behind our back (its
inode, size, mtime or ctime differ from what our own writes left), in which case the whole chain is walked again.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import threading
from array import array
from dataclasses import dataclass
from pathlib import Path

GENESIS = "0" * 64
CLIP_CHARS = 160
log = logging.getLogger("modelbook.serve")


def clip(text: str, limit: int = CLIP_CHARS) -> str:
    """`text` itself if it has at most `limit` characters, else a fixed-size stand-in that still identifies it."""
    text = str(text)
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{text[:64]}…[{len(text)} chars, sha256 {digest}]"


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
        self._offsets = array("q")  # byte offset of the start of every line
        self._end = 0               # byte offset after the last line we know of
        damaged = []
        for i, (offset, raw) in enumerate(_raw_lines(self.path)):
            self._offsets.append(offset)
            self._end = offset + len(raw) + 1
            rec = _parse(raw)
            if rec is None:
                damaged.append(i)
                continue
            self._head = rec["hash"]
        self._seq = len(self._offsets) - 1  # the next record gets the next line number, as verify() expects
        self._verified: tuple | None = None  # (end offset, n records, last hash) of the last verify() that passed
        self._stat = self._file_stat()
        if damaged:
            log.error("audit log %s: line(s) %s are not JSON records; GET /admin/audit reports the first as first_bad",
                      self.path, ", ".join(str(i) for i in damaged[:10]))
            self.append("system", "audit.damaged_lines_found", str(self.path), "warning",
                        {"lines": damaged[:20], "count": len(damaged)})
        if torn:
            self.append("system", "audit.torn_tail_removed", str(self.path), "ok", {"bytes": torn})

    def _digest(self, record: dict) -> str:
        body = _canonical(record)
        return hmac.new(self.key, body, hashlib.sha256).hexdigest() if self.key else hashlib.sha256(body).hexdigest()

    def _file_stat(self) -> tuple | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns

    def _recover_torn_tail(self) -> int:
        if not self.path.exists():
            return 0
        size = self.path.stat().st_size
        if size == 0:
            return 0
        with open(self.path, "r+b") as f:
            f.seek(size - 1)
            if f.read(1) == b"\n":
                return 0
            # find the last newline, reading backwards in blocks (the file may be large)
            pos, keep = size, 0
            while pos > 0:
                start = max(0, pos - 65536)
                f.seek(start)
                block = f.read(pos - start)
                nl = block.rfind(b"\n")
                if nl >= 0:
                    keep = start + nl + 1
                    break
                pos = start
            f.truncate(keep)
            f.flush()
            os.fsync(f.fileno())
        return size - keep

    def append(self, actor: str, action: str, target: str, outcome: str, detail: dict | None = None) -> dict:
        """Add one record (thread-safe) and return it with its hash. Durable when this returns.

        actor, action, target and outcome are clipped (clip()); `detail` is the caller's to keep small."""
        with self._lock:
            record = {"seq": self._seq + 1, "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
                      "actor": clip(actor), "action": clip(action), "target": clip(target), "outcome": clip(outcome),
                      "detail": detail or {}, "prev": self._head}
            record["hash"] = self._digest(record)
            line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
            changed_behind_our_back = self._file_stat() != self._stat
            with open(self.path, "ab") as f:
                start = f.tell()
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
            if changed_behind_our_back:  # someone else wrote: re-index from the file itself
                self._reindex()
            else:
                self._offsets.append(start)
                self._end = start + len(line)
            self._stat = self._file_stat()
            self._seq, self._head = record["seq"], record["hash"]
            return record

    def _reindex(self) -> None:
        self._offsets = array("q")
        self._end = 0
        for offset, raw in _raw_lines(self.path):
            self._offsets.append(offset)
            self._end = offset + len(raw) + 1
        self._verified = None

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the newest record; (−1, 64 zeros) for an empty log."""
        return self._seq, self._head

    def __len__(self) -> int:
        return len(self._offsets)

    def page(self, start: int, limit: int) -> list[dict]:
        """Records on lines start .. start+limit−1 (0-based), reading only those bytes. A damaged line is shown as
        {"seq": line, "damaged": true}."""
        with self._lock:
            if self._file_stat() != self._stat:
                self._reindex()
                self._stat = self._file_stat()
            n = len(self._offsets)
            start = max(0, min(start, n))
            stop = min(n, start + max(0, limit))
            if start >= stop:
                return []
            end = self._offsets[stop] if stop < n else self._end
            with open(self.path, "rb") as f:
                f.seek(self._offsets[start])
                data = f.read(end - self._offsets[start])
        out = []
        for i, raw in enumerate(data.split(b"\n")[: stop - start]):
            rec = _parse(raw)
            out.append(rec if rec is not None else {"seq": start + i, "damaged": True})
        return out

    def tail(self, n: int) -> list[dict]:
        return self.page(len(self._offsets) - n, n) if n > 0 else []

    def records(self) -> list[dict]:
        """Every readable record (the whole file: for tests and tools, not for request handlers)."""
        return [rec for _, raw in _raw_lines(self.path) if (rec := _parse(raw)) is not None]

    def verify(self, expected_head: tuple[int, str] | None = None, full: bool = False) -> Verification:
        """verify_log() on this log, reading only what was appended since the last call (unless `full`, or the
        file was changed by anyone but us, when the whole chain is walked again)."""
        with self._lock:
            stat = self._file_stat()
            resume = None if full or self._verified is None or stat != self._stat else self._verified
            if resume is None:
                v, state = _walk(self.path, self.key, 0, 0, GENESIS)
            else:
                v, state = _walk(self.path, self.key, resume[0], resume[1], resume[2])
            self._verified = state if v.ok else None
        return _with_head(v, state[2], expected_head)


def _raw_lines(path: Path):
    """(byte offset, bytes) of every non-empty line."""
    if not Path(path).exists():
        return
    offset = 0
    with open(path, "rb") as f:
        for raw in f:
            body = raw.rstrip(b"\n")
            if body:
                yield offset, body
            offset += len(raw)


def _parse(raw: bytes) -> dict | None:
    try:
        rec = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return rec if isinstance(rec, dict) and isinstance(rec.get("hash"), str) else None


def _walk(path: Path, key: bytes | None, offset: int, first: int, prev: str) -> tuple[Verification, tuple[int, int, str]]:
    """Check lines from byte `offset` (line number `first`, chaining from `prev`). Returns the verdict and
    (end offset, records verified, last hash) to resume from."""
    def digest(record: dict) -> str:
        body = _canonical(record)
        return hmac.new(key, body, hashlib.sha256).hexdigest() if key else hashlib.sha256(body).hexdigest()

    n, end = first, offset
    if Path(path).exists():
        with open(path, "rb") as f:
            f.seek(offset)
            pos = offset
            for raw in f:
                pos += len(raw)
                body = raw.rstrip(b"\n")
                if not body:
                    end = pos
                    continue
                i = n
                rec = _parse(body)
                if rec is None:
                    return Verification(False, i, i, f"line {i} is not a JSON record with a hash (damaged)"), (end, n, prev)
                stored = rec.pop("hash")
                if rec.get("seq") != i:
                    return Verification(False, i, i, f"sequence number {rec.get('seq')} where {i} was expected"), (end, n, prev)
                if rec.get("prev") != prev:
                    return Verification(False, i, i, "does not chain to the previous record (deleted or reordered lines)"), (end, n, prev)
                if not hmac.compare_digest(digest(rec), str(stored)):
                    return Verification(False, i, i, "hash does not match the record's content (edited)"), (end, n, prev)
                prev, n, end = stored, i + 1, pos
    return Verification(True, n), (end, n, prev)


def _with_head(v: Verification, last: str, expected_head: tuple[int, str] | None) -> Verification:
    if v.ok and expected_head is not None and (v.n_records - 1, last) != tuple(expected_head):
        return Verification(False, v.n_records, v.n_records,
                            f"log ends at seq {v.n_records - 1}, but the published head is seq {expected_head[0]} (truncated)")
    return v


def verify_log(path: Path, key: bytes | None = None, expected_head: tuple[int, str] | None = None) -> Verification:
    """Walk the chain from the start; report the first line that does not follow from the one before."""
    v, state = _walk(path, key, 0, 0, GENESIS)
    return _with_head(v, state[2], expected_head)


class AnonymousDenials:
    """Audit denied requests from clients without a valid token, at a bounded rate.

    In each window of `window_s` seconds the first `burst` denials are recorded one by one; the rest are only
    counted, and one "audit.anonymous_denials_aggregated" record (their count and statuses) is written when the
    window ends (at the next denial after it, on flush(), and when the server stops). So anonymous clients add at
    most burst + 1 records of bounded size (clip()) per window, however fast and however long their requests.
    """

    def __init__(self, audit: AuditLog, burst: int = 20, window_s: float = 60.0, clock=None):
        import time

        self.audit, self.burst, self.window_s = audit, burst, window_s
        self.clock = clock or time.monotonic
        self._lock = threading.Lock()
        self._start, self._count, self._suppressed = self.clock(), 0, {}

    def record(self, action: str, target: str, outcome: str, detail: dict | None = None) -> bool:
        """Append the denial, or count it if this window's burst is spent. True when a record was written."""
        with self._lock:
            now = self.clock()
            if now - self._start >= self.window_s:
                self._flush_locked()
                self._start, self._count = now, 0
            self._count += 1
            if self._count > self.burst:
                self._suppressed[outcome] = self._suppressed.get(outcome, 0) + 1
                return False
        self.audit.append("anonymous", action, target, outcome, detail)
        return True

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if self._suppressed:
            self.audit.append("system", "audit.anonymous_denials_aggregated", "anonymous", "suppressed",
                              {"count": sum(self._suppressed.values()), "outcomes": dict(self._suppressed),
                               "window_s": self.window_s, "burst": self.burst})
            self._suppressed = {}
