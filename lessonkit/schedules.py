"""Learning-rate schedules, shared by both frameworks' training loops."""

from __future__ import annotations

import math


def cosine_lr(step: int, steps: int, lr: float, final_lr: float) -> float:
    """Cosine decay from ``lr`` at step 0 to ``final_lr`` at the last of ``steps`` steps."""
    progress = step / max(steps - 1, 1)
    return final_lr + 0.5 * (lr - final_lr) * (1 + math.cos(math.pi * progress))
