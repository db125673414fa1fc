"""`modelbook quiz` end to end in a pseudo-terminal (pexpect), then `quiz stats`."""
import json
import os
import subprocess
import sys

import pexpect

from modelbook.quiz.cards import all_cards


def _first_words(markdown: str, n: int = 4) -> str:
    return " ".join(markdown.replace("*", "").split()[:n])


def test_a_session_in_a_terminal(tmp_path):
    env = {**os.environ, "MODELBOOK_HOME": str(tmp_path), "NO_COLOR": "1", "COLUMNS": "120", "TERM": "xterm"}
    cards = all_cards(("en",), {33})[:2]
    child = pexpect.spawn(sys.executable, ["-m", "modelbook", "quiz", "--topics", "33", "--limit", "2"],
                          env=env, encoding="utf-8", timeout=60, dimensions=(40, 120))
    child.expect("2 cards to practise")
    child.expect("topic 33")
    child.expect_exact(_first_words(cards[0].front))
    child.expect_exact("[Enter] answer")
    child.sendline("")
    child.expect_exact(_first_words(cards[0].back))            # the answer is revealed only now
    child.expect_exact("grade 1 again")
    child.sendline("g")
    child.expect(r"saved #1 33/en/question good · next review in 10 min")
    child.expect_exact(_first_words(cards[1].front))
    child.sendline("")
    child.expect_exact("grade 1 again")
    child.sendline("maybe")                                      # not a grade: asked again, nothing saved
    child.expect_exact("type 1, 2, 3 or 4")
    child.sendline("1")
    child.expect(rf"saved #2 {cards[1].key} again · next review in 1 min")
    child.expect_exact(_first_words(cards[1].front))           # "again" comes back in the same session
    child.sendline("")
    child.expect_exact("grade 1 again")
    child.sendline("4")
    child.expect(rf"saved #3 {cards[1].key} easy")
    child.expect("3 answers saved \\(again 1, good 1, easy 1\\)")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    # today's two new cards are done; the next session says so, and q leaves at once
    again = pexpect.spawn(sys.executable, ["-m", "modelbook", "quiz", "--topics", "33", "--limit", "2"],
                          env=env, encoding="utf-8", timeout=60)
    again.expect("Nothing due now and today's new cards are done")
    again.expect(pexpect.EOF)

    stats = subprocess.run([sys.executable, "-m", "modelbook", "quiz", "stats", "--json", "--topics", "33"],
                           capture_output=True, text=True, env=env, timeout=60)
    data = json.loads(stats.stdout)["by_lang"]["en"]
    assert data["reviews_today"] == 3 and data["new"] == data["cards"] - 2
    assert data["learning"] + data["review"] == 2
    table = subprocess.run([sys.executable, "-m", "modelbook", "quiz", "stats", "--topics", "33"],
                           capture_output=True, text=True, env=env, timeout=60).stdout
    assert "quiz progress" in table and "predicted retention now" in table


def test_quitting_keeps_what_was_answered(tmp_path):
    env = {**os.environ, "MODELBOOK_HOME": str(tmp_path), "NO_COLOR": "1"}
    child = pexpect.spawn(sys.executable, ["-m", "modelbook", "quiz", "--lang", "zh", "--topics", "4"],
                          env=env, encoding="utf-8", timeout=60)
    child.expect("topic 4")
    child.sendline("")
    child.expect_exact("grade 1 again")
    child.sendline("3")
    child.expect("saved #1 4/zh/question good")
    child.expect_exact("[Enter] answer")
    child.sendline("q")
    child.expect("1 answers saved")
    child.expect(pexpect.EOF)
    stats = subprocess.run([sys.executable, "-m", "modelbook", "quiz", "stats", "--json", "--lang", "zh"],
                           capture_output=True, text=True, env=env, timeout=60)
    assert json.loads(stats.stdout)["by_lang"]["zh"]["reviews_today"] == 1


def test_answers_are_rendered_as_show_renders_them(tmp_path, monkeypatch):
    """Markdown in a card is rendered, not printed raw: bold beside Chinese punctuation (which plain CommonMark
    leaves as asterisks), lists and code, through the same reader as `modelbook show`."""
    import io

    from rich.console import Console

    from modelbook.quiz.session import run_session

    monkeypatch.setenv("MODELBOOK_HOME", str(tmp_path))
    card = next(c for c in all_cards(("zh",), {33}) if c.kind == "question")
    assert "**分组查询注意力（GQA）**让" in card.back  # the raw Markdown the card holds
    answers = iter(["", "3"])
    console = Console(file=io.StringIO(), width=200, color_system=None, legacy_windows=False)
    saved = run_session(console, ("zh",), {33}, new_per_day=1, read=lambda prompt: next(answers, "q"))
    shown = console.file.getvalue()
    assert saved == 1 and "分组查询注意力（GQA）让" in shown and "**" not in shown

    show = subprocess.run([sys.executable, "-m", "modelbook", "show", "33", "--lang", "zh"], capture_output=True, text=True,
                          env={**os.environ, "MODELBOOK_HOME": str(tmp_path), "NO_COLOR": "1", "COLUMNS": "200"}, timeout=60)
    line = next(ln for ln in show.stdout.splitlines() if "分组查询注意力（GQA）" in ln)
    assert line.strip() in shown  # the same words on the same line as `show` prints them
