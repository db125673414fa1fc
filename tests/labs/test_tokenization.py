"""Lab `tokenization`: measured outcomes beyond the contract, and bite tests for the checks that are not library equalities."""


def test_tokenization_lab_outcomes(quick_result):
    result, _ = quick_result("tokenization")
    v = result.value
    # ours = tokenizers, merge for merge and id for id, under both pre-tokenizations; SentencePiece's ids from our Viterbi
    assert v("bpe/merge_or_vocab_differences") == 0 and v("bpe/token_id_differences") == 0
    assert v("bpe/gpt2_regex/merges") > 2000 and v("unigram/viterbi_id_differences") == 0
    assert v("round_trip/ours_changed_chars") == v("round_trip/smollm2_changed_chars") == 0
    # a Chinese character is 3 bytes: most of SmolLM2's tokens on Chinese are fragments of one
    assert v("round_trip/smollm2_zh_tokens_not_whole_characters") > 0.5
    assert v("round_trip/smollm2_zh_token_by_token_replacement_chars") > 1000
    # SmolLM2 compresses English far better than Chinese; a vocabulary trained on both does not show the gap
    assert v("compression/smollm2_en_bytes_per_token") > 3 > 2 > v("compression/smollm2_zh_bytes_per_token")
    assert 1.5 < v("smollm2/zh_over_en_tokens_per_word") < 2.5 and v("smollm2/zh_tokens_per_character") > 1.5
    assert v("smollm2/zh_over_en_forward_flops") > v("smollm2/zh_over_en_tokens_per_word")  # attention is quadratic
    # digits: SmolLM2 one token per digit; our GPT-2-regex BPE merges digits into chunks of varying width
    assert v("digits/smollm2_tokens_with_two_digits") == 0 and v("digits/smollm2_tokens_per_digit") == 1
    assert v("digits/gpt2_regex_widths_patterns_4digit") > 1 == v("digits/split_digits_widths_patterns_4digit")
    assert v("digits/gpt2_regex_tokens_per_digit_heldout_zh") < 1 == v("digits/split_digits_tokens_per_digit_heldout_zh")
    assert v("unigram/nfkc_changed_share_zh") > 0.05  # full-width digits, letters, punctuation
    assert result.artifacts == ["compression.png"]


def test_round_trip_check_fails_when_tokens_are_decoded_one_by_one():
    """The round-trip criterion (characters changed = 0) on a decoder that turns each token into text on its own and
    joins the strings: every Chinese character split over two tokens becomes U+FFFD, so the criterion fails."""
    from modelbook.labs.tokenization import changed_chars
    from modelbook.tokenization.bpe import train_bpe

    bpe = train_bpe(["the quick brown fox\n", "人民日报社论\n"], 300)
    text = "人民的新年讲话 and the fox"
    ids = bpe.encode(text)
    assert changed_chars(bpe.decode(ids), text) == 0
    assert changed_chars("".join(bpe.decode([i]) for i in ids), text) > 0


def test_chinese_premium_check_fails_for_a_vocabulary_trained_on_both_languages(quick_result):
    """The premium check (zh/en tokens per word ≥ 1) is a property of SmolLM2's English-heavy vocabulary, not of the
    measurement: the same ratio for our BPE, trained on Shakespeare and People's Daily together, falls below 1."""
    result, _ = quick_result("tokenization")
    check = next(c for c in result.checks if "more tokens per Chinese word" in c.name)
    assert check.passed
    assert result.value("bpe/zh_over_en_tokens_per_word") < check.reference
