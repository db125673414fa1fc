"""Our BERT encoder equals transformers' BertModel (and sentence-transformers' embeddings) on MiniLM's weights."""
import numpy as np
import pytest
import torch

from modelbook.interpret.attention_maps import _batch, sentence_embeddings
from modelbook.models import load_minilm, load_minilm_hf
from modelbook.models.loaders import minilm_path
from modelbook.nn.bert import load_minilm_encoder

TEXTS = ["Attention weights are not explanations.", "短句", "A much longer sentence, with punctuation; and several clauses, to pad the others."]


@pytest.fixture(scope="module")
def ours():
    return load_minilm_encoder(minilm_path())


def test_hidden_states_and_attentions_equal_transformers(ours):
    encoder, tok = ours
    hf, hf_tok = load_minilm_hf(output_attentions=True)
    ids = [tok.encode(t).ids for t in TEXTS]
    assert ids == [hf_tok(t)["input_ids"] for t in TEXTS]          # the same WordPiece ids
    input_ids, mask = _batch(ids)
    with torch.no_grad():
        hidden, attentions = encoder(input_ids, mask, return_attentions=True)
        ref = hf(input_ids=input_ids, attention_mask=mask, output_attentions=True)
    m = mask.bool()
    torch.testing.assert_close(hidden[m], ref.last_hidden_state[m], rtol=1e-4, atol=1e-5)  # padded rows are undefined
    for a, b in zip(attentions, ref.attentions):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_sentence_embeddings_equal_sentence_transformers(ours):
    encoder, tok = ours
    emb = sentence_embeddings(encoder, [tok.encode(t).ids for t in TEXTS]).numpy()
    ref = load_minilm().encode(TEXTS, convert_to_numpy=True)
    np.testing.assert_allclose(emb, ref, atol=2e-5)
