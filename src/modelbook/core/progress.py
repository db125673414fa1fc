"""Progress bars for long work, shown on stderr only when the CLI turns them on.

Labs wrap their long loops in `track(...)`; under tests and `--json` scripts nothing is drawn.

    for epoch in track(range(cfg.n_epochs), "training"):
        ...
"""
from __future__ import annotations

import contextlib
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")
_progress = None  # the active rich.progress.Progress, when the CLI has opened one


@contextlib.contextmanager
def session(enabled: bool = True):
    """Open a shared progress display for the duration of a CLI command (stderr)."""
    global _progress
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=Console(stderr=True), transient=True)
    _progress = progress
    try:
        with progress:
            yield progress
    finally:
        _progress = None


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate over `items`, advancing a bar called `description` if a progress session is open."""
    if _progress is None:
        yield from items
        return
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    task = _progress.add_task(description, total=total)
    try:
        for item in items:
            yield item
            _progress.advance(task)
    finally:
        _progress.remove_task(task)


@contextlib.contextmanager
def status(description: str):
    """A spinner line for one long step with no natural count (loading a model, say)."""
    if _progress is None:
        yield
        return
    task = _progress.add_task(description, total=None)
    try:
        yield
    finally:
        _progress.remove_task(task)
