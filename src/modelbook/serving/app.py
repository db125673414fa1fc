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
`max_body_bytes` get 413, invalid bodies 422 with the field and the rule, inference that exceeds
`request_timeout_s` 504. Errors are JSON {"error": "..."}; 500 never carries internals.
"""
import contextlib
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
from modelbook.serving.audit import AuditLog
from modelbook.serving.auth import Principal, TokenStore
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


ERRORS = {code: {"model": S.ErrorBody} for code in (400, 401, 403, 404, 413, 422, 503, 504)}
Name = Annotated[str, PathParam(pattern=S.NAME_PATTERN, max_length=40)]
bearer = HTTPBearer(auto_error=False, description="a token from `modelbook serve --new-token SCOPES`")


def create_app(settings: ServerSettings) -> FastAPI:
    registry = ModelRegistry(settings.registry)
    metrics = ServerMetrics()
    audit = AuditLog(settings.audit_log, settings.audit_key)
    tokens = TokenStore(settings.tokens)

    def on_swap(name, servable):
        metrics.model_version.labels(name).set(servable.version)

    slots = {name: ModelSlot(name, registry, load_verifier(settings.public_key), on_swap) for name in settings.models}
    state = {"load_errors": {}, "batchers": {}}

    @contextlib.asynccontextmanager
    async def lifespan(app):
        registry.sweep()
        for name, slot in slots.items():  # load each model's ACTIVE version (else its newest)
            versions = registry.versions(name)
            version = registry.active(name) or (versions[-1] if versions else None)
            try:
                if version is None:
                    raise ArtifactError(f"{name} has no published version in {registry.root}")
                await anyio.to_thread.run_sync(slot.activate, version)
                metrics.activations.labels(name, "ok").inc()
            except ArtifactError as e:
                state["load_errors"][name] = str(e)
                metrics.activations.labels(name, "refused").inc()
                log.error("not serving %s: %s", name, e)
        if settings.batching:
            for name in slots:
                state["batchers"][name] = DynamicBatcher(slots[name], settings.batch_max_rows, settings.batch_max_wait_ms / 1000,
                                                         on_batch=metrics.batch_rows.observe)
                state["batchers"][name].start()
        metrics.audit_seq.set(audit.head()[0])
        yield
        for b in state["batchers"].values():
            await b.stop()

    app = FastAPI(title="modelbook model server", version="1", lifespan=lifespan, max_body_size=settings.max_body_bytes)
    app.state.slots, app.state.registry, app.state.audit, app.state.tokens, app.state.metrics = slots, registry, audit, tokens, metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))

    # -- errors: one JSON shape ----------------------------------------------------------------------
    @app.exception_handler(StarletteHTTPException)  # FastAPI's HTTPException, and routing's 404/405
    async def http_error(request, exc):
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
            admin_route = request.url.path.startswith("/admin/")
            if principal is None:
                metrics.auth_failures.labels("401").inc()
                if admin_route:
                    audit.append("anonymous", f"{request.method} {request.url.path}", request.url.path, "denied:401")
                challenge = 'Bearer realm="modelbook"' + (', error="invalid_token"' if cred else "")
                raise HTTPException(401, "missing or invalid bearer token", headers={"WWW-Authenticate": challenge})
            if scope not in principal.scopes:
                metrics.auth_failures.labels("403").inc()
                if admin_route:
                    audit.append(principal.token_id, f"{request.method} {request.url.path}", request.url.path, "denied:403")
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
            audit.append(principal.token_id, "model.activate", target, "not_found")
            metrics.audit_seq.set(audit.head()[0])
            raise HTTPException(404, f"no version {version} of a served model called '{name}'")
        try:
            previous, active = await anyio.to_thread.run_sync(slot.activate, version)
        except ArtifactError as e:
            metrics.activations.labels(name, "refused").inc()
            audit.append(principal.token_id, "model.activate", target, "refused", {"reason": str(e), "serving": slot.version})
            metrics.audit_seq.set(audit.head()[0])
            raise HTTPException(409, f"refused: {e}; version {slot.version} keeps serving") from None
        metrics.activations.labels(name, "ok").inc()
        audit.append(principal.token_id, "model.activate", target, "ok", {"previous": previous})
        metrics.audit_seq.set(audit.head()[0])
        return S.ActivateResponse(model=name, previous=previous, active=active)

    @app.get("/admin/audit", response_model=S.AuditResponse, responses=ERRORS)
    async def audit_status(principal: Annotated[Principal, Depends(require("admin"))],
                           tail: Annotated[int, Query(ge=0, le=100)] = 10):
        check = audit.verify()
        seq, head = audit.head()
        audit.append(principal.token_id, "audit.read", str(settings.audit_log), "ok")
        metrics.audit_seq.set(audit.head()[0])
        records = audit.records()[-tail:] if tail else []
        return S.AuditResponse(records=check.n_records, head=S.AuditHead(seq=seq, hash=head), verified=check.ok,
                               first_bad=check.first_bad, reason=check.reason, tail=records)

    if settings.chat:
        from modelbook.serving.chat import add_chat_routes

        add_chat_routes(app, require("predict"), in_thread, settings)
    return app
