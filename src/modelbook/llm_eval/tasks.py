"""Multiple-choice benchmarks built from packaged data, every answer exact (no human labels, no download).

    arithmetic(rng, n)   "37 + 48 =" → " 85" among near misses (±1, ±10: the slips a model makes)
    hypernym(rng, n)     "Question: A poodle is a kind of what?\\nAnswer:" → WordNet 3.0's hypernym of the synset
    nations(rng, n)      a relation of PyKEEN's Nations graph: "... the relation 'embassy' with" → the true tail
    tang_next(rng, n)    the first half of a couplet from 唐诗三百首 → its second half, among halves of the same length

Distractors are drawn from the same kind of answer (numbers, hypernyms, countries, half-lines of the same length),
so no surface cue gives the answer away; the gold position is uniform over the choices. Each item also carries
`text`, the question with its answer as it would appear in a web page: what a contamination check looks for.
Few-shot demonstrations come from a separate pool (`split`), never from the scored items.
"""
from __future__ import annotations

import functools
import re

import numpy as np

from modelbook.core.errors import ModelbookError
from modelbook.llm_eval.harness import MCItem

TASKS = ("arithmetic", "hypernym", "nations", "tang")
DELIMITERS = {"arithmetic": " ", "hypernym": " ", "nations": " ", "tang": ""}  # Chinese takes no space
_WORD = re.compile(r"^[a-z]{3,10}$")


def _shuffled(rng: np.random.Generator, answer: str, distractors: list[str]) -> tuple[tuple[str, ...], int]:
    choices = [answer, *distractors]
    order = rng.permutation(len(choices))
    return tuple(choices[k] for k in order), int(np.flatnonzero(order == 0)[0])


def arithmetic(rng: np.random.Generator, n: int, n_choices: int = 4) -> list[MCItem]:
    """Two-digit addition and subtraction; distractors ±1 and ±10 of the answer (the slips of carrying)."""
    items = []
    for _ in range(n):
        a, b = (int(x) for x in rng.integers(10, 100, size=2))
        op = "+" if rng.random() < 0.5 else "-"
        a, b = (a, b) if op == "+" or a >= b else (b, a)
        s = a + b if op == "+" else a - b
        near = [v for v in (s + 1, s - 1, s + 10, s - 10) if v >= 0]
        near += [s + 2, s + 20][:max(0, n_choices - 1 - len(near))]  # small answers have fewer near misses
        pick = rng.choice(len(near), size=n_choices - 1, replace=False)
        choices, gold = _shuffled(rng, str(s), [str(near[k]) for k in pick])
        items.append(MCItem(f"{a} {op} {b} =", choices, gold, text=f"{a} {op} {b} = {s}"))
    return items


@functools.lru_cache(maxsize=1)
def _hypernym_pairs() -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """(hyponym, hypernym) pairs with both names a plain lowercase word, and the hypernyms of ≥ 5 such pairs
    (built once per process: the lab draws its benchmark and its leaked split from them)."""
    from modelbook.data.wordnet import wordnet_nouns

    g = wordnet_nouns()
    e = g.edges[g.edges[:, 1] == 0]  # relation 0: hypernym (not instance hypernym)
    pairs = [(g.name(int(a)), g.name(int(b))) for a, b in e[:, [0, 2]]]
    pairs = [(x, y) for x, y in pairs if _WORD.match(x) and _WORD.match(y) and x != y]
    counts: dict[str, int] = {}
    for _, y in pairs:
        counts[y] = counts.get(y, 0) + 1
    common = sorted(y for y, c in counts.items() if c >= 5)
    keep = set(common)
    seen, out = set(), []
    for x, y in pairs:
        if y in keep and x not in seen:  # a word with two senses keeps its first hypernym only
            seen.add(x)
            out.append((x, y))
    return tuple(out), tuple(common)


def _article(word: str) -> str:
    return "An" if word[0] in "aeiou" else "A"


