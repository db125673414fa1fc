"""AES-GCM at rest: round trips, every tampering detected, wrong key/context refused, keys kept apart."""
import base64
import os
import stat

import pytest
import torch

from modelbook.core.errors import ModelbookError
from modelbook.privacy import encryption as enc


def test_roundtrip_and_layout():
    key = enc.new_key()
    blob = enc.encrypt_bytes(b"secret data", key, context=b"ctx")
    assert blob.startswith(enc.MAGIC) and b"secret data" not in blob
    assert len(blob) == len(b"secret data") + 6 + 8 + 12 + 16
    assert enc.decrypt_bytes(blob, key, context=b"ctx") == b"secret data"
    assert enc.encrypt_bytes(b"x", key) != enc.encrypt_bytes(b"x", key)  # fresh nonce each time


def test_every_tampering_is_detected():
    key = enc.new_key()
    blob = enc.encrypt_bytes(os.urandom(1000), key)
    cases = enc.tamper_cases(blob)
    assert len(cases) == 5
    for name, damaged in cases.items():
        with pytest.raises(enc.TamperedError):
            enc.decrypt_bytes(damaged, key)
    for i in range(0, len(blob), 97):  # any single flipped bit anywhere
        b = bytearray(blob)
        b[i] ^= 0x80
        with pytest.raises(ModelbookError):
            enc.decrypt_bytes(bytes(b), key)


def test_wrong_key_and_wrong_context():
    key = enc.new_key()
    blob = enc.encrypt_bytes(b"data", key, context=b"dataset")
    with pytest.raises(ModelbookError, match="different key"):
        enc.decrypt_bytes(blob, enc.new_key(), context=b"dataset")
    with pytest.raises(enc.TamperedError):
        enc.decrypt_bytes(blob, key, context=b"checkpoint")
    with pytest.raises(ModelbookError, match="32 bytes"):
        enc.encrypt_bytes(b"x", b"short")


def test_checkpoint_roundtrip_and_tampered_checkpoint_never_parsed(tmp_path):
    key = enc.new_key()
    model = torch.nn.Linear(4, 3)
    path = tmp_path / "m.safetensors.enc"
    enc.save_encrypted_checkpoint(model.state_dict(), path, key)
    restored = enc.load_encrypted_checkpoint(path, key)
    assert all(torch.equal(restored[k], v) for k, v in model.state_dict().items())
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(enc.TamperedError):
        enc.load_encrypted_checkpoint(path, key)


def test_key_file_permissions_and_location(tmp_path, monkeypatch):
    monkeypatch.delenv(enc.KEY_ENV, raising=False)
    key_file = enc.create_key_file(tmp_path / "keys" / "k.key")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        enc.create_key_file(key_file)  # never overwrites a key
    key, source = enc.load_key(key_file, data_dir=tmp_path / "data")
    assert len(key) == 32 and source.startswith("key file")
    os.chmod(key_file, 0o644)
    with pytest.raises(ModelbookError, match="0644"):
        enc.load_key(key_file)
    os.chmod(key_file, 0o600)
    with pytest.raises(ModelbookError, match="inside the data folder"):
        enc.load_key(key_file, data_dir=tmp_path)


def test_key_from_environment(monkeypatch, tmp_path):
    raw = os.urandom(32)
    monkeypatch.setenv(enc.KEY_ENV, base64.b64encode(raw).decode())
    key, source = enc.load_key(tmp_path / "absent.key")
    assert key == raw and "environment" in source
    monkeypatch.setenv(enc.KEY_ENV, "not base64!")
    with pytest.raises(ModelbookError, match="base64"):
        enc.load_key()
    monkeypatch.delenv(enc.KEY_ENV)
    with pytest.raises(ModelbookError, match="no encryption key"):
        enc.load_key()
