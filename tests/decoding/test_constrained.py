"""Constrained decoding: the automaton accepts what Python's `re` accepts; the vectorised token index equals
feeding each token's bytes; JSON outputs parse (json.loads) and validate (pydantic), under any logits and a
tight token budget; SmolLM2's constrained tool call parses."""
import json
import random
import re
from typing import Literal

import numpy as np
import pytest
import torch
from pydantic import BaseModel, Field, TypeAdapter

from modelbook.core.errors import ModelbookError
from modelbook.decoding import constrained as C

TOOL_SCHEMA = {"type": "object", "properties": {
    "tool": {"enum": ["calculator", "lookup"]},
    "arguments": {"type": "object", "properties": {"query": {"type": "string", "maxLength": 12}}}}}


class Point(BaseModel):
    name: str = Field(max_length=6)
    kind: Literal["city", "river"]
    x: int
    y: float
    tags: list[bool] = Field(max_length=3)
    note: str | None


PATTERNS = {
    "tool": C.json_schema(TOOL_SCHEMA),
    "moves": C.choice(["e2e4", "e2e3", "g1f3", "0-0"]),
    "digits": C.seq(C.chars("1-9"), C.rep(C.chars("0-9"), 0, 4), C.opt(C.seq(C.lit("."), C.plus(C.chars("0-9"))))),
    "utf8": C.rep(C.utf8_char(), 1, 3),
    "array": C.json_schema({"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3}),
}


def _point_schema():
    """pydantic's own JSON schema for Point, with $defs/anyOf/null as pydantic writes them."""
    return Point.model_json_schema()


PATTERNS["pydantic"] = C.json_schema(_point_schema())


def _mutate(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    op = rng.randrange(3)
    i = rng.randrange(len(b) + 1)
    if op == 0 and b:
        del b[min(i, len(b) - 1)]
    elif op == 1:
        b.insert(i, rng.choice(b'{}[]",:. -09azE\\\xc3\xa9\xff'))
    elif b:
        b[min(i, len(b) - 1)] = rng.randrange(256)
    return bytes(b)


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_automaton_equals_python_re(name):
    p = PATTERNS[name]
    dfa = C.Automaton(p)
    rx = re.compile(p.regex(), re.S)
    rng = random.Random(0)
    for _ in range(150):
        member = p.sample(rng)
        assert dfa.accepts(member) and rx.fullmatch(member)
        for k in range(len(member) + 1):  # every prefix of a member is a valid prefix
            assert dfa.is_prefix(member[:k])
        other = _mutate(member, rng)
        assert dfa.accepts(other) == bool(rx.fullmatch(other)), other


def test_json_samples_parse_and_validate_with_pydantic():
    rng = random.Random(1)
    point = TypeAdapter(Point)
    for _ in range(200):
        s = PATTERNS["pydantic"].sample(rng)
        point.validate_json(s)  # raises if our language lets through anything pydantic refuses
        obj = json.loads(PATTERNS["tool"].sample(rng))
        assert obj["tool"] in ("calculator", "lookup") and len(obj["arguments"]["query"]) <= 12


def test_unsupported_schema_is_one_line_error():
    with pytest.raises(ModelbookError, match="unsupported JSON schema"):
        C.json_schema({"type": "object", "properties": {"a": {"type": "date"}}})
    with pytest.raises(ModelbookError):
        C.chars("z-a")


@pytest.fixture(scope="module")
def vocab():
    return C.smollm2_vocabulary()


def test_vocabulary_bytes_round_trip_equal_tokenizer(vocab):
    from modelbook.tokenization.pretrained import smollm2_tokenizer

    tok = smollm2_tokenizer()
    text = 'Call {"tool": "calculator", "x": -3.5e2}\n  大模型的 token 与 “引号” émoji 🙂'
    ids = tok.encode(text, add_special_tokens=False).ids
    assert vocab.decode(ids) == tok.decode(ids) == text
    assert vocab.size == tok.get_vocab_size() and vocab.tokens[2] is None  # <|im_end|> is special
    assert vocab.eos_ids[0] == tok.token_to_id("<|im_end|>")


@pytest.mark.parametrize("name", ["tool", "pydantic", "utf8"])
def test_token_index_equals_feeding_each_token(name, vocab):
    index = C.TokenIndex.build(PATTERNS[name], vocab)
    dfa = index.automaton
    rng = random.Random(2)
    member = PATTERNS[name].sample(rng)
    states = {dfa.feed(dfa.start, member[:k]) for k in range(0, len(member) + 1, max(1, len(member) // 5))}
    ids = rng.sample(range(vocab.size), 3000) + list(range(20))
    for s in states:
        nxt = index.next_states(s)
        for i in ids:
            want = C.DEAD if vocab.tokens[i] is None else dfa.feed(s, vocab.tokens[i])
            assert nxt[i] == want
        allowed = index.allowed(s).numpy()
        assert allowed[list(vocab.eos_ids)].all() == bool(dfa.accepting[s])


class RandomLM:
    """Random logits each step: a model with no idea of JSON (the constraint has to do all the work)."""

    def __init__(self, vocab_size, seed):
        self.g = torch.Generator().manual_seed(seed)
        self.v = vocab_size

    def new_cache(self):
        return None

    def __call__(self, ids, cache):
        return torch.randn(1, ids.size(1), self.v, generator=self.g) * 3


@pytest.mark.parametrize("seed", range(4))
def test_any_logits_give_parseable_json_within_budget(seed, vocab):
    index = C.TokenIndex.build(PATTERNS["pydantic"], vocab)
    budget = index.min_tokens() + seed * 3  # as tight as the guarantee allows, and a little looser
    out = C.generate(RandomLM(vocab.size, seed), [1, 2, 3], index, max_new_tokens=budget, do_sample=seed % 2 == 1,
                     generator=torch.Generator().manual_seed(seed))
    assert out.complete and len(out.tokens) <= budget
    TypeAdapter(Point).validate_json(out.text)


def test_bite_without_the_mask_random_logits_do_not_parse(vocab):
    """The parseability check can fail: the same random model, unmasked, writes no JSON."""
    lm = RandomLM(vocab.size, 0)
    z = lm(torch.zeros(1, 1, dtype=torch.long), None)[0, -1]
    text = vocab.decode([int(z.argmax())] + [int(lm(torch.zeros(1, 1, dtype=torch.long), None)[0, -1].argmax())
                                            for _ in range(20)])
    assert C.parse_json(text) is None
    index = C.TokenIndex.build(PATTERNS["tool"], vocab)
    with_guard_off = C.generate(RandomLM(vocab.size, 0), [1], index, max_new_tokens=8, budget_guard=False)
    assert not with_guard_off.complete  # no guard and too few tokens: the output is cut off


def test_mask_logits_pads_and_blocks():
    z = torch.zeros(2, 6)
    allowed = torch.tensor([True, False, True, False])
    out = C.mask_logits(z, allowed)
    assert torch.isinf(out[:, [1, 3, 4, 5]]).all() and (out[:, [0, 2]] == 0).all()
    assert np.allclose(out.softmax(-1)[0, [0, 2]].numpy(), 0.5)


def test_smollm2_constrained_tool_call_parses():
    from modelbook.rag.model import chat_ids, load_smollm2_fast

    torch.set_num_threads(1)
    model, tok = load_smollm2_fast()
    index = C.TokenIndex.build(C.json_schema(TOOL_SCHEMA))
    prompt = chat_ids(tok, "Reply with a JSON tool call for: what is 12 times 7?")
    out = C.generate(model, prompt, index, max_new_tokens=32)
    obj = json.loads(out.text)
    assert out.complete and obj["tool"] in ("calculator", "lookup")


@pytest.mark.parametrize("seed", range(3))
def test_jump_forward_same_language_fewer_calls(seed, vocab):
    """Forced literals go in one call; the output is still a member, and the forced tokens spell the literal."""
    index = C.TokenIndex.build(C.json_schema(TOOL_SCHEMA, ws=C.lit("")), vocab)
    tokens, after = index.forced(index.start)
    assert vocab.decode(tokens) == '{"tool":"' and index.automaton.feed(index.start, b'{"tool":"') == after
    plain = C.generate(RandomLM(vocab.size, seed), [1], index, max_new_tokens=40)
    jumped = C.generate(RandomLM(vocab.size, seed), [1], index, max_new_tokens=40, jump_forward=True)
    assert plain.complete and jumped.complete
    assert jumped.forward_calls < plain.forward_calls
    json.loads(jumped.text)
