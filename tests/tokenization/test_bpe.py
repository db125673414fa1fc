"""Our byte-level BPE equals Hugging Face `tokenizers` (0.23.3): pre-tokenization, merges, vocabulary, encodings, decoding.

The same inputs go to both: the same lines, the same vocabulary size, the ByteLevel pre-tokenizer without a prefix
space (optionally after Digits(individual_digits=True)), BpeTrainer with the 256 byte symbols as initial alphabet.
"""
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelbook.tokenization.bpe import ByteLevelBPE, bytes_to_unicode, pre_tokenize, train_bpe
from tests.conftest import pinned

SETTINGS = settings(max_examples=200, deadline=None)
# Characters assigned in Python 3.11's Unicode tables (14.0). Code points assigned later are letters or numbers to
# one regex engine and not the other (see test_letters_and_numbers_equal_tokenizers_on_every_assigned_code_point).
ASSIGNED = st.characters(exclude_categories=("Cs", "Cn"))


def hf_bpe(lines, vocab_size, split_digits=False):
    """tokenizers' trainer and model with the settings ours implements."""
    tk = pinned("tokenizers")
    tok = tk.Tokenizer(tk.models.BPE())
    byte_level = tk.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.pre_tokenizer = (tk.pre_tokenizers.Sequence([tk.pre_tokenizers.Digits(individual_digits=True), byte_level])
                         if split_digits else byte_level)
    tok.decoder = tk.decoders.ByteLevel()
    trainer = tk.trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False,
                                     initial_alphabet=tk.pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(lines, trainer)
    return tok


def hf_merges(tok) -> list[tuple[str, str]]:
    return [tuple(m) for m in json.loads(tok.to_str())["model"]["merges"]]


@pytest.fixture(scope="module")
def corpus():
    from modelbook.data.peoples_daily import peoples_daily_words
    from modelbook.data.text import shakespeare

    en = shakespeare()[200_000:260_000].splitlines(keepends=True)
    zh = ["".join(words) + "\n" for words in peoples_daily_words()[:400]]
    return en + zh


@pytest.fixture(scope="module", params=[False, True], ids=["gpt2-regex", "split-digits"])
def trained(request, corpus):
    split = request.param
    return train_bpe(corpus, 1200, split_digits=split), hf_bpe(corpus, 1200, split_digits=split)


def test_byte_alphabet_equals_tokenizers():
    tk = pinned("tokenizers")
    table = bytes_to_unicode()
    assert sorted(table) == list(range(256)) and set(table.values()) == set(tk.pre_tokenizers.ByteLevel.alphabet())
    assert table[ord(" ")] == "Ġ" and table[ord("\n")] == "Ċ" and table[ord("a")] == "a"


@SETTINGS
@given(st.text(ASSIGNED, max_size=60), st.booleans())
def test_pre_tokenizer_equals_tokenizers_on_assigned_unicode(text, split_digits):
    tk = pinned("tokenizers")
    byte_level = tk.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    pre = tk.pre_tokenizers.Sequence([tk.pre_tokenizers.Digits(individual_digits=True), byte_level]) if split_digits else byte_level
    from modelbook.tokenization.bpe import to_byte_symbols

    assert [to_byte_symbols(p) for p in pre_tokenize(text, split_digits)] == [p for p, _ in pre.pre_tokenize_str(text)]


def test_merges_vocabulary_and_encodings_equal_tokenizers(trained, corpus):
    ours, hf = trained
    assert ours.merge_pairs() == hf_merges(hf)
    assert hf.get_vocab() == {t: i for i, t in enumerate(ours.vocab)}
    held_out = "".join(corpus[-50:]) + "Numbers 1234567 and ２０２６年, tabs\t\tand   spaces, emoji 🙂‍↔️, 'tis o'er."
    assert ours.encode(held_out) == hf.encode(held_out).ids
    assert ours.decode(ours.encode(held_out)) == hf.decode(hf.encode(held_out).ids) == held_out


@pytest.fixture(scope="module")
def small():
    """A small trained pair for the property tests."""
    lines = ["the theme of the thesis, then the other 1234 theses\n", "他们的他的她们 １９９８年\n"] * 3
    return train_bpe(lines, 300), hf_bpe(lines, 300)


