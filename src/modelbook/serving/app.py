"""The model server: FastAPI app with scoped tokens, an audit log, signed versioned models and atomic hot swap.

    app = create_app(ServerSettings(registry=..., public_key=..., tokens=..., audit_log=...))
    uvicorn.run(app, host="127.0.0.1", port=8000)            # what `modelbook serve` does

Endpoints (scope needed in brackets):
    GET  /livez                     the process answers (liveness: restart me if this fails)
    GET  /readyz                    every configured model has a version loaded (readiness: send me traffic)
    GET  /metrics                   Prometheus text format
    GET  /v1/models                 [predict] models, their kinds, active and available versions
    POST /v1/models/{name}/predict  [predict] classify 1–64 images of 784 pixels in [0, 1]
    POST /v1/models/{name}/embed    [predict] embed 1–32 texts (MiniLM)
    POST /v1/chat                   [predict] SmolLM2 chat with a server-owned system prompt (only with chat=True)
    POST /admin/models/{name}/versions/{version}:activate   [admin] hot swap to that version
    GET  /admin/audit               [admin] verify the audit chain; its head and newest records

Limits: the Host header must be in `allowed_hosts` (400 otherwise: DNS-rebinding defence), bodies over
`max_body_bytes` get 413, invalid bodies 422 with the field and the rule (types are strict: "0.5" or true is
no pixel; JSON nested too deeply to parse is 422 too), inference that exceeds `request_timeout_s` 504. Every
error is JSON {"error": "..."}, those the middleware answers before any route included; 500 never carries internals.

Audit: every request to /admin/... gets exactly one record, whatever its answer (the handler's own record for
activations and audit reads; otherwise one written by AdminAudit with the status, e.g. "denied:401" or
"rejected:422" for a traversal attempt). Paths are clipped (audit.clip), and denials without a valid token are
rate-limited and aggregated (audit.AnonymousDenials), so anonymous clients cannot grow the log without bound.
"""
import contextlib
import contextvars
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import anyio
import numpy as np
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from modelbook.serving import schemas as S
from modelbook.serving.audit import AnonymousDenials, AuditLog, clip
from modelbook.serving.auth import Principal, TokenStore, bearer_token
from modelbook.serving.batching import DynamicBatcher
from modelbook.serving.metrics import MetricsMiddleware, ServerMetrics
from modelbook.serving.registry import ArtifactError, ModelRegistry
from modelbook.serving.signing import load_verifier
from modelbook.serving.slots import ModelSlot, NotReady

log = logging.getLogger("modelbook.serve")


@dataclass(frozen=True)
class ServerSettings:
    registry: Path
    public_key: Path
    tokens: Path
    audit_log: Path
    audit_key: bytes | None = None
    models: tuple[str, ...] = ("fashion", "minilm")
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
    max_body_bytes: int = 1_000_000
    request_timeout_s: float = 10.0
    batching: bool = False
    batch_max_rows: int = 64
    batch_max_wait_ms: float = 2.0
    chat: bool = False
    chat_engine: str = "batched"  # "batched": continuous batching (modelbook.inference); "serial": one generate() at a time
    chat_max_context: int = 1024  # prompt + max_new_tokens allowed per chat request (413 beyond)


ERRORS = {code: {"model": S.ErrorBody} for code in (400, 401, 403, 404, 413, 422, 503, 504)}
Name = Annotated[str, PathParam(pattern=S.NAME_PATTERN, max_length=40)]
bearer = HTTPBearer(auto_error=False, description="a token from `modelbook serve --new-token SCOPES`")
PARSE_ERROR = "There was an error parsing the body"  # FastAPI's 400 when json.loads fails other than by syntax
_admin_request: contextvars.ContextVar[dict | None] = contextvars.ContextVar("admin_request", default=None)


