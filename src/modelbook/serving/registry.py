"""A local registry of versioned, signed models, safe against crashes mid-write.

    <root>/<name>/<version>/model.safetensors   the weights (safetensors: no code runs when they are read)
    <root>/<name>/<version>/manifest.json       name, version, kind, architecture config, SHA-256 of the weights
    <root>/<name>/<version>/manifest.sig        Ed25519 signature of manifest.json's bytes
    <root>/<name>/ACTIVE                        the version the server should load at start-up

Publishing writes the three files into a hidden temp folder (each file fsynced), then renames the folder to
<version> and fsyncs the parent: rename is atomic, so a reader (or a `kill -9` at any instant) sees either no
version or a complete one, never half a file. A published version is immutable: publishing it again is refused.
ACTIVE is replaced with modelbook.core.paths.atomic_write_text (temp file, fsync, rename).

Loading verifies BEFORE deserialising: the signature of the manifest, then that the manifest names this very
name and version (a signed manifest copied under another name is refused), then the SHA-256 of the weights
bytes; only then are those same bytes (no second read, so no swap in between) parsed by safetensors.
Pickle is never used: torch.load on user files can run code, safetensors cannot.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from modelbook.core.errors import ModelbookError
from modelbook.core.paths import atomic_write_text, fsync_dir
from modelbook.core.procs import alive
from modelbook.serving.signing import SignatureError, Signer, Verifier

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
FORMAT = "modelbook-model/1"
WEIGHTS, MANIFEST, SIGNATURE = "model.safetensors", "manifest.json", "manifest.sig"


class ArtifactError(ModelbookError):
    """A model version that is missing, incomplete, unsigned, altered or of the wrong shape."""


@dataclass(frozen=True)
class Artifact:
    name: str
    version: int
    kind: str
    config: dict
    tensors: dict
    manifest: dict


def canonical_json(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ArtifactError(f"invalid model name {name!r}: use 1-40 lowercase letters, digits and '-'")
    return name


def check_version(version) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version < 10**9:
        raise ArtifactError(f"invalid version {version!r}: versions are integers from 1")
    return version


class ModelRegistry:
    def __init__(self, root: Path):
        self.root = Path(root)

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and NAME_RE.match(p.name))

    def versions(self, name: str) -> list[int]:
        folder = self.root / check_name(name)
        if not folder.is_dir():
            return []
        return sorted(int(p.name) for p in folder.iterdir() if p.is_dir() and p.name.isdigit() and p.name[0] != "0")

    def path(self, name: str, version: int) -> Path:
        return self.root / check_name(name) / str(check_version(version))

    # -- writing -------------------------------------------------------------------------------------
    def publish(self, name: str, version: int, kind: str, tensors: dict, config: dict, signer: Signer,
                metadata: dict | None = None) -> Path:
        """Write, sign and atomically add version `version` of model `name`. Returns its folder."""
        from safetensors.torch import save

        target = self.path(name, version)
        if target.exists():
            raise ArtifactError(f"{name} version {version} is already published; versions are immutable, publish a new one")
        weights = save({k: v.detach().contiguous() for k, v in tensors.items()})
        manifest = {"format": FORMAT, "name": name, "version": version, "kind": kind, "config": config,
                    "files": {WEIGHTS: {"sha256": hashlib.sha256(weights).hexdigest(), "bytes": len(weights)}},
                    "created_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "metadata": metadata or {}}
        body = canonical_json(manifest)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-{os.getpid()}-", dir=target.parent))
        try:
            for fname, data in ((WEIGHTS, weights), (MANIFEST, body), (SIGNATURE, signer.sign(body))):
                with open(tmp / fname, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
            fsync_dir(tmp)
            os.rename(tmp, target)  # atomic; fails if another publisher created `target` meanwhile
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        fsync_dir(target.parent)
        return target

    def set_active(self, name: str, version: int) -> None:
        if check_version(version) not in self.versions(name):
            raise ArtifactError(f"{name} has no version {version}")
        atomic_write_text(self.root / name / "ACTIVE", f"{version}\n")

    def active(self, name: str) -> int | None:
        """The version recorded as active, or None (no ACTIVE file, or one naming a missing version)."""
        try:
            text = (self.root / check_name(name) / "ACTIVE").read_text().strip()
        except FileNotFoundError:
            return None
        return int(text) if text.isdigit() and int(text) in self.versions(name) else None

    def sweep(self) -> int:
        """Remove temp folders left by publishers that died (their pid is gone). Returns how many."""
        removed = 0
        for tmp in self.root.glob("*/.tmp-*"):
            parts = tmp.name.split("-")
            pid = int(parts[2]) if len(parts) > 3 and parts[2].isdigit() else None
            if pid is None or not alive(pid):
                shutil.rmtree(tmp, ignore_errors=True)
                removed += 1
        return removed

    # -- reading -------------------------------------------------------------------------------------
    def load(self, name: str, version: int, verifier: Verifier) -> Artifact:
        """Verify and read one version; every failure is an ArtifactError naming what is wrong."""
        from safetensors import SafetensorError
        from safetensors.torch import load

        folder = self.path(name, version)
        what = f"{name} v{version}"
        if not folder.is_dir():
            raise ArtifactError(f"{what} is not in the registry ({self.root})")
        try:
            body = (folder / MANIFEST).read_bytes()
        except FileNotFoundError:
            raise ArtifactError(f"{what}: no manifest.json") from None
        try:
            signature = (folder / SIGNATURE).read_bytes()
        except FileNotFoundError:
            raise ArtifactError(f"{what} is unsigned (no manifest.sig): refused") from None
        try:
            verifier.verify(body, signature, what)
        except SignatureError as e:
            raise ArtifactError(str(e)) from None
        manifest = json.loads(body)
        if manifest.get("format") != FORMAT or manifest.get("name") != name or manifest.get("version") != version:
            raise ArtifactError(f"{what}: the signed manifest describes {manifest.get('name')} v{manifest.get('version')}: refused")
        expected = manifest["files"][WEIGHTS]
        try:
            weights = (folder / WEIGHTS).read_bytes()
        except FileNotFoundError:
            raise ArtifactError(f"{what}: {WEIGHTS} is missing") from None
        if len(weights) != expected["bytes"] or hashlib.sha256(weights).hexdigest() != expected["sha256"]:
            raise ArtifactError(f"{what}: {WEIGHTS} does not match its signed SHA-256 (altered or truncated): refused")
        try:
            tensors = load(weights)
        except SafetensorError as e:  # only reachable if the signer signed a broken file
            raise ArtifactError(f"{what}: unreadable safetensors ({e})") from None
        return Artifact(name, version, manifest["kind"], manifest["config"], tensors, manifest)