def hypernym(rng: np.random.Generator, n: int, n_choices: int = 4) -> list[MCItem]:
    """'A <word> is a kind of what?' with WordNet's hypernym among hypernyms of other words."""
    pairs, common = _hypernym_pairs()
    items = []
    for k in rng.choice(len(pairs), size=min(n, len(pairs)), replace=False):
        x, y = pairs[int(k)]
        others = [str(c) for c in rng.choice(common, size=n_choices + 2, replace=False) if c != y][:n_choices - 1]
        choices, gold = _shuffled(rng, y, others)
        items.append(MCItem(f"Question: {_article(x)} {x} is a kind of what?\nAnswer:", choices, gold,
                            text=f"{_article(x)} {x} is a kind of {y}."))
    return items


def nations(rng: np.random.Generator, n: int, n_choices: int = 4) -> list[MCItem]:
    """A Nations triple (head, relation, tail) asked as 'which country': the true tail among countries that are
    not tails of (head, relation) anywhere in the graph, so exactly one choice is right."""
    from modelbook.data.kg import load_kg

    kg = load_kg("nations")
    triples = kg.all_triples()
    tails: dict[tuple[int, int], set[int]] = {}
    for h, r, t in triples:
        tails.setdefault((int(h), int(r)), set()).add(int(t))
    items = []
    for k in rng.choice(len(triples), size=min(n, len(triples)), replace=False):
        h, r, t = (int(v) for v in triples[int(k)])
        wrong = [e for e in range(kg.n_entities) if e not in tails[(h, r)] and e != h]
        if len(wrong) < n_choices - 1:
            continue
        pick = rng.choice(wrong, size=n_choices - 1, replace=False)
        head, rel = kg.entities[h], kg.relations[r]
        choices, gold = _shuffled(rng, kg.entities[t], [kg.entities[int(e)] for e in pick])
        items.append(MCItem(f"Question: In the Nations data (1950s international relations), {head} has the "
                            f"relation '{rel}' with which country?\nAnswer:", choices, gold,
                            text=f"{head} {rel} {kg.entities[t]}"))
    return items


def _couplets() -> list[tuple[str, str]]:
    from modelbook.data.text import tang_poems

    out = []
    for poem in tang_poems():
        for line in poem.splitlines()[2:]:  # title and author lines first
            m = re.fullmatch(r"([\u4e00-\u9fff]{5,7})，([\u4e00-\u9fff]{5,7})[。？！]", line.strip())
            if m and len(m.group(1)) == len(m.group(2)):
                out.append((m.group(1), m.group(2)))
    return out


def tang_next(rng: np.random.Generator, n: int, n_choices: int = 4) -> list[MCItem]:
    """'<first half>，' → its second half, among second halves of other couplets of the same length."""
    couplets = _couplets()
    by_len: dict[int, list[str]] = {}
    for _, b in couplets:
        by_len.setdefault(len(b), []).append(b)
    items = []
    for k in rng.choice(len(couplets), size=min(n, len(couplets)), replace=False):
        a, b = couplets[int(k)]
        pool = [x for x in set(by_len[len(b)]) if x != b]
        pick = rng.choice(sorted(pool), size=n_choices - 1, replace=False)
        choices, gold = _shuffled(rng, b, [str(x) for x in pick])
        items.append(MCItem(f"{a}，", choices, gold, text=f"{a}，{b}。"))
    return items


BUILDERS = {"arithmetic": arithmetic, "hypernym": hypernym, "nations": nations, "tang": tang_next}


def build(task: str, rng: np.random.Generator, n: int) -> list[MCItem]:
    if task not in BUILDERS:
        raise ModelbookError(f"unknown task '{task}': choose from {', '.join(TASKS)}")
    return BUILDERS[task](rng, n)


def few_shot_prefix(demos: list[MCItem], delimiter: str = " ") -> str:
    """k solved demonstrations, one per block, each context followed by its right answer; a blank line between."""
    return "".join(f"{d.context}{delimiter}{d.choices[d.gold]}\n\n" for d in demos)
