"""One seed function, and explicit generators for data splits and sampling.

Global streams (Python, NumPy, torch) drive layer initialisation and dropout. Splits and sampling take an
explicit generator (scikit-learn's rule), so adding a dropout layer does not move the train/test split.
"""
from __future__ import annotations

import os
import random
from contextlib import contextmanager


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


@contextmanager
def deterministic_algorithms_paused():
    """Pause torch's deterministic-algorithms mode inside the block (restored after, even on error).

    For kernels that are deterministic but flagged anyway: torch.ao's static int8 CPU kernels size their
    outputs with quantized_resize_cpu_, which has no deterministic-mode variant, so warn-only mode prints a
    C++ warning (not a Python one: it cannot be filtered) on every call. The lab's same-seed test still
    checks that the results repeat exactly.
    """
    import torch

    enabled, warn_only = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(False)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(enabled, warn_only=warn_only)


def generators(seed: int):
    """Independent (numpy, torch) generators for splits and sampling, seeded from `seed`."""
    import numpy as np
    import torch

    return np.random.default_rng(seed), torch.Generator().manual_seed(seed)


def rng(seed: int):
    """A NumPy generator for labs that do not need torch."""
    import numpy as np

    return np.random.default_rng(seed)
