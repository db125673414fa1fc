"""The People's Daily reader: every line, tags and entity brackets removed, the text as printed."""
from modelbook.data.peoples_daily import peoples_daily_words


def test_peoples_daily_words_are_the_gold_segmentation_without_tags():
    sentences = peoples_daily_words()
    assert len(sentences) == 19_484
    assert sentences[0][:4] == ("迈向", "充满", "希望", "的")
    words = [w for s in sentences for w in s]
    assert not any("/" in w or w.startswith("[") for w in words)
    assert "１９９８年" in words  # full-width digits kept as printed