@SETTINGS
@given(st.text(max_size=80))
def test_round_trip_on_any_unicode(small, text):
    """decode(encode(x)) == x for any string of code points (surrogates excepted: they are not encodable text)."""
    ours, hf = small
    assert ours.decode(ours.encode(text)) == text
    assert hf.decode(hf.encode(text).ids) == text


@SETTINGS
@given(st.text(ASSIGNED, max_size=80))
def test_encoding_equals_tokenizers_on_assigned_unicode(small, text):
    ours, hf = small
    assert ours.encode(text) == hf.encode(text).ids


def test_letters_and_numbers_equal_tokenizers_on_every_assigned_code_point():
    """Every code point assigned in Unicode 14 is classified alike (\\p{L}, \\p{N}) by our `regex` pattern and by
    tokenizers' Oniguruma: 'x' + c is one piece exactly when c is a letter, '1' + c exactly when c is a number.
    Among later code points the engines' Unicode versions differ (regex 2026.12.2: Unicode 17; Oniguruma: 16)."""
    import unicodedata

    tk = pinned("tokenizers")
    pre = tk.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    chars = [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) not in ("Cs", "Cn")]
    for prefix in ("x", "1"):
        text = "\n".join(prefix + c for c in chars)
        theirs = {text[start:end] for _, (start, end) in pre.pre_tokenize_str(text)}
        ours = set(pre_tokenize(text))
        assert [prefix + c in ours for c in chars] == [prefix + c in theirs for c in chars]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="aab c\n1", max_size=14), min_size=1, max_size=12), st.integers(1, 40))
def test_training_equals_tokenizers_on_random_small_corpora(lines, n_merges):
    """Tiny alphabets make many pairs tie in count and make overlapping runs ('aaaa'): the tie-breaking rule and
    the lazy count updates of tokenizers' trainer are exercised here."""
    ours, hf = train_bpe(lines, 256 + n_merges), hf_bpe(lines, 256 + n_merges)
    assert ours.merge_pairs() == hf_merges(hf)
    assert hf.get_vocab() == {t: i for i, t in enumerate(ours.vocab)}
    text = "".join(lines)
    assert ours.encode(text) == hf.encode(text).ids


def test_ties_go_to_the_smaller_pair_and_the_opposite_rule_differs():
    """'ab' and 'yz' occur equally often: tokenizers merges (a, b) first (smaller ids). A trainer that breaks
    ties the other way learns the same merges in another order, so its merge list is not tokenizers'."""
    lines = ["ab yz\n"] * 3
    ours, hf = train_bpe(lines, 256 + 2), hf_bpe(lines, 256 + 2)
    assert ours.merge_pairs() == hf_merges(hf)
    assert ours.merge_pairs()[0] == ("a", "b")
    reversed_ties = [hf_merges(hf)[1], hf_merges(hf)[0]]
    assert reversed_ties != hf_merges(hf)


def test_decoding_token_by_token_breaks_characters_decoding_bytes_once_does_not(small):
    """A Chinese character is three UTF-8 bytes and may be split over tokens: decoding each token to text and
    joining gives U+FFFD replacement characters; joining the bytes first and decoding once is exact."""
    ours, _ = small
    text = "謝謝你的幫助"  # characters absent from the training lines: split into bytes or byte pairs
    ids = ours.encode(text)
    assert len(ids) > len(text)
    assert "".join(ours.decode([i]) for i in ids) != text
    assert ours.decode(ids) == text


def test_lowest_rank_first_not_left_to_right():
    """Encoding replays merges by rank: with merges (b, c) before (a, b), 'abc' becomes 'a' + 'bc', not 'ab' + 'c'."""
    vocab = sorted(bytes_to_unicode().values(), key=ord)
    ids = {t: i for i, t in enumerate(vocab)}
    vocab += ["bc", "ab"]
    bpe = ByteLevelBPE(vocab, [((ids["b"], ids["c"]), 256), ((ids["a"], ids["b"]), 257)])
    assert bpe.tokens("abc") == ["a", "bc"]
