"""Content-based scores from MiniLM embeddings of titles and genres, and a hybrid for cold start.

Collaborative filtering knows an item only through who rated it and a user only through what they rated: a
user with 3 ratings or an item nobody rated yet has almost no (or no) vector. Content fills that gap: each
movie becomes the text "Title. Genre, Genre" embedded by all-MiniLM-L6-v2 (384-d, unit length), a user's
profile is the rating-weighted mean of the embeddings of what they rated, and the content score is the cosine
between profile and item.

The hybrid blends the two per user after standardising each user's scores (z-scores over items):

    s = w_u z(CF) + (1 − w_u) z(content),    w_u = n_u / (n_u + shrink)

so a user with few ratings leans on content and one with many on CF; an item with no training ratings has no CF
signal and gets z(CF) = 0, so content alone places it.
"""
from __future__ import annotations

import numpy as np

from modelbook.recsys.splits import Ratings


def movie_texts(items: np.ndarray | None = None) -> list[str]:
    """'Title. Genre, Genre' for each item id of data.ratings.movielens_ratings (items renumbered in movieId order)."""
    from modelbook.data.tabular import _rdataset

    movies = _rdataset("dslabs", "movielens").drop_duplicates("movieId").sort_values("movieId")
    title = movies["title"].fillna("").astype(str)                       # 5 movies have no title: genres alone
    texts = (title + ". " + movies["genres"].fillna("").astype(str).str.replace("|", ", ")).tolist()
    return texts if items is None else [texts[i] for i in items]


def embed(texts: list[str], batch_size: int = 64) -> np.ndarray:
    """(N, 384) unit-length MiniLM sentence embeddings (our BERT encoder with the packaged weights)."""
    import torch

    from modelbook.models import load_minilm_bert
    from modelbook.nn.bert import embed_texts

    model, tokenizer = load_minilm_bert()
    with torch.no_grad():
        e = embed_texts(model.eval(), tokenizer, texts, batch_size=batch_size).double().numpy()
    return e / np.linalg.norm(e, axis=1, keepdims=True)


def content_scores(train: Ratings, emb: np.ndarray) -> np.ndarray:
    """(n_users, n_items) cosine of each user's rating-weighted profile with every item."""
    profile = np.zeros((train.n_users, emb.shape[1]))
    np.add.at(profile, train.user, train.rating[:, None] * emb[train.item])
    profile /= np.maximum(np.linalg.norm(profile, axis=1, keepdims=True), 1e-12)
    return profile @ emb.T


def zscore(s: np.ndarray) -> np.ndarray:
    return (s - s.mean(1, keepdims=True)) / np.maximum(s.std(1, keepdims=True), 1e-12)


def hybrid_scores(cf: np.ndarray, content: np.ndarray, n_ratings: np.ndarray, cold_items: np.ndarray,
                  shrink: float) -> np.ndarray:
    """w_u z(CF) + (1 − w_u) z(content), w_u = n_u / (n_u + shrink); items with no ratings get z(CF) = 0."""
    z_cf = zscore(cf)
    z_cf[:, cold_items] = 0.0
    w = (n_ratings / (n_ratings + shrink))[:, None]
    return w * z_cf + (1 - w) * zscore(content)
