"""The signed registry: round trip, immutability, refusals before deserialising, crash safety under kill -9."""
import os
import shutil
import signal
import time

import pytest
import torch

from modelbook.serving.registry import MANIFEST, SIGNATURE, WEIGHTS, ArtifactError, ModelRegistry
from modelbook.serving.signing import generate_keys, load_signer, load_verifier


@pytest.fixture
def reg(tmp_path):
    generate_keys(tmp_path / "keys")
    return ModelRegistry(tmp_path / "registry"), load_signer(tmp_path / "keys" / "signing.key"), load_verifier(tmp_path / "keys" / "signing.pub"), tmp_path


def test_round_trip_and_immutability(reg):
    registry, signer, verifier, _ = reg
    tensors = {"w": torch.randn(3, 4), "b": torch.arange(3.0)}
    registry.publish("m", 1, "kind", tensors, {"a": 1}, signer, metadata={"note": "x"})
    art = registry.load("m", 1, verifier)
    assert art.kind == "kind" and art.config == {"a": 1} and art.manifest["metadata"] == {"note": "x"}
    torch.testing.assert_close(art.tensors["w"], tensors["w"])
    with pytest.raises(ArtifactError, match="immutable"):
        registry.publish("m", 1, "kind", tensors, {}, signer)
    assert registry.versions("m") == [1] and registry.names() == ["m"]
    registry.set_active("m", 1)
    assert registry.active("m") == 1
    with pytest.raises(ArtifactError, match="no version 7"):
        registry.set_active("m", 7)


@pytest.mark.parametrize("name,version", [("Bad Name", 1), ("../x", 1), ("m", 0), ("m", -2), ("m", True)])
def test_names_and_versions_are_validated(reg, name, version):
    registry, signer, _, _ = reg
    with pytest.raises(ArtifactError, match="invalid"):
        registry.publish(name, version, "k", {"w": torch.zeros(1)}, {}, signer)


def test_refusals_name_what_is_wrong(reg):
    registry, signer, verifier, tmp = reg
    t = {"w": torch.randn(8)}
    (registry.publish("m", 1, "k", t, {}, signer) / SIGNATURE).unlink()
    with pytest.raises(ArtifactError, match="unsigned"):
        registry.load("m", 1, verifier)
    p = registry.publish("m", 2, "k", t, {}, signer)
    data = bytearray((p / WEIGHTS).read_bytes())
    data[-1] ^= 1
    (p / WEIGHTS).write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="SHA-256"):
        registry.load("m", 2, verifier)
    body = (p / MANIFEST).read_bytes().replace(b'"kind":"k"', b'"kind":"x"')
    (p / MANIFEST).write_bytes(body)
    with pytest.raises(ArtifactError, match="signature does not verify"):
        registry.load("m", 2, verifier)
    generate_keys(tmp / "other")
    registry.publish("m", 3, "k", t, {}, load_signer(tmp / "other" / "signing.key"))
    with pytest.raises(ArtifactError, match="another key"):
        registry.load("m", 3, verifier)
    p4 = registry.publish("m", 4, "k", t, {}, signer)
    for f in (MANIFEST, WEIGHTS):  # v1's files (its signature was deleted above): signed again below
        shutil.copy(registry.path("m", 1) / f, p4 / f)
    (p4 / SIGNATURE).write_bytes(signer.sign((p4 / MANIFEST).read_bytes()))  # a genuine signature of v1's manifest
    with pytest.raises(ArtifactError, match="describes m v1"):
        registry.load("m", 4, verifier)
    with pytest.raises(ArtifactError, match="not in the registry"):
        registry.load("m", 9, verifier)


IMPORTS = """
import torch
from modelbook.serving.registry import ModelRegistry
from modelbook.serving.signing import load_signer
"""
WRITER = """
import sys
root, key = sys.argv[1], sys.argv[2]
registry, signer = ModelRegistry(root), load_signer(key)
v = max(registry.versions("m"), default=0)
g = torch.Generator().manual_seed(0)
while True:
    v += 1
    registry.publish("m", v, "k", {"w": torch.randn(600_000, generator=g)}, {"v": v}, signer)
    registry.set_active("m", v)
    print(v, flush=True)
"""


@pytest.mark.timeout(600)
def test_kill_9_during_publish_never_leaves_a_corrupt_version(reg):
    """Kill a publisher (2.4 MB versions, ACTIVE rewritten after each) at random moments, 15 times: every
    version listed loads and verifies, ACTIVE always names a complete version, and temp folders are swept. Each
    publisher is a child forked by tests/forkserver.py (imports paid once)."""
    import random

    from tests.forkserver import ForkServer

    registry, _, verifier, tmp = reg
    rnd = random.Random(0)
    with ForkServer(IMPORTS) as server:
        for trial in range(15):
            pid, _ = server.start(WRITER, [str(registry.root), str(tmp / "keys" / "signing.key")])  # one version out
            time.sleep(rnd.uniform(0.0, 0.3))
            os.kill(pid, signal.SIGKILL)
            server.reap(pid)
            versions = registry.versions("m")
            for v in versions:
                assert registry.load("m", v, verifier).config == {"v": v}
            assert registry.active("m") in versions
            registry.sweep()
            assert not list((registry.root / "m").glob(".tmp-*"))
    assert len(registry.versions("m")) >= 15
