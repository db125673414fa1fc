"""The audit chain: every kind of tampering detected where it happened; torn tails recovered; HMAC needs the key."""
import hashlib
import json

import pytest

from modelbook.serving.audit import GENESIS, AuditLog, verify_log


@pytest.fixture
def log(tmp_path):
    log = AuditLog(tmp_path / "audit.jsonl", key=b"k" * 32)
    for i in range(8):
        log.append(f"tok_{i}", "model.activate", f"m/v{i}", "ok", {"i": i})
    return log


def _lines(log):
    return log.path.read_text().splitlines(keepends=True)


def test_intact_chain_verifies(log):
    v = log.verify()
    assert v.ok and v.n_records == 8
    assert log.records()[0]["prev"] == GENESIS and log.head()[0] == 7


@pytest.mark.parametrize("k", range(8))
def test_editing_any_record_is_detected_there(log, k):
    lines = _lines(log)
    rec = json.loads(lines[k])
    rec["actor"] = "someone-else"
    lines[k] = json.dumps(rec) + "\n"
    log.path.write_text("".join(lines))
    assert verify_log(log.path, log.key).first_bad == k


@pytest.mark.parametrize("k", range(7))
def test_deleting_or_swapping_records_is_detected(log, k):
    lines = _lines(log)
    log.path.write_text("".join(lines[:k] + lines[k + 1:]))
    assert verify_log(log.path, log.key).first_bad == k
    log.path.write_text("".join(lines[:k] + [lines[k + 1], lines[k]] + lines[k + 2:]))
    assert verify_log(log.path, log.key).first_bad == k


def test_truncation_needs_the_published_head(log):
    head = log.head()
    log.path.write_text("".join(_lines(log)[:5]))
    assert verify_log(log.path, log.key).ok
    assert not verify_log(log.path, log.key, expected_head=head).ok


def test_rewriting_the_chain_without_the_key_is_detected(log):
    """Recompute every hash with plain SHA-256 after an edit: a valid unkeyed chain, but not with the HMAC key."""
    prev, out = GENESIS, []
    for i, line in enumerate(_lines(log)):
        rec = json.loads(line)
        rec.pop("hash")
        rec["prev"] = prev
        if i == 3:
            rec["outcome"] = "denied"
        rec["hash"] = hashlib.sha256(json.dumps(rec, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        prev = rec["hash"]
        out.append(json.dumps(rec) + "\n")
    log.path.write_text("".join(out))
    assert verify_log(log.path, None).ok  # consistent as an unkeyed chain
    assert verify_log(log.path, log.key).first_bad == 0


def test_torn_last_line_is_removed_and_recorded(log):
    with open(log.path, "a") as f:
        f.write('{"seq": 8, "act')  # a crash in the middle of a write
    again = AuditLog(log.path, log.key)
    records = again.records()
    assert again.verify().ok and records[-1]["action"] == "audit.torn_tail_removed" and records[-1]["seq"] == 8
