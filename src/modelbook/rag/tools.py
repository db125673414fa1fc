"""Tools a model can call, the JSON schema of a call, and a ReAct loop with a step budget.

A tool call is a JSON object the model writes and a program runs:

    {"tool":"calculator","expression":"37 * 48 + 12"}        -> 1788
    {"tool":"lookup","town":"Velmora","attribute":"population"} -> "48,213"
    {"tool":"finish","answer":1788}                              (ReAct only: the final answer)

`call_schema` is that language as a constrained-decoding pattern (modelbook.decoding.constrained): the tool
names, town names and attributes are enums, the expression a string of digits and operators, so every call
the constrained model writes parses and names something that exists. Whether it is the RIGHT call is still
the model's choice, which the lab measures.

ReAct (Yao et al. 2023): the model alternates an action and the tool's observation, in one growing
transcript, until it calls `finish` or the step budget runs out (then the loop gives no answer: an
abstention, not a guess). `react` takes any policy (transcript -> action dict), so the loop is tested with a
scripted policy and run with SmolLM2.
"""
from __future__ import annotations

import ast
import json
import operator
from dataclasses import dataclass, field
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from modelbook.decoding import constrained as C
from modelbook.rag.facts import ATTRIBUTES, Town

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
EXPRESSION_CHARS = "0-9+*/() .-"


class ToolError(ValueError):
    """A call that cannot run (bad expression, unknown town); the loop shows it to the model as the observation."""


def calculate(expression: str) -> float:
    """+ - * / and parentheses over numbers, by walking Python's syntax tree (never eval)."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as e:
        raise ToolError(f"not an arithmetic expression: {expression!r}") from e

    def walk(node):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = walk(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            left, right = walk(node.left), walk(node.right)
            if isinstance(node.op, ast.Div) and right == 0:
                raise ToolError("division by zero")
            return _OPS[type(node.op)](left, right)
        raise ToolError(f"unsupported in an arithmetic expression: {ast.dump(node)[:40]}")

    return walk(tree)


def lookup(towns: list[Town], town: str, attribute: str) -> str:
    by_name = {t.name: t for t in towns}
    if town not in by_name:
        raise ToolError(f"no town called {town!r} in the table")
    if attribute not in ATTRIBUTES:
        raise ToolError(f"unknown attribute {attribute!r}")
    return by_name[town].value(attribute)


def call_schema(town_names, tools=("calculator", "lookup"), finish: bool = False) -> C.Pattern:
    """The JSON of one call to one of `tools` (compact: no whitespace), as a pattern for constrained decoding.
    tools=("calculator",) is the application naming the tool (chat APIs' tool_choice); both = the model picks."""
    schemas = {
        "calculator": {"type": "object", "properties": {
            "tool": {"const": "calculator"},
            "expression": C.json_string_of(C.rep(C.chars(EXPRESSION_CHARS), 1, 32))}},
        "lookup": {"type": "object", "properties": {
            "tool": {"const": "lookup"}, "town": {"enum": sorted(town_names)}, "attribute": {"enum": list(ATTRIBUTES)}}},
        "finish": {"type": "object", "properties": {"tool": {"const": "finish"}, "answer": {"type": "integer"}}}}
    names = list(tools) + (["finish"] if finish else [])
    unknown = set(names) - set(schemas)
    if unknown:
        raise ToolError(f"unknown tools {sorted(unknown)}; known: {sorted(schemas)}")
    return C.json_schema({"anyOf": [schemas[n] for n in names]}, ws=C.lit(""))


class _Call(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CalculatorCall(_Call):
    tool: Literal["calculator"]
    expression: str = Field(pattern=r"^[0-9+*/() .-]{1,32}$")


class LookupCall(_Call):
    tool: Literal["lookup"]
    town: str
    attribute: Literal["population", "founded", "river", "mayor"]


class FinishCall(_Call):
    tool: Literal["finish"]
    answer: int


CallModel = Annotated[Union[CalculatorCall, LookupCall, FinishCall], Field(discriminator="tool")]
"""The same calls as a pydantic model: the outside validator of what the constrained decoder writes."""


def parse_call(text: str) -> dict | None:
    """The first JSON object in free text that is a valid call (CallModel), or None."""
    obj = C.first_json_object(text)
    if obj is None:
        return None
    try:
        TypeAdapter(CallModel).validate_python(obj)
    except ValidationError:
        return None
    return obj


def run_call(call: dict, towns: list[Town]) -> str:
    """The observation for a parsed call: the tool's result, or the error as text."""
    try:
        if call.get("tool") == "calculator":
            v = calculate(str(call.get("expression", "")))
            return str(int(v)) if float(v).is_integer() else f"{v:.6g}"
        if call.get("tool") == "lookup":
            return lookup(towns, str(call.get("town")), str(call.get("attribute")))
        raise ToolError(f"unknown tool {call.get('tool')!r}")
    except ToolError as e:
        return f"error: {e}"


def number(text: str) -> int | None:
    """The integer a tool result or an answer states ('48,213' -> 48213), or None."""
    try:
        v = float(str(text).replace(",", "").strip())
    except ValueError:
        return None
    return int(v) if v.is_integer() else None


# -- ReAct ---------------------------------------------------------------------------------------------
@dataclass
class Trace:
    question: str
    actions: list[dict] = field(default_factory=list)
    observations: list[str] = field(default_factory=list)
    answer: int | None = None
    stop: str = "budget"
    """'finish' (the policy answered), 'budget' (steps ran out: no answer) or 'invalid' (unparseable action)"""

    def transcript(self) -> str:
        lines = []
        for a, o in zip(self.actions, self.observations):
            lines += [f"Action: {json.dumps(a, separators=(',', ':'))}", f"Observation: {o}"]
        return "\n".join(lines)


def react(policy, question: str, towns: list[Town], budget: int) -> Trace:
    """Up to `budget` actions; each non-final action's observation is appended to the transcript."""
    trace = Trace(question)
    for _ in range(budget):
        action = policy(trace)
        if not isinstance(action, dict):
            trace.stop = "invalid"
            return trace
        if action.get("tool") == "finish":
            trace.actions.append(action)
            trace.answer = number(action.get("answer"))
            trace.stop = "finish"
            return trace
        trace.actions.append(action)
        trace.observations.append(run_call(action, towns))
    return trace
