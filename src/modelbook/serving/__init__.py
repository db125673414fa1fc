"""The model server behind `modelbook serve`: FastAPI, scoped tokens, an audit chain, signed versioned models,
hot swap, dynamic batching and an optional chat endpoint. Imports nothing: each module loads only when used.

    app.py            create_app(): the routes, authentication, limits and errors of the server
    server.py         the server's folder, first-start bootstrap (keys, tokens, a first model), three ways to run it
    cli.py            what `modelbook serve` does (the CLI command stays thin)
    schemas.py        request and response bodies (pydantic), with the limits validation enforces
    auth.py           bearer tokens with scopes, stored only as SHA-256 hashes, compared in constant time
    audit.py          a tamper-evident audit log: JSON lines chained by HMAC-SHA256
    signing.py        Ed25519 signatures for model artifacts, verified before anything is loaded
    registry.py       versioned, signed models on disk, safe against crashes mid-write
    servables.py      a verified registry artifact turned into a model ready for requests
    slots.py          one slot per served model name: the version that answers, with an atomic hot swap
    batching.py       dynamic batching: concurrent requests within a few milliseconds share one forward pass
    metrics.py        Prometheus metrics and the middleware that records every request by route template
    classifier.py     the served Fashion-MNIST MLP: data, training, accuracy
    variants.py       the same classifier in several runtimes: fp32, dynamic int8, ONNX Runtime, torch.compile
    loadtest.py       concurrent clients over loopback while versions are hot-swapped
    chat_endpoint.py  POST /v1/chat: SmolLM2-135M-Instruct behind a server-owned system prompt, with
                      prompt-injection defences and streaming
"""
