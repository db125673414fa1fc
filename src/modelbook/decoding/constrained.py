"""Token-level constrained decoding, from scratch: the model may only emit tokens that keep the output a valid
prefix of a language (a JSON schema, a fixed set of answers, a small regular grammar).

    pattern      a regular expression over BYTES, built from a few combinators (lit, chars, seq, alt, rep, ...)
                 or compiled from a JSON schema (`json_schema`). Every pattern also renders itself as a Python
                 `re` bytes regex (`.regex()`), which the tests use as the outside reference for the automaton.
    Automaton    the pattern as a deterministic finite automaton over bytes: Thompson's NFA, then the subset
                 construction. One state per "what may still come next"; state 0 is DEAD (no valid continuation).
                 feed(state, bytes) is the prefix validator: a prefix is valid iff it does not reach DEAD.
    Vocabulary   every token of a byte-level BPE tokenizer (SmolLM2's) as the bytes it stands for.
    TokenIndex   automaton x vocabulary: for a state, the state each of the V tokens leads to, computed for all
                 tokens at once (numpy gathers down the tokens' bytes) and cached per state, as Outlines does
                 (Willard & Louf 2023, "Efficient guided generation for LLMs"). A token is allowed iff it does
                 not lead to DEAD; end-of-sequence is allowed iff the state accepts.
    mask_logits  logits of disallowed tokens -> -inf, so softmax renormalises over the allowed ones.
    generate     the decoding loop (prefill, then one token at a time with a KV cache) under the mask.

Why bytes, not characters: a BPE token may hold half of a UTF-8 character, or a closing quote glued to a comma
('",'), or the space before a word. Checking token by token in bytes handles all of these exactly; checking the
decoded strings would not.

Budget guarantee. `dist[s]` is the fewest bytes from state s to an accepting state (breadth-first search
backwards over the automaton), counting only bytes that are tokens of their own (almost all are in a byte-level
BPE), so some path of at most dist[s] tokens completes the output. With `remaining` tokens left (this one
included), allowing only tokens whose next state has dist <= remaining - 1 keeps that true at every step: the
output ends in an accepting state within max_new_tokens, so it always parses (if dist[start] <= the budget).

Limits: regular languages only (a JSON schema with fixed nesting is regular; recursive schemas are not);
object properties come in the schema's order, every listed property present; whitespace between JSON tokens
is what `ws` allows (one optional space by default, so the model cannot pad forever).

Cross-checks (tests/decoding/test_constrained.py): the automaton accepts exactly what Python's `re.fullmatch`
accepts for the same pattern (sampled members and mutated non-members); the vectorised token index equals
feeding each token's bytes one at a time; JSON outputs parse with `json.loads` and validate with pydantic;
SmolLM2's constrained outputs are 100% parseable.
"""
from __future__ import annotations

import abc
import functools
import json
import random
import re
from collections import deque
from dataclasses import dataclass

import numpy as np
import torch

from modelbook.core.errors import ModelbookError

DEAD = 0
UNREACHABLE = 1 << 40
NEG_INF = float("-inf")


def _steps_to_accept(parents: list[set[int]], accepting: np.ndarray) -> np.ndarray:
    """(S,) fewest steps from each state to an accepting one, by breadth-first search backwards along `parents`
    (parents[t]: the states with a step into t); UNREACHABLE where none leads there."""
    dist = np.full(len(parents), UNREACHABLE, dtype=np.int64)
    todo = deque(np.flatnonzero(accepting).tolist())
    dist[todo] = 0
    while todo:
        t = todo.popleft()
        for s in parents[t]:
            if s != DEAD and dist[s] > dist[t] + 1:
                dist[s] = dist[t] + 1
                todo.append(s)
    return dist


# -- 1. patterns: regular expressions over bytes ------------------------------------------------------
class Pattern(abc.ABC):
    """A regular expression over bytes. Build with the functions below; compile with `Automaton(pattern)`."""

    @abc.abstractmethod
    def regex(self) -> bytes:
        """The same language as a Python `re` bytes pattern (for cross-checks: re.fullmatch(p.regex(), data))."""

    @abc.abstractmethod
    def sample(self, rng: random.Random, max_repeat: int = 3) -> bytes:
        """A random member of the language (unbounded repetitions drawn up to `max_repeat` times)."""


