"""Optional chat endpoint: SmolLM2-135M-Instruct behind a server-owned system prompt, with prompt-injection
defences (modelbook/security/injection.py) and streaming (server-sent events).

    POST /v1/chat {"messages": [{"role": "user", "content": "..."}], "max_new_tokens": 64, "stream": false}

The system prompt is the server's: clients cannot send a "system" message (422), chat-template control tokens
are stripped from their text, and every answer passes the output guard before it leaves the server, also when
streamed (the guard holds back the tail of the text until it cannot be the start of a leak).
"""

import json
import secrets
import threading
from typing import Iterator

from modelbook.security.injection import OutputGuard, sanitize, system_prompt


class ChatService:
    """SmolLM2 with a system prompt that holds a random canary; greedy decoding (deterministic).

    engine="batched": requests share modelbook.inference's continuous batcher (serving/chat_engine.py), so eight
    clients are decoded together; engine="serial": one transformers generate() at a time behind a lock."""

    guard = OutputGuard  # the output guard class; a test swaps in one that withholds nothing to show the lab's judge bites
    engine, worker, max_context = "serial", None, 1024

    def __init__(self, canary: str | None = None, engine: str = "serial", max_context: int = 1024, max_batch: int = 8,
                 on_step=None):
        from modelbook.models import load_smollm2

        self.model, self.tokenizer = load_smollm2()
        self.canary = canary or "MB-" + secrets.token_hex(4).upper()
        self.system = system_prompt(self.canary)
        self._lock = threading.Lock()  # one generation at a time: the model is not re-entrant-safe to share
        self.engine, self.max_context = engine, max_context
        self.worker = None
        if engine == "batched":
            from modelbook.serving.chat_engine import EngineWorker

            self.worker = EngineWorker(self.model, max_context=max_context, pool_tokens=4 * max_context,
                                       max_batch=max_batch, on_step=on_step)

    def check_length(self, messages: list[dict], max_new_tokens: int) -> None:
        """PromptTooLong (-> 413) when the templated prompt plus max_new_tokens does not fit the context."""
        from modelbook.serving.chat_engine import PromptTooLong

        n = int(self.prompt_ids(messages)["input_ids"].shape[1])
        limit = self.worker.max_context if self.worker else self.max_context
        if n + max_new_tokens > limit:
            raise PromptTooLong(f"the prompt is {n} tokens; with max_new_tokens {max_new_tokens} it exceeds the "
                                f"{limit}-token context this server allows")

    @property
    def special_tokens(self) -> list[str]:
        return list(self.tokenizer.all_special_tokens) + list(getattr(self.tokenizer, "additional_special_tokens", []) or [])

    def prompt_ids(self, messages: list[dict], defended: bool = True):
        """Token ids of system + messages + the assistant header. defended=False skips sanitising (for the lab)."""
        msgs = [{"role": m["role"], "content": sanitize(m["content"], self.special_tokens) if defended else m["content"]}
                for m in messages]
        return self.tokenizer.apply_chat_template([{"role": "system", "content": self.system}] + msgs,
                                                  add_generation_prompt=True, return_tensors="pt", return_dict=True)

    def _generate(self, messages: list[dict], max_new_tokens: int, defended: bool = True, streamer=None) -> str:
        import torch

        batch = self.prompt_ids(messages, defended)
        if self.worker is not None:
            tokens = []
            try:
                for tok in self.worker.generate(batch["input_ids"][0].tolist(), max_new_tokens, self.tokenizer.eos_token_id):
                    tokens.append(tok)
                    if streamer is not None:
                        streamer.put(torch.tensor([tok]))
            finally:
                if streamer is not None:
                    streamer.end()
            return self.tokenizer.decode(tokens, skip_special_tokens=True)
        with self._lock, torch.inference_mode():
            out = self.model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False, streamer=streamer,
                                      pad_token_id=self.tokenizer.eos_token_id)
        return self.tokenizer.decode(out[0, batch["input_ids"].shape[1]:], skip_special_tokens=True)

    def raw_reply(self, messages: list[dict], max_new_tokens: int = 64) -> str:
        """The model's answer with no defence at all (neither sanitising nor the guard): the baseline."""
        return self._generate(messages, max_new_tokens, defended=False)

    def reply(self, messages: list[dict], max_new_tokens: int = 64) -> tuple[str, bool]:
        """(text sent to the client, blocked?) with every defence on."""
        guard = self.guard(self.canary, self.system)
        text = guard.feed(self._generate(messages, max_new_tokens)) + guard.finish()
        return (text if not guard.blocked else "[withheld: the answer would have revealed protected instructions]"), guard.blocked

    def _chunks(self, messages: list[dict], max_new_tokens: int) -> Iterator[str]:
        """The defended model's answer as decoded text chunks, while it is generated."""
        from transformers import TextIteratorStreamer

        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=self.worker is None, skip_special_tokens=True)
        worker = threading.Thread(target=self._generate, args=(messages, max_new_tokens, True, streamer), daemon=True)
        worker.start()
        try:
            yield from streamer
        finally:
            worker.join()

    def stream(self, messages: list[dict], max_new_tokens: int = 64) -> Iterator[str]:
        """Server-sent events: data: {"delta": ...} chunks, then data: {"done": true, "blocked": ...}."""
        guard = self.guard(self.canary, self.system)
        for chunk in self._chunks(messages, max_new_tokens):
            out = guard.feed(chunk)
            if out:
                yield f"data: {json.dumps({'delta': out})}\n\n"
            if guard.blocked:
                break
        rest = guard.finish()
        if rest:
            yield f"data: {json.dumps({'delta': rest})}\n\n"
        yield f"data: {json.dumps({'done': True, 'blocked': guard.blocked})}\n\n"


def add_chat_routes(app, require_predict, in_thread, settings) -> None:
    from typing import Annotated

    from fastapi import Depends
    from fastapi.responses import StreamingResponse

    from modelbook.serving import schemas as S
    from modelbook.serving.auth import Principal

    service: dict = {}

    metrics = app.state.metrics

    def get_service() -> ChatService:
        if "chat" not in service:
            service["chat"] = ChatService(engine=settings.chat_engine, max_context=settings.chat_max_context,
                                          on_step=metrics.chat_step_tokens.observe)
        return service["chat"]

    app.state.chat = get_service

    @app.post("/v1/chat", response_model=S.ChatResponse, responses={code: {"model": S.ErrorBody} for code in (401, 403, 413, 422, 504)})
    async def chat(body: S.ChatRequest, principal: Annotated[Principal, Depends(require_predict)]):
        from fastapi import HTTPException

        from modelbook.serving.chat_engine import PromptTooLong

        svc = await in_thread(get_service)
        messages = [m.model_dump() for m in body.messages]
        try:
            await in_thread(svc.check_length, messages, body.max_new_tokens)
        except PromptTooLong as e:
            raise HTTPException(413, str(e)) from None
        metrics.chat_requests.labels(svc.engine).inc()
        if body.stream:
            return StreamingResponse(svc.stream(messages, body.max_new_tokens), media_type="text/event-stream")
        text, blocked = await in_thread(svc.reply, messages, body.max_new_tokens)
        return S.ChatResponse(model="smollm2-135m-instruct", reply=text, blocked=blocked,
                              reason="output guard: protected instructions" if blocked else "")
