"""Progress bars for the training loops of both frameworks (tqdm, in a notebook its widget).

A loop with a time budget stops before its planned steps on purpose. Left alone, tqdm would close
such a bar red and interrupted ("136/3000 [00:25<08:37]"), the sign of a failed run; here the
steps that ran become the whole bar, so it ends full and green, and its count says how many ran.
"""

from __future__ import annotations

from tqdm.auto import tqdm


def training_bar(steps: int, progress: bool = True) -> tqdm:
    """A bar over ``steps`` training steps (hidden with ``progress=False``); advance it with
    ``bar.update(1)`` after each step and end it with :func:`end_bar`."""
    return tqdm(total=steps, disable=not progress, desc="training")


def end_bar(bar: tqdm) -> None:
    """Close ``bar`` as done with the steps it ran, even when a time budget stopped the loop early."""
    if not bar.disable and bar.n < (bar.total or 0):
        bar.total = bar.n
        container = getattr(bar, "container", None)  # tqdm.notebook's widget
        if container is not None:
            container.children[1].max = max(bar.n, 1)
        bar.refresh()
    bar.close()
