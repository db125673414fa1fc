"""Text classifiers: the TF-IDF + logistic-regression baseline, and a fastText-style neural bag of n-grams.

TF-IDF (scikit-learn): a text becomes the vector of its terms' counts, each scaled by log(N / document
frequency) so that words found everywhere weigh little, then L2-normalised; a linear model reads it.
Chinese has no spaces, so terms are words from jieba's segmenter (a dictionary + HMM segmenter) or character
n-grams, which need no segmenter at all. `class_weight="balanced"` weighs each class by n / (k · n_c), so a
rare intent counts as much as a frequent one in the loss (what macro-F1 rewards).

fastText (Joulin et al. 2017, "Bag of Tricks for Efficient Text Classification"): average learned embeddings
of a text's tokens and bigrams, then a linear layer: logits = W · mean_i E[t_i]. A neural model with the
baseline's inductive bias, trained here in seconds with core.train.fit.

Cross-checks: tests/nlp/test_classify.py (the bag-of-n-grams mean equals nn.EmbeddingBag's; the balanced
weights equal scikit-learn's compute_class_weight).
"""
from __future__ import annotations

import collections
import re

import numpy as np
import torch
from torch import nn

_SPACE = re.compile(r"\s+")


def segment(texts: list[str]) -> list[list[str]]:
    """jieba word segmentation (precise mode), whitespace tokens dropped."""
    import jieba

    jieba.setLogLevel(60)  # its "Building prefix dict" chatter goes to stderr otherwise
    return [[w for w in jieba.lcut(t) if not _SPACE.fullmatch(w)] for t in texts]


def char_ngrams(text: str, n: tuple[int, int] = (1, 2)) -> list[str]:
    s = _SPACE.sub("", text)
    return [s[i:i + k] for k in range(n[0], n[1] + 1) for i in range(len(s) - k + 1)]


def with_bigrams(tokens: list[str]) -> list[str]:
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]


_WORD = re.compile(r"[a-z0-9']+")


def words_and_char_ngrams(text: str, sizes: tuple[int, ...] = (3, 4)) -> list[str]:
    """Terms of an English text for TF-IDF: lowercased words and word bigrams, then each word's character
    n-grams of the given sizes, marked '#' so they never collide with a word ("#hel"); a word shorter than n
    gives itself. Subword terms let typos and inflections ("booking", "booked") share features."""
    words = _WORD.findall(text.lower())
    chars = [f"#{w[i:i + n]}" for w in words for n in sizes for i in range(max(1, len(w) - n + 1))]
    return with_bigrams(words) + chars


def tfidf_logreg(class_weight: str | None = None, c: float = 4.0, min_df: int = 2, seed: int = 0):
    """A scikit-learn pipeline over pre-tokenised texts (lists of terms): TF-IDF (sublinear tf) -> LR."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(TfidfVectorizer(analyzer=_identity, min_df=min_df, sublinear_tf=True),
                         LogisticRegression(C=c, max_iter=2000, class_weight=class_weight, random_state=seed))


def _identity(tokens):
    return tokens


# -- fastText-style bag of n-grams -------------------------------------------------------------------
class Vocabulary:
    """Term -> id for terms seen at least `min_count` times in training; id 0 = unknown."""

    def __init__(self, docs: list[list[str]], min_count: int = 2, max_size: int = 200_000):
        counts = collections.Counter(t for d in docs for t in d)
        kept = [t for t, c in counts.most_common(max_size) if c >= min_count]
        self.index = {t: i + 1 for i, t in enumerate(kept)}

    def __len__(self) -> int:
        return len(self.index) + 1

    def encode(self, docs: list[list[str]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Flat ids and offsets, EmbeddingBag's input format: doc i is ids[offsets[i]:offsets[i+1]]."""
        ids, offsets = [], []
        for d in docs:
            offsets.append(len(ids))
            ids.extend(self.index.get(t, 0) for t in d)
        return torch.tensor(ids, dtype=torch.long), torch.tensor(offsets, dtype=torch.long)


class BagOfNgrams(nn.Module):
    """logits = W · mean_i E[t_i] + b over a text's token ids (unknown id 0 is ignored)."""

    def __init__(self, vocab_size: int, dim: int, n_classes: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0)
        nn.init.uniform_(self.embed.weight, -1 / dim, 1 / dim)
        with torch.no_grad():
            self.embed.weight[0].zero_()
        self.out = nn.Linear(dim, n_classes)

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        """ids (N,) flat, offsets (B,) -> logits (B, C)."""
        bag = torch.repeat_interleave(torch.arange(len(offsets)), torch.diff(offsets, append=torch.tensor([len(ids)])))
        known = (ids != 0).float()[:, None]  # (N, 1)
        vectors = self.embed(ids)  # (N, d)
        sums = torch.zeros(len(offsets), vectors.size(1), dtype=vectors.dtype).index_add_(0, bag, vectors * known)
        counts = torch.zeros(len(offsets), dtype=vectors.dtype).index_add_(0, bag, known.squeeze(1).to(vectors.dtype)).clamp(min=1)[:, None]
        return self.out(sums / counts)


class _Bags(torch.utils.data.Dataset):
    def __init__(self, docs: list[list[int]], labels: np.ndarray):
        self.docs, self.labels = docs, labels

    def __len__(self):
        return len(self.docs)

    def __getitem__(self, i):
        return self.docs[i], int(self.labels[i])


def _collate(batch):
    ids, offsets, labels = [], [], []
    for doc, y in batch:
        offsets.append(len(ids))
        ids.extend(doc)
        labels.append(y)
    # offsets first: core.train.fit counts a batch's examples as len(batch[0])
    return torch.tensor(offsets, dtype=torch.long), torch.tensor(ids, dtype=torch.long), torch.tensor(labels)


def train_bag_of_ngrams(train_docs: list[list[str]], y: np.ndarray, n_classes: int, dim: int = 64, epochs: int = 4,
                        lr: float = 0.01, batch_size: int = 64, seed: int = 0, min_count: int = 2):
    """Fit a BagOfNgrams with core.train.fit; returns (model, vocabulary). Adam on mini-batches: fastText's
    plain SGD needs its per-example updates with a large learning rate to move the embeddings."""
    from modelbook.core.train import fit

    vocab = Vocabulary(train_docs, min_count)
    encoded = [[vocab.index.get(t, 0) for t in d] for d in train_docs]
    model = BagOfNgrams(len(vocab), dim, n_classes)
    loader = torch.utils.data.DataLoader(_Bags(encoded, y), batch_size=batch_size, shuffle=True, collate_fn=_collate,
                                         generator=torch.Generator().manual_seed(seed))

    def loss_fn(m, batch):
        offsets, ids, target = batch
        return nn.functional.cross_entropy(m(ids, offsets), target)

    fit(model, loader, torch.optim.Adam(model.parameters(), lr=lr), epochs, loss_fn=loss_fn, description="fastText")
    return model.eval(), vocab


@torch.no_grad()
def predict_proba(model: BagOfNgrams, vocab: Vocabulary, docs: list[list[str]]) -> np.ndarray:
    ids, offsets = vocab.encode(docs)
    return model(ids, offsets).softmax(-1).numpy()
