"""BM25 tokens: jieba for Chinese, words for English, and the restricted dictionary that makes queries fast."""
from modelbook.retrieval.text import Segmenter, has_cjk, stem_en


def test_mixed_text_tokens():
    seg = Segmenter.full()
    tokens = seg.tokens("怎样给 KV Cache 做量化？Models need less memory.")
    assert tokens == ["kv", "cache", "做", "量化", "model", "need", "less", "memory"]
    assert "怎样" not in tokens and "？" not in tokens and "." not in tokens
    # search mode: a compound and its dictionary sub-words, so a paraphrase with part of it still matches
    assert seg.tokens("神经网络") == ["神经", "网络", "神经网", "神经网络"]
    assert has_cjk("KV 缓存") and not has_cjk("KV cache")


def test_s_stemmer():
    assert [stem_en(w) for w in ("models", "policies", "classes", "loss", "status", "gpus", "is")] == \
        ["model", "policy", "classe", "loss", "status", "gpus", "is"]  # Harman's exceptions: -ss, -us


def test_restricted_dictionary_segments_every_indexed_text_exactly_like_the_full_one():
    from modelbook.handbook.ask import documents, eval_questions

    full = Segmenter.full()
    texts = [f"{d.title}\n{d.text}" for d in documents()]
    texts += [q["q"] for q in eval_questions()]  # indexed here too, so they must come out identical
    dictionary = full.dictionary_for(texts)
    fast = Segmenter.restricted(dictionary)
    assert 0 < len(dictionary["freq"]) < 60_000 and dictionary["total"] == full._jieba.total
    for text in texts:
        assert fast.tokens(text) == full.tokens(text), text[:80]


def test_restricted_dictionary_only_changes_spans_of_unknown_words():
    full = Segmenter.full()
    fast = Segmenter.restricted(full.dictionary_for(["模型量化可以减少显存占用"]))
    known = "量化减少显存"
    assert fast.tokens(known) == full.tokens(known)
    # "假说" never occurs in the indexed text: that span may split differently (its tokens score nothing)
    assert full.tokens("彩票假说") == ["彩票", "假说"] and fast.tokens("彩票假说") == ["彩票", "假", "说"]
