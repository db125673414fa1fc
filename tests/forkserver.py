"""Kill -9 trials without paying for an interpreter each: a fork server.

The crash-safety tests start a writer, kill it with SIGKILL at a random moment and check what it left on disk,
many times over. A fresh `python -c` per trial spends about 3 s importing torch before it writes a byte. The
server imports what the writers need once, then forks one child per trial: the child is a real process that
dies by a real SIGKILL in the middle of its writes, as before; only the imports are shared. The server itself
never runs a torch op, so no OpenMP thread pool exists when it forks (a forked pool would hang).

    with ForkServer("import torch") as server:
        pid, first_line = server.start(WRITER, [str(path)])  # the writer's first printed line
        os.kill(pid, signal.SIGKILL)
        server.reap(pid)                                      # it is dead and gone before the checks
"""
from __future__ import annotations

import json
import subprocess
import sys

SERVER = r"""
import json, os, sys
exec(sys.argv[1])  # the writers' imports, done once
out = os.fdopen(os.dup(1), "w", buffering=1)  # the server's replies; a child's prints go to its own pipe
pipes = {}  # pid -> the read end of its stdout, open until it is reaped (a closed pipe would stop its writes)
for line in sys.stdin:
    cmd = json.loads(line)
    if cmd["op"] == "start":
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: stdout is its pipe, then run the writer until it is killed (or ends)
            os.close(read_end)
            os.dup2(write_end, 1)
            sys.stdout = os.fdopen(1, "w", buffering=1)
            sys.argv = ["writer", *cmd["argv"]]
            try:
                exec(cmd["code"], globals())  # the namespace the imports were run in
            except BaseException:
                import traceback
                traceback.print_exc()  # to the server's stderr: the test's
                os._exit(1)
            os._exit(0)
        os.close(write_end)
        pipes[pid] = os.fdopen(read_end)
        first = pipes[pid].readline()  # the writer says when it has done its first write
        out.write(json.dumps({"pid": pid, "first": first.rstrip("\n")}) + "\n")
    elif cmd["op"] == "reap":
        os.waitpid(cmd["pid"], 0)
        pipes.pop(cmd["pid"]).close()
        out.write(json.dumps({"reaped": cmd["pid"]}) + "\n")
"""


class ForkServer:
    def __init__(self, imports: str):
        from modelbook.core.procs import child_env

        self.proc = subprocess.Popen([sys.executable, "-c", SERVER, imports], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=child_env())

    def _ask(self, **cmd) -> dict:
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        assert reply, f"the fork server died (exit code {self.proc.poll()})"
        return json.loads(reply)

    def start(self, code: str, argv: list[str]) -> tuple[int, str]:
        """Fork a child running `code` with sys.argv[1:] = argv; returns its pid once it has printed a first line."""
        reply = self._ask(op="start", code=code, argv=argv)
        return reply["pid"], reply["first"]

    def reap(self, pid: int) -> None:
        """Wait until the (killed) child has exited."""
        self._ask(op="reap", pid=pid)

    def __enter__(self) -> "ForkServer":
        return self

    def __exit__(self, *exc) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)
