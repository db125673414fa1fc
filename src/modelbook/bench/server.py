"""The model server under load: throughput and p50/p99 latency against the number of concurrent clients.

A real `python -m modelbook.serving.server` child process (auth, signed registry, metrics, as `modelbook serve`
runs it) serves the Fashion-MNIST MLP on 127.0.0.1; serving.loadtest drives it with C clients, each sending one
request at a time, for a fixed time per level, C = 1, 2, 4, 8 (full: up to 16). There is no library to race here,
so the ratios are against the server's own one-client run, measured in the same process: throughput(C) /
throughput(1) (how much concurrency buys on 2 cores) and p50(C) / p50(1). Once the server is saturated,
throughput stops growing and every extra client waits in the queue, so latency grows like C (Little's law:
clients = throughput × latency); the fitted exponent of p50 against C shows where that happens.
"""
from __future__ import annotations

from modelbook.bench.harness import Bench

TITLE = "model server: throughput and p50/p99 latency vs concurrent clients"
QUICK = dict(clients=[1, 2, 4, 8], seconds=2.0, repeats=2)
FULL = dict(clients=[1, 2, 4, 8, 16], seconds=10.0, repeats=3)
THREADS = 1


def run(quick: bool):
    import asyncio
    import tempfile
    from pathlib import Path

    import numpy as np
    import torch

    from modelbook.serving.auth import TokenStore
    from modelbook.serving.classifier import KIND, make_mlp, mlp_config
    from modelbook.serving.loadtest import load_and_swap
    from modelbook.serving.registry import ModelRegistry
    from modelbook.serving.server import ServerProcess, ensure_keys, settings_for
    from modelbook.serving.signing import load_signer

    p = QUICK if quick else FULL
    b = Bench("server", quick, p)
    hidden = (256, 128)
    with tempfile.TemporaryDirectory(prefix="modelbook-bench-server-") as tmp:
        folder = Path(tmp)
        ensure_keys(folder)
        torch.manual_seed(0)
        ModelRegistry(folder / "registry").publish("fashion", 1, KIND, make_mlp(hidden).state_dict(), mlp_config(hidden),
                                                   load_signer(folder / "keys" / "signing.key"))
        ModelRegistry(folder / "registry").set_active("fashion", 1)
        settings = settings_for(folder, models=("fashion",))
        token = TokenStore(settings.tokens).create(["predict"])
        body = {"inputs": [np.random.default_rng(0).random(784).round(3).tolist()]}
        rps = {c: [] for c in p["clients"]}
        p50 = {c: [] for c in p["clients"]}
        p99 = {c: [] for c in p["clients"]}
        failed = 0
        with ServerProcess(settings, threads=1) as url:
            asyncio.run(load_and_swap(url, token, token, "fashion", body, [], 1.0, 2))  # warm-up
            for _ in range(p["repeats"]):  # interleaved: every level once per round
                for c in p["clients"]:
                    r = asyncio.run(load_and_swap(url, token, token, "fashion", body, [], p["seconds"], c))
                    failed += r.n_failed
                    rps[c].append(r.throughput_rps)
                    p50[c].append(r.percentile_ms(50))
                    p99[c].append(r.percentile_ms(99))
    one = p["clients"][0]
    for c in p["clients"][1:]:
        # ratios of times: 1/throughput is the time per request, so (1/rps_C)/(1/rps_1) = rps_1/rps_C
        b.ratio("time per request C clients/1 client", f"C={c}", [1 / x for x in rps[c]], [1 / x for x in rps[one]])
        b.ratio("p50 latency C clients/1 client", f"C={c}", p50[c], p50[one])
    for c in p["clients"]:
        b.value(f"throughput @C={c}", float(np.median(rps[c])), "req/s")
        b.value(f"p50 latency @C={c}", float(np.median(p50[c])), "ms")
        b.value(f"p99 latency @C={c}", float(np.median(p99[c])), "ms")
    b.exponent("p50 latency vs clients", p["clients"], [float(np.median(p50[c])) for c in p["clients"]])
    b.at_most("failed requests over every level", failed, 0, "TOPICS.md T10: a server under load answers every request")
    top = max(p["clients"])
    b.within("p50 latency exponent in clients (queueing once saturated: Little's law gives → 1)",
             b.result.value("exponent p50 latency vs clients"), 0.2, 1.4,
             "Little's law, L = λW: at fixed throughput, latency ∝ clients", note="a timing: wide band, the machine is shared")
    b.note(f"One server process (1 torch thread), {p['seconds']:g} s per level, {p['repeats']} round(s); "
           f"throughput at {top} clients is ×{np.median(rps[top]) / np.median(rps[one]):.2f} that of one client. "
           "Clients and server share the machine's cores, as they would on one host.")
    return b.result
