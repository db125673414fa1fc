"""The Chinese half of every topic reads as a Chinese LLM engineer writes it (issue 26 §3): "token", not 词元; no
calques of English idioms; the English names engineers keep (Actor-Critic, reward hacking), not literal
translations. Files are read the way tests/handbook/test_topics.py reads them, through the loader."""
import re

import pytest

from modelbook.handbook.loader import TOPICS_DIR, parse

FILES = sorted(TOPICS_DIR.glob("[0-9][0-9]-*.md"))

# pattern -> what to write instead
FORBIDDEN = {
    r"词元": 'token（指分词器时写"分词器"）',
    r"对稀有事件更诚实": "say what the number shows on rare events",
    r"老实看待": "e.g. 匿名化的局限",
    r"给错误\s*[\"“”'‘’「」]?\s*定价": "e.g. 反映各类错误代价",
    r"演员\s*[-–—－]?\s*评论家": "Actor-Critic",
    r"奖励投机": "reward hacking",
}


def zh_text(path) -> str:
    topic = parse(path.read_text(encoding="utf-8"), path)
    if topic.alias_of:
        return topic.title["zh"]
    return "\n".join([topic.title["zh"], *topic.sections["zh"].values()])


def style_errors(text: str) -> list[str]:
    errors = []
    for pattern, instead in FORBIDDEN.items():
        for m in re.finditer(pattern, text):
            line = text.count("\n", 0, m.start()) + 1
            errors.append(f"line {line} of the zh part: {m.group(0)!r} -> {instead}")
    return errors


def test_every_topic_file_is_checked():
    assert len(FILES) >= 40


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_zh_part_has_no_ciyuan_and_no_listed_calques(path):
    errors = style_errors(zh_text(path))
    assert not errors, f"{path.name}:\n" + "\n".join(errors)


@pytest.mark.parametrize("bad", ["每个词元", "所以对稀有事件更诚实", "老实看待匿名化", '给错误"定价"', "给错误“定价”",
                                 "演员-评论家方法", "演员—评论家", "奖励投机"])
def test_the_check_bites(bad):
    assert style_errors(f"前文。{bad}。后文") != []


def test_the_check_leaves_ordinary_text_alone():
    assert style_errors("每个 token 的 KV cache；分词器；Actor-Critic；reward hacking；风险定价；诚实地报告区间") == []
