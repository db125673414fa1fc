"""Retrieval-augmented generation over a document collection: pick the passage, prompt with it, cite it,
and measure whether the answer is grounded in it.

    retrieve    the best document for the question (modelbook.retrieval: BM25 + MiniLM, fused), then its best
                passage (the passage whose embedding is closest to the question's), so the prompt stays short
    generate    the model answers from the passage only; the application attaches the citation of the entry
                the passage came from (citations decided by code are exact, a 135M model's own are not)
    measure     citation accuracy (cited entry = the entry that answers the question) and groundedness: the
                share of the answer's content words found in the passage, against a closed-book answer to the
                same question scored on the same passage

Groundedness by word overlap is a crude proxy for faithfulness (an answer can copy words and still be
wrong); it separates "read the context" from "answered from memory", which is what this lab needs.
"""
from __future__ import annotations

import re

STOPWORDS = frozenset("""a an the and or but if then else of to in on at by for with from into onto about as is are was
were be been being it its this that these those there their they them he she his her we our you your i me my
not no do does did doing done can could should would will shall may might must have has had having than so such
what which who whom whose when where why how all any each both few more most other some same very just also only
own too use used using one two three""".split())

SYSTEM = "You answer questions using only the context you are given. Answer in one or two sentences."


def content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z][a-z0-9-]+", text.lower()) if len(w) > 3 and w not in STOPWORDS}


def groundedness(answer: str, context: str) -> float:
    """Share of the answer's content words that occur in the context (0 when the answer has none)."""
    words = content_words(answer)
    return len(words & content_words(context)) / len(words) if words else 0.0


def best_passage(text: str, question: str, encoder, max_tokens: int = 120) -> str:
    """The passage of `text` (≤ max_tokens word pieces) closest to the question in embedding space."""
    from modelbook.retrieval.dense import split_passages

    passages = split_passages(text, encoder.count_tokens, max_tokens)
    if len(passages) == 1:
        return passages[0]
    scores = encoder.encode(passages) @ encoder.encode([question])[0]
    return passages[int(scores.argmax())]


def messages(question: str, context: str | None, source: str | None = None) -> list[dict]:
    """Chat messages for a grounded answer (with context) or a closed-book one (context None)."""
    if context is None:
        return [{"role": "system", "content": SYSTEM.replace(" using only the context you are given", "")},
                {"role": "user", "content": question}]
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Context ({source}):\n{context}\n\nQuestion: {question}"}]