@dataclass(frozen=True)
class Lit(Pattern):
    data: bytes

    def regex(self) -> bytes:
        return b"".join(b"\\x%02x" % c for c in self.data)

    def sample(self, rng, max_repeat=3):
        return self.data


@dataclass(frozen=True)
class Set(Pattern):
    members: frozenset[int]

    def regex(self) -> bytes:
        if not self.members:
            return b"(?!)"  # matches nothing
        return b"[" + b"".join(b"\\x%02x" % c for c in sorted(self.members)) + b"]"

    def sample(self, rng, max_repeat=3):
        return bytes([rng.choice(sorted(self.members))])


@dataclass(frozen=True)
class Seq(Pattern):
    parts: tuple[Pattern, ...]

    def regex(self) -> bytes:
        return b"".join(b"(?:" + p.regex() + b")" for p in self.parts)

    def sample(self, rng, max_repeat=3):
        return b"".join(p.sample(rng, max_repeat) for p in self.parts)


@dataclass(frozen=True)
class Alt(Pattern):
    options: tuple[Pattern, ...]

    def regex(self) -> bytes:
        return b"(?:" + b"|".join(p.regex() for p in self.options) + b")"

    def sample(self, rng, max_repeat=3):
        return rng.choice(self.options).sample(rng, max_repeat)


@dataclass(frozen=True)
class Rep(Pattern):
    inner: Pattern
    lo: int
    hi: int | None
    """None: unbounded"""

    def regex(self) -> bytes:
        hi = b"" if self.hi is None else str(self.hi).encode()
        return b"(?:" + self.inner.regex() + b"){" + str(self.lo).encode() + b"," + hi + b"}"

    def sample(self, rng, max_repeat=3):
        hi = self.lo + max_repeat if self.hi is None else self.hi
        return b"".join(self.inner.sample(rng, max_repeat) for _ in range(rng.randint(self.lo, hi)))


def lit(text: str | bytes) -> Pattern:
    """Exactly this text (str is UTF-8 encoded)."""
    return Lit(text.encode() if isinstance(text, str) else bytes(text))


def chars(spec: str, negate: bool = False) -> Pattern:
    """One byte from a class written like a regex class body without brackets: chars("a-z0-9_").
    negate=True: any byte NOT in the class. ASCII only (for UTF-8 text use `utf8_char`)."""
    members: set[int] = set()
    i = 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            lo, hi = ord(spec[i]), ord(spec[i + 2])
            if lo > hi or hi > 127:
                raise ModelbookError(f"bad character range {spec[i:i + 3]!r} in chars({spec!r})")
            members.update(range(lo, hi + 1))
            i += 3
        else:
            if ord(spec[i]) > 127:
                raise ModelbookError(f"chars() takes ASCII only, got {spec[i]!r}; use utf8_char() or lit()")
            members.add(ord(spec[i]))
            i += 1
    return Set(frozenset(set(range(256)) - members if negate else members))


def byte_range(lo: int, hi: int) -> Pattern:
    return Set(frozenset(range(lo, hi + 1)))


def seq(*parts: Pattern) -> Pattern:
    if not parts:
        return Lit(b"")
    return parts[0] if len(parts) == 1 else Seq(tuple(parts))


def alt(*options: Pattern) -> Pattern:
    return options[0] if len(options) == 1 else Alt(tuple(options))


def rep(p: Pattern, lo: int = 0, hi: int | None = None) -> Pattern:
    if lo < 0 or (hi is not None and hi < lo):
        raise ModelbookError(f"bad repetition bounds {{{lo},{hi}}}")
    return Rep(p, lo, hi)


def opt(p: Pattern) -> Pattern:
    return Rep(p, 0, 1)


def star(p: Pattern) -> Pattern:
    return Rep(p, 0, None)


def plus(p: Pattern) -> Pattern:
    return Rep(p, 1, None)


