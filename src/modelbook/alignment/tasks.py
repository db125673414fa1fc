"""A verifiable task: two-digit addition with a strict answer format, small enough for a model trained in seconds.

    prompt      "07+23="          always 6 characters (numbers zero-padded), so no left padding is needed
    answer      "30."             the sum in decimal, then "." (the end-of-answer token)

`verify` is the program that judges an answer: correct number AND correct format (digits, then ".", nothing else).
`lenient` is a flawed grader used to show reward hacking: it pays when the output *starts with* the right digits,
whatever follows, and (as some graders do) pays a little for every extra character, taken as "effort".
The SFT data carry a few padded answers ("30+0.", `verbose_text`), as real demonstrations carry verbose habits:
the lenient grader pays more for them than for the clean answer, so optimising it amplifies the habit.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

VOCAB = "0123456789+=._"
EOS, PAD = VOCAB.index("."), VOCAB.index("_")
PROMPT_LEN = 6


def encode(text: str) -> list[int]:
    return [VOCAB.index(ch) for ch in text]


def decode(ids) -> str:
    return "".join(VOCAB[int(i)] for i in ids)


def prompt_text(a: int, b: int) -> str:
    return f"{a:02d}+{b:02d}="


def answer_text(a: int, b: int) -> str:
    return f"{a + b}."


def completion_text(ids) -> str:
    """The generated characters up to and including the first ".", padding dropped."""
    out = []
    for i in ids:
        i = int(i)
        if i == PAD:
            break
        out.append(VOCAB[i])
        if i == EOS:
            break
    return "".join(out)


def verify(a: int, b: int, ids) -> bool:
    """The strict verifier: exactly the sum's digits followed by '.'."""
    return completion_text(ids) == answer_text(a, b)


def lenient(a: int, b: int, ids, length_bonus: float) -> float:
    """The flawed grader: 1 if the output begins with the sum's digits (no terminator required), plus
    `length_bonus` per generated character. Longer is paid for, and the format is never checked."""
    text = completion_text(ids)
    return float(text.startswith(str(a + b))) + length_bonus * len(text)


@dataclass(frozen=True)
class Split:
    pairs: torch.Tensor
    """(n, 2) operands"""
    prompts: torch.Tensor
    """(n, PROMPT_LEN) token ids"""


def splits(max_operand: int, heldout: int, generator: torch.Generator) -> tuple[Split, Split]:
    """Every (a, b) with 0 ≤ a, b < max_operand, shuffled; the last `heldout` pairs are never trained on."""
    if not 2 <= max_operand <= 50:
        raise ValueError(f"max_operand must be in 2..50 (two-digit sums), got {max_operand}")
    grid = torch.cartesian_prod(torch.arange(max_operand), torch.arange(max_operand))
    if not 0 < heldout < len(grid):
        raise ValueError(f"heldout must be in 1..{len(grid) - 1}, got {heldout}")
    grid = grid[torch.randperm(len(grid), generator=generator)]

    def make(p):
        return Split(p, torch.tensor([encode(prompt_text(int(a), int(b))) for a, b in p]))

    return make(grid[:-heldout]), make(grid[-heldout:])


def verbose_text(a: int, b: int) -> str:
    """A padded answer ("30+0."): right value, wrong format, as a sloppy demonstrator might write it."""
    return f"{a + b}+0."


def demonstrations(split: Split, max_new: int, verbose: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The completions of a split, padded to max_new: (ids, mask) with mask 1 on the answer's characters.
    Where `verbose` (bool per pair) is set, the demonstration is the padded form (verbose_text)."""
    ids = torch.full((len(split.pairs), max_new), PAD)
    for i, (a, b) in enumerate(split.pairs.tolist()):
        ans = encode(verbose_text(a, b) if verbose is not None and verbose[i] else answer_text(a, b))
        ids[i, :len(ans)] = torch.tensor(ans)
    return ids, (ids != PAD).float()
