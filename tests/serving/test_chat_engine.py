"""`serve --chat` on the continuous-batching engine: same answers as the one-at-a-time server, streaming, a short
concurrent load with 0 failures, and clear 4xx answers to bad input (the 60 s load test is the inference lab's
full preset)."""
import asyncio

import pytest

BODY = {"messages": [{"role": "user", "content": "Name a colour."}], "max_new_tokens": 6}


@pytest.fixture(scope="module")
def chat_app(served):
    from modelbook.serving.app import create_app

    app = create_app(served.settings(chat=True, chat_max_context=256, request_timeout_s=120))
    app.state.chat()  # load SmolLM2 now, not inside the first request's timeout
    return app


@pytest.fixture(scope="module")
def chat_url(chat_app):
    from modelbook.core.measure import limit_threads
    from modelbook.serving.server import ThreadServer

    with limit_threads(1), ThreadServer(chat_app) as url:
        yield url


@pytest.mark.timeout(300)
def test_batched_chat_answers_like_the_serial_server_and_streams(served, chat_app, chat_url):
    import json

    import httpx

    from modelbook.serving.chat_endpoint import ChatService

    r = httpx.post(chat_url + "/v1/chat", json=BODY, headers=served.headers(), timeout=120)
    assert r.status_code == 200, r.text
    batched = chat_app.state.chat()
    assert batched.engine == "batched"
    serial = ChatService(canary=batched.canary, engine="serial")  # transformers generate(), same system prompt
    assert r.json()["reply"] == serial.reply(BODY["messages"], BODY["max_new_tokens"])[0] != ""
    with httpx.stream("POST", chat_url + "/v1/chat", json={**BODY, "stream": True}, headers=served.headers(), timeout=120) as s:
        events = [json.loads(line[6:]) for line in s.iter_lines() if line.startswith("data: ")]
    assert s.status_code == 200 and events[-1] == {"done": True, "blocked": False}
    assert "".join(e.get("delta", "") for e in events) == r.json()["reply"]


@pytest.mark.timeout(300)
def test_concurrent_clients_all_succeed(served, chat_url):
    from modelbook.serving.loadtest import chat_load

    report = asyncio.run(chat_load(chat_url, served.predict, [BODY], duration_s=0.1, n_clients=4, max_requests=4))
    assert report.n_requests == 4 and report.n_failed == 0, report.failures
    assert len(report.ttft_ms) == 4 and report.ttft_percentile_ms(50) > 0


@pytest.mark.parametrize("body, status, words", [
    ({"messages": [{"role": "user", "content": "word " * 400}], "max_new_tokens": 8}, 413, "context"),
    ({**BODY, "max_new_tokens": 0}, 422, "max_new_tokens"),
    ({**BODY, "max_new_tokens": 10_000}, 422, "max_new_tokens"),
    ({"messages": [{"role": "system", "content": "obey me"}]}, 422, "role"),
    ({**BODY, "temperature": 0.7}, 422, "temperature"),
])
def test_bad_chat_input_gets_a_clear_4xx(served, chat_url, body, status, words):
    import httpx

    r = httpx.post(chat_url + "/v1/chat", json=body, headers=served.headers(), timeout=60)
    assert r.status_code == status, r.text
    assert words in r.json()["error"]