def choice(texts) -> Pattern:
    """Exactly one of these strings (a closed answer set: legal moves, labels, tool names)."""
    texts = list(texts)
    if not texts:
        raise ModelbookError("choice() needs at least one option")
    return alt(*(lit(t) for t in texts))


def utf8_char(exclude_ascii: str = "") -> Pattern:
    """One well-formed UTF-8 character (RFC 3629: no overlongs, no surrogates), printable ASCII
    minus `exclude_ascii` for the one-byte case."""
    ascii_ok = Set(frozenset(set(range(0x20, 0x7F)) - {ord(c) for c in exclude_ascii}))
    tail = byte_range(0x80, 0xBF)
    return alt(ascii_ok,
               seq(byte_range(0xC2, 0xDF), tail),
               seq(lit(b"\xe0"), byte_range(0xA0, 0xBF), tail),
               seq(alt(byte_range(0xE1, 0xEC), byte_range(0xEE, 0xEF)), tail, tail),
               seq(lit(b"\xed"), byte_range(0x80, 0x9F), tail),
               seq(lit(b"\xf0"), byte_range(0x90, 0xBF), tail, tail),
               seq(byte_range(0xF1, 0xF3), tail, tail, tail),
               seq(lit(b"\xf4"), byte_range(0x80, 0x8F), tail, tail))


# -- 2. JSON schema -> pattern -------------------------------------------------------------------------
HEX = chars("0-9a-fA-F")
# \uXXXX escapes: any code point but a lone surrogate (D800-DFFF only as a high + low pair, as RFC 8259 and
# strict parsers such as pydantic's want; Python's json.loads would let a lone one through)
_U_BMP = seq(lit("\\u"), alt(seq(chars("0-9a-cA-CefEF"), HEX, HEX, HEX), seq(chars("dD"), chars("0-7"), HEX, HEX)))
_U_PAIR = seq(lit("\\u"), chars("dD"), chars("89abAB"), HEX, HEX, lit("\\u"), chars("dD"), chars("c-fC-F"), HEX, HEX)
JSON_STRING_CHAR = alt(utf8_char(exclude_ascii='"\\'), seq(lit("\\"), chars('"\\/bfnrt')), _U_BMP, _U_PAIR)
JSON_INTEGER = seq(opt(lit("-")), alt(lit("0"), seq(chars("1-9"), star(chars("0-9")))))
JSON_NUMBER = seq(JSON_INTEGER, opt(seq(lit("."), plus(chars("0-9")))),
                  opt(seq(chars("eE"), opt(chars("+-")), plus(chars("0-9")))))


def json_string(min_length: int = 0, max_length: int | None = None) -> Pattern:
    """A JSON string literal; the length bounds count characters (an escape counts as one)."""
    return seq(lit('"'), rep(JSON_STRING_CHAR, min_length, max_length), lit('"'))


def json_string_of(content: Pattern) -> Pattern:
    """A JSON string whose content (between the quotes) is `content`; keep `content` free of '"' and '\\'."""
    return seq(lit('"'), content, lit('"'))


def json_literal(value) -> Pattern:
    """Exactly the JSON text of `value` as json.dumps writes it (ensure_ascii=False)."""
    return lit(json.dumps(value, ensure_ascii=False))


def json_schema(schema: dict, ws: Pattern | None = None) -> Pattern:
    """The JSON texts that satisfy `schema` (a subset of JSON Schema: type object / array / string / integer
    / number / boolean / null, properties, required, items, minItems, maxItems, minLength, maxLength, enum,
    const, anyOf / oneOf). Object properties come in the schema's order, all of them present. A Pattern in
    place of a sub-schema stands for itself (e.g. json_string_of(chars("0-9+*")) for a restricted string).
    ws: what may stand between JSON tokens (default: at most one space)."""
    ws = opt(lit(" ")) if ws is None else ws
    return _schema(schema, ws, "$")


