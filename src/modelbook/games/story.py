"""A story under constraints: a state machine holds the facts, the language model only proposes the next beat.

The world is a few places joined by exits, with items lying about; the state is (location, inventory, where
every item lies). Each story beat is one JSON object the game engine can execute:

    {"action": "go", "target": "north"}      an exit of the current place
    {"action": "take", "target": "lamp"}     an item lying here
    {"action": "drop", "target": "rope"}     an item carried

The engine applies a beat only if it parses, matches the schema and respects the state (the exit exists, the
item is here / carried); then the next beat is asked for from the new state, so runs branch.

Constrained decoding (from scratch): given the state, the language of valid outputs is the finite set of
canonical strings for the legal actions. At each step a token is allowed only if the text so far plus the
token's text is still a prefix of some valid string; when the text is complete, only the end token is allowed.
Logits of every other token are set to −∞, then the usual greedy or sampled choice runs on what is left. The
allowed set is found without scanning the vocabulary: for every valid string's remaining suffix, each of its
prefixes up to the longest token is looked up in a {token text: ids} table, so a step costs
O(valid strings × longest token), not O(vocabulary). Any tokenisation of a valid string is reachable.

Free generation gets the same prompt (with an example of the format) and may write anything; its output is
parsed (json, then the schema by jsonschema_rs, an independent validator) and held against the state.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import numpy as np
import torch

SCHEMA = {"type": "object", "additionalProperties": False, "required": ["action", "target"],
          "properties": {"action": {"enum": ["go", "take", "drop"]}, "target": {"type": "string"}}}

WORLD = {
    "cave": {"exits": {"north": "forest", "east": "river"}, "items": ["lamp"]},
    "forest": {"exits": {"south": "cave", "east": "tower"}, "items": ["rope", "apple"]},
    "river": {"exits": {"west": "cave", "north": "tower"}, "items": ["boat key"]},
    "tower": {"exits": {"west": "forest", "south": "river"}, "items": ["map"]},
}


@dataclass
class StoryState:
    location: str = "cave"
    inventory: list = field(default_factory=list)
    items: dict = field(default_factory=lambda: {p: list(v["items"]) for p, v in WORLD.items()})

    def legal(self) -> list[tuple[str, str]]:
        return ([("go", d) for d in WORLD[self.location]["exits"]] + [("take", i) for i in self.items[self.location]]
                + [("drop", i) for i in self.inventory])

    def apply(self, action: str, target: str) -> None:
        if (action, target) not in self.legal():
            raise ValueError(f"{action} {target} breaks the state")
        if action == "go":
            self.location = WORLD[self.location]["exits"][target]
        elif action == "take":
            self.items[self.location].remove(target)
            self.inventory.append(target)
        else:
            self.inventory.remove(target)
            self.items[self.location].append(target)

    def describe(self) -> str:
        exits = ", ".join(f"{d} to the {p}" for d, p in WORLD[self.location]["exits"].items())
        here = ", ".join(self.items[self.location]) or "nothing"
        carried = ", ".join(self.inventory) or "nothing"
        return f"The hero is in the {self.location}. Exits: {exits}. Lying here: {here}. Carrying: {carried}."


def canonical(action: str, target: str) -> str:
    return json.dumps({"action": action, "target": target})


def prompt_text(state: StoryState) -> str:
    return ("You narrate a text adventure. " + state.describe() + " Choose the hero's next move and answer with "
            'one JSON object only, for example {"action": "go", "target": "north"}. Actions: go (an exit), '
            "take (an item lying here), drop (an item carried).")


def parse(text: str, state: StoryState) -> tuple[bool, bool]:
    """(parses: json + schema, respects the state)."""
    import jsonschema_rs

    start, end = text.find("{"), text.find("}")
    if start < 0 or end < start:
        return False, False
    try:
        obj = json.loads(text[start:end + 1])
    except ValueError:
        return False, False
    if not jsonschema_rs.is_valid(SCHEMA, obj):
        return False, False
    return True, (obj["action"], obj["target"]) in state.legal()


# -- constrained decoding ---------------------------------------------------------------------------------
class TokenTable:
    """{token text: [ids]} for a vocabulary, and the longest token text (the lookup bound)."""

    def __init__(self, texts: list[str], eos_id: int):
        self.by_text: dict[str, list[int]] = {}
        for i, t in enumerate(texts):
            if t and i != eos_id:
                self.by_text.setdefault(t, []).append(i)
        self.max_len = max(map(len, self.by_text))
        self.eos_id, self.texts = eos_id, texts


def allowed_tokens(table: TokenTable, done: str, valid: list[str]) -> list[int]:
    """Every token that keeps `done` a prefix of some valid string; the end token once `done` is complete."""
    out = set()
    for v in valid:
        if not v.startswith(done):
            continue
        rest = v[len(done):]
        if not rest:
            out.add(table.eos_id)
        for k in range(1, min(len(rest), table.max_len) + 1):
            out.update(table.by_text.get(rest[:k], ()))
    return sorted(out)


@torch.no_grad()
def decode(model, prompt_ids: list[int], table: TokenTable, max_new: int, valid: list[str] | None,
           generator: torch.Generator | None = None, temperature: float = 0.0) -> tuple[str, int, float]:
    """Greedy (temperature 0) or sampled decoding; constrained when `valid` is given. (text, tokens, seconds)."""
    t0 = time.process_time()
    cache = model.new_cache()
    logits = model(torch.tensor([prompt_ids]), cache)[0, -1]
    text, n = "", 0
    for _ in range(max_new):
        if valid is not None:
            ids = allowed_tokens(table, text, valid)
            masked = torch.full_like(logits, -torch.inf)
            masked[ids] = logits[ids]
            logits = masked
        if temperature > 0:
            tok = int(torch.multinomial(torch.softmax(logits.double() / temperature, -1), 1, generator=generator))
        else:
            tok = int(logits.argmax())
        n += 1
        if tok == table.eos_id:
            break
        text += table.texts[tok]
        if valid is None and "}" in text:
            break
        logits = model(torch.tensor([[tok]]), cache)[0, -1]
    return text, n, time.process_time() - t0


def run_stories(model, encode, table: TokenTable, n_stories: int, beats: int, max_new: int, seed: int,
                temperature: float = 0.7) -> dict:
    """Branching stories: each beat is asked for freely and under the constraint from the same state; the
    constrained beat (sampled, so stories branch) moves the state on. Returns rates and token speeds."""
    g = torch.Generator().manual_seed(seed)
    rec = {"free_parse": [], "free_respect": [], "con_parse": [], "con_respect": [], "free_tok": 0, "free_s": 0.0,
           "con_tok": 0, "con_s": 0.0, "stories": []}
    for _ in range(n_stories):
        state, story = StoryState(), []
        for _ in range(beats):
            ids = encode(prompt_text(state))
            text, n, sec = decode(model, ids, table, max_new, None)
            p, r = parse(text, state)
            rec["free_parse"].append(p)
            rec["free_respect"].append(r)
            rec["free_tok"] += n
            rec["free_s"] += sec
            valid = [canonical(a, t) for a, t in state.legal()]
            text, n, sec = decode(model, ids, table, max_new, valid, g, temperature)
            p, r = parse(text, state)
            rec["con_parse"].append(p)
            rec["con_respect"].append(r)
            rec["con_tok"] += n
            rec["con_s"] += sec
            if not r:
                break
            obj = json.loads(text)
            state.apply(obj["action"], obj["target"])
            story.append(f"{obj['action']} {obj['target']}")
        rec["stories"].append(story)
    return rec


def char_vocabulary() -> list[str]:
    """A character vocabulary (printable ASCII + end token last) for a tiny model in the quick preset."""
    return [chr(c) for c in range(32, 127)] + [""]


def distinct_share(stories: list[list[str]]) -> float:
    return len({tuple(s) for s in stories}) / max(len(stories), 1)


def rate(values) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def tiny_setup(seed: int):
    """(model, encode, table) for the quick preset: a tiny random model over the character vocabulary, each
    character its own token (an unknown one maps to token 0), the end token last."""
    from modelbook.decoding.strategies import random_tiny_lm

    vocab = char_vocabulary()
    index = {c: i for i, c in enumerate(vocab[:-1])}

    def encode(text: str) -> list[int]:
        return [index.get(c, 0) for c in text]

    return random_tiny_lm(len(vocab), seed), encode, TokenTable(vocab, len(vocab) - 1)


def smollm2_setup():
    """(model, encode, table) for SmolLM2-135M-Instruct: our LlamaLM forward on its weights, the chat template
    around the prompt, and each token's decoded text (a byte-fragment token decodes to '�' and never matches)."""
    from modelbook.models.loaders import load_smollm2
    from modelbook.nn.llama import LlamaLM

    hf, tok = load_smollm2()
    model = LlamaLM.from_hf(hf).eval()
    end = tok.convert_tokens_to_ids("<|im_end|>")
    texts = [tok.decode([i]) for i in range(len(tok))]

    def encode(text: str) -> list[int]:
        return tok.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True, tokenize=True,
                                       return_dict=False)

    return model, encode, TokenTable(texts, end)
