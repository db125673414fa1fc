"""Load test with hot swaps, over loopback: N concurrent clients for T seconds while versions are activated.

    report = asyncio.run(load_and_swap(url, predict_token, admin_token, "fashion", body, versions=[2, 3, 4],
                                       duration_s=10, n_clients=8))

Each client sends one request at a time (it waits for the answer before sending the next) and records the
status, the latency and the model version in the answer. Meanwhile a swapper activates `versions` in order, spread
evenly over the run. What a correct hot swap must give (and the deploy lab checks):
  - no failed request (every answer 200, no connection error), however the swaps fall;
  - for every client, the version it sees never goes backwards (the swap is atomic and versions increase);
  - every activation succeeds, and the last version is the one answering at the end.
Bounded in time (duration_s) and optionally in count (max_requests).
"""
from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np


@dataclass
class LoadReport:
    duration_s: float
    n_clients: int
    n_requests: int = 0
    n_failed: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    backwards: int = 0  # answers whose version was lower than one the same client had already seen
    versions_seen: list[int] = field(default_factory=list)
    swaps: list[dict] = field(default_factory=list)  # {"at_s", "version", "status", "ms"}
    last_version: int | None = None

    @property
    def n_swaps_ok(self) -> int:
        return sum(1 for s in self.swaps if s["status"] == 200)

    def percentile_ms(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")

    @property
    def throughput_rps(self) -> float:
        return self.n_requests / self.duration_s

    def summary(self) -> str:
        return (f"{self.n_requests:,} requests from {self.n_clients} clients in {self.duration_s:.1f} s "
                f"({self.throughput_rps:,.0f}/s), {self.n_failed} failed, p50 {self.percentile_ms(50):.1f} ms, "
                f"p99 {self.percentile_ms(99):.1f} ms, {self.n_swaps_ok}/{len(self.swaps)} swaps, "
                f"versions seen {self.versions_seen}, {self.backwards} backwards")


async def load_and_swap(url: str, predict_token: str, admin_token: str, model: str, body: dict, versions: list[int],
                        duration_s: float, n_clients: int = 8, max_requests: int | None = None,
                        timeout_s: float = 30.0) -> LoadReport:
    import httpx

    content = json.dumps(body).encode()
    predict_headers = {"Authorization": f"Bearer {predict_token}", "Content-Type": "application/json"}
    admin_headers = {"Authorization": f"Bearer {admin_token}"}
    report = LoadReport(duration_s, n_clients)
    failures: Counter = Counter()
    seen: set[int] = set()
    limits = httpx.Limits(max_connections=n_clients + 2, max_keepalive_connections=n_clients + 2)
    async with httpx.AsyncClient(base_url=url, timeout=timeout_s, limits=limits) as http:
        loop = asyncio.get_running_loop()
        start = loop.time()
        stop_at = start + duration_s

        async def client() -> None:
            last = 0
            while loop.time() < stop_at and (max_requests is None or report.n_requests < max_requests):
                t0 = time.perf_counter()
                try:
                    r = await http.post(f"/v1/models/{model}/predict", content=content, headers=predict_headers)
                except httpx.HTTPError as e:
                    failures[type(e).__name__] += 1
                    report.n_requests += 1
                    continue
                report.n_requests += 1
                report.latencies_ms.append((time.perf_counter() - t0) * 1000)
                if r.status_code != 200:
                    failures[f"HTTP {r.status_code}"] += 1
                    continue
                version = r.json()["version"]
                seen.add(version)
                if version < last:
                    report.backwards += 1
                last = max(last, version)

        async def swapper() -> None:
            for k, version in enumerate(versions):
                await asyncio.sleep(max(0.0, start + (k + 1) * duration_s / (len(versions) + 1) - loop.time()))
                t0 = time.perf_counter()
                try:
                    r = await http.post(f"/admin/models/{model}/versions/{version}:activate", headers=admin_headers)
                    status = r.status_code
                except httpx.HTTPError as e:
                    status = type(e).__name__
                report.swaps.append({"at_s": round(loop.time() - start, 3), "version": version, "status": status,
                                     "ms": round((time.perf_counter() - t0) * 1000, 1)})

        await asyncio.gather(swapper(), *(client() for _ in range(n_clients)))
        report.duration_s = loop.time() - start
        r = await http.post(f"/v1/models/{model}/predict", content=content, headers=predict_headers)
        report.last_version = r.json().get("version") if r.status_code == 200 else None
    report.failures, report.n_failed = dict(failures), sum(failures.values())
    report.versions_seen = sorted(seen)
    return report


@dataclass
class ChatLoadReport:
    """What N streaming chat clients saw: requests, failures, time to first token (TTFT) and to the last one."""

    duration_s: float
    n_clients: int
    n_requests: int = 0
    n_failed: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    ttft_ms: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    chars: int = 0

    def ttft_percentile_ms(self, q: float) -> float:
        return float(np.percentile(self.ttft_ms, q)) if self.ttft_ms else float("nan")

    @property
    def throughput_rps(self) -> float:
        return (self.n_requests - self.n_failed) / self.duration_s

    def summary(self) -> str:
        return (f"{self.n_requests} chat requests from {self.n_clients} clients in {self.duration_s:.1f} s "
                f"({self.throughput_rps:.2f}/s), {self.n_failed} failed, TTFT p50 {self.ttft_percentile_ms(50):.0f} ms, "
                f"p99 {self.ttft_percentile_ms(99):.0f} ms")


async def chat_load(url: str, token: str, bodies: list[dict], duration_s: float, n_clients: int = 8,
                    max_requests: int | None = None, timeout_s: float = 120.0) -> ChatLoadReport:
    """N clients, each streaming one /v1/chat request at a time (bodies in turn) until duration_s has passed.
    A request fails unless it answers 200, streams at least one delta and ends with the done event."""
    import httpx

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    report = ChatLoadReport(duration_s, n_clients)
    failures: Counter = Counter()
    limits = httpx.Limits(max_connections=n_clients + 2, max_keepalive_connections=n_clients + 2)
    async with httpx.AsyncClient(base_url=url, timeout=timeout_s, limits=limits) as http:
        loop = asyncio.get_running_loop()
        start = loop.time()

        async def client(c: int) -> None:
            k = c
            while loop.time() < start + duration_s and (max_requests is None or report.n_requests < max_requests):
                body = {**bodies[k % len(bodies)], "stream": True}
                k += n_clients
                report.n_requests += 1
                t0 = time.perf_counter()
                first, done = None, False
                try:
                    async with http.stream("POST", "/v1/chat", content=json.dumps(body).encode(), headers=headers) as r:
                        if r.status_code != 200:
                            failures[f"HTTP {r.status_code}"] += 1
                            continue
                        async for line in r.aiter_lines():
                            if not line.startswith("data: "):
                                continue
                            event = json.loads(line[6:])
                            if "delta" in event:
                                first = first or time.perf_counter()
                                report.chars += len(event["delta"])
                            done = done or bool(event.get("done"))
                except httpx.HTTPError as e:
                    failures[type(e).__name__] += 1
                    continue
                if first is None or not done:
                    failures["no tokens" if first is None else "unfinished stream"] += 1
                    continue
                report.ttft_ms.append((first - t0) * 1000)
                report.latencies_ms.append((time.perf_counter() - t0) * 1000)

        await asyncio.gather(*(client(c) for c in range(n_clients)))
        report.duration_s = loop.time() - start
    report.failures, report.n_failed = dict(failures), sum(failures.values())
    return report
