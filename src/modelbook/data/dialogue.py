"""English conversations from the chatterbot-corpus package: (topic, [question, answer, ...]) lists."""
from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from modelbook.core.errors import ModelbookError, missing_package


@functools.lru_cache(maxsize=1)
def chatterbot_conversations() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Every English conversation as (topic, utterances), topics in file-name order (21 topics, 4,419 utterances).
    The first utterance of a conversation is usually a question and the rest are answers to it."""
    spec = importlib.util.find_spec("chatterbot_corpus")
    if spec is None or not spec.submodule_search_locations:
        raise missing_package("chatterbot-corpus")
    import yaml

    root = Path(list(spec.submodule_search_locations)[0]) / "data" / "english"
    files = sorted(root.glob("*.yml"))
    if not files:
        raise ModelbookError(f"no conversations under {root}: reinstall with `pip install --force-reinstall chatterbot-corpus`")
    out = []
    for f in files:
        for conv in yaml.safe_load(f.read_text(encoding="utf8")).get("conversations", []):
            out.append((f.stem, tuple(str(u) for u in conv)))
    return tuple(out)


def question_answer_pairs() -> list[tuple[str, str]]:
    """(question, first answer) for every conversation whose first utterance ends with '?', deduplicated by question."""
    seen, pairs = set(), []
    for _, conv in chatterbot_conversations():
        if len(conv) >= 2 and conv[0].strip().endswith("?") and conv[0] not in seen:
            seen.add(conv[0])
            pairs.append((conv[0], conv[1]))
    return pairs