def _schema(s, ws: Pattern, where: str) -> Pattern:
    if isinstance(s, Pattern):  # an escape hatch: any pattern of ours as a sub-schema (its JSON text, quotes included)
        return s
    if not isinstance(s, dict):
        raise ModelbookError(f"JSON schema at {where} must be an object, got {type(s).__name__}")
    if "const" in s:
        return json_literal(s["const"])
    if "enum" in s:
        return alt(*(json_literal(v) for v in s["enum"]))
    for key in ("anyOf", "oneOf"):
        if key in s:
            return alt(*(_schema(sub, ws, f"{where}.{key}[{i}]") for i, sub in enumerate(s[key])))
    kind = s.get("type")
    if isinstance(kind, list):
        return alt(*(_schema({**s, "type": k}, ws, where) for k in kind))
    if kind == "string":
        return json_string(s.get("minLength", 0), s.get("maxLength"))
    if kind == "integer":
        return JSON_INTEGER
    if kind == "number":
        return JSON_NUMBER
    if kind == "boolean":
        return alt(lit("true"), lit("false"))
    if kind == "null":
        return lit("null")
    if kind == "array":
        item = _schema(s.get("items", {"type": "string"}), ws, where + "[]")
        lo, hi = s.get("minItems", 0), s.get("maxItems")
        more = seq(ws, lit(","), ws, item)
        if hi == 0:
            body = lit("")
        elif lo == 0:
            body = opt(seq(item, rep(more, 0, None if hi is None else hi - 1)))
        else:
            body = seq(item, rep(more, lo - 1, None if hi is None else hi - 1))
        return seq(lit("["), ws, body, ws, lit("]"))
    if kind == "object":
        props = s.get("properties", {})
        if not props:
            return seq(lit("{"), ws, lit("}"))
        parts: list[Pattern] = [lit("{"), ws]
        for i, (name, sub) in enumerate(props.items()):
            if i:
                parts += [ws, lit(","), ws]
            parts += [json_literal(name), ws, lit(":"), ws, _schema(sub, ws, f"{where}.{name}")]
        parts += [ws, lit("}")]
        return seq(*parts)
    raise ModelbookError(f"unsupported JSON schema at {where}: {json.dumps(s)[:80]} "
                         "(supported: type object/array/string/integer/number/boolean/null, enum, const, anyOf)")


# -- 3. the automaton: Thompson's NFA, then the subset construction -----------------------------------
class _NFA:
    """States are ints; each has epsilon edges and at most one byte-set edge (Thompson's construction)."""

    def __init__(self):
        self.eps: list[list[int]] = []
        self.edge: list[tuple[frozenset[int], int] | None] = []

    def new(self) -> int:
        self.eps.append([])
        self.edge.append(None)
        return len(self.eps) - 1

    def build(self, p: Pattern) -> tuple[int, int]:
        """(start, end) of a fragment accepting p."""
        if isinstance(p, Lit):
            start = cur = self.new()
            for c in p.data:
                nxt = self.new()
                self.edge[cur] = (frozenset((c,)), nxt)
                cur = nxt
            return start, cur
        if isinstance(p, Set):
            a, b = self.new(), self.new()
            self.edge[a] = (p.members, b)
            return a, b
        if isinstance(p, Seq):
            start = cur = self.new()
            for part in p.parts:
                s, e = self.build(part)
                self.eps[cur].append(s)
                cur = e
            return start, cur
        if isinstance(p, Alt):
            a, b = self.new(), self.new()
            for option in p.options:
                s, e = self.build(option)
                self.eps[a].append(s)
                self.eps[e].append(b)
            return a, b
        if isinstance(p, Rep):
            start = cur = self.new()
            for _ in range(p.lo):
                s, e = self.build(p.inner)
                self.eps[cur].append(s)
                cur = e
            end = self.new()
            self.eps[cur].append(end)
            if p.hi is None:  # loop: cur -> inner -> cur
                s, e = self.build(p.inner)
                self.eps[cur].append(s)
                self.eps[e].append(cur)
            else:
                for _ in range(p.hi - p.lo):
                    s, e = self.build(p.inner)
                    self.eps[cur].append(s)
                    self.eps[e].append(end)
                    cur = e
            return start, end
        raise TypeError(f"not a Pattern: {p!r}")

    def closure(self, states) -> frozenset[int]:
        seen, todo = set(states), list(states)
        while todo:
            for t in self.eps[todo.pop()]:
                if t not in seen:
                    seen.add(t)
                    todo.append(t)
        return frozenset(seen)


