"""Our unigram Viterbi over a trained SentencePiece model's pieces equals SentencePiece's own encode (0.2.3)."""
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelbook.tokenization.unigram import UnigramModel
from tests.conftest import pinned


@pytest.fixture(scope="module")
def trained():
    from modelbook.data.peoples_daily import peoples_daily_words
    from modelbook.data.text import shakespeare

    spm = pinned("sentencepiece")
    lines = [line for line in shakespeare()[300_000:360_000].splitlines() if line.strip()]
    lines += ["".join(words) for words in peoples_daily_words()[1000:1400]]
    proto = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=proto, model_type="unigram", vocab_size=2500,
                                   normalization_rule_name="identity", byte_fallback=True, character_coverage=0.9995,
                                   remove_extra_whitespaces=False, num_threads=1, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_proto=proto.getvalue())
    return sp, UnigramModel.from_sentencepiece(sp)


def test_viterbi_equals_sentencepiece_on_held_out_text(trained):
    from modelbook.data.peoples_daily import peoples_daily_words
    from modelbook.data.text import shakespeare_heldout

    sp, ours = trained
    held = shakespeare_heldout(5000).splitlines() + ["".join(words) for words in peoples_daily_words()[-100:]]
    assert all(ours.encode(line) == sp.encode(line) for line in held)
    assert any(len(piece) > 1 for line in held for piece, _ in ours.segment(line))


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\u2581"), max_size=40))
def test_viterbi_equals_sentencepiece_on_any_text_with_byte_fallback(trained, text):
    sp, ours = trained
    assert ours.encode(text) == sp.encode(text)


def test_a_viterbi_without_the_dummy_prefix_differs(trained):
    """Bite: drop the '▁' SentencePiece prepends and the first word is segmented as a word-internal string."""
    sp, ours = trained

    class NoPrefix(UnigramModel):
        @staticmethod
        def normalize(text):
            return text.replace(" ", "\u2581")

    broken = NoPrefix(ours.pieces, ours.unk_id, ours.byte_ids)
    line = "the king is dead, long live the king"
    assert ours.encode(line) == sp.encode(line) and broken.encode(line) != sp.encode(line)
