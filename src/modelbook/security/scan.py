"""Static and dependency checks: bandit over the source tree, and minimum safe versions of dependencies.

bandit (PyCQA) parses every file and flags known-dangerous patterns (pickle/yaml loads, shell=True, weak
hashes, SQL built from strings, unpinned hub downloads...). Policy: zero unsuppressed findings of MEDIUM or HIGH
severity; a suppression is a `nosec BXXX` comment followed by its reason on the same line, so every
exception is visible in review.

pip-audit needs a vulnerability database online, which this machine cannot reach; instead MINIMUM_SAFE lists,
for the security-relevant packages we depend on, the first release that fixes a published advisory, and
check_versions() compares the installed versions with it (run in CI by tests/security/test_scan.py).

probe_pickle_loaders() offers a hostile pickle to the loaders a model file goes through and reports which
refused it, and whether its side effect ran.
"""
from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

# package: (first safe version, the advisory it fixes)
MINIMUM_SAFE = {
    "torch": ("2.10.0", "CVE-2026-24747 weights_only unpickler memory corruption (< 2.10.0); CVE-2025-32434 torch.load RCE (< 2.6.0)"),
    "transformers": ("5.3.0", "CVE-2026-4372 / GHSA-29pf-2h5f-8g72 remote code execution (< 5.3.0)"),
    "starlette": ("0.47.2", "CVE-2025-54121 multipart rollover blocks the event loop (<= 0.47.1)"),
    "h11": ("0.16.0", "CVE-2025-43859 lenient chunked-encoding parsing, request smuggling (<= 0.14.0)"),
    "jinja2": ("3.1.6", "CVE-2025-27516 sandbox escape through the |attr filter (< 3.1.6)"),
    "urllib3": ("2.5.0", "CVE-2025-50181 redirects not disabled by PoolManager(retries=...) (< 2.5.0)"),
    "requests": ("2.32.4", "CVE-2024-47081 .netrc credentials leak to crafted URLs (< 2.32.4)"),
}


@dataclass(frozen=True)
class VersionCheck:
    package: str
    installed: str | None
    minimum: str
    advisory: str

    @property
    def ok(self) -> bool:
        return self.installed is not None and Version(self.installed.split("+")[0]) >= Version(self.minimum)


def check_versions(table: dict = MINIMUM_SAFE) -> list[VersionCheck]:
    out = []
    for package, (minimum, advisory) in table.items():
        try:
            installed = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        out.append(VersionCheck(package, installed, minimum, advisory))
    return out


@dataclass(frozen=True)
class BanditReport:
    findings: list[dict]  # unsuppressed findings: {"file", "line", "test_id", "severity", "text"}
    suppressed: int  # lines carrying a nosec comment
    files: int

    def at_least(self, severity: str = "MEDIUM") -> list[dict]:
        rank = {"LOW": 0, "MEDIUM": 1, "HIGH": 2}
        return [f for f in self.findings if rank[f["severity"]] >= rank[severity]]


def run_bandit(path: Path, timeout_s: float = 300) -> BanditReport:
    """bandit -r PATH -f json (every severity; nosec comments are honoured and counted)."""
    proc = subprocess.run([sys.executable, "-m", "bandit", "-q", "-r", str(path), "-f", "json"],  # nosec B603 # fixed argv
                          capture_output=True, text=True, timeout=timeout_s)
    if proc.returncode not in (0, 1) or not proc.stdout.strip():
        from modelbook.core.errors import ModelbookError

        raise ModelbookError(f"bandit failed (exit {proc.returncode}): {proc.stderr.strip()[-300:]}")
    data = json.loads(proc.stdout)
    findings = [{"file": r["filename"], "line": r["line_number"], "test_id": r["test_id"], "severity": r["issue_severity"],
                 "text": r["issue_text"]} for r in data["results"]]
    totals = data["metrics"].get("_totals", {})
    return BanditReport(findings, int(totals.get("nosec", 0)) + int(totals.get("skipped_tests", 0)),
                        len([k for k in data["metrics"] if k != "_totals"]))


@dataclass(frozen=True)
class PickleProbe:
    refusals: int  # loaders (of the two tried) that raised instead of loading the payload
    side_effect_ran: bool  # the payload's marker file exists: some loader executed it


def pickle_payload(marker: Path) -> bytes:
    """A hostile pickle: unpickling it calls Path.touch(marker), a harmless but visible side effect."""
    import pickle  # nosec B403 # only to CREATE a hostile payload, never to load one

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    return pickle.dumps({"weight": Payload()})


def probe_pickle_loaders(folder: Path) -> PickleProbe:
    """Offer a hostile pickle (pickle_payload) to safetensors and to torch.load(weights_only=True); both should
    refuse it without running it. The payload file is written to `folder` and removed afterwards."""
    import torch

    marker = folder / "pickle-payload-ran"
    blob = pickle_payload(marker)
    (folder / "evil.bin").write_bytes(blob)
    refusals = 0
    try:
        from safetensors.torch import load

        load(blob)
    except Exception:
        refusals += 1
    try:
        torch.load(folder / "evil.bin", weights_only=True)
    except Exception:
        refusals += 1
    (folder / "evil.bin").unlink()
    return PickleProbe(refusals, marker.exists())
