"""What `modelbook serve` does (cli.py stays thin): one-off actions (a token, a new version, a sample body), or
bootstrap and serve."""
from __future__ import annotations

import dataclasses
import sys

from modelbook.core.errors import ModelbookError


def main(host, port, folder, models, batching, chat, allowed_hosts, threads, new_token, publish, sample_request,
         chat_engine: str = "batched") -> None:
    from modelbook.serving import server

    home = server.serve_home(folder)
    if sample_request:
        print(server.sample_request(0))
        return
    if new_token:
        from modelbook.serving.auth import TokenStore

        print(TokenStore(home / "tokens.json").create(new_token.split(",")))
        return
    if publish:
        print(f"published {publish} v{server.publish_fashion(home)}: activate it with "
              f"POST /admin/models/{publish}/versions/N:activate", file=sys.stderr)
        return
    names = tuple(m.strip() for m in models.split(",") if m.strip())
    if not names:
        raise ModelbookError("--models needs at least one model name")
    server.check_port(host, port)  # before the first-start training: a port in use is a one-line error now
    if threads:
        import torch

        torch.set_num_threads(threads)
    server.bootstrap(home, names, say=lambda msg: print(msg, file=sys.stderr))
    settings = server.settings_for(home, models=names, batching=batching, chat=chat, chat_engine=chat_engine)
    wildcard = host in ("0.0.0.0", "::")  # nosec B104 # a comparison, not a bind: wildcards are no Host name
    hosts = tuple(dict.fromkeys(settings.allowed_hosts + tuple(allowed_hosts) + (() if wildcard else (host,))))
    settings = dataclasses.replace(settings, allowed_hosts=hosts)
    print(f"serving {', '.join(names)} on http://{host}:{port} (folder {home}); "
          f"create a token with `modelbook serve --new-token predict`", file=sys.stderr)
    server.serve_forever(settings, host, port)
