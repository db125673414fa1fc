"""Lab `text-gan`: measured outcomes beyond the contract."""


def test_text_gan_lab_outcomes(quick_result):
    result, run_dir = quick_result("text-gan")
    v = result.value
    # the oracle scores its own samples best of all; MLE is far better than random
    assert v("seqgan/nll_oracle_oracle_itself") < v("seqgan/nll_oracle_mle") < v("seqgan/nll_oracle_random")
    # temperature: colder samples look better to the oracle and cover less
    assert v("seqgan/mle_T0.8_nll_oracle") < v("seqgan/mle_T1.0_nll_oracle") < v("seqgan/mle_T1.2_nll_oracle")
    assert v("seqgan/mle_T0.8_nll_test") > v("seqgan/mle_T1.0_nll_test")
    for corpus in ("shakespeare", "tang"):
        for arch in ("rnn", "lstm", "transformer"):
            assert v(f"charlm/{corpus}_{arch}_val_bits_per_char") < v(f"charlm/{corpus}_unigram_bits_per_char")
            assert v(f"charlm/{corpus}_{arch}_params") > 10_000
    assert v("charlm/shakespeare_vocab") < 100 < 2000 < v("charlm/tang_vocab")
    assert "shakespeare / lstm" in (run_dir / "samples.txt").read_text()
    assert result.artifacts and all(a.endswith(".png") for a in result.artifacts)   # the report shows them as images