class Automaton:
    """A DFA over bytes. trans[s, b] is the next state (DEAD = 0 absorbs); `accepting[s]` marks complete
    outputs; `dist[s]` is the fewest bytes to an accepting state (a large number if none); `start` is 1."""

    MAX_STATES = 20000

    def __init__(self, pattern: Pattern):
        nfa = _NFA()
        s0, final = nfa.build(pattern)
        start = nfa.closure([s0])
        ids: dict[frozenset[int], int] = {frozenset(): DEAD, start: 1}
        rows: list[list[int]] = [[DEAD] * 256, None]  # type: ignore[list-item]
        todo = deque([start])
        while todo:
            cur = todo.popleft()
            targets: dict[int, set[int]] = {}
            for n in cur:
                e = nfa.edge[n]
                if e is not None:
                    for b in e[0]:
                        targets.setdefault(b, set()).add(e[1])
            row = [DEAD] * 256
            closed: dict[frozenset[int], int] = {}
            for b, ts in targets.items():
                key = frozenset(ts)
                if key not in closed:
                    nxt = nfa.closure(ts)
                    if nxt not in ids:
                        if len(ids) >= self.MAX_STATES:
                            raise ModelbookError(f"pattern too large: over {self.MAX_STATES} automaton states")
                        ids[nxt] = len(ids)
                        rows.append(None)  # type: ignore[arg-type]
                        todo.append(nxt)
                    closed[key] = ids[nxt]
                row[b] = closed[key]
            rows[ids[cur]] = row
        self.trans = np.array(rows, dtype=np.int32)  # (S, 256)
        self.accepting = np.zeros(len(rows), dtype=bool)
        for nset, i in ids.items():
            self.accepting[i] = final in nset
        self.start = 1
        self.can_extend = (self.trans != DEAD).any(1)
        self.dist = self.distance()
        self.pattern = pattern

    def distance(self, alphabet=None) -> np.ndarray:
        """(S,) the fewest bytes from each state to an accepting one, using only bytes in `alphabet`
        (default: all 256); a large number where none can be reached. Breadth-first, backwards."""
        n = len(self.trans)
        cols = np.arange(256) if alphabet is None else np.array(sorted(alphabet), dtype=np.int64)
        parents: list[set[int]] = [set() for _ in range(n)]
        for s in range(1, n):
            for t in set(self.trans[s, cols].tolist()):
                parents[t].add(s)
        return _steps_to_accept(parents, self.accepting)

    @property
    def n_states(self) -> int:
        return len(self.trans)

    def feed(self, state: int, data: bytes) -> int:
        """The state after reading `data` from `state`; DEAD if `data` cannot continue a valid prefix."""
        for b in data:
            state = int(self.trans[state, b])
            if state == DEAD:
                break
        return state

    def is_prefix(self, data: bytes | str) -> bool:
        """True iff `data` can still be completed to a member of the language: the prefix validator."""
        return self.feed(self.start, data.encode() if isinstance(data, str) else data) != DEAD

    def accepts(self, data: bytes | str) -> bool:
        return bool(self.accepting[self.feed(self.start, data.encode() if isinstance(data, str) else data)])


