"""rag building blocks: calculator = Python's arithmetic; tool-call schema = pydantic's model of the same calls;
the ReAct loop's budget; the abstention threshold; chunkers lose no words; the SmolLM2 loader = transformers'.
(MiniLM ONNX = sentence-transformers is tests/retrieval/test_encoder.py; BM25 = rank_bm25 tests/retrieval/test_bm25.py.)"""
import json
import random

import numpy as np
import pytest
from pydantic import TypeAdapter

from modelbook.rag import chunking, facts, tools
from modelbook.rag.abstain import fit_threshold


def test_calculator_equals_python_arithmetic():
    rng = random.Random(0)
    for _ in range(300):
        a, b, c = (rng.randint(-99, 99) for _ in range(3))
        op1, op2 = rng.choice("+-*/"), rng.choice("+-*")
        expr = f"({a} {op1} {b}) {op2} {c}" if b or op1 != "/" else f"{a} + {c}"
        assert tools.calculate(expr) == pytest.approx(eval(expr, {"__builtins__": {}}))  # noqa: S307 - reference
    for bad in ("__import__('os')", "2 ** 10", "1 / 0", "x + 1", "1 +"):
        with pytest.raises(tools.ToolError):
            tools.calculate(bad)


def test_call_schema_language_validates_with_pydantic():
    towns = facts.make_towns(8, 0)
    names = [t.name for t in towns]
    adapter = TypeAdapter(tools.CallModel)
    rng = random.Random(1)
    pattern = tools.call_schema(names, finish=True)
    for _ in range(200):
        obj = json.loads(pattern.sample(rng))
        adapter.validate_python(obj)
        if obj["tool"] == "lookup":
            assert obj["town"] in names and tools.run_call(obj, towns) == next(
                t for t in towns if t.name == obj["town"]).value(obj["attribute"])
    assert tools.parse_call('Sure! {"tool":"lookup","town":"X","attribute":"mayor"} done') is not None
    assert tools.parse_call('{"tool":"lookup","town":"X"}') is None  # missing attribute: not a valid call
    assert tools.run_call({"tool": "lookup", "town": "Nowhere", "attribute": "mayor"}, towns).startswith("error")


class Scripted:
    """The ideal policy for two-hop questions: lookup, lookup, add, finish."""

    def __init__(self, a, b):
        self.plan = [{"tool": "lookup", "town": a, "attribute": "population"},
                     {"tool": "lookup", "town": b, "attribute": "population"}]

    def __call__(self, trace):
        n = len(trace.actions)
        if n < 2:
            return self.plan[n]
        if n == 2:
            x, y = (tools.number(o) for o in trace.observations)
            return {"tool": "calculator", "expression": f"{x} + {y}"}
        return {"tool": "finish", "answer": tools.number(trace.observations[-1])}


def test_react_loop_budget():
    towns = facts.make_towns(6, 2)
    a, b = towns[0], towns[1]
    q = f"What is the population of {a.name} plus the population of {b.name}?"
    done = tools.react(Scripted(a.name, b.name), q, towns, budget=4)
    assert done.stop == "finish" and done.answer == a.population + b.population and len(done.actions) == 4
    cut = tools.react(Scripted(a.name, b.name), q, towns, budget=3)  # one action short: no answer, not a guess
    assert cut.stop == "budget" and cut.answer is None and len(cut.actions) == 3
    assert tools.react(lambda trace: None, q, towns, budget=3).stop == "invalid"


def test_fit_threshold_separates_and_prefers_margin():
    assert fit_threshold([5.0, 6.0, 7.0], [1.0, 2.0]) == pytest.approx(3.5)
    t = fit_threshold([3.0, 6.0], [1.0, 4.0])  # not separable: one error either way
    assert ((np.array([3.0, 6.0]) < t).sum() + (np.array([1.0, 4.0]) >= t).sum()) == 1
    with pytest.raises(ValueError):
        fit_threshold([], [1.0])


@pytest.mark.parametrize("strategy", chunking.STRATEGIES)
def test_chunkers_keep_every_word(strategy):
    entries = chunking.english_entries((41, 44))
    for _, _, text in entries:
        chunks = chunking.chunk(text, strategy, 80)
        words = " ".join(chunks).split()
        original = text.split()
        if strategy in ("section", "titled"):  # the cut is at the "## " of each heading
            original = [w for w in original if w != "##"]
        if strategy == "overlap":
            assert set(words) == set(original)
        else:
            assert words == original
        if strategy in ("fixed", "overlap"):
            assert max(len(c.split()) for c in chunks) <= 80


def test_smollm2_fast_loader_equals_transformers(smollm2_pair):
    import torch

    ours, hf, tok = smollm2_pair
    ids = torch.tensor([tok.encode("The capital of France is", add_special_tokens=False).ids])
    with torch.no_grad():
        torch.testing.assert_close(ours(ids), hf(ids).logits, rtol=1e-4, atol=1e-4)


@pytest.fixture(scope="module")
def smollm2_pair():
    from modelbook.models import load_smollm2
    from modelbook.rag.model import load_smollm2_fast

    ours, tok = load_smollm2_fast()
    hf, _ = load_smollm2()
    return ours, hf, tok
