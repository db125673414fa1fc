import numpy as np
import pytest

from modelbook.core.errors import ModelbookError
from modelbook.speech import augment, corpus
from modelbook.speech.corpus import CorpusSpec, build

TINY = CorpusSpec(languages=("en", "zh"), kinds=("digit", "command"), voices_per_language=6, n_per_voice=2, seed=3)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build(TINY, home=tmp_path_factory.mktemp("corpus"), workers=2)


def test_the_plan_is_deterministic_per_seed_and_splits_by_voice(tiny):
    assert corpus.plan(TINY) == tiny.items and corpus.plan(TINY) != corpus.plan(CorpusSpec(**{**TINY.__dict__, "seed": 4}))
    assert len(tiny) == 2 * 6 * 2 * 2
    by_split = {s: {u.variant for u in tiny.subset(split=s).items} for s in corpus.SPLITS}
    assert not (by_split["test"] & by_split["train"]) and not (by_split["val"] & by_split["train"])
    for s in corpus.SPLITS:  # every split hears both genders in both languages
        for lang in ("en", "zh"):
            assert {u.gender for u in tiny.subset(split=s, language=lang).items} == {"f", "m"}
    digits = tiny.subset(kind="digit")
    assert all(u.label in "0123456789" and len(u.label) == 1 for u in digits.items)
    zh = tiny.subset(language="zh", kind="digit").items[0]
    assert zh.text == corpus.DIGITS["zh"][int(zh.label)] and zh.voice.startswith("cmn-latn-pinyin+")


def test_audio_is_float32_16k_and_noise_is_reproducible(tiny):
    for i in range(len(tiny)):
        x, clean = tiny.audio(i), tiny.audio(i, clean=True)
        assert x.dtype == np.float32 and len(x) == len(clean) and 0.1 < len(x) / 16000 < 3.0
        assert np.array_equal(x, tiny.audio(i))
        u = tiny.items[i]
        if u.snr_db is not None and not u.reverb:  # the noise added is at the stated SNR
            snr = 10 * np.log10(np.mean(clean.astype(np.float64) ** 2) / np.mean((x - clean).astype(np.float64) ** 2))
            assert snr == pytest.approx(u.snr_db, abs=0.01)


def test_a_rerun_reuses_the_cache_and_writes_atomically(tiny, monkeypatch):
    folder = tiny.path.parent
    assert [p.name for p in folder.iterdir()] == [tiny.path.name]  # no temp file left behind
    monkeypatch.setattr(corpus, "_synthesise", lambda *a: pytest.fail("rebuilt a cached corpus"))
    again = build(TINY, home=folder)
    assert again.items == tiny.items and np.array_equal(again.audio(3), tiny.audio(3))
    again.path.write_bytes(b"truncated")
    with pytest.raises(ModelbookError, match="unreadable"):
        build(TINY, home=folder)


def test_speak_is_deterministic_and_mandarin_is_spoken_from_pinyin():
    a, b = corpus.speak("san1 qi1", "cmn-latn-pinyin+f2"), corpus.speak("san1 qi1", "cmn-latn-pinyin+f2")
    assert np.array_equal(a, b) and len(a) > 1600


def test_augment_pieces():
    rng = np.random.default_rng(0)
    pink = augment.coloured_noise("pink", 16000, rng)
    spec = np.abs(np.fft.rfft(pink)) ** 2
    assert spec[10:100].mean() > 5 * spec[4000:8000].mean()  # power falls with frequency
    rir = augment.room_impulse_response(0.4, 16000, rng)
    assert rir[0] == 1.0 and len(rir) == 6400 and abs(rir[-100:]).max() < 0.01


def test_bad_specs_are_one_line_errors():
    for bad in (CorpusSpec(languages=("fr",)), CorpusSpec(kinds=("song",)), CorpusSpec(voices_per_language=2),
                CorpusSpec(voices_per_language=400)):
        with pytest.raises(ModelbookError):
            corpus.plan(bad)
    with pytest.raises(ModelbookError, match="split"):
        corpus.Corpus(TINY, [], np.zeros(0), np.zeros(1)).subset(split="dev")