class JsonErrors:
    """Outermost ASGI layer: an error answered as text by a middleware (bad Host 400, Content-Length 413) is
    rewritten as JSON {"error": text}, so every error a client sees has the one documented shape."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        pending: dict = {}

        async def wrapped(message):
            if message["type"] == "http.response.start" and message["status"] >= 400:
                headers = dict((k.lower(), v) for k, v in message.get("headers", []))
                if headers.get(b"content-type", b"").startswith(b"text/plain"):
                    pending["start"] = message
                    return
            if "start" in pending and message["type"] == "http.response.body":
                pending.setdefault("body", b"")
                pending["body"] += message.get("body", b"")
                if message.get("more_body"):
                    return
                start = pending.pop("start")
                body = json.dumps({"error": pending.pop("body").decode("utf-8", "replace").strip()}).encode()
                headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-type", b"content-length")]
                headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, wrapped)


class AdminAudit:
    """ASGI layer around /admin/...: a request that no handler audited (denied, rejected by validation, unknown
    method or route, failed) gets one record here, with its status. Denials without a valid token go through
    AnonymousDenials (rate-limited, aggregated)."""

    def __init__(self, app, audit: AuditLog, anonymous: AnonymousDenials, tokens: TokenStore, on_append):
        self.app, self.audit, self.anonymous, self.tokens, self.on_append = app, audit, anonymous, tokens, on_append

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not (scope["path"] == "/admin" or scope["path"].startswith("/admin/")):
            return await self.app(scope, receive, send)
        marker = {"audited": False, "principal": None, "status": 500}
        token = _admin_request.set(marker)

        async def watch(message):
            if message["type"] == "http.response.start":
                marker["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            _admin_request.reset(token)
            if not marker["audited"]:
                self._record(scope, marker)

    def _record(self, scope, marker) -> None:
        status = marker["status"]
        principal = marker["principal"]
        if principal is None:
            headers = dict((k.lower(), v) for k, v in scope.get("headers", []))
            principal = self.tokens.authenticate(bearer_token(headers.get(b"authorization", b"").decode("latin-1")))
        outcome = f"denied:{status}" if status in (401, 403) else (f"rejected:{status}" if status < 500 else f"error:{status}")
        action = f"http.{scope.get('method', '?').lower()}"
        raw = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
        target = clip(raw.decode("latin-1"))
        try:
            if principal is None:
                self.anonymous.record(action, target, outcome)
            else:
                self.audit.append(principal.token_id, action, target, outcome)
            self.on_append()
        except OSError:
            log.exception("could not write the audit record of %s %s", scope.get("method"), target)


class ModelServer(FastAPI):
    """FastAPI with two outer ASGI layers (JsonErrors outside everything, so that even the errors of FastAPI's
    own body-size middleware are JSON; AdminAudit inside it)."""

    audit_layer: dict | None = None

    def build_middleware_stack(self):
        stack = super().build_middleware_stack()
        layer = self.audit_layer
        if layer:
            stack = AdminAudit(stack, layer["audit"], layer["anonymous"], layer["tokens"], layer["on_append"])
        return JsonErrors(stack)


def mark_audited() -> None:
    """Tell AdminAudit that the handler of this request wrote its own audit record."""
    marker = _admin_request.get()
    if marker is not None:
        marker["audited"] = True


def create_app(settings: ServerSettings) -> FastAPI:
    registry = ModelRegistry(settings.registry)
    metrics = ServerMetrics()
    audit = AuditLog(settings.audit_log, settings.audit_key)
    anonymous = AnonymousDenials(audit)
    tokens = TokenStore(settings.tokens)

    def audited(*args, **kwargs) -> None:
        audit.append(*args, **kwargs)
        mark_audited()
        metrics.audit_seq.set(audit.head()[0])

    def on_swap(name, servable):
        metrics.model_version.labels(name).set(servable.version)

    slots = {name: ModelSlot(name, registry, load_verifier(settings.public_key), on_swap) for name in settings.models}
    state = {"load_errors": {}, "batchers": {}}

    @contextlib.asynccontextmanager
    async def lifespan(app):
        registry.sweep()
        for name, slot in slots.items():  # load each model's ACTIVE version (else its newest), else fall back
            await load_at_start(name, slot)
        if settings.batching:
            for name in slots:
                state["batchers"][name] = DynamicBatcher(slots[name], settings.batch_max_rows, settings.batch_max_wait_ms / 1000,
                                                         on_batch=metrics.batch_rows.observe)
                state["batchers"][name].start()
        metrics.audit_seq.set(audit.head()[0])
        yield
        for b in state["batchers"].values():
            await b.stop()
        anonymous.flush()

    async def load_at_start(name: str, slot: ModelSlot) -> None:
        """The ACTIVE version (else the newest); if it fails verification or loading, the newest older one that
        loads, with an audit record of the fallback and of every version refused on the way."""
        versions = registry.versions(name)
        wanted = registry.active(name) or (versions[-1] if versions else None)
        if wanted is None:
            state["load_errors"][name] = f"{name} has no published version in {registry.root}"
            metrics.activations.labels(name, "refused").inc()
            log.error("not serving %s: %s", name, state["load_errors"][name])
            return
        refused: dict[str, str] = {}
        for version in [wanted] + sorted((v for v in versions if v != wanted), reverse=True):
            try:
                await anyio.to_thread.run_sync(slot.activate, version)
            except ArtifactError as e:
                refused[str(version)] = str(e)
                metrics.activations.labels(name, "refused").inc()
                log.error("%s v%d refused at start: %s", name, version, e)
                continue
            metrics.activations.labels(name, "ok").inc()
            if refused:
                audit.append("system", "model.fallback", f"{name}/v{version}", "ok",
                             {"wanted": wanted, "refused": {v: clip(r, 300) for v, r in list(refused.items())[:20]}})
                log.warning("serving %s v%d: fell back from v%d, which was refused", name, version, wanted)
            return
        state["load_errors"][name] = f"no version of {name} verifies: " + "; ".join(refused.values())[:2000]
        audit.append("system", "model.fallback", name, "refused", {"wanted": wanted, "refused": {v: clip(r, 300) for v, r in list(refused.items())[:20]}})
        log.error("not serving %s: %s", name, state["load_errors"][name])

    app = ModelServer(title="modelbook model server", version="1", lifespan=lifespan, max_body_size=settings.max_body_bytes)
    app.audit_layer = {"audit": audit, "anonymous": anonymous, "tokens": tokens,
                       "on_append": lambda: metrics.audit_seq.set(audit.head()[0])}
    app.state.slots, app.state.registry, app.state.audit, app.state.tokens, app.state.metrics = slots, registry, audit, tokens, metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))

    # -- errors: one JSON shape ----------------------------------------------------------------------
    @app.exception_handler(StarletteHTTPException)  # FastAPI's HTTPException, and routing's 404/405
    async def http_error(request, exc):
        if exc.status_code == 400 and exc.detail == PARSE_ERROR:  # e.g. JSON nested past the parser's depth
            return JSONResponse({"error": "invalid request: body: could not be parsed as JSON (nested too deeply?)"}, 422)
        return JSONResponse({"error": str(exc.detail)}, exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request, exc):
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return JSONResponse({"error": f"invalid request: {where}: {first['msg']}{more}", "detail": errors[:20]}, 422)

    @app.exception_handler(NotReady)
    async def not_ready(request, exc):
        return JSONResponse({"error": str(exc)}, 503)

    @app.exception_handler(Exception)
    async def internal(request, exc):
        log.exception("unhandled error on %s", request.url.path)
        return JSONResponse({"error": "internal server error"}, 500)

    # -- auth ----------------------------------------------------------------------------------------
    def require(scope: str):
        def dependency(request: Request, cred: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
            principal = tokens.authenticate(cred.credentials if cred else None)
            marker = _admin_request.get()
            if marker is not None:  # AdminAudit records the request under this token's id, whatever the answer
                marker["principal"] = principal
            if principal is None:
                metrics.auth_failures.labels("401").inc()
                challenge = 'Bearer realm="modelbook"' + (', error="invalid_token"' if cred else "")
                raise HTTPException(401, "missing or invalid bearer token", headers={"WWW-Authenticate": challenge})
            if scope not in principal.scopes:
                metrics.auth_failures.labels("403").inc()
                raise HTTPException(403, f"this token lacks the '{scope}' scope",
                                    headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'})
            return principal
        return dependency

    def slot_of(name: str, kind: str):
        slot = slots.get(name)
        if slot is None:
            raise HTTPException(404, f"no model called '{name}' is served")
        servable = slot.get()
        if servable.kind != kind:
            raise HTTPException(404, f"model '{name}' is a {servable.kind}, which has no such endpoint")
        return slot, servable

    async def in_thread(fn, *args):
        try:
            with anyio.fail_after(settings.request_timeout_s):
                return await anyio.to_thread.run_sync(fn, *args, abandon_on_cancel=True)
        except TimeoutError:
            raise HTTPException(504, f"inference took longer than {settings.request_timeout_s:g} s") from None

    # -- health and metrics --------------------------------------------------------------------------
    @app.get("/livez", response_model=S.Health)
    async def livez():
        return S.Health(status="ok")

    @app.get("/readyz", response_model=S.Health, responses={503: {"model": S.Health}})
    async def readyz():
        versions = {name: slot.version for name, slot in slots.items()}
        if all(v is not None for v in versions.values()):
            return S.Health(status="ready", models=versions)
        missing = [n for n, v in versions.items() if v is None]
        reason = "; ".join(state["load_errors"].get(n, f"{n} is loading") for n in missing)
        return JSONResponse(S.Health(status="not ready", models=versions, reason=reason).model_dump(), 503)

    @app.get("/metrics", response_class=Response)
    async def prometheus():
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    # -- inference -----------------------------------------------------------------------------------
    @app.get("/v1/models", response_model=list[S.ModelInfo], responses=ERRORS)
    async def list_models(principal: Annotated[Principal, Depends(require("predict"))]):
        return [S.ModelInfo(name=n, kind=s.current.kind if s.current else None, version=s.version, versions=registry.versions(n))
                for n, s in slots.items()]

    @app.post("/v1/models/{name}/predict", response_model=S.PredictResponse, responses=ERRORS)
    async def predict(name: Name, body: S.PredictRequest, principal: Annotated[Principal, Depends(require("predict"))]):
        slot, servable = slot_of(name, "fashion-mlp")
        x = np.asarray(body.inputs, dtype=np.float32)
        if name in state["batchers"]:
            try:
                with anyio.fail_after(settings.request_timeout_s):
                    version, probs = await state["batchers"][name].submit(x)
            except TimeoutError:
                raise HTTPException(504, f"inference took longer than {settings.request_timeout_s:g} s") from None
        else:
            version, probs = servable.version, await in_thread(servable.predict, x)
        metrics.predictions.labels(name, str(version)).inc(len(x))
        classes = servable.classes
        return S.PredictResponse(model=name, version=version, predictions=[
            S.Prediction(label=int(p.argmax()), class_name=classes[int(p.argmax())], probabilities=p.tolist()) for p in probs])

    @app.post("/v1/models/{name}/embed", response_model=S.EmbedResponse, responses=ERRORS)
    async def embed(name: Name, body: S.EmbedRequest, principal: Annotated[Principal, Depends(require("predict"))]):
        slot, servable = slot_of(name, "minilm")
        vectors = await in_thread(servable.embed, body.texts)
        metrics.predictions.labels(name, str(servable.version)).inc(len(body.texts))
        return S.EmbedResponse(model=name, version=servable.version, dimensions=vectors.shape[1], embeddings=vectors.tolist())

    # -- admin ---------------------------------------------------------------------------------------
    @app.post("/admin/models/{name}/versions/{version}:activate", response_model=S.ActivateResponse,
              responses=ERRORS | {409: {"model": S.ErrorBody}})
    async def activate(name: Name, version: Annotated[int, PathParam(ge=1, le=10**9 - 1)],
                       principal: Annotated[Principal, Depends(require("admin"))]):
        target = f"{name}/v{version}"
        slot = slots.get(name)
        if slot is None or version not in registry.versions(name):
            audited(principal.token_id, "model.activate", target, "not_found")
            raise HTTPException(404, f"no version {version} of a served model called '{name}'")
        try:
            previous, active = await anyio.to_thread.run_sync(slot.activate, version)
        except ArtifactError as e:
            metrics.activations.labels(name, "refused").inc()
            audited(principal.token_id, "model.activate", target, "refused", {"reason": clip(str(e), 300), "serving": slot.version})
            raise HTTPException(409, f"refused: {e}; version {slot.version} keeps serving") from None
        metrics.activations.labels(name, "ok").inc()
        audited(principal.token_id, "model.activate", target, "ok", {"previous": previous})
        return S.ActivateResponse(model=name, previous=previous, active=active)

    @app.get("/admin/audit", response_model=S.AuditResponse, responses=ERRORS)
    async def audit_status(principal: Annotated[Principal, Depends(require("admin"))],
                           tail: Annotated[int, Query(ge=0, le=100, description="how many records to return")] = 10,
                           after: Annotated[int | None, Query(ge=-1, le=2**53, description="return the records after this seq "
                                                             "(oldest first: a page) instead of the newest")] = None,
                           full: Annotated[bool, Query(description="walk the whole chain again (default: only what is new)")] = False):
        anonymous.flush()
        check = await anyio.to_thread.run_sync(lambda: audit.verify(full=full))
        seq, head = audit.head()
        audited(principal.token_id, "audit.read", str(settings.audit_log), "ok")
        if after is None:
            records = audit.tail(tail)
            next_after = None
        else:
            records = audit.page(after + 1, tail)
            next_after = after + len(records) if after + 1 + len(records) < len(audit) else None
        return S.AuditResponse(records=check.n_records, head=S.AuditHead(seq=seq, hash=head), verified=check.ok,
                               first_bad=check.first_bad, reason=check.reason, tail=records, next_after=next_after)

    if settings.chat:
        from modelbook.serving.chat_endpoint import add_chat_routes

        add_chat_routes(app, require("predict"), in_thread, settings)
    return app
