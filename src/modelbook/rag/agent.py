"""SmolLM2 as a reader, a tool caller and a ReAct policy: the prompts and the constrained answers.

Every answer the lab scores is decoded under a constraint (modelbook.decoding.constrained), so it is exact
to compare with the fact table:

    read(...)        a fact question, with or without a context, answered by choosing one string of the
                     closed answer set (every value of that attribute, and "unknown")
    direct_number    an arithmetic question answered with an integer, no tool
    tool_call        one JSON tool call (constrained), or free text from which a JSON object is parsed if any
    ReactPolicy      the next action of a ReAct transcript, as a constrained JSON call (with `finish`)

Prompts share a system message per task, so its keys and values are computed once and forked per question.
"""
from __future__ import annotations

import json

import torch

from modelbook.decoding import constrained as C
from modelbook.decoding.strategies import GenerationConfig, stream_tokens
from modelbook.rag.model import chat_ids, chat_prefix, fork, prefill

READ_SYSTEM = ("Answer the question from the context. Reply with the answer only. "
               "If the context does not give the answer, reply unknown.")
CLOSED_SYSTEM = "Answer the question. Reply with the answer only."
TOOL_SYSTEM = ("You answer by calling one tool, written as one JSON object. calculator computes arithmetic; "
               "lookup reads a fact about a town (attributes: population, founded, river, mayor). Examples:\n"
               'Question: What is 15 * 4 + 2?\nCall: {"tool":"calculator","expression":"15 * 4 + 2"}\n'
               'Question: Who is the mayor of Arlo?\nCall: {"tool":"lookup","town":"Arlo","attribute":"mayor"}\n'
               'Question: What is 31 * 17 - 9?\nCall: {"tool":"calculator","expression":"31 * 17 - 9"}\n'
               'Question: In which year was Benk founded?\nCall: {"tool":"lookup","town":"Benk","attribute":"founded"}')
REACT_SYSTEM = ("You answer step by step with tools, one JSON action per line; after each action you see its "
                "observation. lookup reads a fact about a town, calculator computes arithmetic, finish gives the "
                "final answer. Example:\n"
                "Question: What is the population of Arlo plus the population of Benk?\n"
                'Action: {"tool":"lookup","town":"Arlo","attribute":"population"}\nObservation: 12,000\n'
                'Action: {"tool":"lookup","town":"Benk","attribute":"population"}\nObservation: 3,400\n'
                'Action: {"tool":"calculator","expression":"12000 + 3400"}\nObservation: 15400\n'
                'Action: {"tool":"finish","answer":15400}')
INTEGER = C.seq(C.opt(C.lit("-")), C.chars("1-9"), C.rep(C.chars("0-9"), 0, 7))


class Agent:
    """SmolLM2 (our LlamaLM) with its tokenizer, the vocabulary as bytes and the shared-prefix caches."""

    def __init__(self, model, tokenizer, vocab: C.Vocabulary | None = None):
        self.model, self.tok = model, tokenizer
        self.vocab = vocab or C.smollm2_vocabulary()
        self._prefix: dict[str, object] = {}
        self._index: dict[object, C.TokenIndex] = {}
        self.forward_calls = 0
        self.generated_tokens = 0

    def _cache(self, system: str):
        if system not in self._prefix:
            self._prefix[system] = prefill(self.model, chat_prefix(self.tok, system))
        return fork(self._prefix[system])

    def index(self, key, pattern_fn) -> C.TokenIndex:
        if key not in self._index:
            self._index[key] = C.TokenIndex(C.Automaton(pattern_fn()), self.vocab)
        return self._index[key]

    def constrained(self, system: str, user: str, index: C.TokenIndex, max_new_tokens: int,
                    prefix: str = "") -> C.ConstrainedGeneration:
        ids = chat_ids(self.tok, user, system, prefix)
        out = C.generate(self.model, ids, index, max_new_tokens=max_new_tokens, jump_forward=True,
                         cache=self._cache(system))
        self.forward_calls += out.forward_calls
        self.generated_tokens += len(out.tokens)
        return out

    # -- reading ------------------------------------------------------------------------------------------
    def read(self, question: str, options: tuple[str, ...], context: str | None, lead: str = "") -> str:
        """One of `options` (greedy under the constraint), after the answer's opening words `lead` (e.g. 'The
        population of Velmora is '), which is how the model would start anyway; with context = RAG,
        without = closed book."""
        index = self.index(("choice", options), lambda: C.choice(options))
        if context is None:
            return self.constrained(CLOSED_SYSTEM, f"Question: {question}", index, 12, prefix=lead).text
        return self.constrained(READ_SYSTEM, f"Context: {context}\nQuestion: {question}", index, 12, prefix=lead).text

    def direct_number(self, question: str, lead: str = "") -> str:
        """An integer answer without tools, after `lead` (e.g. '37 * 48 + 12 = ')."""
        index = self.index("integer", lambda: INTEGER)
        return self.constrained(CLOSED_SYSTEM, question, index, 8, prefix=lead).text

    # -- tools --------------------------------------------------------------------------------------------
    def tool_call(self, question: str, schema_key, pattern_fn, max_new_tokens: int = 40) -> C.ConstrainedGeneration:
        return self.constrained(TOOL_SYSTEM, f"Question: {question}", self.index(schema_key, pattern_fn),
                                max_new_tokens, prefix="Call: ")

    @torch.no_grad()
    def free_text(self, system: str, user: str, max_new_tokens: int) -> str:
        """Unconstrained greedy text (stops at <|im_end|>): how a tool call looks without the mask."""
        ids = torch.tensor([chat_ids(self.tok, user, system)])
        cfg = GenerationConfig(max_new_tokens=max_new_tokens, stop_token_ids=self.vocab.eos_ids)
        out = [t for t in stream_tokens(self.model, ids, cfg, cache=self._cache(system)) if t not in self.vocab.eos_ids]
        self.generated_tokens += len(out)
        return self.vocab.decode(out)


class ReactPolicy:
    """The next action of a ReAct transcript: SmolLM2 continues 'Action: ' with a constrained JSON call."""

    def __init__(self, agent: Agent, schema_key, pattern_fn, max_new_tokens: int = 40):
        self.agent, self.key, self.fn, self.max_new_tokens = agent, schema_key, pattern_fn, max_new_tokens

    def __call__(self, trace) -> dict | None:
        done = trace.transcript()
        prefix = (done + "\n" if done else "") + "Action: "
        out = self.agent.constrained(REACT_SYSTEM, f"Question: {trace.question}", self.agent.index(self.key, self.fn),
                                     self.max_new_tokens, prefix=prefix)
        try:
            return json.loads(out.text)
        except json.JSONDecodeError:
            return None


class WorkflowPolicy(ReactPolicy):
    """A fixed workflow in the same transcript: the application decides WHICH tool comes at each step
    (lookup, lookup, calculator, finish) and the model only fills in the arguments."""

    PLAN = ("lookup", "lookup", "calculator", "finish")

    def __init__(self, agent: Agent, town_names, max_new_tokens: int = 40):
        from modelbook.rag.tools import call_schema

        names = list(town_names)
        self.policies = [ReactPolicy(agent, ("workflow", tool), (lambda t=tool: call_schema(
            names, tools=() if t == "finish" else (t,), finish=t == "finish")), max_new_tokens) for tool in self.PLAN]

    def __call__(self, trace) -> dict | None:
        return self.policies[min(len(trace.actions), len(self.PLAN) - 1)](trace)