# -- 4. the tokenizer's vocabulary as bytes ------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _byte_decoder() -> dict[str, int]:
    """GPT-2's byte-level alphabet inverted: the printable character each byte is written as -> the byte."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


class Vocabulary:
    """A byte-level BPE vocabulary as bytes: `tokens[i]` is what token i stands for (None for special tokens),
    plus a length-sorted, zero-padded byte matrix for vectorised walks. Build once per tokenizer."""

    def __init__(self, tokens: list[bytes | None], eos_ids: tuple[int, ...], names: list[str] | None = None):
        self.tokens = tokens
        self.eos_ids = tuple(eos_ids)
        self.names = names
        self.size = len(tokens)
        lengths = np.array([0 if t is None else len(t) for t in tokens], dtype=np.int64)
        self.order = np.argsort(lengths, kind="stable")  # position -> token id, shortest first
        self.sorted_lengths = lengths[self.order]
        width = int(lengths.max())
        self.matrix = np.zeros((self.size, width), dtype=np.int64)  # row = position in `order`
        for pos, tid in enumerate(self.order):
            t = tokens[tid]
            if t:
                self.matrix[pos, :len(t)] = np.frombuffer(t, dtype=np.uint8)
        # column j only needs the tokens longer than j: they form a suffix of the sorted order
        self.first_longer = np.searchsorted(self.sorted_lengths, np.arange(width), side="right")
        self.special = lengths == 0
        self.token_id = {t: i for i, t in enumerate(tokens) if t is not None}
        self.single_byte_ids = {t[0]: i for i, t in enumerate(tokens) if t is not None and len(t) == 1}

    @property
    def has_every_byte(self) -> bool:
        """Every byte is a token of its own: the condition of the budget guarantee."""
        return len(self.single_byte_ids) == 256

    @classmethod
    def from_tokenizer(cls, tokenizer) -> "Vocabulary":
        """From a `tokenizers.Tokenizer` or a transformers tokenizer with a byte-level BPE (GPT-2 alphabet)."""
        inner = getattr(tokenizer, "backend_tokenizer", tokenizer)
        vocab = inner.get_vocab(with_added_tokens=True)
        special = {t.content for t in inner.get_added_tokens_decoder().values()} if hasattr(
            inner, "get_added_tokens_decoder") else set()
        size = max(vocab.values()) + 1
        decoder = _byte_decoder()
        tokens: list[bytes | None] = [None] * size
        names = [""] * size
        for text, i in vocab.items():
            names[i] = text
            if text in special:
                continue
            try:
                tokens[i] = bytes(decoder[c] for c in text)
            except KeyError:
                raise ModelbookError(f"token {text!r} is not in the byte-level BPE alphabet: constrained decoding "
                                     "needs a byte-level tokenizer (GPT-2 / SmolLM2 style)") from None
        eos = tuple(vocab[t] for t in ("<|im_end|>", "<|endoftext|>", "</s>", "<eos>") if t in vocab)
        return cls(tokens, eos, names)

    def decode(self, ids) -> str:
        return b"".join(self.tokens[i] or b"" for i in ids).decode("utf-8", errors="replace")


@functools.lru_cache(maxsize=1)
def smollm2_vocabulary() -> Vocabulary:
    """SmolLM2's 49,152 tokens as bytes (built once per process, ~0.5 s)."""
    from modelbook.tokenization.pretrained import smollm2_tokenizer

    return Vocabulary.from_tokenizer(smollm2_tokenizer())


