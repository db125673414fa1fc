"""LLM-as-a-judge and its position bias: ask which of two responses is right, then ask again with them swapped.

A pairwise judge reads "Response A: ... Response B: ..." and names the better one. Zheng et al. 2023 (MT-Bench and
Chatbot Arena) found every LLM judge they tried prefers one position: the verdict changes when only the order
changes. The remedy they use is to judge both orders and keep a verdict only when the two agree (otherwise a
tie). Here the judge is scored by the multiple-choice harness (log p(" A") vs log p(" B")), on pairs with an
exact right answer, so both its accuracy and its position preference are measured, not guessed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modelbook.llm_eval.harness import MCItem


@dataclass(frozen=True)
class Pair:
    question: str
    right: str
    wrong: str


def pairs_from(items: list[MCItem], rng: np.random.Generator, question=lambda it: it.context) -> list[Pair]:
    """One (right, wrong) pair per item: its answer and a random distractor."""
    out = []
    for it in items:
        wrong = [c for k, c in enumerate(it.choices) if k != it.gold]
        out.append(Pair(question(it), it.choices[it.gold], wrong[int(rng.integers(len(wrong)))]))
    return out


def judge_item(p: Pair, right_first: bool) -> MCItem:
    a, b = (p.right, p.wrong) if right_first else (p.wrong, p.right)
    ctx = (f"Question: {p.question}\nResponse A: {a}\nResponse B: {b}\n"
           "Which response answers the question correctly, A or B?\nVerdict:")
    return MCItem(ctx, ("A", "B"), 0 if right_first else 1)


def both_orders(pairs: list[Pair]) -> tuple[list[MCItem], list[MCItem]]:
    """(right answer shown first, right answer shown second): the same pairs, order swapped."""
    return [judge_item(p, True) for p in pairs], [judge_item(p, False) for p in pairs]


@dataclass(frozen=True)
class PositionStats:
    first_rate: float
    """share of all 2n verdicts that pick position A (0.5 for a judge without position preference)"""
    consistency: float
    """share of pairs whose verdict names the same response in both orders"""
    accuracy_one_order: float
    """accuracy over both presentations, each judged once (what a single-order evaluation reports on average)"""
    accuracy_consistent: float
    """right in both orders (a pair judged inconsistently counts as a tie: half a point)"""


def position_stats(lls_right_first, lls_right_second) -> PositionStats:
    pick1 = np.array([int(np.argmax(ll)) for ll in lls_right_first])   # 0 = A = the right response
    pick2 = np.array([int(np.argmax(ll)) for ll in lls_right_second])  # 1 = B = the right response
    right1, right2 = pick1 == 0, pick2 == 1
    consistent = right1 == right2
    score = np.where(consistent, right1.astype(float), 0.5)
    return PositionStats(float(np.mean(np.concatenate([pick1, pick2]) == 0)), float(consistent.mean()),
                         float(np.mean(np.concatenate([right1, right2]))), float(score.mean()))
