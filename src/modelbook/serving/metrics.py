"""Prometheus metrics for the model server (prometheus_client, one registry per app), and the ASGI middleware
that records every request by route template (never the raw path: unbounded label values would blow up)."""
from __future__ import annotations

import time

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServerMetrics:
    def __init__(self):
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("modelbook_http_requests", "HTTP requests by method, route and status", ["method", "route", "status"], registry=r)
        self.latency = Histogram("modelbook_http_request_duration_seconds", "Request latency by route", ["route"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.in_flight = Gauge("modelbook_http_requests_in_flight", "Requests being served now", registry=r)
        self.model_version = Gauge("modelbook_model_version", "Version answering requests, per model", ["model"], registry=r)
        self.activations = Counter("modelbook_model_activations", "Activation attempts by model and outcome", ["model", "outcome"], registry=r)
        self.predictions = Counter("modelbook_predicted_rows", "Rows predicted or embedded, by model and version", ["model", "version"], registry=r)
        self.batch_rows = Histogram("modelbook_batch_rows", "Rows per forward pass of the dynamic batcher",
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128), registry=r)
        self.audit_seq = Gauge("modelbook_audit_head_seq", "Sequence number of the newest audit record (anchor it elsewhere)", registry=r)
        self.chat_requests = Counter("modelbook_chat_requests", "Chat requests accepted, by engine", ["engine"], registry=r)
        self.chat_step_tokens = Histogram("modelbook_chat_batch_tokens", "Sequences per step of the chat engine's continuous batcher",
                                          buckets=(1, 2, 3, 4, 6, 8, 16), registry=r)
        self.auth_failures = Counter("modelbook_auth_failures", "Requests refused with 401 or 403", ["status"], registry=r)

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Pure ASGI middleware: count and time every HTTP request, labelled by the matched route's template."""

    def __init__(self, app, metrics: ServerMetrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        status = {"code": 500}

        async def send_and_record(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        self.metrics.in_flight.inc()
        t0 = time.perf_counter()
        try:
            await self.app(scope, receive, send_and_record)
        finally:
            route = scope.get("route")
            label = getattr(route, "path", None) or "unmatched"
            self.metrics.in_flight.dec()
            self.metrics.latency.labels(label).observe(time.perf_counter() - t0)
            self.metrics.requests.labels(scope["method"], label, str(status["code"])).inc()


def counter_total(metrics_text: str, family: str, **labels: str) -> float:
    """Sum of a counter family's `_total` samples whose labels include `labels`, read back from the Prometheus
    text exposition (what a scraper sees): counter_total(text, "modelbook_http_requests", status="200")."""
    from prometheus_client.parser import text_string_to_metric_families

    for fam in text_string_to_metric_families(metrics_text):
        if fam.name == family:
            return sum(s.value for s in fam.samples if s.name.endswith("_total")
                       and all(s.labels.get(k) == v for k, v in labels.items()))
    return 0.0
