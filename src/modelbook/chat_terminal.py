"""`modelbook chat`: talk to SmolLM2-135M-Instruct in the terminal.

The reply streams token by token (our decoding loop on our own SmolLM2 forward, modelbook.decoding); the
history is kept and re-sent each turn, trimmed to the context window with a notice when it no longer fits;
the keys and values of earlier turns are reused from the cache. Commands: /reset (forget the history),
/help, /exit (or Ctrl-D). Ctrl-C stops a reply in progress; a second Ctrl-C at the prompt quits.
"""
from __future__ import annotations

import sys

COMMANDS = "/reset forgets the conversation, /help shows this, /exit (or Ctrl-D) quits"


def run_chat(system: str | None, max_new_tokens: int, context: int, temperature: float, top_p: float,
             repetition_penalty: float, greedy: bool, seed: int, out=None) -> None:
    out = out or sys.stdout
    try:  # line editing and history when a person types (not needed when stdin is a pipe)
        import readline  # noqa: F401
    except ImportError:
        pass
    print("loading SmolLM2-135M-Instruct ...", file=sys.stderr, flush=True)
    import logging

    for noisy in ("torchao", "torch.utils._pytree"):  # import-time chatter of optional backends, not for a chat
        logging.getLogger(noisy).setLevel(logging.ERROR)
    import torch

    from modelbook.decoding import ChatSession, GenerationConfig
    from modelbook.models import load_smollm2
    from modelbook.nn.llama import LlamaLM

    hf, tokenizer = load_smollm2()
    gen = GenerationConfig(max_new_tokens=max_new_tokens, do_sample=not greedy, temperature=temperature,
                           top_p=top_p, repetition_penalty=repetition_penalty)
    try:
        session = ChatSession(LlamaLM.from_hf(hf), tokenizer, system, gen, context_window=context,
                              generator=torch.Generator().manual_seed(seed))
    except ValueError as e:
        from modelbook.core.errors import ModelbookError

        raise ModelbookError(str(e)) from e
    decoding = "greedy" if greedy else f"sampling T={temperature:g}, top-p={top_p:g}"
    print(f"SmolLM2-135M-Instruct on CPU ({decoding}, {session.window}-token context). {COMMANDS}.", file=out, flush=True)

    def write(text: str) -> None:
        out.write(text)
        out.flush()

    while True:
        try:
            line = input("you> ")
        except EOFError:
            write("\n")
            break
        except KeyboardInterrupt:
            write("\n")
            break
        command = line.strip()
        if command in ("/exit", "/quit"):
            break
        if command == "/reset":
            session.reset()
            write("(conversation cleared)\n")
            continue
        if command == "/help":
            write(f"{COMMANDS}.\n")
            continue
        if command.startswith("/"):
            write(f"unknown command {command}: {COMMANDS}.\n")
            continue
        if not command:
            write("(empty message: type something to say, or /exit to quit)\n")
            continue
        try:
            _reply(session, line, write)
        except KeyboardInterrupt:
            write("\n(reply interrupted; it was not added to the history)\n")
            continue
    write("bye\n")


def _reply(session, line: str, write) -> None:
    """Notices first, then 'bot> ' and the answer as it streams."""
    started = False

    def on_text(delta: str) -> None:
        nonlocal started
        if not started:
            delta = delta.lstrip()
            if not delta:
                return
            write("bot> ")
            started = True
        write(delta)

    reply = session.reply(line, on_text=on_text, on_notice=lambda n: write(f"[notice: {n}]\n"))
    if not started:
        write("bot> (no answer)")
    write("\n")
    if reply.generation.stop_reason in ("max_new_tokens", "context_window"):
        write(f"[notice: the reply was cut at {len(reply.generation.tokens)} tokens (--max-new-tokens)]\n")