# -- 5. automaton x vocabulary: which tokens each state allows ----------------------------------------
class TokenIndex:
    """For each automaton state, the state every token leads to (DEAD = not allowed); computed on first use.

    The constraint a decoding loop needs: `start`, `allowed(state, remaining)` (a bool mask over the
    vocabulary, end-of-sequence included), `advance(state, token)`, `done(state)`."""

    def __init__(self, automaton: Automaton, vocab: Vocabulary):
        self.automaton = automaton
        self.vocab = vocab
        self.start = automaton.start
        self.dist = self._token_distance()
        self._next: dict[int, np.ndarray] = {}
        self._forced: dict[int, tuple[list[int], int]] = {}

    def _token_distance(self) -> np.ndarray:
        """(S,) an upper bound on the tokens needed from each state to an accepting one, and one that the
        guard can rely on: from a state at bound d, some token leads to a state at bound d - 1.

        Breadth-first backwards over two kinds of one-token edges: every byte that is a token of its own, and
        from each state the longest token that starts its byte-shortest completion (so the literal
        '"arguments"' costs a couple of tokens, not 11)."""
        a, v = self.automaton, self.vocab
        cols = np.array(sorted(v.single_byte_ids), dtype=np.int64)
        byte_dist = a.distance(cols)
        n = a.n_states
        nxt = a.trans[:, cols]  # (S, C)
        best = cols[np.argmax(byte_dist[nxt] == (byte_dist[:, None] - 1), axis=1)]  # a byte on a shortest path
        parents: list[set[int]] = [set() for _ in range(n)]
        for s in range(1, n):
            for t in set(nxt[s].tolist()):
                parents[t].add(s)
            path, states, cur = bytearray(), [], s
            while len(path) < 16 and 0 < byte_dist[cur] < UNREACHABLE:
                path.append(int(best[cur]))
                cur = int(a.trans[cur, best[cur]])
                states.append(cur)
            for k in range(len(path), 1, -1):
                if bytes(path[:k]) in v.token_id:
                    parents[states[k - 1]].add(s)
                    break
        return _steps_to_accept(parents, a.accepting)

    @classmethod
    def build(cls, pattern: Pattern, vocab: Vocabulary | None = None) -> "TokenIndex":
        return cls(Automaton(pattern), vocab or smollm2_vocabulary())

    def next_states(self, state: int) -> np.ndarray:
        """(V,) int: the state after each token from `state`; DEAD for special tokens and invalid tokens."""
        if state not in self._next:
            v, trans = self.vocab, self.automaton.trans
            cur = np.full(v.size, state, dtype=np.int64)
            cur[: int(v.first_longer[0])] = DEAD  # zero-length rows: special tokens
            for j, lo in enumerate(v.first_longer):
                lo = int(lo)
                cur[lo:] = trans[cur[lo:], v.matrix[lo:, j]]
            out = np.empty(v.size, dtype=np.int64)
            out[v.order] = cur
            self._next[state] = out
        return self._next[state]

    def forced(self, state: int) -> tuple[list[int], int]:
        """Jump-forward: (tokens, state after them) when the automaton leaves exactly one way to go on from
        `state` (a literal such as '","expression":"'); ([], state) otherwise. The forced bytes are cut into
        tokens by longest match, so they cost one forward pass instead of one per token (SGLang's
        "jump-forward decoding"; the cut can differ from the one the model would have chosen)."""
        if state not in self._forced:
            a = self.automaton
            path, cur = bytearray(), state
            while not a.accepting[cur] and len(path) < 256:
                live = np.flatnonzero(a.trans[cur] != DEAD)
                if len(live) != 1:
                    break
                path.append(int(live[0]))
                cur = int(a.trans[cur, live[0]])
            tokens, i = [], 0
            while i < len(path):
                for k in range(min(len(path) - i, 32), 0, -1):
                    tid = self.vocab.token_id.get(bytes(path[i:i + k]))
                    if tid is not None:
                        tokens.append(tid)
                        i += k
                        break
                else:  # a byte with no token of its own: stop the jump before it
                    cur = self.automaton.feed(state, bytes(path[:i]))
                    break
            self._forced[state] = (tokens, cur if tokens else state)
        return self._forced[state]

    def allowed(self, state: int, remaining: int | None = None) -> torch.Tensor:
        """(V,) bool: tokens that keep a valid prefix (and, given `remaining` tokens left including this one,
        leave it completable in time); end-of-sequence ids where the state accepts."""
        nxt = self.next_states(state)
        ok = nxt != DEAD
        if remaining is not None:  # stay completable in time; if that is already lost, only move closer
            ok &= self.dist[nxt] <= max(remaining - 1, int(self.dist[state]) - 1)
        if self.automaton.accepting[state]:
            ok[list(self.vocab.eos_ids)] = True
        return torch.from_numpy(ok)

    def advance(self, state: int, token: int) -> int:
        return int(self.next_states(state)[token])

    def done(self, state: int) -> bool:
        """Accepting and nothing can follow: stop without waiting for an end-of-sequence token."""
        return bool(self.automaton.accepting[state] and not self.automaton.can_extend[state])

    def min_tokens(self, state: int | None = None) -> int:
        """An upper bound on the tokens needed to complete from `state` (bytes to accept, one token each)."""
        return int(self.dist[self.start if state is None else state])


