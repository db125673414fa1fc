"""Continual learning building blocks: drifting streams and prequential evaluation, the Page-Hinkley drift
detector, EWC (diagonal Fisher), LwF distillation, a reservoir replay buffer and the split-task benchmark."""
