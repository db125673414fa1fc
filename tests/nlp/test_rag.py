"""RAG helpers: content-word groundedness, the grounded and closed-book prompts, the best passage."""
import numpy as np

from modelbook.nlp.rag import best_passage, content_words, groundedness, messages


def test_groundedness_counts_content_words():
    assert content_words("The KV cache stores keys and values") == {"cache", "stores", "keys", "values"}
    assert groundedness("The cache stores keys.", "A cache stores keys and values.") == 1.0
    assert groundedness("Paris is lovely.", "A cache stores keys.") == 0.0
    assert groundedness("", "anything") == 0.0


def test_rag_prompt_and_best_passage():
    grounded = messages("What is a KV cache?", "It stores keys and values.", "handbook entry 33")
    assert grounded[0]["role"] == "system" and "context" in grounded[0]["content"]
    assert "handbook entry 33" in grounded[1]["content"] and "It stores keys" in grounded[1]["content"]
    closed = messages("What is a KV cache?", None)
    assert "context" not in closed[0]["content"] and closed[1]["content"] == "What is a KV cache?"

    class WordEncoder:  # one dimension per word of a tiny vocabulary: cosine = shared words
        words = ["cache", "keys", "values", "beam", "search", "width"]

        def count_tokens(self, texts):
            return [len(t.split()) + 2 for t in texts]

        def encode(self, texts):
            v = np.array([[t.lower().count(w) for w in self.words] for t in texts], dtype=float)
            return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)

    text = "Beam search keeps a beam of the best width prefixes.\n\nThe cache keeps keys and values of past tokens."
    assert best_passage(text, "what do the keys and values in a cache hold", WordEncoder(), max_tokens=12).startswith("The cache")
