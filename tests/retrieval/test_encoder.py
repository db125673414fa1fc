"""The ONNX export of all-MiniLM-L6-v2 gives sentence-transformers' embeddings without torch."""
import numpy as np
import pytest

TEXTS = [
    "How does attention work?",
    "A man is eating food.",
    "Someone is having a meal.",
    "注意力机制是怎样工作的？为什么要除以根号 d？",
    "KV 缓存 stores the keys and values of past tokens.",
    "",
    " ".join(["gradient descent with momentum and weight decay"] * 60),   # ~420 word pieces: truncated at 256
]


@pytest.fixture(scope="module")
def encoder():
    from modelbook.retrieval.encoder import OnnxEncoder, ensure_onnx

    return OnnxEncoder(ensure_onnx())


def test_onnx_embeddings_equal_sentence_transformers(encoder):
    from modelbook.models import load_minilm

    ours = encoder.encode(TEXTS)
    ref = load_minilm().encode(TEXTS, convert_to_numpy=True, normalize_embeddings=False)
    assert ours.shape == ref.shape == (len(TEXTS), 384)
    cos = (ours * ref).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(ref, axis=1)
    assert cos.min() >= 0.9999, cos
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert np.abs(ours - ref).max() < 1e-4
    assert encoder.count_tokens([TEXTS[-1]])[0] > 256  # the long text really was truncated


def test_padding_in_a_batch_does_not_change_an_embedding(encoder):
    together = encoder.encode(TEXTS, batch_size=len(TEXTS))
    alone = np.stack([encoder.encode([t])[0] for t in TEXTS])
    np.testing.assert_allclose(together, alone, atol=2e-5)
    assert float(together[1] @ together[2]) > 0.5 > float(together[1] @ together[0])  # meal ~ food, not attention
