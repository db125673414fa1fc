"""A knowledge base of invented towns, with questions whose answers a program can check exactly.

Invented, so the model cannot know the answers from pre-training: a correct closed-book answer is a lucky
guess, and a correct answer with context was read from the context. Every town has four attributes; its
document states them in two sentences. Some towns are left out of the knowledge base on purpose: questions
about them have no answer in any retrieved context (the hallucination test).

    make_towns(n, seed)       towns with seeded, distinct attribute values
    town_document(town)       the text the retriever indexes
    lookup_questions(...)     "What is the population of Velmora?" -> "48,213", with the closed answer set
    arithmetic_questions(...) "What is 37 * 48 + 12?" -> 1788 (for the calculator tool)
    two_hop_questions(...)    "What is the population of A plus the population of B?" (lookup, lookup, calculate)
"""
from __future__ import annotations

import random
from dataclasses import dataclass

SYLLABLES = ("vel", "mor", "qua", "stin", "drel", "by", "os", "kar", "ith", "brun", "vik", "tel", "oma", "har",
             "wend", "is", "tra", "va", "lun", "dor", "zeph", "ral", "cor", "mund", "fen", "trop", "gal", "ney")
RIVERS = ("Amber", "Lisk", "Orvo", "Tamsel", "Quill", "Brenna", "Sardo", "Ivel")
MAYORS = ("Ada Voss", "Bram Ketter", "Cora Lindqvist", "Dario Maunsell", "Elke Porath", "Femi Adeyo",
          "Gus Halloran", "Hana Okafor", "Ivo Strand", "Jun Takeda", "Kira Molnar", "Lev Arendt")
ATTRIBUTES = ("population", "founded", "river", "mayor")
QUESTION = {"population": "What is the population of {town}?",
            "founded": "In which year was {town} founded?",
            "river": "On which river does {town} lie?",
            "mayor": "Who is the mayor of {town}?"}
LEAD = {"population": "The population of {town} is ",
        "founded": "{town} was founded in ",
        "river": "{town} lies on the ",
        "mayor": "The mayor of {town} is "}
"""how an answer opens: the reader chooses the value after these words"""
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Town:
    name: str
    population: int
    founded: int
    river: str
    mayor: str

    def value(self, attribute: str) -> str:
        """The attribute as the document writes it (population with thousands separators)."""
        v = getattr(self, attribute)
        return f"{v:,}" if attribute == "population" else str(v)


@dataclass(frozen=True)
class Question:
    text: str
    town: str
    attribute: str
    answer: str
    """the exact answer, or UNKNOWN when the town is not in the knowledge base"""
    options: tuple[str, ...]
    """the closed answer set: every value of this attribute in the table, and UNKNOWN"""

    @property
    def lead(self) -> str:
        return LEAD[self.attribute].format(town=self.town)


def make_towns(n: int, seed: int) -> list[Town]:
    """n towns with distinct invented names and distinct populations and founding years."""
    rng = random.Random(seed)
    names: list[str] = []
    while len(names) < n:
        name = "".join(rng.sample(SYLLABLES, rng.choice((2, 3)))).capitalize()
        if name not in names and len(name) <= 12:
            names.append(name)
    pops = rng.sample(range(10_000, 99_999), n)
    years = rng.sample(range(1150, 1950), n)
    return [Town(nm, p, y, rng.choice(RIVERS), rng.choice(MAYORS)) for nm, p, y in zip(names, pops, years)]


def town_document(t: Town) -> str:
    return (f"{t.name} is a town on the {t.river} river with a population of {t.value('population')}. "
            f"It was founded in {t.founded}, and its mayor is {t.mayor}.")


def options(towns: list[Town], attribute: str) -> tuple[str, ...]:
    return tuple(sorted({t.value(attribute) for t in towns})) + (UNKNOWN,)


def lookup_questions(towns: list[Town], known: list[Town], n: int, rng: random.Random,
                     attributes=ATTRIBUTES, pool: list[Town] | None = None) -> list[Question]:
    """n questions about `towns`; the answer is UNKNOWN for a town that is not in `known` (the knowledge base).
    The answer set holds the attribute's values over `pool` (default: `known`, the table the reader can see)."""
    names = {t.name for t in known}
    pool = known if pool is None else pool
    out = []
    for i in range(n):
        t = towns[i % len(towns)]
        a = rng.choice(attributes)
        out.append(Question(QUESTION[a].format(town=t.name), t.name, a,
                            t.value(a) if t.name in names else UNKNOWN, options(pool, a)))
    return out


def arithmetic_questions(n: int, rng: random.Random) -> list[tuple[str, str, int]]:
    """(question, expression, answer): two- and three-operand integer arithmetic a 135M model cannot do in
    its head reliably, but can copy into a calculator call."""
    out = []
    for _ in range(n):
        a, b, c = rng.randint(12, 99), rng.randint(12, 99), rng.randint(2, 99)
        if rng.random() < 0.5:
            expr = f"{a} * {b} + {c}"
        else:
            expr = f"{a} * {b} - {c}"
        out.append((f"What is {expr}?", expr, eval_int(expr)))
    return out


def eval_int(expr: str) -> int:
    """The exact value of a + - * expression of integers (for building answers; the tool uses rag.tools)."""
    from modelbook.rag.tools import calculate

    return int(calculate(expr))


def two_hop_questions(towns: list[Town], n: int, rng: random.Random) -> list[tuple[str, int]]:
    """(question, answer): the sum of two towns' populations; needs two lookups and one calculation."""
    out = []
    for _ in range(n):
        a, b = rng.sample(towns, 2)
        out.append((f"What is the population of {a.name} plus the population of {b.name}?",
                    a.population + b.population))
    return out