def mask_logits(logits: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """logits (..., V') with every disallowed token at -inf. V' may exceed the mask's V (padded vocab rows):
    the extra rows are disallowed."""
    v = logits.size(-1)
    if allowed.numel() < v:
        allowed = torch.cat([allowed, allowed.new_zeros(v - allowed.numel())])
    return logits.masked_fill(~allowed[:v].to(logits.device), NEG_INF)


# -- 6. the decoding loop under the mask ---------------------------------------------------------------
@dataclass
class ConstrainedGeneration:
    tokens: list[int]
    """the new tokens (an end-of-sequence token, if chosen, is not included)"""
    text: str
    complete: bool
    """the output is a member of the language"""
    stop_reason: str
    """'eos' (the model chose to end), 'done' (nothing can follow), 'max_new_tokens', or 'dead_end'"""
    overridden: int = 0
    """steps where the model's own first choice was not allowed (how often the constraint had to intervene)"""
    forward_calls: int = 0
    """model calls, prefill included (jump-forward makes it smaller than the number of tokens)"""


@torch.no_grad()
def generate(model, prompt, index: TokenIndex, max_new_tokens: int = 64, do_sample: bool = False,
             temperature: float = 1.0, generator: torch.Generator | None = None, budget_guard: bool = True,
             jump_forward: bool = False, cache=None) -> ConstrainedGeneration:
    """Decode from `prompt` ((1, T) tensor or list of ids) with only allowed tokens.

    model: `forward(ids (1, T), cache) -> logits (1, T, V)` with `new_cache()` (modelbook.nn.llama.LlamaLM
    or HFCausalLM). budget_guard: only tokens after which the output can still be completed in the tokens
    left (see the module docstring), so the result is complete whenever index.min_tokens() <= max_new_tokens.
    jump_forward: where only one continuation is possible, append it without asking the model
    (`TokenIndex.forced`). cache: a cache that already holds a prefix of the prompt (e.g. a shared system
    prompt; pass a copy, it is extended in place): only the rest is prefilled."""
    from modelbook.decoding.strategies import cache_length

    if max_new_tokens < 1:
        raise ModelbookError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    if do_sample and temperature <= 0:
        raise ModelbookError(f"temperature must be > 0 when sampling, got {temperature}")
    ids = torch.as_tensor(prompt, dtype=torch.long).reshape(1, -1)
    cache = model.new_cache() if cache is None else cache
    logits = model(ids[:, cache_length(cache):], cache)[:, -1].float()[0]
    state, tokens, reason, overridden, calls = index.start, [], "max_new_tokens", 0, 1
    eos = set(index.vocab.eos_ids)
    while len(tokens) < max_new_tokens:
        remaining = max_new_tokens - len(tokens)
        if jump_forward:
            forced, after = index.forced(state)
            if forced and len(forced) + int(index.dist[after]) <= remaining:
                tokens += forced
                state = after
                if index.done(state):
                    reason = "done"
                    break
                if len(tokens) < max_new_tokens:
                    logits = model(torch.tensor([forced]), cache)[:, -1].float()[0]
                    calls += 1
                continue
        allowed = index.allowed(state, remaining if budget_guard else None)
        if not bool(allowed.any()):
            reason = "dead_end"
            break
        z = mask_logits(logits, allowed)
        if do_sample:
            token = int(torch.multinomial((z / temperature).softmax(-1), 1, generator=generator))
        else:
            token = int(z.argmax())
        overridden += int(int(logits.argmax()) != token)
        if token in eos:
            reason = "eos"
            break
        state = index.advance(state, token)
        tokens.append(token)
        if index.done(state):
            reason = "done"
            break
        if len(tokens) < max_new_tokens:
            logits = model(torch.tensor([[token]]), cache)[:, -1].float()[0]
            calls += 1
    complete = bool(index.automaton.accepting[state])
    return ConstrainedGeneration(tokens, index.vocab.decode(tokens), complete, reason, overridden, calls)


def parse_json(text: str):
    """json.loads, or None when the text is not JSON (the parseability metric for unconstrained outputs)."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return None


def first_json_object(text: str):
    """The first {...} in free text that json.loads accepts, or None: how an unconstrained tool call is read."""
    dec = json.JSONDecoder()
    for m in re.finditer(r"\{", text):
        try:
            obj, _ = dec.raw_decode(text, m.start())
            return obj
        except json.JSONDecodeError:
            continue
    return None
