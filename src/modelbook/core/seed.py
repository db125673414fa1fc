"""One seed function, and explicit generators for data splits and sampling.

Global streams (Python, NumPy, torch) drive layer initialisation and dropout. Splits and sampling take an
explicit generator (scikit-learn's rule), so adding a dropout layer does not move the train/test split.
"""
from __future__ import annotations

import os
import random


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (if torch is importable); set deterministic torch algorithms."""
    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)  # for subprocesses the lab starts
    import numpy as np

    np.random.seed(seed % 2**32)
    try:
        import torch
    except ImportError:  # a lab without torch still gets seeded
        return
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def generators(seed: int):
    """Independent (numpy, torch) generators for splits and sampling, seeded from `seed`."""
    import numpy as np
    import torch

    return np.random.default_rng(seed), torch.Generator().manual_seed(seed)


def rng(seed: int):
    """A NumPy generator for labs that do not need torch."""
    import numpy as np

    return np.random.default_rng(seed)
