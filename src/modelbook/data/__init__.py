"""Datasets that ship inside installed packages, or that modelbook generates deterministically.

Nothing here downloads. Each loader fails with a one-line error naming the package to install.

    from modelbook.data import fashion_mnist, shakespeare, digits, breast_cancer
"""
from modelbook.data.dialogue import chatterbot_conversations, question_answer_pairs
from modelbook.data.images import FASHION_CLASSES, fashion_mnist, mnist_5k
from modelbook.data.tabular import breast_cancer, digits
from modelbook.data.text import shakespeare, shakespeare_heldout
from modelbook.data.splits import train_val_split

__all__ = [
    "FASHION_CLASSES", "breast_cancer", "chatterbot_conversations", "question_answer_pairs", "digits", "fashion_mnist", "mnist_5k", "shakespeare",
    "shakespeare_heldout", "train_val_split",
]
