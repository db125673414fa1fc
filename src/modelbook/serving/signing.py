"""Ed25519 signatures for model artifacts: the publisher signs, the server verifies before it loads anything.

Why public-key signatures rather than an HMAC: the server only needs the PUBLIC key, so a compromised server
cannot sign a model of its own; with an HMAC the verifier holds the same secret as the signer. Ed25519
(RFC 8032) keys are 32 bytes, signatures 64, and verification is deterministic.

What is signed is the artifact's manifest (canonical JSON), which carries the SHA-256 of every file, so one
signature covers the weights, the architecture description and the model's name and version (a signed
manifest moved under another name or version is refused, see registry.py).
"""
from __future__ import annotations

import os
from pathlib import Path

from modelbook.core.errors import ModelbookError
from modelbook.core.paths import atomic_write_bytes


class SignatureError(ModelbookError):
    """An artifact whose signature is missing, malformed or does not verify."""


class Signer:
    def __init__(self, private_key):
        self._key = private_key

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def verifier(self) -> "Verifier":
        return Verifier(self._key.public_key())


class Verifier:
    def __init__(self, public_key):
        self._key = public_key

    def verify(self, data: bytes, signature: bytes, what: str = "artifact") -> None:
        from cryptography.exceptions import InvalidSignature

        if len(signature) != 64:
            raise SignatureError(f"{what}: malformed signature ({len(signature)} bytes, Ed25519 needs 64)")
        try:
            self._key.verify(signature, data)
        except InvalidSignature:
            raise SignatureError(f"{what}: signature does not verify (altered file, or signed with another key)") from None


def generate_keys(directory: Path) -> tuple[Path, Path]:
    """Write a new key pair: signing.key (PEM, PKCS#8, mode 0600) and signing.pub (PEM). Returns both paths."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    priv_path, pub_path = directory / "signing.key", directory / "signing.pub"
    atomic_write_bytes(priv_path, private)
    os.chmod(priv_path, 0o600)
    atomic_write_bytes(pub_path, public)
    return priv_path, pub_path


def load_signer(path: Path) -> Signer:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as e:
        raise ModelbookError(f"cannot read the signing key {path}: {e}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ModelbookError(f"{path} is not an Ed25519 private key")
    return Signer(key)


def load_verifier(path: Path) -> Verifier:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError, TypeError) as e:
        raise ModelbookError(f"cannot read the verification key {path}: {e}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ModelbookError(f"{path} is not an Ed25519 public key")
    return Verifier(key)
