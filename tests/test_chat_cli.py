"""`modelbook chat` in a real pseudo-terminal (pexpect): streaming reply, empty and over-long input, /reset, /exit."""
import os
import sys
from pathlib import Path

from tests.conftest import pinned

pexpect = pinned("pexpect")

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _spawn(*args):
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), TERM="dumb")
    return pexpect.spawn(sys.executable, ["-m", "modelbook", "chat", *args], env=env, encoding="utf-8", timeout=240,
                         dimensions=(40, 200))


def test_chat_in_a_terminal():
    child = _spawn("--greedy", "--max-new-tokens", "12", "--context", "256")
    try:
        child.expect("you> ")
        child.sendline("What is the capital of France?")
        child.expect("bot> ")
        child.expect("you> ")
        assert "Paris" in child.before
        child.sendline("")
        child.expect("empty message")
        child.expect("you> ")
        child.sendline("word " * 400 + "Now, what is the capital of France?")
        child.expect(r"notice: your message was too long")
        child.expect("bot> ")
        child.expect("you> ")
        child.sendline("/reset")
        child.expect("conversation cleared")
        child.expect("you> ")
        child.sendline("/nonsense")
        child.expect("unknown command")
        child.expect("you> ")
        child.sendline("/exit")
        child.expect("bye")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


def test_ctrl_d_ends_the_chat():
    child = _spawn("--greedy", "--max-new-tokens", "4")
    try:
        child.expect("you> ")
        child.sendeof()
        child.expect("bye")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


def test_bad_options_are_one_line_errors():
    child = _spawn("--context", "10")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    assert "error:" in child.before and "Traceback" not in child.before
