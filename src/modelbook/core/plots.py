"""Plots for lab artifacts: matplotlib with the Agg backend (no screen), PNGs closed after saving."""
from __future__ import annotations

from pathlib import Path


def figure(n_rows: int = 1, n_cols: int = 1, size: tuple[float, float] | None = None):
    """(fig, axes): a single Axes for 1x1, a 1-D array for one row or column, else 2-D (matplotlib's squeeze)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = size or (4.8 * n_cols, 3.6 * n_rows)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=size)
    return fig, axes


def save(fig, path: Path) -> Path:
    """Save `fig` as a PNG at `path` and close it. Returns the path (for LabResult.artifact)."""
    import matplotlib.pyplot as plt

    path = Path(path)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
