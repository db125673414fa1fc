"""Encryption at rest with AES-256-GCM: data files and model checkpoints, tampering detected, keys kept apart.

AES-GCM (NIST SP 800-38D) is authenticated encryption: besides hiding the bytes it computes a 128-bit tag over
the ciphertext and any associated data (AAD). Decryption recomputes the tag and refuses to return anything if
one bit of the file, the header or the AAD changed, or if the key is wrong. So it answers both "can a thief read
the disk" and "did someone swap the checkpoint we are about to load".

File layout (all of it authenticated; the header is the AAD):

    b"MBENC1" | key id (8 bytes = SHA-256(key)[:8]) | nonce (12 random bytes) | ciphertext | tag (16 bytes)

The key id lets a wrong key be reported as such instead of as tampering; it reveals nothing useful about the key.
The 96-bit nonce is random, so one key should encrypt at most about 2^32 files (SP 800-38D §8.3); rotate
keys long before that. `context` (e.g. b"checkpoint") is extra AAD: a ciphertext made for one purpose does
not decrypt under another.

Keys never sit beside the data. `load_key` takes them from an environment variable (base64, 32 bytes), which
is how a secret manager or KMS usually hands them to a process, or from a key file that must be readable by
its owner only (mode 0600) and must not live inside the data folder. Uses the `cryptography` package.
"""
from __future__ import annotations

import base64
import hashlib
import os
import stat
from pathlib import Path

from modelbook.core.errors import ModelbookError
from modelbook.core.paths import atomic_write_bytes

MAGIC = b"MBENC1"
KEY_ENV = "MODELBOOK_DATA_KEY"
_HEADER = len(MAGIC) + 8 + 12


class TamperedError(ModelbookError):
    """The file failed authentication: it was modified, truncated, or belongs to another context."""


def new_key() -> bytes:
    """32 random bytes from the OS CSPRNG (an AES-256 key)."""
    return os.urandom(32)


def key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:8]


def encrypt_bytes(data: bytes, key: bytes, context: bytes = b"") -> bytes:
    """MAGIC | key id | nonce | AES-GCM(data) with the header and `context` authenticated."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    _check_key(key)
    header = MAGIC + key_id(key) + os.urandom(12)
    return header + AESGCM(key).encrypt(header[-12:], data, header + context)


def decrypt_bytes(blob: bytes, key: bytes, context: bytes = b"", name: str = "data") -> bytes:
    """The plaintext, or TamperedError / ModelbookError naming what is wrong (never partial plaintext)."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    _check_key(key)
    if len(blob) < _HEADER + 16 or not blob.startswith(MAGIC):
        raise TamperedError(f"{name} is not a modelbook-encrypted file (or its header was damaged)")
    header = blob[:_HEADER]
    if header[len(MAGIC):len(MAGIC) + 8] != key_id(key):
        raise ModelbookError(f"{name} was encrypted with a different key (key id mismatch)")
    try:
        return AESGCM(key).decrypt(header[-12:], blob[_HEADER:], header + context)
    except InvalidTag:
        raise TamperedError(f"{name} failed AES-GCM authentication: it was modified, truncated or belongs to "
                            f"another context; refusing to use it") from None


def encrypt_file(src: Path, dst: Path, key: bytes, context: bytes = b"") -> None:
    atomic_write_bytes(Path(dst), encrypt_bytes(Path(src).read_bytes(), key, context))


def decrypt_file(path: Path, key: bytes, context: bytes = b"") -> bytes:
    return decrypt_bytes(Path(path).read_bytes(), key, context, name=str(path))


def save_encrypted_checkpoint(state_dict: dict, path: Path, key: bytes) -> None:
    """A safetensors serialisation of `state_dict`, encrypted, written atomically (no pickle anywhere)."""
    from safetensors.torch import save

    tensors = {k: v.detach().contiguous().clone() for k, v in state_dict.items()}
    atomic_write_bytes(Path(path), encrypt_bytes(save(tensors), key, context=b"checkpoint"))


def load_encrypted_checkpoint(path: Path, key: bytes) -> dict:
    """Decrypt and authenticate first, then parse: a tampered checkpoint is never deserialised."""
    from safetensors.torch import load

    return load(decrypt_file(path, key, context=b"checkpoint"))


# -- keys -------------------------------------------------------------------------------------------------
def create_key_file(path: Path) -> Path:
    """Create a new key file readable by its owner only (0600, in a 0700 folder); never overwrites one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(base64.b64encode(new_key()) + b"\n")
        f.flush()
        os.fsync(f.fileno())
    return path


def load_key(key_file: Path | None = None, data_dir: Path | None = None, env: str = KEY_ENV) -> tuple[bytes, str]:
    """(key, where it came from): the environment variable `env` if set, else `key_file`.

    A key file must be mode 0600 (no group or other bits) and must not be inside `data_dir`."""
    if os.environ.get(env):
        return _decode(os.environ[env], f"${env}"), f"environment variable {env}"
    if key_file is None:
        raise ModelbookError(f"no encryption key: set {env} (base64 of 32 bytes) or pass a key file")
    key_file = Path(key_file).resolve()
    if not key_file.is_file():
        raise ModelbookError(f"key file {key_file} does not exist")
    mode = stat.S_IMODE(key_file.stat().st_mode)
    if mode & 0o077:
        raise ModelbookError(f"key file {key_file} has mode {mode:04o}: it must be readable by its owner only (chmod 600)")
    if data_dir is not None and key_file.is_relative_to(Path(data_dir).resolve()):
        raise ModelbookError(f"key file {key_file} is inside the data folder {data_dir}: keep keys apart from the data")
    return _decode(key_file.read_text().strip(), str(key_file)), f"key file {key_file} (mode {mode:04o})"


def _decode(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        raise ModelbookError(f"the key in {where} is not valid base64") from None
    _check_key(key, where)
    return key


def _check_key(key: bytes, where: str = "the key") -> None:
    if not isinstance(key, (bytes, bytearray)) or len(key) != 32:
        raise ModelbookError(f"{where} must be 32 bytes (AES-256), got {len(key) if isinstance(key, (bytes, bytearray)) else type(key).__name__}")


def tamper_cases(blob: bytes) -> dict[str, bytes]:
    """Damaged copies of an encrypted blob for tests and the lab: one flipped byte in the ciphertext, in the
    tag, in the nonce, in the magic; and the file truncated by one byte."""
    def flip(i: int) -> bytes:
        b = bytearray(blob)
        b[i] ^= 0x01
        return bytes(b)
    return {
        "ciphertext byte flipped": flip(_HEADER + (len(blob) - _HEADER - 16) // 2),
        "tag byte flipped": flip(len(blob) - 1),
        "nonce byte flipped": flip(_HEADER - 1),
        "truncated by 1 byte": blob[:-1],
        "header magic changed": flip(0),
    }

